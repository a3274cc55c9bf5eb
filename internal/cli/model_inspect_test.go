package cli

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strings"
	"testing"

	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/internal/engine/model"
	"github.com/tetherllm/tether/internal/engine/quant"
	"github.com/tetherllm/tether/internal/testmodel"
	"github.com/tetherllm/tether/llm"
)

// synthModel writes tether's tiny synthetic qwen2 model (2 layers of 11
// tensors, n_embd 256, 4 heads of 64, 2 KV heads) into dir.
func synthModel(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "good.gguf")
	if code, _, errs := tether(t, context.Background(), "model", "synth", "--arch", "qwen2", "-o", path); code != ExitOK {
		t.Fatalf("synth: exit %d, %q", code, errs)
	}
	return path
}

// ggufEdit changes a file as rewriteGGUF copies it: keys to set, tensors
// to leave out, tensors to reshape (same data, another shape).
type ggufEdit struct {
	keys    map[string]any
	skip    []string
	reshape map[string][]uint64
}

// rewriteGGUF copies the GGUF file src into dir/name with e applied.
func rewriteGGUF(t *testing.T, src, dir, name string, e ggufEdit) string {
	t.Helper()
	f, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := gguf.NewWriter()
	for _, kv := range f.KVs() {
		if err := w.Set(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range e.keys {
		if err := w.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for _, ti := range f.Tensors() {
		if strings.Contains(" "+strings.Join(e.skip, " ")+" ", " "+ti.Name+" ") {
			continue
		}
		tensor, err := f.Tensor(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		shape := ti.Shape
		if s, ok := e.reshape[ti.Name]; ok {
			shape = s
		}
		if err := w.AddTensor(ti.Name, ti.Type, shape, tensor.Data); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, name)
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func heapAllocated() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestModelInspectSaysWhatServeSays breaks a good file in the ways a
// hostile or corrupt header can: serve's load (engine.Load) refuses each
// with a one-line *llm.ModelFileError (exit status 3) without allocating
// for the claimed dimensions, and inspect reports the same words as its
// problem, in text and in JSON, and also within a small memory bound.
func TestModelInspectSaysWhatServeSays(t *testing.T) {
	dir := t.TempDir()
	good := synthModel(t, dir)
	tests := []struct {
		name string
		edit ggufEdit
		want string
	}{
		{"block_count 2^31-1", ggufEdit{keys: map[string]any{"qwen2.block_count": uint32(math.MaxInt32)}},
			"qwen2.block_count 2147483647 needs at least 19327352825 tensors, the file has 27"},
		{"block_count 1e8", ggufEdit{keys: map[string]any{"qwen2.block_count": uint32(1e8)}},
			"qwen2.block_count 100000000 needs at least 900000002 tensors, the file has 27"},
		{"head counts inconsistent", ggufEdit{keys: map[string]any{"qwen2.attention.head_count_kv": uint32(3)}},
			"head_count 4 is not a multiple of head_count_kv 3"},
		{"head count against attn_q", ggufEdit{keys: map[string]any{"qwen2.attention.head_count": uint32(8), "qwen2.attention.key_length": uint32(64), "qwen2.attention.value_length": uint32(64)}},
			"tensor blk.0.attn_q.weight has shape [256 256], want [256 512]"},
		{"missing layer tensor", ggufEdit{skip: []string{"blk.1.ffn_down.weight"}},
			"tensor blk.1.ffn_down.weight is missing"},
		{"shape against metadata", ggufEdit{keys: map[string]any{"qwen2.feed_forward_length": uint32(1024)}},
			"tensor blk.0.ffn_gate.weight has shape [256 512], want [256 1024]"},
		{"reshaped tensor", ggufEdit{reshape: map[string][]uint64{"blk.0.ffn_up.weight": {512, 256}}},
			"tensor blk.0.ffn_up.weight has shape [512 256], want [256 512]"},
		{"NaN rope base", ggufEdit{keys: map[string]any{"qwen2.rope.freq_base": float32(math.NaN())}},
			"rope.freq_base NaN must be positive"},
		{"infinite epsilon", ggufEdit{keys: map[string]any{"qwen2.attention.layer_norm_rms_epsilon": float32(math.Inf(1))}},
			"layer_norm_rms_epsilon +Inf must be a non-negative number"},
		{"vocabulary against token_embd", ggufEdit{keys: map[string]any{"tokenizer.ggml.tokens": []string{"a", "b"}, "tokenizer.ggml.token_type": []int32{1, 1}, "tokenizer.ggml.merges": []string{"a b"}, "tokenizer.ggml.eos_token_id": uint32(1), "tokenizer.ggml.bos_token_id": uint32(0), "tokenizer.ggml.padding_token_id": uint32(0)}},
			"the tokenizer has 2 tokens but token_embd.weight has"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := rewriteGGUF(t, good, t.TempDir(), "bad.gguf", tc.edit)

			before := heapAllocated()
			e, err := engine.Load(path, engine.Options{Threads: 1})
			loadBytes := heapAllocated() - before
			if e != nil {
				e.Close()
				t.Fatal("engine.Load accepted the file")
			}
			var fe *llm.ModelFileError
			if !errors.As(err, &fe) || exitCode(err) != ExitModel || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("engine.Load: %v (exit %d); want a one-line *llm.ModelFileError mentioning %q, exit %d", err, exitCode(err), tc.want, ExitModel)
			}
			served := strings.TrimPrefix(err.Error(), "model "+path+": ")

			before = heapAllocated()
			r, err := inspectModel(path, 0)
			inspectBytes := heapAllocated() - before
			if err != nil {
				t.Fatalf("inspect: %v", err)
			}
			if len(r.Problems) != 1 || r.Problems[0] != served {
				t.Errorf("inspect problems %q, want serve's %q", r.Problems, served)
			}
			// The file is about 1 MiB and mapped, not read; the claimed
			// dimensions would need gigabytes.
			const bound = 8 << 20
			if loadBytes > bound || inspectBytes > bound {
				t.Errorf("allocated %d bytes loading and %d inspecting, want at most %d each", loadBytes, inspectBytes, bound)
			}

			code, out, errs := tether(t, context.Background(), "model", "inspect", path)
			if code != ExitOK || !strings.Contains(out, "problem        "+served+"\n") {
				t.Errorf("inspect: exit %d, stderr %q, output lacks the problem %q:\n%s", code, errs, served, out)
			}
			code, out, errs = tether(t, context.Background(), "model", "inspect", "--json", path)
			var jr modelReport
			if code != ExitOK || json.Unmarshal([]byte(out), &jr) != nil || len(jr.Problems) != 1 || jr.Problems[0] != served {
				t.Errorf("inspect --json: exit %d, stderr %q, problems %q; want %q in:\n%s", code, errs, jr.Problems, served, out)
			}
		})
	}
}

// TestModelInspectJSONNonFinite inspects files whose rope base is NaN or
// infinite: --json prints valid JSON with the value as a string.
func TestModelInspectJSONNonFinite(t *testing.T) {
	dir := t.TempDir()
	good := synthModel(t, dir)
	for name, tc := range map[string]struct {
		v    float32
		want string
	}{
		"nan":  {float32(math.NaN()), `"NaN"`},
		"+inf": {float32(math.Inf(1)), `"+Inf"`},
		"-inf": {float32(math.Inf(-1)), `"-Inf"`},
	} {
		t.Run(name, func(t *testing.T) {
			path := rewriteGGUF(t, good, dir, name+".gguf", ggufEdit{keys: map[string]any{"qwen2.rope.freq_base": tc.v}})
			code, out, errs := tether(t, context.Background(), "model", "inspect", "--json", path)
			if code != ExitOK {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
			var raw struct {
				Shape struct {
					RopeBase json.RawMessage `json:"rope_freq_base"`
				} `json:"shape"`
				Problems []string `json:"problems"`
			}
			if err := json.Unmarshal([]byte(out), &raw); err != nil {
				t.Fatalf("invalid JSON (%v):\n%s", err, out)
			}
			if string(raw.Shape.RopeBase) != tc.want || len(raw.Problems) != 1 || !strings.Contains(raw.Problems[0], "rope.freq_base") {
				t.Errorf("rope_freq_base %s, problems %q; want %s and a problem with rope.freq_base", raw.Shape.RopeBase, raw.Problems, tc.want)
			}
			var r modelReport
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("the report does not read back: %v", err)
			}
			if got := float64(r.Shape.RopeBase); !(math.IsNaN(got) && math.IsNaN(float64(tc.v)) || got == float64(tc.v)) {
				t.Errorf("read back rope base %v, want %v", got, tc.v)
			}
		})
	}
}

// TestModelInspectGoodFileHasNoProblem: the file serve runs is clean.
func TestModelInspectGoodFileHasNoProblem(t *testing.T) {
	path := synthModel(t, t.TempDir())
	e, err := engine.Load(path, engine.Options{Threads: 1})
	if err != nil {
		t.Fatalf("engine.Load: %v", err)
	}
	e.Close()
	r, err := inspectModel(path, 0)
	if err != nil || len(r.Problems) != 0 {
		t.Fatalf("inspect: %v, problems %q", err, r.Problems)
	}
}

// TestModelInspectDevice refuses a character device (endless) at once.
func TestModelInspectDevice(t *testing.T) {
	if _, err := os.Stat(os.DevNull); err != nil {
		t.Skip(err)
	}
	code, out, errs := tether(t, context.Background(), "model", "inspect", os.DevNull)
	if code != ExitModel || out != "" || !strings.Contains(errs, "not a regular GGUF file") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// TestModelInspectCacheBeyondMemory: a well-formed file whose KV cache
// at the asked context needs more than the machine's memory is refused by
// serve's load, and inspect reports the same refusal.
func TestModelInspectCacheBeyondMemory(t *testing.T) {
	// 1 layer, 1 KV head of 2^18: 1 MiB a token in f16, 4 TiB at 2^22.
	spec := testmodel.Spec{Arch: "qwen2", Type: quant.F16, Embd: 2, Layers: 1, Heads: 1, KVHeads: 1, HeadDim: 1 << 18, FF: 2, Context: 4096}
	path := testmodel.Write(t, spec)
	e, err := engine.Load(path, engine.Options{Threads: 1, ContextLength: model.MaxCacheTokens})
	if e != nil {
		e.Close()
		t.Skip("this machine has memory for a 4 TiB KV cache")
	}
	if exitCode(err) != ExitModel || !strings.Contains(err.Error(), "more than this machine's") {
		t.Fatalf("engine.Load: %v (exit %d), want a refusal for memory, exit %d", err, exitCode(err), ExitModel)
	}
	served := strings.TrimPrefix(err.Error(), "model "+path+": ")
	r, err := inspectModel(path, model.MaxCacheTokens)
	if err != nil || len(r.Problems) != 1 || r.Problems[0] != served {
		t.Errorf("inspect --ctx %d: %v, problems %q; want serve's %q", model.MaxCacheTokens, err, r.Problems, served)
	}
	// At the default context the same file fits, and is clean.
	if r, err := inspectModel(path, 0); err != nil || len(r.Problems) != 0 {
		t.Errorf("inspect at the default context: %v, problems %q", err, r.Problems)
	}
}
