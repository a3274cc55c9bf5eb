package managed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tetherllm/tether/backend"
	"github.com/tetherllm/tether/engine/gguf"
	"github.com/tetherllm/tether/engine/synth"
	"github.com/tetherllm/tether/internal/engine/quant"
	"github.com/tetherllm/tether/internal/localserver"
	"github.com/tetherllm/tether/internal/testbin"
	"github.com/tetherllm/tether/internal/testmodel"
	"github.com/tetherllm/tether/llm"
	"github.com/tetherllm/tether/supervisor"
)

// The tests in this file run the ollama profile against a real ollama:
// $TETHER_OLLAMA, or ollama on PATH. CI builds one from its Go module
// (tools/ollama/build.sh) and sets TETHER_REQUIRE_OLLAMA=1, so that a
// missing ollama fails them there instead of skipping them.

// realOllama returns the ollama binary to test against, or skips.
func realOllama(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("TETHER_OLLAMA")
	if bin == "" && os.Getenv("TETHER_REQUIRE_OLLAMA") == "1" {
		t.Fatal("TETHER_REQUIRE_OLLAMA=1 but TETHER_OLLAMA names no ollama (did tools/ollama/build.sh fail?)")
	}
	if bin == "" {
		if found, err := supervisor.Find("ollama", ""); err == nil {
			bin = found
		}
	}
	if bin == "" {
		t.Skip("NO REAL ollama: set TETHER_OLLAMA to an ollama binary (tools/ollama/build.sh builds one) to test the profile against it")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("TETHER_OLLAMA: %v", err)
	}
	abs, err := filepath.EvalSymlinks(bin)
	if err != nil {
		t.Fatal(err)
	}
	if left := ollamaProcs(abs); len(left) > 0 {
		t.Fatalf("ollama processes %v run before the test; the leak checks cannot tell theirs from ours", left)
	}
	return abs
}

// ollamaModel writes a synthetic Qwen2.5-style model whose greedy answer
// to any generation prompt is a planted tool call.
func ollamaModel(t *testing.T) (path string, m *synth.Model) {
	return ollamaModelOf(t, synth.ArchQwen2, synth.TemplateQwen25)
}

// ollamaModelOf is ollamaModel of an architecture and chat template.
func ollamaModelOf(t *testing.T, arch, template string) (path string, m *synth.Model) {
	t.Helper()
	shape, err := synth.Tiny(arch)
	if err != nil {
		t.Fatal(err)
	}
	shape.Tie, shape.Template = false, template
	path = filepath.Join(t.TempDir(), "tool.gguf")
	m, err = synth.Write(context.Background(), path, synth.Options{Shape: shape, Type: quant.Q8_0, ToolCall: true})
	if err != nil {
		t.Fatal(err)
	}
	return path, m
}

