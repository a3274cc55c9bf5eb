package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/engine/synth"
	"github.com/tetherllm/tether/internal/engine/quant"
	"github.com/tetherllm/tether/internal/testbin"
	"github.com/tetherllm/tether/llm"
)

func TestModelSynthAndInspect(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	code, out, errs := tether(t, ctx, "model", "synth", "--arch", "qwen3", "--type", "q4_k", "--seed", "3", "--tool-call", "-o", path)
	if code != ExitOK {
		t.Fatalf("synth: exit %d, stderr %q", code, errs)
	}
	if !strings.Contains(out, "wrote "+path+": tiny qwen3 q4_K, seed 3, untied output") || !strings.Contains(out, "tool-call mode") {
		t.Errorf("synth printed %q", out)
	}

	code, out, errs = tether(t, ctx, "model", "inspect", path)
	if code != ExitOK {
		t.Fatalf("inspect: exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{
		"architecture   qwen3",
		"n_embd 256, 2 layers, 4 heads (2 KV), head size 128/128, n_ff 512",
		"context        4096 tokens",
		"q4_K ×16", "f32 ×9",
		"gpt2, pre-tokenizer qwen2",
		`eos 627 "<|im_end|>"`,
		"chat template  qwen3 (",
		"f16 KV cache 8.0 MiB at 4096 tokens",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "problem") {
		t.Errorf("inspect reports problems with a file the engine runs:\n%s", out)
	}

	code, out, errs = tether(t, ctx, "model", "inspect", "--json", "--ctx", "1024", path)
	if code != ExitOK {
		t.Fatalf("inspect --json: exit %d, stderr %q", code, errs)
	}
	var r modelReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("inspect --json printed %q: %v", out, err)
	}
	perToken := uint64(2 * 2 * (128 + 128) * 2) // layers × KV heads × (K+V) × f16
	switch {
	case r.Architecture != "qwen3" || r.ContextLength != 4096 || r.Shape.KeyLength != 128 || r.Shape.TiedOutput:
		t.Errorf("architecture %q, context %d, key length %d, tied %v", r.Architecture, r.ContextLength, r.Shape.KeyLength, r.Shape.TiedOutput)
	case r.Tokenizer == nil || r.Tokenizer.Tokens != r.Shape.Vocab || r.Tokenizer.Pre != "qwen2" || r.Tokenizer.UserDefined != 6:
		t.Errorf("tokenizer %+v for vocab %d", r.Tokenizer, r.Shape.Vocab)
	case r.ChatTemplate.Family != "qwen3":
		t.Errorf("template family %q", r.ChatTemplate.Family)
	case len(r.Memory.KVCache) != 2 || r.Memory.KVCache[0].Bytes != 4096*perToken || r.Memory.KVCache[1] != (kvCache{Context: 1024, Type: "f16", Bytes: 1024 * perToken}):
		t.Errorf("KV cache estimates %+v, want %d bytes a token", r.Memory.KVCache, perToken)
	case r.Memory.WeightsBytes != r.Tensors.Bytes || r.Tensors.Bytes == 0 || r.Tensors.Bytes > uint64(r.FileBytes):
		t.Errorf("weights %d, tensors %d, file %d bytes", r.Memory.WeightsBytes, r.Tensors.Bytes, r.FileBytes)
	}
}

func TestModelSynthIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	var files [][]byte
	for _, name := range []string{"a.gguf", "b.gguf"} {
		path := filepath.Join(dir, name)
		if code, _, errs := tether(t, context.Background(), "model", "synth", "--arch", "llama", "--type", "f16", "--tie", "-o", path); code != ExitOK {
			t.Fatalf("synth: exit %d, %q", code, errs)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, data)
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Fatal("the same flags wrote different files")
	}
}

