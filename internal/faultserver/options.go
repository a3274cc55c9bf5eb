package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// options is everything the command line and environment say.
type options struct {
	// What the server's own flags say.
	Form      string   `json:"form"` // llama-server, apr, vllm
	Model     string   `json:"model"`
	Host      string   `json:"host"`
	Port      int      `json:"port"`
	Socket    string   `json:"socket,omitempty"`
	NCtx      int      `json:"n_ctx"`
	NGL       int      `json:"n_gpu_layers"`
	Jinja     bool     `json:"jinja"`
	GPU       bool     `json:"gpu"`
	APIKeySet bool     `json:"api_key_set"`
	Alias     string   `json:"alias"`
	Ignored   []string `json:"ignored,omitempty"`
	apiKey    string

	// Faults.
	Load            time.Duration `json:"-"`
	Steps           int           `json:"-"`
	BindAfterLoad   bool          `json:"-"`
	Quiet           bool          `json:"-"`
	Crash           string        `json:"-"`
	CrashAfter      time.Duration `json:"-"`
	CrashCode       int           `json:"-"`
	CrashSignal     string        `json:"-"`
	CrashMidStream  int           `json:"-"`
	ExitFile        string        `json:"-"`
	Hang            string        `json:"-"`
	Flood           int64         `json:"-"`
	FloodTo         string        `json:"-"`
	Grandchild      string        `json:"-"`
	IgnoreTerm      bool          `json:"-"`
	TermDelay       time.Duration `json:"-"`
	Answer          string        `json:"-"`
	Echo            bool          `json:"-"`
	Reasoning       string        `json:"-"`
	ReasoningFormat string        `json:"-"`
	ToolCalls       []toolCall    `json:"-"`
	ChunkDelay      time.Duration `json:"-"`
	SSEPings        bool          `json:"-"`
	Squat           bool          `json:"-"`
	NoProgress      bool          `json:"-"`
	ReadyFile       string        `json:"-"`
	NCtxTrain       int           `json:"-"`
	MaxLife         time.Duration `json:"-"`
	Linger          bool          `json:"-"`
	Heartbeat       time.Duration `json:"-"`
	GrandchildAfter time.Duration `json:"-"`
}

// toolCall is one scripted tool call.
type toolCall struct {
	Name string
	// Arguments is the JSON text of the arguments.
	Arguments string
}

func defaults() *options {
	return &options{
		Form:            "llama-server",
		Host:            "127.0.0.1",
		Port:            8080,
		NGL:             -1,
		Steps:           10,
		CrashCode:       1,
		FloodTo:         "both",
		Answer:          "Hello from faultserver.",
		ReasoningFormat: "field",
		NCtxTrain:       32768,
		MaxLife:         10 * time.Minute,
	}
}