// ollamaProcs lists the running processes whose program is bin: ollama
// serve and the runners it starts (which are ollama too).
func ollamaProcs(bin string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil {
			continue
		}
		if strings.TrimSuffix(exe, " (deleted)") == bin && !zombie(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func zombie(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' || stat[i+2] == 'X'
}

// waitOllamaGone waits until no process runs bin. The bound is generous:
// it covers the supervisor's stop grace and the watchdog's reaction to a
// killed parent, not how fast this machine is.
func waitOllamaGone(t *testing.T, bin string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		left := ollamaProcs(bin)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, pid := range left {
				cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
				t.Errorf("left running: pid %d: %s", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
				syscall.Kill(pid, syscall.SIGKILL)
			}
			t.FailNow()
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitOllamaRunning waits until a model runner runs bin (ollama serve
// starts one per loaded model, `ollama runner … --model BLOB …`; the
// runners it starts to list devices take no model), and returns the
// runner's model path.
func waitOllamaRunning(t *testing.T, bin string, exited <-chan struct{}) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		for _, pid := range ollamaProcs(bin) {
			cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
			args := strings.Split(string(cmdline), "\x00")
			if len(args) > 1 && args[1] == "runner" {
				for i, a := range args[:len(args)-1] {
					if a == "--model" {
						return args[i+1]
					}
				}
			}
		}
		select {
		case <-exited:
			t.Fatal("tether run ended before ollama's runner started")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ollama model runner started; running: %v", ollamaProcs(bin))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func launchOllama(t *testing.T, bin, model string, ctxWindow int) *Driver {
	return launchOllamaOpts(t, Options{Model: model, Backend: "ollama", NoGPU: true, ContextWindow: ctxWindow,
		Profiles: backend.Options{Program: bin}})
}

func launchOllamaOpts(t *testing.T, opts Options) *Driver {
	t.Helper()
	return launchWithin(t, 3*time.Minute, opts)
}

var weatherTool = llm.ToolDef{Name: "get_weather", Description: "Weather in a city",
	InputSchema: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}

// TestRealOllamaLibrary drives the ollama backend through the library:
// the context window read back from the runner, a plain answer with its
// usage, max tokens, a streamed answer, a tool-call round trip, and a
// clean stop.
func TestRealOllamaLibrary(t *testing.T) {
	bin := realOllama(t)
	model, m := ollamaModel(t)
	d := launchOllama(t, bin, model, 2048)
	info := d.Info()
	if info.Backend != "ollama" || !strings.HasPrefix(info.Model, "tether-") || info.ContextWindow != 2048 || info.ContextSource != "server" {
		t.Fatalf("info %+v, want our alias and the window 2048 read back from ollama", info)
	}
	ctx := context.Background()

	t.Run("plain", func(t *testing.T) {
		resp, err := d.Complete(ctx, ask("Say hello."))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Usage.InputTokens == 0 || resp.Usage.OutputTokens == 0 || resp.StopReason == "" {
			t.Fatalf("response %v usage %+v", resp, resp.Usage)
		}
		if resp.Text == "" && len(resp.ToolCalls) == 0 {
			t.Fatalf("empty answer %v", resp)
		}
	})
	t.Run("max tokens", func(t *testing.T) {
		req := ask("Say hello.")
		req.MaxTokens = 1
		resp, err := d.Complete(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StopReason != llm.StopMaxTokens || resp.Usage.OutputTokens != 1 {
			t.Fatalf("response %v usage %+v, want 1 token and max_tokens", resp, resp.Usage)
		}
	})
	t.Run("stream", func(t *testing.T) {
		var deltas int
		var text strings.Builder
		var final *llm.Response
		for ev, err := range d.Stream(ctx, ask("Say hello.")) {
			if err != nil {
				t.Fatal(err)
			}
			switch ev.Kind {
			case llm.EventTextDelta:
				deltas++
				text.WriteString(ev.Text)
			case llm.EventDone:
				final = ev.Response
			}
		}
		if final == nil || final.Usage.OutputTokens == 0 || final.StopReason == "" {
			t.Fatalf("stream ended with %v", final)
		}
		if deltas == 0 && len(final.ToolCalls) == 0 {
			t.Fatalf("no text deltas and no tool call: %v", final)
		}
		if final.Text != text.String() {
			t.Fatalf("final text %q, deltas %q", final.Text, text.String())
		}
	})
	t.Run("streamed tool call", func(t *testing.T) {
		req := ask("What is the weather in Paris?")
		req.Tools = []llm.ToolDef{weatherTool}
		var final *llm.Response
		for ev, err := range d.Stream(ctx, req) {
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind == llm.EventDone {
				final = ev.Response
			}
		}
		if final == nil || final.StopReason != llm.StopToolUse || len(final.ToolCalls) != 1 ||
			final.ToolCalls[0].Name != "get_weather" || !json.Valid(final.ToolCalls[0].Input) {
			t.Fatalf("stream ended with %v, want the planted call", final)
		}
	})
	t.Run("tool round trip", func(t *testing.T) {
		req := ask("What is the weather in Paris?")
		req.Tools = []llm.ToolDef{weatherTool}
		resp, err := d.Complete(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StopReason != llm.StopToolUse || len(resp.ToolCalls) != 1 {
			t.Fatalf("response %v, want the planted call %q", resp, m.ToolCallText())
		}
		call := resp.ToolCalls[0]
		if call.Name == "" || call.ID == "" || !json.Valid(call.Input) {
			t.Fatalf("call %+v", call)
		}
		req.Messages = append(req.Messages,
			resp.Message(),
			llm.Message{Role: llm.RoleTool, ToolResult: &llm.ToolResult{ToolUseID: call.ID, Content: `{"temp_c": 18}`}})
		resp, err = d.Complete(ctx, req)
		if err != nil {
			t.Fatalf("the tool result was refused: %v", err)
		}
		if resp.Usage.InputTokens == 0 || resp.StopReason == "" {
			t.Fatalf("answer after the tool result %v", resp)
		}
	})

	// The runner reads the model file itself, through a link in the
	// private model folder, not an uploaded copy.
	if blob := waitOllamaRunning(t, bin, nil); !strings.HasPrefix(blob, os.TempDir()) {
		t.Errorf("runner's model %s is not in a private folder", blob)
	} else if target, err := os.Readlink(blob); err != nil || target != model {
		t.Errorf("runner's model %s links to %q (%v), want %s", blob, target, err, model)
	}
	pid := d.PID()
	must(t, d.Close())
	waitGone(t, pid)
	waitOllamaGone(t, bin)
}

// TestRealOllamaRunnerOrphaned kills ollama serve itself with SIGKILL,
// which leaves its runner orphaned (ollama cannot stop it then); the
// supervisor's containment must stop the runner.
func TestRealOllamaRunnerOrphaned(t *testing.T) {
	bin := realOllama(t)
	model, _ := ollamaModel(t)
	d := launchOllama(t, bin, model, 1024)
	serve := d.PID()
	waitOllamaRunning(t, bin, nil)
	must(t, syscall.Kill(serve, syscall.SIGKILL))
	d.Close()
	waitOllamaGone(t, bin)
}

// TestRealOllamaBadModelFile gives ollama a GGUF file that tether's own
// check accepts and ollama cannot load: the launch fails with a
// *llm.ModelFileError, and `tether run` exits 3.
func TestRealOllamaBadModelFile(t *testing.T) {
	bin := realOllama(t)
	model := filepath.Join(t.TempDir(), "unknown-arch.gguf")
	writeUnknownArchGGUF(t, model)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, err := Launch(ctx, Options{Model: model, Backend: "ollama", NoGPU: true,
		Profiles: backend.Options{Program: bin}})
	var mf *llm.ModelFileError
	if !errors.As(err, &mf) || mf.Path != model || strings.Contains(err.Error(), "sha256") {
		t.Fatalf("Launch: %v (%T), want *llm.ModelFileError naming %s, not ollama's blob", err, err, model)
	}
	t.Log(err)
	waitOllamaGone(t, bin)

	tether := testbin.Build(t, "github.com/tetherllm/tether/cmd/tether")
	cmd := exec.Command(tether, "run", "-q", "--backend", "ollama", "--server-bin", bin, "--model", model, "hi")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("tether run: %v, want exit 3; output:\n%s", err, out)
	}
	waitOllamaGone(t, bin)
}

// TestRealOllamaTetherRun drives the ollama backend through the real
// `tether run`: a JSON answer, a streamed one, a forced tool call, and
// the parent ended by SIGTERM and by SIGKILL with nothing left running.
func TestRealOllamaTetherRun(t *testing.T) {
	bin := realOllama(t)
	model, _ := ollamaModel(t)
	tether := testbin.Build(t, "github.com/tetherllm/tether/cmd/tether")
	run := func(args ...string) *exec.Cmd {
		return exec.Command(tether, append([]string{"run", "--backend", "ollama", "--server-bin", bin,
			"--model", model, "--no-gpu", "--ctx", "2048"}, args...)...)
	}

	t.Run("json", func(t *testing.T) {
		out, err := run("-q", "--json", "--max-tokens", "8", "Say hello.").Output()
		if err != nil {
			t.Fatalf("tether run: %v\n%s", err, stderrOf(err))
		}
		var res struct {
			Text          string         `json:"text"`
			ToolCalls     []llm.ToolCall `json:"tool_calls"`
			StopReason    string         `json:"stop_reason"`
			Usage         llm.Usage      `json:"usage"`
			Backend       string         `json:"backend"`
			ContextWindow int            `json:"context_window"`
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if res.Backend != "ollama" || res.ContextWindow != 2048 || res.Usage.InputTokens == 0 || res.Usage.OutputTokens == 0 || res.StopReason == "" {
			t.Fatalf("result %s", out)
		}
		waitOllamaGone(t, bin)
	})
	t.Run("tools", func(t *testing.T) {
		tools := filepath.Join(t.TempDir(), "tools.json")
		b, _ := json.Marshal([]llm.ToolDef{weatherTool})
		must(t, os.WriteFile(tools, b, 0o644))
		out, err := run("-q", "--json", "--tools", tools, "What is the weather in Paris?").Output()
		if err != nil {
			t.Fatalf("tether run: %v\n%s", err, stderrOf(err))
		}
		var res struct {
			ToolCalls  []llm.ToolCall `json:"tool_calls"`
			StopReason string         `json:"stop_reason"`
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if res.StopReason != string(llm.StopToolUse) || len(res.ToolCalls) != 1 || res.ToolCalls[0].Name == "" {
			t.Fatalf("result %s, want one tool call", out)
		}
		waitOllamaGone(t, bin)
	})
	t.Run("stream", func(t *testing.T) {
		out, err := run("-q", "--max-tokens", "8", "Say hello.").Output()
		if err != nil {
			t.Fatalf("tether run: %v\n%s", err, stderrOf(err))
		}
		if len(bytes.TrimSpace(out)) == 0 {
			t.Fatal("tether run streamed nothing")
		}
		waitOllamaGone(t, bin)
	})
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := run("-q", "--max-tokens", "100000", "Say hello.")
			must(t, cmd.Start())
			exited := make(chan struct{})
			var waitErr error
			go func() { waitErr = cmd.Wait(); close(exited) }()
			waitOllamaRunning(t, bin, exited)
			must(t, cmd.Process.Signal(sig))
			<-exited
			var exit *exec.ExitError
			if !errors.As(waitErr, &exit) {
				t.Fatalf("tether run ended with %v after %v", waitErr, sig)
			}
			ws := exit.Sys().(syscall.WaitStatus)
			switch {
			case sig == syscall.SIGKILL && !(ws.Signaled() && ws.Signal() == syscall.SIGKILL):
				t.Fatalf("tether run: %v, want killed", waitErr)
			case sig != syscall.SIGKILL && ws.ExitStatus() != 130:
				t.Fatalf("tether run: %v, want exit 130 after %v", waitErr, sig)
			}
			waitOllamaGone(t, bin)
		})
	}
}

func stderrOf(err error) []byte {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.Stderr
	}
	return nil
}

// writeUnknownArchGGUF writes a well-formed GGUF file of an architecture
// no server knows.
func writeUnknownArchGGUF(t *testing.T, path string) {
	t.Helper()
	w := gguf.NewWriter()
	must(t, w.Set("general.architecture", "tetherunknown"))
	must(t, w.Set("tetherunknown.context_length", uint32(2048)))
	must(t, w.AddTensor("token_embd.weight", quant.F32, []uint64{4, 2}, make([]byte, 4*2*4)))
	must(t, w.WriteFile(path))
}

// TestRealOllamaToolsAsText runs a model whose template ollama matches to
// a built-in one without tools (plain ChatML): ollama refuses native
// tools for it, so tether describes them in the prompt, and a request with
// tools is answered; a forced call, which only native tools can force, is
// refused as a bad request.
func TestRealOllamaToolsAsText(t *testing.T) {
	bin := realOllama(t)
	model := filepath.Join(t.TempDir(), "chatml.gguf")
	// Seed 3: a model whose greedy answer varies, so a stop string can cut it.
	must(t, testmodel.WriteFile(model, testmodel.Spec{WordsOnly: true, Seed: 3}))
	d := launchOllama(t, bin, model, 1024)
	req := ask("What is the weather in Paris?")
	req.System = "Be brief."
	req.Tools = []llm.ToolDef{weatherTool}
	req.MaxTokens = 4
	resp, err := d.Complete(context.Background(), req)
	if err != nil {
		t.Fatalf("a request with tools: %v", err)
	}
	if resp.StopReason != llm.StopMaxTokens || resp.Usage.OutputTokens != 4 || resp.Text == "" {
		t.Fatalf("response %v usage %+v, want 4 tokens of words", resp, resp.Usage)
	}

	// Stop sequences: greedy, the same answer again, cut where the stop
	// string starts. ollama says "stop" for a stop string as for the end
	// of the turn, and names neither, so the reason may be either.
	zero := 0.0
	plain := ask("Say something.")
	plain.Temperature, plain.MaxTokens = &zero, 12
	full, err := d.Complete(context.Background(), plain)
	must(t, err)
	words := strings.TrimSpace(full.Text)
	if len(words) < 4 {
		t.Fatalf("answer %q too short to cut", full.Text)
	}
	stop := words[len(words)/2:]
	plain.Stop = []string{stop}
	t.Logf("answer %q, stop %q", full.Text, stop)
	cut, err := d.Complete(context.Background(), plain)
	must(t, err)
	if cut.Text == "" || strings.Contains(cut.Text, stop) || !strings.HasPrefix(full.Text, cut.Text) || len(cut.Text) >= len(full.Text) ||
		(cut.StopReason != llm.StopEndTurn && cut.StopReason != llm.StopStopSequence) {
		t.Fatalf("with stop %q: %v; without: %v", stop, cut, full)
	}

	req.ToolChoice = llm.ToolChoice{Mode: llm.ToolRequired}
	var bad *llm.RequestError
	if _, err := d.Complete(context.Background(), req); !errors.As(err, &bad) {
		t.Fatalf("a forced call in text mode: %v, want *llm.RequestError", err)
	}
	must(t, d.Close())
	waitOllamaGone(t, bin)
}

// TestRealOllamaTemplates runs models with Qwen3's and Llama 3.2's
// templates, which tether registers with their Go translations: ollama
// lists each model as taking tools (and Qwen3's as thinking), renders the
// request with the tools, returns the planted call as a native tool call,
// and takes its result.
func TestRealOllamaTemplates(t *testing.T) {
	bin := realOllama(t)
	for _, c := range []struct {
		arch, template string
		capabilities   []string
	}{
		{synth.ArchQwen3, synth.TemplateQwen3, []string{"tools", "thinking"}},
		{synth.ArchLlama, synth.TemplateLlama3, []string{"tools"}},
	} {
		t.Run(c.template, func(t *testing.T) {
			model, m := ollamaModelOf(t, c.arch, c.template)
			d := launchOllama(t, bin, model, 2048)
			info := d.Info()
			body, _ := json.Marshal(map[string]string{"model": info.Model})
			resp0, err := localserver.LoopbackClient("").Post(info.Address+"/api/show", "application/json", bytes.NewReader(body))
			must(t, err)
			var show struct {
				Capabilities []string `json:"capabilities"`
			}
			err = json.NewDecoder(resp0.Body).Decode(&show)
			resp0.Body.Close()
			must(t, err)
			for _, want := range c.capabilities {
				if !slices.Contains(show.Capabilities, want) {
					t.Fatalf("ollama lists the model as %q, want %q", show.Capabilities, c.capabilities)
				}
			}
			req := ask("What is the weather in Paris?")
			req.System = "Be brief."
			req.Tools = []llm.ToolDef{weatherTool}
			resp, err := d.Complete(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StopReason != llm.StopToolUse || len(resp.ToolCalls) != 1 || resp.ToolCalls[0].Name != "get_weather" {
				t.Fatalf("response %v, want the planted call %q", resp, m.ToolCallText())
			}
			call := resp.ToolCalls[0]
			req.Messages = append(req.Messages, llm.ToolUseMessage(call),
				llm.ToolResultMessage(llm.ToolResult{ToolUseID: call.ID, Content: "18C"}))
			req.MaxTokens = 3
			if _, err := d.Complete(context.Background(), req); err != nil {
				t.Fatalf("the tool result was refused: %v", err)
			}
			must(t, d.Close())
			waitOllamaGone(t, bin)
		})
	}
}
