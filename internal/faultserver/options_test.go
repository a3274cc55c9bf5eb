package main

import (
	"slices"
	"testing"
	"time"
)

func noEnv(string) string { return "" }

func TestParseArgsForms(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(t *testing.T, o *options)
	}{
		{
			name: "llama-server",
			args: []string{"-m", "/m/Qwen3-1.7B-Q4_K_M.gguf", "--host", "127.0.0.1", "--port", "9000", "-c", "8192", "-ngl", "99", "--jinja", "--api-key", "k", "--alias", "nonce"},
			want: func(t *testing.T, o *options) {
				if o.Form != "llama-server" || o.Model != "/m/Qwen3-1.7B-Q4_K_M.gguf" || o.Port != 9000 || o.NCtx != 8192 || o.NGL != 99 || !o.Jinja || o.apiKey != "k" || o.modelID() != "nonce" {
					t.Errorf("got %+v", o)
				}
			},
		},
		{
			name: "apr",
			args: []string{"serve", "run", "/m/model.apr", "--port", "19384", "--host", "127.0.0.1", "--gpu"},
			want: func(t *testing.T, o *options) {
				if o.Form != "apr" || o.Model != "/m/model.apr" || o.Port != 19384 || !o.GPU || o.modelID() != "model" {
					t.Errorf("got %+v", o)
				}
			},
		},
		{
			name: "vllm with unix socket",
			args: []string{"serve", "Qwen/Qwen3-8B", "--uds", "/tmp/x/v.sock", "--served-model-name", "n", "--max-model-len", "4096"},
			want: func(t *testing.T, o *options) {
				if o.Form != "vllm" || o.Model != "Qwen/Qwen3-8B" || o.Socket != "/tmp/x/v.sock" || o.NCtx != 4096 || o.Alias != "n" {
					t.Errorf("got %+v", o)
				}
			},
		},
		{
			name: "host ending in .sock is a unix socket",
			args: []string{"-m", "m.gguf", "--host", "/run/t/s.sock"},
			want: func(t *testing.T, o *options) {
				if o.Socket != "/run/t/s.sock" {
					t.Errorf("socket %q", o.Socket)
				}
			},
		},
		{
			name: "unknown flags are ignored, with their values",
			args: []string{"-m", "m.gguf", "-fa", "on", "--no-webui", "--threads", "-1", "--port=81", "--flash-attn=auto"},
			want: func(t *testing.T, o *options) {
				if o.Port != 81 || !slices.Equal(o.Ignored, []string{"-fa", "on", "--no-webui", "--threads", "-1", "--flash-attn=auto"}) {
					t.Errorf("port %d ignored %q", o.Port, o.Ignored)
				}
			},
		},
		{
			name: "context defaults to the training context",
			args: []string{"-m", "m.gguf", "--fault-n-ctx-train=1024"},
			want: func(t *testing.T, o *options) {
				if o.NCtx != 1024 {
					t.Errorf("n_ctx %d", o.NCtx)
				}
			},
		},
		{
			name: "faults from flags and environment; flags win",
			args: []string{"-m", "m.gguf", "--fault-load", "2s", "--fault-quiet", "--fault-crash=error loading model: invalid magic", "--fault-flood=1G"},
			env:  map[string]string{"TETHER_FAULT_LOAD": "9s", "TETHER_FAULT_STEPS": "4", "TETHER_FAULT_IGNORE_SIGTERM": "1"},
			want: func(t *testing.T, o *options) {
				if o.Load != 2*time.Second || o.Steps != 4 || !o.Quiet || !o.IgnoreTerm || o.Crash != "error loading model: invalid magic" || o.Flood != 1<<30 {
					t.Errorf("got %+v", o)
				}
			},
		},
		{
			name: "tool calls with object and string arguments",
			args: []string{"--fault-tool-calls", `[{"name":"a","arguments":{"x":1}},{"name":"b","arguments":"{\"y\":2}"},{"name":"c"}]`},
			want: func(t *testing.T, o *options) {
				want := []toolCall{{"a", `{"x":1}`}, {"b", `{"y":2}`}, {"c", "{}"}}
				if !slices.Equal(o.ToolCalls, want) {
					t.Errorf("got %q", o.ToolCalls)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseArgs(tt.args, func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			tt.want(t, o)
		})
	}
}

func TestParseArgsErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"unknown fault", []string{"--fault-nope"}},
		{"bad duration", []string{"--fault-load=soon"}},
		{"negative duration", []string{"--fault-load=-1s"}},
		{"bad size", []string{"--fault-flood=lots"}},
		{"bad port", []string{"--port", "eighty"}},
		{"missing value", []string{"-m"}},
		{"fault missing value", []string{"--fault-crash"}},
		{"bad hang", []string{"--fault-hang=sometimes"}},
		{"bad tool calls", []string{"--fault-tool-calls", "[{"}},
		{"nameless tool call", []string{"--fault-tool-calls", `[{"arguments":{}}]`}},
		{"bad signal", []string{"--fault-crash-signal=HUP"}},
		{"zero steps", []string{"--fault-steps=0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if o, err := parseArgs(tt.args, noEnv); err == nil {
				t.Fatalf("no error; options %+v", o)
			}
		})
	}
}

func TestPiecesJoinBack(t *testing.T) {
	for _, s := range []string{"", "one", "Hello from faultserver.", " lead", "trail ", "a  b"} {
		got := pieces(s)
		if joined := stringsJoin(got); joined != s {
			t.Errorf("pieces(%q) = %q, joins to %q", s, got, joined)
		}
	}
}

func stringsJoin(p []string) string {
	var out string
	for _, s := range p {
		out += s
	}
	return out
}

func FuzzParseArgs(f *testing.F) {
	f.Add("-m\x00m.gguf\x00--port\x009000\x00--fault-load=1s")
	f.Add("serve\x00run\x00x.apr\x00--gpu")
	f.Add("serve\x00--uds\x00/x.sock\x00--fault-tool-calls\x00[{\"name\":\"a\"}]")
	f.Add("--fault-flood=9G\x00--foo\x00-1")
	f.Fuzz(func(t *testing.T, joined string) {
		args := splitNUL(joined)
		o, err := parseArgs(args, noEnv)
		if err != nil {
			return
		}
		if o.Steps < 1 || o.NCtx < 0 || o.Port < 0 || o.Flood < 0 {
			t.Fatalf("parseArgs(%q) accepted impossible options %+v", args, o)
		}
		_ = o.modelID()
	})
}

func splitNUL(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