func TestModelSynthFlags(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m.gguf")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no output", []string{"model", "synth"}, "needs -o FILE"},
		{"argument", []string{"model", "synth", "-o", out, "extra"}, "takes no arguments"},
		{"type", []string{"model", "synth", "--type", "q3_k", "-o", out}, "unknown --type"},
		{"bad type", []string{"model", "synth", "--type", "nonsense", "-o", out}, "unknown --type"},
		{"shape", []string{"model", "synth", "--shape", "gpt-5", "-o", out}, "unknown shape"},
		{"arch", []string{"model", "synth", "--arch", "mistral", "-o", out}, "unknown architecture"},
		{"shape and arch", []string{"model", "synth", "--shape", "qwen3-0.6b", "--arch", "llama", "-o", out}, "is a qwen3 model"},
		{"template", []string{"model", "synth", "--template", "gemma", "-o", out}, "unknown --template"},
		{"tool call tied", []string{"model", "synth", "--tool-call", "--tie", "-o", out}, "--tool-call needs an untied output"},
		{"seed", []string{"model", "synth", "--seed", "-1", "-o", out}, "invalid argument"},
		{"unknown subcommand", []string{"model", "convert"}, "unknown model command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := tether(t, context.Background(), tc.args...)
			if code != ExitUsage || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Fatalf("exit %d, stderr %q; want %d and one line about %q", code, errs, ExitUsage, tc.want)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused command wrote the file")
	}
}

func TestModelSynthRealShapeOptions(t *testing.T) {
	for _, tc := range []struct {
		flags  synthFlags
		tieSet bool
		tie    bool
	}{
		{synthFlags{shape: "qwen2.5-0.5b", typ: "q8_0", output: "x"}, false, true},
		{synthFlags{shape: "qwen2.5-0.5b", typ: "q8_0", output: "x", toolCall: true}, false, false},
		{synthFlags{shape: "llama-3.2-1b", typ: "Q4_K", output: "x", tie: false}, true, false},
		{synthFlags{shape: "tiny", typ: "bf16", output: "x", tie: true}, true, true},
	} {
		o, err := tc.flags.options(tc.tieSet)
		if err != nil {
			t.Fatalf("%+v: %v", tc.flags, err)
		}
		if o.Shape.Tie != tc.tie {
			t.Errorf("%+v: tied %v, want %v", tc.flags, o.Shape.Tie, tc.tie)
		}
		if _, err := synth.New(o); err != nil {
			t.Errorf("%+v: %v", tc.flags, err)
		}
	}
}

func TestModelInspectBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.gguf")
	if code, _, errs := tether(t, context.Background(), "model", "synth", "-o", good); code != ExitOK {
		t.Fatalf("synth: %q", errs)
	}
	data, _ := os.ReadFile(good)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope.gguf"), "no such file"},
		{"directory", dir, "is a directory"},
		{"not gguf", write("text.gguf", []byte("hello, this is not a model\n")), "not a GGUF file"},
		{"truncated", write("cut.gguf", data[:len(data)/2]), "truncated"},
		{"header only", write("head.gguf", data[:20]), "truncated"},
		{"empty", write("empty.gguf", nil), "not a valid GGUF file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := tether(t, context.Background(), "model", "inspect", tc.path)
			if code != ExitModel || out != "" || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d and one line about %q", code, out, errs, ExitModel, tc.want)
			}
		})
	}
	if code, _, _ := tether(t, context.Background(), "model", "inspect"); code != ExitUsage {
		t.Errorf("inspect without a file: exit %d", code)
	}
	if code, _, _ := tether(t, context.Background(), "model", "inspect", good, "--ctx", "-5"); code != ExitUsage {
		t.Errorf("inspect --ctx -5: exit %d", code)
	}
}

