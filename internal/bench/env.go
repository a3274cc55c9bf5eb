package bench

import (
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Env describes the machine and build a report was measured on.
type Env struct {
	// Commit is `git describe --always --dirty` of the working directory's
	// repository, or the build's vcs.revision.
	Commit   string   `json:"commit,omitempty"`
	CPU      string   `json:"cpu,omitempty"`
	CPUs     int      `json:"cpus"`
	CPUFlags []string `json:"cpu_flags,omitempty"`
	// Kernels is the kernel tier tether's engine ran with.
	Kernels   string `json:"kernels"`
	GoVersion string `json:"go_version"`
	Threads   int    `json:"threads"`
	// LlamaCpp is the node-llama-cpp version measured, "" when skipped.
	LlamaCpp string `json:"llamacpp,omitempty"`
	Date     string `json:"date"`
	// Load is the 1-minute load average when the run started.
	Load float64 `json:"load"`
}

// CollectEnv describes this machine and build.
func CollectEnv(threads int, kernels string) Env {
	cpu, flags := cpuInfo()
	return Env{
		Commit: commit(), CPU: cpu, CPUs: runtime.NumCPU(), CPUFlags: flags, Kernels: kernels,
		GoVersion: runtime.Version(), Threads: threads, Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Load: loadAverage(),
	}
}

// loadAverage is the 1-minute load average, or 0 where it is unknown.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(data), " ")
	v, _ := strconv.ParseFloat(first, 64)
	return v
}

// CPUInfo is the CPU's model name and the flags that matter to the
// engine's kernels (see [KernelFlag]), for reports on this machine.
func CPUInfo() (model string, flags []string) { return cpuInfo() }

// cpuInfo reads the CPU's model name and the flags that matter to the
// kernels from /proc/cpuinfo.
func cpuInfo() (model string, flags []string) {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH, nil
	}
	return parseCPUInfo(string(data))
}

func parseCPUInfo(text string) (model string, flags []string) {
	for line := range strings.SplitSeq(text, "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(key) {
		case "model name":
			if model == "" {
				model = strings.TrimSpace(val)
			}
		case "flags", "Features": // x86, arm64
			if flags == nil {
				flags = []string{}
				for f := range strings.FieldsSeq(val) {
					if KernelFlag(f) {
						flags = append(flags, f)
					}
				}
			}
		}
	}
	slices.Sort(flags)
	return model, slices.Compact(flags)
}

// KernelFlag reports whether a CPU flag matters to the engine's kernels.
func KernelFlag(f string) bool {
	switch f {
	case "avx", "avx2", "fma", "f16c", "asimd", "asimddp", "sve", "i8mm":
		return true
	}
	return strings.HasPrefix(f, "avx512") || strings.Contains(f, "vnni")
}

// commit names the source: git describe of the working directory's
// repository, else the revision the binary was built from.
func commit() string {
	if out, err := exec.Command("git", "describe", "--always", "--dirty", "--tags").Output(); err == nil {
		if s := strings.TrimSpace(string(out)); s != "" {
			return s
		}
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}
