package model

import "context"

// forward runs rows through every layer, storing their keys and values in
// their caches, and writes the logits of the rows that want them, in row
// order, to logits. It does not advance the caches' lengths.
//
// The graph is llama.cpp's for llama, qwen2 and qwen3: pre-norm blocks of
// RMS norm → attention (biases if present; qwen3's per-head q/k norms
// before RoPE) → residual → RMS norm → SwiGLU FFN → residual, then a final
// RMS norm and the output projection.
func (m *Model) forward(ctx context.Context, ws *Workspace, rows []row, logits []float32) error {
	cfg := &m.cfg
	n := len(rows)
	E, D := cfg.Embd, cfg.Rope.Dims
	x := ws.x[:n*E]
	for i, r := range rows {
		m.w.TokenEmbd.Row(x[i*E:(i+1)*E], int(r.tok))
		m.rope.angles(ws.angles[i*D:(i+1)*D], r.pos)
	}
	markAttentionPaths(rows)
	ws.fast = fastKernels()

	last := cfg.Layers - 1
	for l := range cfg.Layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		L := &m.w.Layers[l]
		m.attentionBlock(ws, L, l, rows)
		if l == last {
			// Only rows whose logits are wanted need the rest; their keys
			// and values are already stored.
			n = ws.keepLogitRows(rows, n)
			if n == 0 {
				return nil
			}
		}
		m.outputAndFFN(ws, L, l, n)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	xn := ws.xn[:n*E]
	for i := range n {
		rmsNorm(xn[i*E:(i+1)*E], ws.x[i*E:(i+1)*E], m.w.OutputNorm, cfg.RMSEps)
	}
	linear(m.w.Output, logits[:n*cfg.Vocab], xn, n)
	return nil
}

// markAttentionPaths picks each row's attention arithmetic the way
// llama.cpp picks its flash-attention kernel: tiled F32 for passes with
// many query rows, the F16 vector kernel otherwise.
func markAttentionPaths(rows []row) {
	for i := range rows {
		c := rows[i].cache
		same := 0
		for j := range rows {
			if rows[j].cache == c {
				same++
			}
		}
		rows[i].f32 = c.typ == KVF32 || same >= tiledMinRows
	}
}

// attentionBlock computes attention for every row of layer l into ws.attn,
// after storing the rows' keys and values.
func (m *Model) attentionBlock(ws *Workspace, L *Layer, l int, rows []row) {
	cfg := &m.cfg
	n := len(rows)
	E, D := cfg.Embd, cfg.Rope.Dims
	x, xn := ws.x[:n*E], ws.xn[:n*E]
	for i := range n {
		rmsNorm(xn[i*E:(i+1)*E], x[i*E:(i+1)*E], L.AttnNorm, cfg.RMSEps)
	}
	q, k, v := ws.q[:n*cfg.QDim()], ws.k[:n*cfg.KDim()], ws.v[:n*cfg.VDim()]
	if n == 1 && m.fused != nil {
		// One hand-over to the pool, the input quantised once.
		ws.dsts[0], ws.dsts[1], ws.dsts[2] = q, k, v
		m.pool.MatVecs(ws.dsts[:3], m.fused[l].qkv[:], xn)
	} else if m.fused != nil {
		// The same for n rows: quantised once, one hand-over.
		ws.dsts[0], ws.dsts[1], ws.dsts[2] = q, k, v
		m.pool.MatMuls(ws.dsts[:3], m.fused[l].qkv[:], xn, n)
	} else {
		linear(L.Q, q, xn, n)
		linear(L.K, k, xn, n)
		linear(L.V, v, xn, n)
	}
	addBias(q, L.QBias)
	addBias(k, L.KBias)
	addBias(v, L.VBias)

	hk := cfg.HeadDimK
	for i := range n {
		cs := ws.angles[i*D : (i+1)*D]
		qi := q[i*cfg.QDim() : (i+1)*cfg.QDim()]
		ki := k[i*cfg.KDim() : (i+1)*cfg.KDim()]
		for h := range cfg.Heads {
			head := qi[h*hk : (h+1)*hk]
			if L.QNorm != nil {
				rmsNorm(head, head, L.QNorm, cfg.RMSEps)
			}
			m.rope.apply(head, cs)
		}
		for h := range cfg.KVHeads {
			head := ki[h*hk : (h+1)*hk]
			if L.KNorm != nil {
				rmsNorm(head, head, L.KNorm, cfg.RMSEps)
			}
			m.rope.apply(head, cs)
		}
		rows[i].cache.store(l, rows[i].pos, ki, v[i*cfg.VDim():(i+1)*cfg.VDim()])
	}

	j := &ws.attention
	*j = attentionJob{ws: ws, cfg: cfg, layer: l, rows: rows, items: ws.planAttention(rows), fast: ws.fast}
	m.pool.Run(len(j.items), j)
	j.rows, j.items = nil, nil
}