// TestModelInspectReportsProblems inspects a GGUF file that is valid but
// that the engine cannot run.
func TestModelInspectReportsProblems(t *testing.T) {
	code, out, errs := tether(t, context.Background(), "model", "inspect", tinyModel(t))
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{"architecture   llama", "tokenizer      none", "chat template  none", "problem"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestModelCommandsAsBinary runs the built tether: a synthetic file
// round-trips through inspect, and a bad file exits with status 3.
func TestModelCommandsAsBinary(t *testing.T) {
	bin := testbin.Build(t, "github.com/tetherllm/tether/cmd/tether")
	dir := t.TempDir()
	path := filepath.Join(dir, "m.gguf")
	if out, err := exec.Command(bin, "model", "synth", "--template", "llama3", "--arch", "llama", "-o", path).CombinedOutput(); err != nil {
		t.Fatalf("synth: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "model", "inspect", path).Output()
	if err != nil || !strings.Contains(string(out), "chat template  llama3") || !strings.Contains(string(out), "pre-tokenizer llama-bpe") {
		t.Fatalf("inspect: %v\n%s", err, out)
	}
	bad := filepath.Join(dir, "bad.gguf")
	os.WriteFile(bad, []byte("GGUF\x09\x00\x00\x00"), 0o644)
	cmd := exec.Command(bin, "model", "inspect", bad)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != ExitModel {
		t.Fatalf("inspect of a bad file: %v, stderr %q", err, stderr.String())
	}
	if !strings.HasPrefix(stderr.String(), "tether: ") || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("stderr %q: want one line starting with tether:", stderr.String())
	}
}

// FuzzModelInspect inspects arbitrary files: any input gives a report or
// a model-file error, never a panic.
func FuzzModelInspect(f *testing.F) {
	w := gguf.NewWriter()
	for _, kv := range []struct {
		k string
		v any
	}{
		{"general.architecture", "qwen2"}, {"qwen2.context_length", uint32(64)}, {"qwen2.embedding_length", uint32(4)},
		{"qwen2.block_count", uint32(1)}, {"qwen2.attention.head_count", uint32(2)}, {"qwen2.attention.head_count_kv", uint32(1)},
		{"qwen2.feed_forward_length", uint32(8)}, {"qwen2.attention.layer_norm_rms_epsilon", float32(1e-6)},
		{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.pre", "qwen2"},
		{"tokenizer.ggml.tokens", []string{"a", "b", "ab", "<|im_end|>"}}, {"tokenizer.ggml.token_type", []int32{1, 1, 1, 3}},
		{"tokenizer.ggml.merges", []string{"a b"}}, {"tokenizer.ggml.eos_token_id", uint32(3)},
		{"tokenizer.chat_template", "{{ messages }}"},
	} {
		if err := w.Set(kv.k, kv.v); err != nil {
			f.Fatal(err)
		}
	}
	if err := w.AddTensor("token_embd.weight", quant.F32, []uint64{4, 4}, make([]byte, 64)); err != nil {
		f.Fatal(err)
	}
	if err := w.AddTensor("output_norm.weight", quant.F32, []uint64{4}, make([]byte, 16)); err != nil {
		f.Fatal(err)
	}
	var seed bytes.Buffer
	if _, err := w.WriteTo(&seed); err != nil {
		f.Fatal(err)
	}
	f.Add(seed.Bytes())
	// Hostile headers: a non-finite number, absurd sizes.
	for _, kv := range []struct {
		k string
		v any
	}{
		{"qwen2.rope.freq_base", float32(math.NaN())}, {"qwen2.block_count", uint32(math.MaxInt32)}, {"qwen2.embedding_length", uint64(1e8)},
	} {
		if err := w.Set(kv.k, kv.v); err != nil {
			f.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := w.WriteTo(&b); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Add([]byte("GGUF\x03\x00\x00\x00"))
	f.Add([]byte{})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "f.gguf")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		before := heapAllocated()
		r, err := inspectModel(path, 0)
		// In proportion to the file, never to what its header claims.
		if allocated, bound := heapAllocated()-before, 64*uint64(len(data))+4<<20; allocated > bound {
			t.Fatalf("inspect allocated %d bytes for a %d-byte file (bound %d)", allocated, len(data), bound)
		}
		if err != nil {
			var mfe *llm.ModelFileError
			if !errors.As(err, &mfe) {
				t.Fatalf("error %v is not a model-file error", err)
			}
			return
		}
		var b bytes.Buffer
		r.print(&b)
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("report does not marshal: %v", err)
		}
	})
}