// faults maps each fault's name to its setter. A bool fault given no value
// is set to true.
var faults = map[string]func(o *options, v string) error{
	"load":             durationSetter(func(o *options) *time.Duration { return &o.Load }),
	"steps":            intSetter(func(o *options) *int { return &o.Steps }, 1),
	"bind":             func(o *options, v string) error { return o.setBind(v) },
	"quiet":            boolSetter(func(o *options) *bool { return &o.Quiet }),
	"crash":            func(o *options, v string) error { o.Crash = v; return nil },
	"crash-after":      durationSetter(func(o *options) *time.Duration { return &o.CrashAfter }),
	"crash-code":       intSetter(func(o *options) *int { return &o.CrashCode }, 0),
	"crash-signal":     func(o *options, v string) error { return o.setCrashSignal(v) },
	"crash-mid-stream": intSetter(func(o *options) *int { return &o.CrashMidStream }, 0),
	"exit-file":        func(o *options, v string) error { o.ExitFile = v; return nil },
	"hang":             func(o *options, v string) error { return o.setHang(v) },
	"flood":            func(o *options, v string) error { return o.setFlood(v) },
	"flood-to":         func(o *options, v string) error { return o.setFloodTo(v) },
	"grandchild":       func(o *options, v string) error { return o.setGrandchild(v) },
	"ignore-sigterm":   boolSetter(func(o *options) *bool { return &o.IgnoreTerm }),
	"term-delay":       durationSetter(func(o *options) *time.Duration { return &o.TermDelay }),
	"answer":           func(o *options, v string) error { o.Answer = v; return nil },
	"echo":             boolSetter(func(o *options) *bool { return &o.Echo }),
	"reasoning":        func(o *options, v string) error { o.Reasoning = v; return nil },
	"reasoning-format": func(o *options, v string) error { return o.setReasoningFormat(v) },
	"tool-calls":       func(o *options, v string) error { return o.setToolCalls(v) },
	"chunk-delay":      durationSetter(func(o *options) *time.Duration { return &o.ChunkDelay }),
	"sse-pings":        boolSetter(func(o *options) *bool { return &o.SSEPings }),
	"squat":            boolSetter(func(o *options) *bool { return &o.Squat }),
	"no-progress":      boolSetter(func(o *options) *bool { return &o.NoProgress }),
	"ready-file":       func(o *options, v string) error { o.ReadyFile = v; return nil },
	"n-ctx-train":      intSetter(func(o *options) *int { return &o.NCtxTrain }, 1),
	"max-life":         durationSetter(func(o *options) *time.Duration { return &o.MaxLife }),
	"linger":           boolSetter(func(o *options) *bool { return &o.Linger }),
	"heartbeat":        durationSetter(func(o *options) *time.Duration { return &o.Heartbeat }),
	"grandchild-after": durationSetter(func(o *options) *time.Duration { return &o.GrandchildAfter }),
}

// boolFaults are the faults a bare flag turns on.
var boolFaults = map[string]bool{"quiet": true, "echo": true, "ignore-sigterm": true, "sse-pings": true, "squat": true, "linger": true, "no-progress": true}

// envName is the environment variable for a fault.
func envName(fault string) string {
	return "TETHER_FAULT_" + strings.ToUpper(strings.ReplaceAll(fault, "-", "_"))
}

// serverFlags are the server flags that take a value; boolFlags those that
// do not. Anything else is ignored.
var serverFlags = map[string]func(o *options, v string) error{
	"-m":                  func(o *options, v string) error { o.Model = v; return nil },
	"--model":             func(o *options, v string) error { o.Model = v; return nil },
	"--host":              func(o *options, v string) error { o.Host = v; return nil },
	"--port":              func(o *options, v string) error { return setInt(&o.Port, v, 0, "--port") },
	"-c":                  func(o *options, v string) error { return setInt(&o.NCtx, v, 0, "-c") },
	"--ctx-size":          func(o *options, v string) error { return setInt(&o.NCtx, v, 0, "--ctx-size") },
	"--max-model-len":     func(o *options, v string) error { return setInt(&o.NCtx, v, 0, "--max-model-len") },
	"-ngl":                func(o *options, v string) error { return setInt(&o.NGL, v, -1, "-ngl") },
	"--n-gpu-layers":      func(o *options, v string) error { return setInt(&o.NGL, v, -1, "--n-gpu-layers") },
	"--gpu-layers":        func(o *options, v string) error { return setInt(&o.NGL, v, -1, "--gpu-layers") },
	"--api-key":           func(o *options, v string) error { o.apiKey, o.APIKeySet = v, v != ""; return nil },
	"-a":                  func(o *options, v string) error { o.Alias = v; return nil },
	"--alias":             func(o *options, v string) error { o.Alias = v; return nil },
	"--served-model-name": func(o *options, v string) error { o.Alias = v; return nil },
	"--uds":               func(o *options, v string) error { o.Socket = v; return nil },
	"--api-key-file":      func(o *options, v string) error { return o.readKeyFile(v) },
}