// keepLogitRows moves the residual and attention rows of the rows whose
// logits are wanted to the front, and returns how many there are.
func (ws *Workspace) keepLogitRows(rows []row, n int) int {
	cfg := &ws.m.cfg
	E, A := cfg.Embd, cfg.AttnDim()
	kept := 0
	for i := range n {
		if !rows[i].logits {
			continue
		}
		if kept != i {
			copy(ws.x[kept*E:(kept+1)*E], ws.x[i*E:(i+1)*E])
			copy(ws.attn[kept*A:(kept+1)*A], ws.attn[i*A:(i+1)*A])
		}
		kept++
	}
	return kept
}

// outputAndFFN finishes a layer for the first n rows: the attention
// output projection and residual, then the SwiGLU feed-forward block and
// residual.
func (m *Model) outputAndFFN(ws *Workspace, L *Layer, l, n int) {
	cfg := &m.cfg
	E := cfg.Embd
	x, xn := ws.x[:n*E], ws.xn[:n*E]
	linear(L.O, xn, ws.attn[:n*cfg.AttnDim()], n)
	addBias(xn, L.OBias)
	for i := range x {
		x[i] += xn[i]
	}

	for i := range n {
		rmsNorm(xn[i*E:(i+1)*E], x[i*E:(i+1)*E], L.FFNNorm, cfg.RMSEps)
	}
	// The feed-forward block runs ffnRows rows at a time: its two
	// FF-wide intermediates are the largest scratch of a pass, and rows
	// are independent, so a prompt's pass needs them for a slice of its
	// rows only.
	for r0 := 0; r0 < n; r0 += ffnRows {
		k := min(ffnRows, n-r0)
		in := xn[r0*E : (r0+k)*E]
		gate, up := ws.gate[:k*cfg.FF], ws.up[:k*cfg.FF]
		switch {
		case k == 1 && m.fused != nil:
			ws.dsts[0], ws.dsts[1] = gate, up
			m.pool.MatVecs(ws.dsts[:2], m.fused[l].gateUp[:], in)
		case m.fused != nil:
			ws.dsts[0], ws.dsts[1] = gate, up
			m.pool.MatMuls(ws.dsts[:2], m.fused[l].gateUp[:], in, k)
		default:
			linear(L.Gate, gate, in, k)
			linear(L.Up, up, in, k)
		}
		siluMul(ws.fast, gate, up)
		// The rows' normalised input is used up: their output takes its
		// place.
		linear(L.Down, in, gate, k)
	}
	for i := range x {
		x[i] += xn[i]
	}
}

// ffnRows is how many rows the feed-forward block takes at a time:
// enough for the weight tiles' reuse (64 activation rows a tile), few
// enough that its intermediates stay small (2×128×FF floats, 8 MiB for
// Llama 3.2 1B) next to a prompt batch of 512. A variable for tests.
var ffnRows = 128

// linear applies w to n rows of x.
func linear(w Linear, dst, x []float32, n int) {
	if n == 1 {
		w.MatVec(dst, x)
		return
	}
	w.MatMul(dst, x, n)
}

// addBias adds b to every row of x; nil b adds nothing.
func addBias(x, b []float32) {
	if b == nil {
		return
	}
	for off := 0; off < len(x); off += len(b) {
		row := x[off : off+len(b)]
		for i, v := range b {
			row[i] += v
		}
	}
}
