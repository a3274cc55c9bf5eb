package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/engine/chat"
	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/internal/engine/model"
	"github.com/tetherllm/tether/internal/engine/quant"
	"github.com/tetherllm/tether/internal/engine/tokenizer"
	"github.com/tetherllm/tether/llm"
)

func newModelInspectCommand(s streams) *cobra.Command {
	var (
		asJSON bool
		ctx    int
	)
	cmd := &cobra.Command{
		Use:   "inspect FILE",
		Short: "Describe a GGUF model file",
		Long: `Describe a GGUF model file without loading its weights: architecture and
sizes, tensor types (count and bytes of each), context length, tokenizer
(model, pre-tokenizer, vocabulary size, special and end-of-generation tokens),
chat template family, and estimated memory: the weights, and an F16 KV cache
(llama.cpp's default, and tether's) at the model's context length and at --ctx.

The file goes through the same checks as 'tether serve' loading it (the
tokenizer, and the hyperparameters against the tensors), and what serve would
refuse is listed as a problem. A file that is not valid GGUF, or not a regular
file (a named pipe, a device), is an error (exit status 3).

With --json, a metadata number that is not finite (NaN, +Inf, -Inf) is printed
as the string "NaN", "+Inf" or "-Inf", since JSON has no such numbers.`,
		Example: `  tether model inspect qwen2.5-0.5b-instruct-q8_0.gguf
  tether model inspect model.gguf --ctx 32768 --json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("model inspect takes one model file, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			if ctx < 0 {
				return usagef("--ctx %d must not be negative", ctx)
			}
			r, err := inspectModel(args[0], ctx)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(r)
			}
			r.print(s.out)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&ctx, "ctx", 0, fmt.Sprintf("context length for the KV cache estimate (default: the model's, at most %d, as tether uses)", engine.DefaultMaxContext))
	return cmd
}

// modelReport is what inspect prints.
type modelReport struct {
	File          string          `json:"file"`
	GGUFVersion   uint32          `json:"gguf_version"`
	FileBytes     int64           `json:"file_bytes"`
	Name          string          `json:"name,omitempty"`
	Architecture  string          `json:"architecture"`
	ContextLength int             `json:"context_length"`
	Shape         modelShape      `json:"shape"`
	Tensors       tensorSummary   `json:"tensors"`
	Tokenizer     *tokenizerInfo  `json:"tokenizer,omitempty"`
	ChatTemplate  templateInfo    `json:"chat_template"`
	Memory        memoryEstimates `json:"memory"`
	// Problems are what would stop tether's engine from running the
	// file: the error engine.Check gives, as serve would report it.
	Problems []string `json:"problems,omitempty"`
}

type modelShape struct {
	Embedding   int       `json:"embedding_length"`
	Layers      int       `json:"block_count"`
	FeedForward int       `json:"feed_forward_length"`
	Heads       int       `json:"head_count"`
	KVHeads     int       `json:"head_count_kv"`
	KeyLength   int       `json:"key_length"`
	ValueLength int       `json:"value_length"`
	Vocab       int       `json:"vocab_size"`
	RopeBase    jsonFloat `json:"rope_freq_base,omitempty"`
	TiedOutput  bool      `json:"tied_output"`
}

type tensorSummary struct {
	Count  int         `json:"count"`
	Bytes  uint64      `json:"bytes"`
	ByType []typeCount `json:"by_type"`
}

type typeCount struct {
	Type  string `json:"type"`
	Count int    `json:"count"`
	Bytes uint64 `json:"bytes"`
}

type tokenizerInfo struct {
	Model   string       `json:"model"`
	Pre     string       `json:"pre,omitempty"`
	Tokens  int          `json:"tokens"`
	AddBOS  bool         `json:"add_bos"`
	Special []namedToken `json:"special"`
	// EOG are the end-of-generation tokens, derived as llama.cpp derives
	// them.
	EOG         []namedToken `json:"eog"`
	Control     int          `json:"control_tokens"`
	UserDefined int          `json:"user_defined_tokens"`
}

type namedToken struct {
	Role string `json:"role,omitempty"`
	ID   int64  `json:"id"`
	Text string `json:"text"`
}

type templateInfo struct {
	// Family is engine/chat's family ("qwen2.5", "qwen3", "llama3",
	// "chatml", "jinja"), or "none" when the file has no template.
	Family string `json:"family"`
	Bytes  int    `json:"bytes"`
}

type memoryEstimates struct {
	WeightsBytes uint64    `json:"weights_bytes"`
	KVCache      []kvCache `json:"kv_cache"`
}

type kvCache struct {
	Context int    `json:"context"`
	Type    string `json:"type"`
	Bytes   uint64 `json:"bytes"`
}

// jsonFloat is a metadata number: JSON has no NaN or infinities, so
// those are written as the strings "NaN", "+Inf" and "-Inf".
type jsonFloat float32

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	switch x := float64(f); {
	case math.IsNaN(x):
		return []byte(`"NaN"`), nil
	case math.IsInf(x, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(x, -1):
		return []byte(`"-Inf"`), nil
	}
	return json.Marshal(float32(f))
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		x, err := strconv.ParseFloat(s, 32)
		*f = jsonFloat(x)
		return err
	}
	var x float32
	err := json.Unmarshal(b, &x)
	*f = jsonFloat(x)
	return err
}

// inspectModel reads what inspect reports; only a file that cannot be
// parsed at all is an error.
func inspectModel(path string, ctx int) (*modelReport, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &llm.ModelFileError{Path: path, Reason: "no such file"}
	case err != nil:
		return nil, &llm.ModelFileError{Path: path, Reason: "cannot read", Err: err}
	case fi.IsDir():
		return nil, &llm.ModelFileError{Path: path, Reason: "is a directory, not a GGUF file"}
	case !fi.Mode().IsRegular():
		// Reading a named pipe would wait for a writer; a device may
		// never end.
		return nil, &llm.ModelFileError{Path: path, Reason: "is " + gguf.FileKind(fi.Mode()) + ", not a regular GGUF file"}
	}
	f, err := gguf.Open(path)
	if err != nil {
		return nil, &llm.ModelFileError{Path: path, Reason: "not a valid GGUF file", Err: err}
	}
	defer f.Close()
	r := &modelReport{File: path, GGUFVersion: f.Version(), FileBytes: fi.Size()}
	r.Name, _ = gguf.GetOr(f, "general.name", "")
	r.Architecture, err = f.Architecture()
	if err != nil {
		return nil, &llm.ModelFileError{Path: path, Reason: "no architecture", Err: err}
	}
	r.readShape(f)
	r.readTensors(f)
	r.readTokenizer(f)
	// The checks serve's load runs, so that what it would refuse shows
	// here, in its words.
	chk, err := engine.Check(f)
	if err != nil {
		r.problem(err)
	} else if ctx <= model.MaxCacheTokens {
		// One slot's cache at the context estimated below.
		if err := engine.CheckMemory(f, chk.Config, engine.Options{ContextLength: ctx}); err != nil {
			r.problem(err)
		}
	}

	// The shape as read, unchecked when there is a problem: the estimate
	// saturates rather than overflows for absurd dimensions.
	shape := model.Config{Layers: r.Shape.Layers, KVHeads: r.Shape.KVHeads, HeadDimK: r.Shape.KeyLength, HeadDimV: r.Shape.ValueLength}
	kv := func(tokens int) kvCache {
		return kvCache{Context: tokens, Type: model.KVF16.String(), Bytes: uint64(model.KVCacheBytes(shape, tokens, model.KVF16))}
	}
	r.Memory.WeightsBytes = r.Tensors.Bytes
	if r.ContextLength > 0 {
		r.Memory.KVCache = append(r.Memory.KVCache, kv(r.ContextLength))
	}
	if ctx == 0 {
		ctx = min(r.ContextLength, engine.DefaultMaxContext)
	}
	if ctx > 0 && ctx != r.ContextLength {
		r.Memory.KVCache = append(r.Memory.KVCache, kv(ctx))
	}
	return r, nil
}

// archInt reads an <arch>.* integer; def when absent or unreadable.
func archInt(f *gguf.File, suffix string, def int) int {
	key, err := f.ArchKey(suffix)
	if err != nil {
		return def
	}
	n, err := f.Int(key)
	if err != nil || n < 0 || n > 1<<40 {
		return def
	}
	return int(n)
}

func (r *modelReport) readShape(f *gguf.File) {
	s := &r.Shape
	r.ContextLength = archInt(f, "context_length", 0)
	s.Embedding = archInt(f, "embedding_length", 0)
	s.Layers = archInt(f, "block_count", 0)
	s.FeedForward = archInt(f, "feed_forward_length", 0)
	s.Heads = archInt(f, "attention.head_count", 0)
	s.KVHeads = archInt(f, "attention.head_count_kv", s.Heads)
	head := 0
	if s.Heads > 0 {
		head = s.Embedding / s.Heads
	}
	s.KeyLength = archInt(f, "attention.key_length", head)
	s.ValueLength = archInt(f, "attention.value_length", head)
	if base, err := gguf.ArchGet[float32](f, "rope.freq_base"); err == nil {
		s.RopeBase = jsonFloat(base)
	}
	if ti, ok := f.TensorInfo("token_embd.weight"); ok && len(ti.Shape) == 2 {
		s.Vocab = int(ti.Shape[1])
	}
	_, hasOutput := f.TensorInfo("output.weight")
	s.TiedOutput = !hasOutput
}

func (r *modelReport) readTensors(f *gguf.File) {
	byType := map[quant.Type]*typeCount{}
	for _, t := range f.Tensors() {
		c := byType[t.Type]
		if c == nil {
			c = &typeCount{Type: t.Type.String()}
			byType[t.Type] = c
		}
		c.Count++
		c.Bytes += t.Size
		r.Tensors.Count++
		r.Tensors.Bytes += t.Size
	}
	for _, c := range byType {
		r.Tensors.ByType = append(r.Tensors.ByType, *c)
	}
	slices.SortFunc(r.Tensors.ByType, func(a, b typeCount) int {
		if a.Bytes != b.Bytes {
			if a.Bytes > b.Bytes {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Type, b.Type)
	})
}

// readTokenizer describes the tokenizer as the engine builds it; why it
// cannot be built is left to engine.Check's problem.
func (r *modelReport) readTokenizer(f *gguf.File) {
	r.ChatTemplate.Family = "none"
	tok, g, _ := engine.FileTokenizer(f)
	if g == nil {
		if text, err := gguf.GetOr(f, "tokenizer.chat_template", ""); err == nil && text != "" {
			r.ChatTemplate = templateInfo{Family: chat.Detect(text), Bytes: len(text)}
		}
		return
	}
	if g.ChatTemplate != "" {
		r.ChatTemplate = templateInfo{Family: chat.Detect(g.ChatTemplate), Bytes: len(g.ChatTemplate)}
	}
	info := &tokenizerInfo{Model: g.Model, Pre: g.Pre, Tokens: len(g.Tokens)}
	text := func(id int64) string {
		if id >= 0 && id < int64(len(g.Tokens)) {
			return g.Tokens[id]
		}
		return ""
	}
	for _, role := range slices.Sorted(maps.Keys(g.Special)) {
		id := g.Special[role]
		info.Special = append(info.Special, namedToken{Role: role, ID: id, Text: text(id)})
	}
	for _, t := range g.Types {
		switch t {
		case tokenizer.TypeControl:
			info.Control++
		case tokenizer.TypeUserDefined:
			info.UserDefined++
		}
	}
	if tok == nil {
		info.AddBOS = g.AddBOS != nil && *g.AddBOS
	} else {
		info.AddBOS = tok.AddBOS()
		for _, id := range tok.EOGTokens() {
			info.EOG = append(info.EOG, namedToken{ID: int64(id), Text: tok.TokenText(id)})
		}
	}
	r.Tokenizer = info
}

// problem records err's first line; a file error about the report's own
// file is given by its reason, as the report already names the file.
func (r *modelReport) problem(err error) {
	msg := err.Error()
	var fe *llm.ModelFileError
	if errors.As(err, &fe) && fe.Path == r.File {
		msg = fe.Reason
		if fe.Err != nil {
			msg += ": " + fe.Err.Error()
		}
	}
	msg, _, _ = strings.Cut(msg, "\n")
	r.Problems = append(r.Problems, msg)
}

func (r *modelReport) print(w io.Writer) {
	row := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-14s %s\n", label, fmt.Sprintf(format, args...))
	}
	row("file", "%s (GGUF v%d, %s)", r.File, r.GGUFVersion, formatBytes(uint64(max(r.FileBytes, 0))))
	if r.Name != "" {
		row("name", "%s", r.Name)
	}
	row("architecture", "%s", r.Architecture)
	s := r.Shape
	tied := "untied output"
	if s.TiedOutput {
		tied = "output tied to token_embd"
	}
	row("shape", "n_embd %d, %d layers, %d heads (%d KV), head size %d/%d, n_ff %d, vocab %d, %s",
		s.Embedding, s.Layers, s.Heads, s.KVHeads, s.KeyLength, s.ValueLength, s.FeedForward, s.Vocab, tied)
	if s.RopeBase != 0 {
		row("rope", "freq base %g", s.RopeBase)
	}
	row("context", "%d tokens", r.ContextLength)
	var types []string
	for _, c := range r.Tensors.ByType {
		types = append(types, fmt.Sprintf("%s ×%d (%s)", c.Type, c.Count, formatBytes(c.Bytes)))
	}
	if len(types) == 0 {
		row("tensors", "none")
	} else {
		row("tensors", "%d, %s: %s", r.Tensors.Count, formatBytes(r.Tensors.Bytes), strings.Join(types, ", "))
	}
	if t := r.Tokenizer; t != nil {
		pre := t.Pre
		if pre == "" {
			pre = "(none)"
		}
		row("tokenizer", "%s, pre-tokenizer %s, %d tokens (%d control, %d user-defined), add BOS %v", t.Model, pre, t.Tokens, t.Control, t.UserDefined, t.AddBOS)
		var sp []string
		for _, n := range t.Special {
			sp = append(sp, fmt.Sprintf("%s %d %q", n.Role, n.ID, n.Text))
		}
		row("special", "%s", strings.Join(sp, ", "))
		var eog []string
		for _, n := range t.EOG {
			eog = append(eog, fmt.Sprintf("%d %q", n.ID, n.Text))
		}
		row("end of gen.", "%s", strings.Join(eog, ", "))
	} else {
		row("tokenizer", "none")
	}
	if r.ChatTemplate.Family == "none" {
		row("chat template", "none (tether uses ChatML)")
	} else {
		row("chat template", "%s (%d bytes)", r.ChatTemplate.Family, r.ChatTemplate.Bytes)
	}
	mem := []string{"weights " + formatBytes(r.Memory.WeightsBytes)}
	for _, kv := range r.Memory.KVCache {
		mem = append(mem, fmt.Sprintf("%s KV cache %s at %d tokens", kv.Type, formatBytes(kv.Bytes), kv.Context))
	}
	row("memory", "%s", strings.Join(mem, "; "))
	for _, p := range r.Problems {
		row("problem", "%s", p)
	}
}