// keyEnv is the environment variable each form reads its API key from when
// no flag gives one: llama.cpp's --api-key is declared with
// set_env("LLAMA_API_KEY"), vLLM reads VLLM_API_KEY, and tether serve (the
// "serve run" form, shared with apr, which has no key) TETHER_API_KEY.
var keyEnv = map[string]string{"llama-server": "LLAMA_API_KEY", "vllm": "VLLM_API_KEY", "apr": "TETHER_API_KEY"}

// readKeyFile reads llama-server's --api-key-file: the first line is the key.
func (o *options) readKeyFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--api-key-file: %w", err)
	}
	key, _, _ := strings.Cut(string(data), "\n")
	o.apiKey, o.APIKeySet = key, key != ""
	return nil
}

var boolFlags = map[string]func(o *options){
	"--jinja":    func(o *options) { o.Jinja = true },
	"--no-jinja": func(o *options) { o.Jinja = false },
	"--gpu":      func(o *options) { o.GPU = true },
}

// parseArgs reads the command line and the environment.
func parseArgs(args []string, getenv func(string) string) (*options, error) {
	o := defaults()
	for name, set := range faults {
		if v := getenv(envName(name)); v != "" {
			if err := set(o, v); err != nil {
				return nil, fmt.Errorf("%s: %w", envName(name), err)
			}
		}
	}
	i := 0
	if len(args) > 0 && args[0] == "serve" {
		switch {
		case len(args) > 2 && args[1] == "run":
			o.Form, o.Model, i = "apr", args[2], 3
		case len(args) > 1 && !strings.HasPrefix(args[1], "-"):
			o.Form, o.Model, i = "vllm", args[1], 2
		default:
			o.Form, i = "vllm", 1
		}
	}
	for ; i < len(args); i++ {
		arg := args[i]
		name, value, hasValue := strings.Cut(arg, "=")
		if !strings.HasPrefix(arg, "-") {
			if o.Model == "" {
				o.Model = arg
			} else {
				o.Ignored = append(o.Ignored, arg)
			}
			continue
		}
		if fault, ok := strings.CutPrefix(name, "--fault-"); ok {
			set, known := faults[fault]
			if !known {
				return nil, fmt.Errorf("unknown fault %q", fault)
			}
			if !hasValue {
				if boolFaults[fault] {
					value = "true"
				} else if i+1 < len(args) {
					i++
					value = args[i]
				} else {
					return nil, fmt.Errorf("%s needs a value", name)
				}
			}
			if err := set(o, value); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			continue
		}
		if set, ok := boolFlags[name]; ok && !hasValue {
			set(o)
			continue
		}
		if set, ok := serverFlags[name]; ok {
			if !hasValue {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("%s needs a value", name)
				}
				i++
				value = args[i]
			}
			if err := set(o, value); err != nil {
				return nil, err
			}
			continue
		}
		o.Ignored = append(o.Ignored, arg)
		if !hasValue && i+1 < len(args) && takesAsValue(args[i+1]) {
			i++
			o.Ignored = append(o.Ignored, args[i])
		}
	}
	if !o.APIKeySet {
		if key := getenv(keyEnv[o.Form]); key != "" {
			o.apiKey, o.APIKeySet = key, true
		}
	}
	if strings.HasSuffix(o.Host, ".sock") {
		o.Socket = o.Host
	}
	if o.NCtx == 0 {
		o.NCtx = o.NCtxTrain
	}
	return o, nil
}

// takesAsValue says whether the word after an unknown flag is its value: a
// word, or a number such as "-1".
func takesAsValue(next string) bool {
	if !strings.HasPrefix(next, "-") {
		return true
	}
	_, err := strconv.ParseFloat(next, 64)
	return err == nil
}

