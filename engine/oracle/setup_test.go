package oracle

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetherllm/tether/engine/chat"
	"github.com/tetherllm/tether/engine/oracle/internal/protocol"
	"github.com/tetherllm/tether/engine/synth"
	"github.com/tetherllm/tether/internal/engine/quant"
	"github.com/tetherllm/tether/internal/testbin"
	"github.com/tetherllm/tether/llm"
)

// oracleCase is one synthetic file and what is compared on it.
type oracleCase struct {
	name  string
	opts  synth.Options
	model *synth.Model
	path  string
	// prompts are run greedily in llama.cpp for steps tokens each.
	prompts []string
	steps   int
	// compare: per-step log-probabilities along llama.cpp's path, and for
	// F32/F16 files, free-running greedy paths too.
	compare bool
	job     int // index in the node run
}

// suite is everything the tests share: the files, written once, and one
// node run over all of them.
type suite struct {
	dir     string
	cases   []*oracleCase
	texts   []string     // tokenized in every file
	results []evalResult // llama.cpp's
	// goResults are the engine's, along llama.cpp's paths.
	goResults []protocol.Result
	// kernels is the kernel tier the engine ran.
	kernels string
	setup   time.Duration
	err     error
}

var (
	theSuite  suite
	suiteOnce sync.Once
)

func TestMain(m *testing.M) {
	code := m.Run()
	if theSuite.dir != "" {
		os.RemoveAll(theSuite.dir)
	}
	os.Exit(code)
}

// stepsPerPrompt is the length of every compared greedy path.
const stepsPerPrompt = 32

// longText is a prompt of more than 64 tokens, so that llama.cpp (and the
// engine) take the F32 attention path for it rather than the F16 one.
const longText = `Once upon a time, in a small village by the sea, there lived an old fisherman who
told stories to the children every evening. "The sea," he said, "is older than the
mountains, and it remembers everything." In 1887 a storm destroyed 42 boats; the café
by the harbour (run by a woman called Zoë) stayed open all night. def f(x): return x * 2`

// getSuite writes the files and runs llama.cpp once, on first use.
func getSuite(t *testing.T) *suite {
	t.Helper()
	skipWithoutNode(t)
	suiteOnce.Do(func() { theSuite.err = theSuite.build(t) })
	if theSuite.err != nil {
		t.Fatal(theSuite.err)
	}
	return &theSuite
}

// matrix lists the cases. llama.cpp loads every architecture × weight
// type × tied-or-not; the engine is compared with it on every untied file,
// on tied F32, Q8_0 and Q4_K files, on a Llama 3 vocabulary, and on
// tool-call files.
func matrix() []*oracleCase {
	var cases []*oracleCase
	for _, arch := range synth.Archs() {
		for _, typ := range synth.Types() {
			for _, tie := range []bool{false, true} {
				shape, _ := synth.Tiny(arch)
				shape.Tie = tie
				name := arch + "/" + typ.String()
				if tie {
					name += "/tied"
				}
				compare := !tie || typ == quant.F32 || typ == quant.Q8_0 || typ == quant.Q4_K
				cases = append(cases, &oracleCase{name: name, opts: synth.Options{Shape: shape, Type: typ, Seed: 1}, compare: compare})
			}
		}
	}
	for _, typ := range []quant.Type{quant.F32, quant.Q4_K} {
		shape, _ := synth.Tiny(synth.ArchLlama)
		shape.Template = synth.TemplateLlama3
		cases = append(cases, &oracleCase{name: "llama/" + typ.String() + "/llama3-vocab", opts: synth.Options{Shape: shape, Type: typ, Seed: 2}, compare: true})
	}
	for _, arch := range synth.Archs() {
		for _, typ := range []quant.Type{quant.F16, quant.Q8_0, quant.Q4_0, quant.Q4_K} {
			shape, _ := synth.Tiny(arch)
			cases = append(cases, &oracleCase{name: arch + "/" + typ.String() + "/tool-call", opts: synth.Options{Shape: shape, Type: typ, Seed: 3, ToolCall: true}})
		}
	}
	shape, _ := synth.Tiny(synth.ArchLlama)
	shape.Template = synth.TemplateLlama3
	cases = append(cases, &oracleCase{name: "llama/q8_0/llama3-vocab/tool-call", opts: synth.Options{Shape: shape, Type: quant.Q8_0, Seed: 3, ToolCall: true}})
	return cases
}

// weatherTool is the tool tool-call mode calls.
var weatherTool = llm.ToolDef{
	Name:        synth.ToolName,
	Description: "Get the current weather in a given city",
	InputSchema: json.RawMessage(`{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}`),
}

// chatPrompts renders the test conversations with a file's template: the
// first ends with the generation prompt of the template's default mode
// (Qwen3: thinking off), then the other mode, then, for tool-call files,
// a conversation offering a tool.
func chatPrompts(m *synth.Model, withTools bool) ([]string, error) {
	v := m.Vocab()
	tpl, err := chat.Parse(m.ChatTemplate(), chat.Specials{BOS: v.Tokens[v.BOS], EOS: v.Tokens[v.EOS]})
	if err != nil {
		return nil, err
	}
	date := time.Date(2026, 7, 26, 0, 0, 0, 0, time.UTC)
	conv := chat.Conversation{
		System:   "You are a helpful assistant.",
		Messages: []llm.Message{llm.UserMessage("What is the weather in Paris?")},
	}
	opts := chat.Options{AddGenerationPrompt: true, Date: date}
	var out []string
	if tpl.Family() == chat.FamilyQwen3 {
		// Thinking off: the prompt ends with "<think>\n\n</think>\n\n".
		off := false
		p, err := tpl.Render(conv, chat.Options{AddGenerationPrompt: true, Date: date, EnableThinking: &off})
		if err != nil {
			return nil, err
		}
		out = append(out, p.Text)
	}
	p, err := tpl.Render(conv, opts)
	if err != nil {
		return nil, err
	}
	out = append(out, p.Text)
	if withTools {
		conv.Tools = []llm.ToolDef{weatherTool}
		p, err := tpl.Render(conv, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Text)
	}
	return out, nil
}

