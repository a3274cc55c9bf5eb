package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tetherllm/tether/backend"
	"github.com/tetherllm/tether/driver/remote"
	"github.com/tetherllm/tether/internal/bench"
	"github.com/tetherllm/tether/internal/config"
	"github.com/tetherllm/tether/internal/engine/quant"
	"github.com/tetherllm/tether/llm"
)

// ExitDoctorProblems is `tether doctor`'s exit code when something
// configured or asked about is broken: an invalid configuration file, an
// endpoint that does not answer or lacks its model, a backend whose
// program or model file is missing, a --model that does not fit.
const ExitDoctorProblems = 6

// doctorProblems is the error `tether doctor` ends with when it found
// problems; the report lists them.
type doctorProblems struct{ n int }

func (e doctorProblems) Error() string {
	if e.n == 1 {
		return "tether doctor: 1 problem (see above)"
	}
	return fmt.Sprintf("tether doctor: %d problems (see above)", e.n)
}

type doctorFlags struct {
	configFile string
	model      string
	ctx        int
	jsonOut    bool
	timeout    time.Duration
}

func newDoctorCommand(s streams) *cobra.Command {
	var f doctorFlags
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Report what is installed, what this machine has, and whether the configuration works",
		Long: `Doctor reports the server programs installed (tether, apr, llama-server,
ollama, vllm) and their versions, the CPU's features and the kernel tier
tether's engine uses, the GPUs visible, the memory, and — from the
configuration file (--config, or tether/config.toml in the user's
configuration directory) — whether each backend's program and model are
there and whether each endpoint answers and serves its model. With --model
it says whether a GGUF file fits in memory with --ctx tokens of context.

Every probe is bounded by --timeout.

Exit codes: 0 nothing broken, 2 bad usage, 6 something configured or asked
about is broken (listed under "problems").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDoctor(cmd.Context(), s, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.configFile, "config", "", "configuration file (default: tether/config.toml in the user's configuration directory, if there is one)")
	fl.StringVar(&f.model, "model", "", "GGUF file to check against this machine's memory")
	fl.IntVar(&f.ctx, "ctx", 0, "context length for --model (default: the model's, at most the engine's default)")
	fl.BoolVar(&f.jsonOut, "json", false, "print one JSON object")
	fl.DurationVar(&f.timeout, "timeout", 5*time.Second, "bound on each probe (a program's --version, an endpoint's model list)")
	return cmd
}

// doctorReport is what doctor prints.
type doctorReport struct {
	Programs  []programReport  `json:"programs"`
	CPU       cpuReport        `json:"cpu"`
	GPUs      []gpuReport      `json:"gpus"`
	Memory    memoryReport     `json:"memory"`
	Config    *configReport    `json:"config,omitempty"`
	Backends  []backendReport  `json:"backends,omitempty"`
	Endpoints []endpointReport `json:"endpoints,omitempty"`
	Routes    []routeReport    `json:"routes,omitempty"`
	Model     *modelFitReport  `json:"model,omitempty"`
	// Problems are what is broken; the exit code is non-zero with any.
	Problems []string `json:"problems"`
}

type programReport struct {
	Name    string `json:"name"`
	Found   bool   `json:"found"`
	Path    string `json:"path,omitempty"`
	Version string `json:"version,omitempty"`
	// Error says why the version is unknown.
	Error string `json:"error,omitempty"`
}

type cpuReport struct {
	Model    string   `json:"model"`
	Arch     string   `json:"arch"`
	Cores    int      `json:"cores"`
	Features []string `json:"features"`
	// Kernels is the tier tether's engine uses; Tiers are all this CPU
	// can run, plainest first.
	Kernels string   `json:"kernels"`
	Tiers   []string `json:"tiers"`
}

type gpuReport struct {
	Name   string `json:"name"`
	Memory string `json:"memory,omitempty"`
	Driver string `json:"driver,omitempty"`
	// Source is how it was found: "nvidia-smi" or a device path.
	Source string `json:"source"`
}

type memoryReport struct {
	TotalBytes     int64 `json:"total_bytes"`
	AvailableBytes int64 `json:"available_bytes"`
}

type configReport struct {
	Path   string   `json:"path"`
	Routes []string `json:"routes,omitempty"`
	Error  string   `json:"error,omitempty"`
}

type backendReport struct {
	Name    string `json:"name"`
	Backend string `json:"backend"`
	Model   string `json:"model"`
	Program string `json:"program,omitempty"`
	OK      bool   `json:"ok"`
	Error   string `json:"error,omitempty"`
}

type endpointReport struct {
	Name    string          `json:"name"`
	URL     string          `json:"url"`
	API     string          `json:"api"`
	Privacy llm.PrivacyTier `json:"privacy,omitzero"`
	OK      bool            `json:"ok"`
	Models  []string        `json:"models,omitempty"`
	// LatencyMS is how long the model list took.
	LatencyMS int64  `json:"latency_ms,omitempty"`
	Error     string `json:"error,omitempty"`
}

// routeReport says which of a route's drivers work now.
type routeReport struct {
	Name    string          `json:"name"`
	Privacy llm.PrivacyTier `json:"privacy"`
	Use     []string        `json:"use"`
	// Working lists the drivers that passed their checks, in route order;
	// the first is the one a request would reach.
	Working []string `json:"working"`
}

type modelFitReport struct {
	File           string   `json:"file"`
	Context        int      `json:"context"`
	WeightsBytes   uint64   `json:"weights_bytes"`
	KVCacheBytes   uint64   `json:"kv_cache_bytes"`
	NeedBytes      uint64   `json:"need_bytes"`
	AvailableBytes int64    `json:"available_bytes"`
	Fits           bool     `json:"fits"`
	Problems       []string `json:"problems,omitempty"`
}

// doctorPrograms are the server programs doctor looks for, tether's own
// first.
var doctorPrograms = []string{"tether", "apr", "llama-server", "ollama", "vllm"}

func runDoctor(ctx context.Context, s streams, f doctorFlags) error {
	if f.timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	if f.ctx < 0 {
		return usagef("--ctx must not be negative")
	}
	if f.ctx > 0 && f.model == "" {
		return usagef("--ctx goes with --model")
	}
	r := &doctorReport{Programs: programs(ctx, f.timeout), CPU: cpu(), GPUs: gpus(ctx, f.timeout), Memory: memory()}
	cfg, err := loadConfig(f.configFile)
	switch {
	case err != nil:
		path := f.configFile
		if path == "" {
			path, _ = config.DefaultPath()
		}
		r.Config = &configReport{Path: path, Error: err.Error()}
		r.Problems = append(r.Problems, "configuration: "+strings.ReplaceAll(err.Error(), "\n", "; "))
	case cfg != nil:
		r.Config = &configReport{Path: cfg.Path, Routes: cfg.RouteNames()}
		r.Backends = backends(cfg)
		r.Endpoints = endpoints(ctx, cfg, f.timeout)
		r.Routes = routes(cfg, r.Backends, r.Endpoints)
	}
	for _, b := range r.Backends {
		if !b.OK {
			r.Problems = append(r.Problems, fmt.Sprintf("backend %s: %s", b.Name, b.Error))
		}
	}
	for _, e := range r.Endpoints {
		if !e.OK {
			r.Problems = append(r.Problems, fmt.Sprintf("endpoint %s (%s): %s", e.Name, e.URL, e.Error))
		}
	}
	for _, rt := range r.Routes {
		if len(rt.Working) == 0 {
			r.Problems = append(r.Problems, fmt.Sprintf("route %s: none of its drivers works (%s)", rt.Name, strings.Join(rt.Use, ", ")))
		}
	}
	if f.model != "" {
		r.Model = modelFit(f.model, f.ctx, r.Memory)
		for _, p := range r.Model.Problems {
			r.Problems = append(r.Problems, "model "+f.model+": "+p)
		}
	}
	if r.Problems == nil {
		r.Problems = []string{}
	}
	if f.jsonOut {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else {
		r.print(s.out)
	}
	if len(r.Problems) > 0 {
		return doctorProblems{len(r.Problems)}
	}
	return nil
}

// programs finds the server programs and asks each for its version.
func programs(ctx context.Context, timeout time.Duration) []programReport {
	out := make([]programReport, len(doctorPrograms))
	var wg sync.WaitGroup
	for i, name := range doctorPrograms {
		out[i] = programReport{Name: name}
		if name == "tether" {
			// The running program is the tether that matters.
			if self, err := os.Executable(); err == nil {
				out[i] = programReport{Name: name, Found: true, Path: self, Version: tetherVersion()}
				continue
			}
		}
		path, err := exec.LookPath(name)
		if err != nil {
			continue
		}
		out[i].Found, out[i].Path = true, path
		wg.Go(func() { out[i].Version, out[i].Error = programVersion(ctx, path, timeout) })
	}
	wg.Wait()
	return out
}

func tetherVersion() string {
	return fmt.Sprintf("%s %s/%s %s", Version, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// programVersion runs `path --version` for at most timeout and returns
// the first line of what it printed (llama-server prints it on stderr).
func programVersion(ctx context.Context, path string, timeout time.Duration) (version, errText string) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "--version")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	cmd.Stdin = nil
	// A child that keeps the pipes open past the timeout must not keep
	// doctor waiting.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		return "", fmt.Sprintf("--version did not answer within %s", timeout)
	}
	for line := range strings.SplitSeq(buf.String(), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(strings.ToLower(line), "warning") {
			continue
		}
		if len(line) > 200 {
			line = line[:200]
		}
		return line, ""
	}
	if err != nil {
		return "", "--version: " + err.Error()
	}
	return "", "--version printed nothing"
}

func cpu() cpuReport {
	model, flags := bench.CPUInfo()
	if flags == nil {
		flags = []string{}
	}
	return cpuReport{
		Model: model, Arch: runtime.GOARCH, Cores: runtime.NumCPU(), Features: flags,
		Kernels: quant.KernelTier(), Tiers: quant.KernelTiers(),
	}
}

// gpus lists the GPUs nvidia-smi reports, or else the GPU device nodes
// present (/dev/nvidia*, /dev/dri/renderD*).
func gpus(ctx context.Context, timeout time.Duration) []gpuReport {
	out := []gpuReport{}
	if path, err := exec.LookPath("nvidia-smi"); err == nil {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, path, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader")
		cmd.WaitDelay = time.Second
		if data, err := cmd.Output(); err == nil {
			for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
				parts := strings.Split(line, ",")
				if len(parts) < 3 || strings.TrimSpace(parts[0]) == "" {
					continue
				}
				out = append(out, gpuReport{Name: strings.TrimSpace(parts[0]), Memory: strings.TrimSpace(parts[1]), Driver: strings.TrimSpace(parts[2]), Source: "nvidia-smi"})
			}
		}
	}
	if len(out) > 0 {
		return out
	}
	nvidia, _ := filepath.Glob("/dev/nvidia[0-9]*")
	render, _ := filepath.Glob("/dev/dri/renderD*")
	for _, dev := range append(nvidia, render...) {
		out = append(out, gpuReport{Name: gpuName(dev), Source: dev})
	}
	return out
}

// gpuName names a device node's GPU by its vendor where sysfs tells it.
func gpuName(dev string) string {
	if strings.HasPrefix(dev, "/dev/nvidia") {
		return "NVIDIA GPU"
	}
	data, err := os.ReadFile(filepath.Join("/sys/class/drm", filepath.Base(dev), "device", "vendor"))
	if err != nil {
		return "GPU"
	}
	switch strings.TrimSpace(string(data)) {
	case "0x10de":
		return "NVIDIA GPU"
	case "0x1002":
		return "AMD GPU"
	case "0x8086":
		return "Intel GPU"
	}
	return "GPU"
}

// memory reads /proc/meminfo; zeros where it is unknown.
func memory() memoryReport {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return memoryReport{}
	}
	return parseMeminfo(string(data))
}

func parseMeminfo(text string) memoryReport {
	var m memoryReport
	for line := range strings.SplitSeq(text, "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || n < 0 || n > 1<<50 {
			continue
		}
		if len(fields) > 1 && fields[1] == "kB" {
			n *= 1024
		}
		switch key {
		case "MemTotal":
			m.TotalBytes = n
		case "MemAvailable":
			m.AvailableBytes = n
		}
	}
	return m
}

// backends checks each configured backend's program and model file.
func backends(cfg *config.File) []backendReport {
	self, _ := os.Executable()
	var out []backendReport
	for _, name := range sortedNames(cfg.Backends) {
		b := cfg.Backends[name]
		r := backendReport{Name: name, Backend: b.Kind, Model: b.Model, OK: true}
		kinds := []string{b.Kind}
		if b.Kind == "auto" {
			kinds = []string{"tether"} // auto ends with tether's own server, which is always there
		}
		p, err := backend.Lookup(kinds[0], backend.Options{TetherProgram: self, Program: b.Program, Command: b.Command, HealthPath: b.HealthPath})
		switch {
		case err != nil:
			r.OK, r.Error = false, err.Error()
		default:
			program := p.Program
			if b.Kind == "custom" {
				program = firstWord(b.Command)
			}
			if path, err := exec.LookPath(program); err != nil {
				r.OK, r.Error = false, fmt.Sprintf("program %s not found; install: %s", program, p.InstallHint)
			} else {
				r.Program = path
			}
		}
		// vLLM also takes a Hugging Face model id; only a path is checked.
		if r.OK && (b.Kind != "vllm" || filepath.IsAbs(b.Model)) {
			if _, err := os.Stat(b.Model); err != nil {
				r.OK, r.Error = false, fmt.Sprintf("model %s: %v", b.Model, errors.Unwrap(err))
			}
		}
		out = append(out, r)
	}
	return out
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// endpoints asks each configured endpoint for its models, in parallel,
// each within timeout.
func endpoints(ctx context.Context, cfg *config.File, timeout time.Duration) []endpointReport {
	names := sortedNames(cfg.Endpoints)
	out := make([]endpointReport, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		e := cfg.Endpoints[name]
		out[i] = endpointReport{Name: name, URL: e.URL, API: e.API, Privacy: e.Privacy}
		wg.Go(func() { probeEndpoint(ctx, e, cfg.Private, timeout, &out[i]) })
	}
	wg.Wait()
	return out
}

// probeEndpoint attaches to an endpoint the way a route would — through
// the remote driver, so that its privacy tier, key, headers and phase
// timeouts apply — and lists its models. It sends no prompt: nothing of
// the user's leaves the machine. A probe is not retried: doctor reports
// what the endpoint answers now.
func probeEndpoint(ctx context.Context, e config.Endpoint, private config.PrivateTier, timeout time.Duration, r *endpointReport) {
	o := remoteOptions(e, private)
	o.Timeout = timeout
	o.Retry = remote.Retry{Attempts: -1}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	defer func() { r.LatencyMS = time.Since(start).Milliseconds() }()
	d, err := dialEndpoint(ctx, e, o)
	var missing *llm.ModelNotFoundError
	switch {
	case errors.As(err, &missing) && len(missing.Available) > 0:
		r.Models = missing.Available
		r.Error = fmt.Sprintf("does not serve model %q (serves %s)", e.Model, strings.Join(r.Models, ", "))
		return
	case errors.As(err, &missing):
		r.Error = "serves no models"
		return
	case err != nil:
		r.Error = probeError(ctx, err, timeout)
		return
	}
	defer d.Close()
	models, err := d.Models(ctx)
	var status *llm.HTTPError
	switch {
	case err != nil && !e.ModelCheck && errors.As(err, &status):
		// model_check = false: the server need not list its models.
		r.OK = true
	case err != nil:
		r.Error = probeError(ctx, err, timeout)
	case len(models) == 0 && e.ModelCheck:
		r.Error = "serves no models"
	default:
		r.Models, r.OK = models, true
	}
}

func probeError(ctx context.Context, err error, timeout time.Duration) string {
	if ctx.Err() != nil {
		return fmt.Sprintf("no answer within %s", timeout)
	}
	return err.Error()
}

// routes lists, for each route, the drivers whose checks passed.
func routes(cfg *config.File, bs []backendReport, es []endpointReport) []routeReport {
	ok := map[string]bool{}
	for _, b := range bs {
		ok[b.Name] = b.OK
	}
	for _, e := range es {
		ok[e.Name] = e.OK
	}
	var out []routeReport
	for _, name := range cfg.RouteNames() {
		rt := cfg.Routes[name]
		r := routeReport{Name: name, Privacy: rt.Privacy, Use: rt.Use, Working: []string{}}
		for _, m := range rt.Use {
			if ok[m] {
				r.Working = append(r.Working, m)
			}
		}
		out = append(out, r)
	}
	return out
}

// modelFit says whether a GGUF file's weights and KV cache at ctx fit in
// the memory available now, with the checks serve's load runs.
func modelFit(path string, ctx int, mem memoryReport) *modelFitReport {
	r := &modelFitReport{File: path, AvailableBytes: mem.AvailableBytes}
	m, err := inspectModel(path, ctx)
	if err != nil {
		r.Problems = append(r.Problems, err.Error())
		return r
	}
	r.Problems = append(r.Problems, m.Problems...)
	r.WeightsBytes = m.Memory.WeightsBytes
	if n := len(m.Memory.KVCache); n > 0 {
		kv := m.Memory.KVCache[n-1] // the one at the context asked for (or estimated)
		r.Context, r.KVCacheBytes = kv.Context, kv.Bytes
	}
	r.NeedBytes = r.WeightsBytes + r.KVCacheBytes
	r.Fits = len(r.Problems) == 0
	if mem.AvailableBytes > 0 && r.NeedBytes > uint64(mem.AvailableBytes) {
		r.Fits = false
		r.Problems = append(r.Problems, fmt.Sprintf("needs %s (weights %s, KV cache %s at %d tokens) but %s is available",
			formatBytes(r.NeedBytes), formatBytes(r.WeightsBytes), formatBytes(r.KVCacheBytes), r.Context, formatBytes(uint64(mem.AvailableBytes))))
	}
	return r
}

func (r *doctorReport) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROGRAM\tPATH\tVERSION")
	for _, p := range r.Programs {
		switch {
		case !p.Found:
			fmt.Fprintf(tw, "%s\tnot installed\t\n", p.Name)
		case p.Error != "":
			fmt.Fprintf(tw, "%s\t%s\t(%s)\n", p.Name, p.Path, p.Error)
		default:
			fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, p.Path, p.Version)
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "cpu\t%s (%s, %d cores)\n", orUnknown(r.CPU.Model), r.CPU.Arch, r.CPU.Cores)
	fmt.Fprintf(tw, "features\t%s\n", orUnknown(strings.Join(r.CPU.Features, " ")))
	fmt.Fprintf(tw, "kernels\t%s (this CPU runs: %s)\n", r.CPU.Kernels, strings.Join(r.CPU.Tiers, ", "))
	if len(r.GPUs) == 0 {
		fmt.Fprintf(tw, "gpus\tnone visible\n")
	}
	for _, g := range r.GPUs {
		fmt.Fprintf(tw, "gpu\t%s\n", strings.TrimSpace(strings.Join([]string{g.Name, g.Memory, "driver " + g.Driver, "(" + g.Source + ")"}, " ")))
	}
	if r.Memory.TotalBytes > 0 {
		fmt.Fprintf(tw, "memory\t%s total, %s available\n", formatBytes(uint64(r.Memory.TotalBytes)), formatBytes(uint64(r.Memory.AvailableBytes)))
	} else {
		fmt.Fprintf(tw, "memory\tunknown\n")
	}
	switch {
	case r.Config == nil:
		fmt.Fprintf(tw, "config\tnone (give --config, or write tether/config.toml in the user's configuration directory)\n")
	case r.Config.Error != "":
		fmt.Fprintf(tw, "config\t%s: INVALID\n", r.Config.Path)
	default:
		fmt.Fprintf(tw, "config\t%s (routes: %s)\n", r.Config.Path, strings.Join(r.Config.Routes, ", "))
	}
	tw.Flush()
	if len(r.Backends) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "BACKEND\tKIND\tMODEL\tSTATUS")
		for _, b := range r.Backends {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", b.Name, b.Backend, b.Model, status(b.OK, b.Error))
		}
		tw.Flush()
	}
	if len(r.Endpoints) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ENDPOINT\tURL\tAPI\tPRIVACY\tSTATUS\tMODELS")
		for _, e := range r.Endpoints {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Name, e.URL, e.API, e.Privacy, status(e.OK, e.Error), strings.Join(e.Models, ", "))
		}
		tw.Flush()
	}
	if len(r.Routes) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ROUTE\tPRIVACY\tUSE\tWORKING")
		for _, rt := range r.Routes {
			working := strings.Join(rt.Working, ", ")
			if working == "" {
				working = "NONE"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", rt.Name, rt.Privacy, strings.Join(rt.Use, ", "), working)
		}
		tw.Flush()
	}
	if m := r.Model; m != nil {
		fmt.Fprintln(w)
		verdict := "fits"
		if !m.Fits {
			verdict = "DOES NOT FIT"
		}
		fmt.Fprintf(w, "model %s at %d tokens: weights %s + KV cache %s = %s; %s available: %s\n",
			m.File, m.Context, formatBytes(m.WeightsBytes), formatBytes(m.KVCacheBytes), formatBytes(m.NeedBytes),
			formatBytes(uint64(max(m.AvailableBytes, 0))), verdict)
	}
	fmt.Fprintln(w)
	if len(r.Problems) == 0 {
		fmt.Fprintln(w, "no problems found")
		return
	}
	fmt.Fprintln(w, "problems:")
	for _, p := range r.Problems {
		fmt.Fprintln(w, "  - "+p)
	}
}

func status(ok bool, errText string) string {
	if ok {
		return "ok"
	}
	return "FAIL: " + errText
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
