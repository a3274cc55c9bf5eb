package model

import "fmt"

// Workspace is the scratch memory of forward passes over up to Batch
// tokens at a time. It is allocated once; evaluation through it does not
// allocate. A Workspace serves one call at a time.
type Workspace struct {
	m     *Model
	batch int

	x, xn       []float32 // batch×Embd: the residual stream, its norm
	q, k, v     []float32 // batch×QDim, KDim, VDim
	attn        []float32 // batch×AttnDim
	gate, up    []float32 // min(batch, ffnRows)×FF
	angles      []float32 // batch×Rope.Dims: cos/sin per row
	logits      []float32 // Vocab: Eval's result
	rows        []row
	steps       []Step        // EvalBatch's
	heads       []headScratch // one per worker
	items       []attnItem    // batch×KVHeads: attention's work items
	attention   attentionJob
	fast        bool // this pass uses the assembly kernels
	scoresAlloc int
	dsts        [3][]float32 // outputs of a fused product
}

// row is one token of a forward pass.
type row struct {
	cache  *Cache
	pos    int
	tok    int32
	logits bool // whether its logits are wanted
	// f32 selects the F32 attention path for this row (see attention.go).
	f32 bool
}

// NewWorkspace returns scratch memory for passes of up to batch tokens.
// Prompt processing is fastest with a batch of a few hundred tokens;
// decoding needs 1 (or the number of sequences decoded together).
func (m *Model) NewWorkspace(batch int) (*Workspace, error) {
	if batch <= 0 {
		return nil, fmt.Errorf("model: workspace batch %d must be positive", batch)
	}
	c := &m.cfg
	ws := &Workspace{
		m:      m,
		batch:  batch,
		x:      make([]float32, batch*c.Embd),
		xn:     make([]float32, batch*c.Embd),
		q:      make([]float32, batch*c.QDim()),
		k:      make([]float32, batch*c.KDim()),
		v:      make([]float32, batch*c.VDim()),
		attn:   make([]float32, batch*c.AttnDim()),
		gate:   make([]float32, min(batch, ffnRows)*c.FF),
		up:     make([]float32, min(batch, ffnRows)*c.FF),
		angles: make([]float32, batch*c.Rope.Dims),
		logits: make([]float32, c.Vocab),
		rows:   make([]row, batch),
		steps:  make([]Step, 0, batch),
		heads:  make([]headScratch, m.pool.Threads()),
		items:  make([]attnItem, 0, batch*c.KVHeads),
	}
	for i := range ws.heads {
		ws.heads[i] = newHeadScratch(c)
	}
	return ws, nil
}

// Batch is the most tokens one pass takes.
func (ws *Workspace) Batch() int { return ws.batch }

// fitCache makes sure the attention scores (a block of query rows ×
// positions) fit a cache of capacity tokens; it allocates only for a
// larger cache than any seen before.
func (ws *Workspace) fitCache(capacity int) {
	if capacity <= ws.scoresAlloc {
		return
	}
	for i := range ws.heads {
		ws.heads[i].scores = make([]float32, len(ws.heads[i].m)*capacity)
	}
	ws.scoresAlloc = capacity
}