// tokenizeTexts are compared token for token in every vocabulary.
var tokenizeTexts = []string{
	"Hello world", " Hello  world  ", "hello\n\nworld\n", "\t\ttabs and  spaces   \n",
	"The quick brown fox jumps over the lazy dog.", "It's don't we'll I'd they've YOU'RE",
	"12345 3.14159 1e-6 2024-07-26 $19.99", "func main() {\n\tfmt.Println(\"hi\")\n}\n",
	"def get_weather(city: str) -> dict:\n    return {\"city\": city}\n",
	`{"name": "get_weather", "arguments": {"city": "Paris"}}`,
	"naïve café résumé Zoë — “quotes” 東京 😀 \u00a0nbsp",
	"<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
	"<tool_call>\n{\"name\": \"f\"}\n</tool_call><|im_end|><|endoftext|>",
	"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
	"<|im_start <|im_end| <tool_call <think>x</think>", "", " ", "\n", "   \n  \n",
	longText,
}

func (s *suite) build(t *testing.T) error {
	start := time.Now()
	goeval := testbin.Build(t, goevalPkg)
	dir, err := os.MkdirTemp("", "tether-oracle-")
	if err != nil {
		return err
	}
	s.dir = dir
	s.cases = matrix()
	s.texts = tokenizeTexts
	var files []protocol.File
	for i, c := range s.cases {
		c.path = filepath.Join(dir, fmt.Sprintf("%02d-%s.gguf", i, strings.ReplaceAll(c.name, "/", "-")))
		// Planning is cheap; goeval generates the weights.
		if c.model, err = synth.New(c.opts); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		sh := c.opts.Shape
		files = append(files, protocol.File{Path: c.path, Arch: sh.Arch, Type: c.opts.Type.String(), Tie: sh.Tie,
			Template: sh.Template, Seed: c.opts.Seed, ToolCall: c.opts.ToolCall})
	}
	ctx := context.Background()
	if err := runGoeval(ctx, goeval, dir, "write", map[string]any{"files": files}, nil); err != nil {
		return err
	}
	var jobs []evalJob
	for _, c := range s.cases {
		prompts, err := chatPrompts(c.model, c.opts.ToolCall)
		if err != nil {
			return fmt.Errorf("%s: chat template: %w", c.name, err)
		}
		switch {
		case c.opts.ToolCall:
			// Every generation prompt: thinking off and on for Qwen3,
			// and with a tool offered.
			c.steps = 6
		case c.compare:
			c.steps = stepsPerPrompt
			prompts = []string{prompts[0], longText}
		default:
			// Loaded and run, for printable greedy text.
			c.steps = 8
			prompts = prompts[:1]
		}
		c.prompts = prompts
		job := evalJob{Path: c.path, Context: 512, NTokens: len(c.model.Vocab().Tokens), Tokenize: s.texts}
		for _, p := range prompts {
			job.Prompts = append(job.Prompts, evalPrompt{Text: p, Steps: c.steps, Top: 5})
		}
		c.job = len(jobs)
		jobs = append(jobs, job)
	}
	if s.results, err = runEval(ctx, dir, 1, jobs); err != nil {
		return err
	}

	// The engine reads llama.cpp's prompt tokens and greedy path.
	goStart := time.Now()
	var gjobs []protocol.Job
	for _, c := range s.cases {
		r := s.results[c.job]
		gj := protocol.Job{Path: c.path, Tokenize: s.texts}
		for i, text := range c.prompts {
			gp := protocol.Prompt{Text: text}
			if r.Error == "" && (c.compare || c.opts.ToolCall) {
				p := r.Prompts[i]
				gp.Tokens = p.Tokens
				for _, st := range p.Steps {
					gp.Force = append(gp.Force, st.Token)
					var ids []int32
					for _, top := range st.Top {
						ids = append(ids, int32(top[0]))
					}
					gp.Report = append(gp.Report, ids)
				}
				if c.opts.ToolCall || greedyRequired(c.opts.Type) {
					gp.Greedy = len(p.Steps)
				}
			}
			gj.Prompts = append(gj.Prompts, gp)
		}
		gjobs = append(gjobs, gj)
	}
	var resp struct {
		Jobs    []protocol.Result `json:"jobs"`
		Kernels string            `json:"kernels"`
	}
	if err := runGoeval(ctx, goeval, dir, "eval", map[string]any{"jobs": gjobs}, &resp); err != nil {
		return err
	}
	if len(resp.Jobs) != len(gjobs) {
		return fmt.Errorf("goeval answered %d jobs of %d", len(resp.Jobs), len(gjobs))
	}
	if engineTier != "" && resp.Kernels != engineTier {
		return fmt.Errorf("the engine ran kernel tier %q, want %q", resp.Kernels, engineTier)
	}
	s.kernels = resp.Kernels
	s.goResults = resp.Jobs
	goTime = time.Since(goStart)
	s.setup = time.Since(start)
	return nil
}