// modelID is the id the server lists: the alias, else the file's stem.
func (o *options) modelID() string {
	if o.Alias != "" {
		return o.Alias
	}
	if o.Model == "" {
		return "model"
	}
	base := filepath.Base(o.Model)
	return strings.TrimSuffix(base, filepath.Ext(base))
}

func setInt(dst *int, v string, minimum int, name string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < minimum {
		return fmt.Errorf("invalid value %q for %s", v, name)
	}
	*dst = n
	return nil
}

func intSetter(field func(*options) *int, minimum int) func(*options, string) error {
	return func(o *options, v string) error { return setInt(field(o), v, minimum, "a whole number") }
}

func boolSetter(field func(*options) *bool) func(*options, string) error {
	return func(o *options, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("invalid boolean %q", v)
		}
		*field(o) = b
		return nil
	}
}

func durationSetter(field func(*options) *time.Duration) func(*options, string) error {
	return func(o *options, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("invalid duration %q", v)
		}
		*field(o) = d
		return nil
	}
}

func (o *options) setBind(v string) error {
	switch v {
	case "first":
		o.BindAfterLoad = false
	case "after-load":
		o.BindAfterLoad = true
	default:
		return fmt.Errorf("bind is first or after-load, not %q", v)
	}
	return nil
}

func (o *options) setCrashSignal(v string) error {
	switch v = strings.TrimPrefix(strings.ToUpper(v), "SIG"); v {
	case "KILL", "TERM", "ABRT", "SEGV", "":
		o.CrashSignal = v
		return nil
	}
	return fmt.Errorf("crash-signal is KILL, TERM, ABRT or SEGV, not %q", v)
}

func (o *options) setHang(v string) error {
	switch v {
	case "all", "chat", "":
		o.Hang = v
		return nil
	}
	return fmt.Errorf("hang is all or chat, not %q", v)
}

func (o *options) setFlood(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	o.Flood = n
	return nil
}

// parseSize reads "1024", "64K", "10M", "1G" (powers of 1024).
func parseSize(v string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(v, "K"):
		mult, v = 1<<10, strings.TrimSuffix(v, "K")
	case strings.HasSuffix(v, "M"):
		mult, v = 1<<20, strings.TrimSuffix(v, "M")
	case strings.HasSuffix(v, "G"):
		mult, v = 1<<30, strings.TrimSuffix(v, "G")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > (1<<50)/mult {
		return 0, fmt.Errorf("invalid size %q", v)
	}
	return n * mult, nil
}

func (o *options) setFloodTo(v string) error {
	switch v {
	case "stdout", "stderr", "both":
		o.FloodTo = v
		return nil
	}
	return fmt.Errorf("flood-to is stdout, stderr or both, not %q", v)
}

func (o *options) setGrandchild(v string) error {
	switch v {
	case "group", "escape", "":
		o.Grandchild = v
		return nil
	}
	return fmt.Errorf("grandchild is group or escape, not %q", v)
}

func (o *options) setReasoningFormat(v string) error {
	switch v {
	case "field", "ollama", "think", "bare":
		o.ReasoningFormat = v
		return nil
	}
	return fmt.Errorf("reasoning-format is field, ollama, think or bare, not %q", v)
}

func (o *options) setToolCalls(v string) error {
	var calls []struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	}
	if err := json.Unmarshal([]byte(v), &calls); err != nil {
		return fmt.Errorf("tool-calls: %w", err)
	}
	o.ToolCalls = o.ToolCalls[:0]
	for _, c := range calls {
		if c.Name == "" {
			return fmt.Errorf("tool-calls: a call without a name")
		}
		args := string(c.Arguments)
		var s string
		if json.Unmarshal(c.Arguments, &s) == nil {
			args = s // arguments given as a JSON string: send it as it is
		} else if len(c.Arguments) == 0 {
			args = "{}"
		}
		o.ToolCalls = append(o.ToolCalls, toolCall{Name: c.Name, Arguments: args})
	}
	return nil
}
