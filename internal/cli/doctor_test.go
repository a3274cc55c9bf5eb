package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetherllm/tether/internal/testbin"
	"github.com/tetherllm/tether/internal/testmodel"
	"github.com/tetherllm/tether/internal/testserve"
)

// doctorProcess runs the real tether binary's doctor and parses its JSON.
func doctorProcess(t *testing.T, args ...string) (int, doctorReport, string) {
	t.Helper()
	bin := testbin.Build(t, "github.com/tetherllm/tether/cmd/tether")
	cmd := exec.Command(bin, append([]string{"doctor", "--json"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	var r doctorReport
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("doctor's output is not JSON: %v\n%s\nstderr: %s", err, out.String(), errb.String())
	}
	return cmd.ProcessState.ExitCode(), r, errb.String()
}

func TestDoctorOnThisMachine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	model := testmodel.Write(t, testmodel.Spec{Name: "tiny"})
	srv := testserve.Start(t, model)
	dead := testserve.DeadURL(t)
	broken := writeConfig(t, `
[endpoints.live]
url = "`+srv.URL+`"
model = "tiny"
[endpoints.dead]
url = "`+dead+`"
[routes.main]
use = ["live", "dead"]
`)

	code, r, errs := doctorProcess(t, "--config", broken, "--timeout", "20s")
	if code != ExitDoctorProblems || !strings.Contains(errs, "1 problem") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if len(r.Endpoints) != 2 {
		t.Fatalf("endpoints %+v", r.Endpoints)
	}
	deadR, liveR := r.Endpoints[0], r.Endpoints[1] // sorted by name
	if !liveR.OK || !slices.Equal(liveR.Models, []string{"tiny"}) || liveR.Name != "live" {
		t.Fatalf("live %+v", liveR)
	}
	if deadR.OK || deadR.Error == "" || len(r.Problems) != 1 || !strings.Contains(r.Problems[0], "endpoint dead") {
		t.Fatalf("dead %+v, problems %q", deadR, r.Problems)
	}
	if r.Programs[0].Name != "tether" || !r.Programs[0].Found || r.CPU.Kernels == "" || r.CPU.Cores < 1 || len(r.CPU.Tiers) == 0 {
		t.Fatalf("programs %+v cpu %+v", r.Programs, r.CPU)
	}
	if runtime.GOOS == "linux" && (r.Memory.TotalBytes <= 0 || r.Memory.AvailableBytes <= 0 || r.Memory.AvailableBytes > r.Memory.TotalBytes) {
		t.Fatalf("memory %+v", r.Memory)
	}
	if len(r.Routes) != 1 || !slices.Equal(r.Routes[0].Working, []string{"live"}) {
		t.Fatalf("routes %+v", r.Routes)
	}
	if r.Config == nil || r.Config.Path != broken || !slices.Equal(r.Config.Routes, []string{"main"}) {
		t.Fatalf("config %+v", r.Config)
	}

	// Everything configured answers, and the model fits: exit 0.
	healthy := writeConfig(t, "[endpoints.live]\nurl = \""+srv.URL+"\"\n")
	code, r, errs = doctorProcess(t, "--config", healthy, "--model", model, "--ctx", "256", "--timeout", "20s")
	if code != ExitOK || len(r.Problems) != 0 {
		t.Fatalf("exit %d, problems %q, stderr %q", code, r.Problems, errs)
	}
	m := r.Model
	if m == nil || !m.Fits || m.Context != 256 || m.WeightsBytes == 0 || m.KVCacheBytes == 0 || m.NeedBytes != m.WeightsBytes+m.KVCacheBytes {
		t.Fatalf("model %+v", m)
	}
}

func TestDoctorReportsProblems(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("PATH", t.TempDir()) // no server programs
	bad := writeConfig(t, "[backends.a]\nbackend = \"llama-server\"\nmodel = \"m.gguf\"\nctx = -5\n")
	code, out, errs := tether(t, context.Background(), "doctor", "--config", bad)
	if code != ExitDoctorProblems || !strings.Contains(out, "tether.toml:4: ctx must not be negative") || !strings.Contains(errs, "1 problem") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}

	missing := writeConfig(t, "[backends.a]\nbackend = \"llama-server\"\nmodel = \"/nonexistent/m.gguf\"\n[backends.b]\nbackend = \"tether\"\nmodel = \"/nonexistent/m.gguf\"\n")
	code, out, _ = tether(t, context.Background(), "doctor", "--config", missing)
	if code != ExitDoctorProblems || !strings.Contains(out, "program llama-server not found") || !strings.Contains(out, "/nonexistent/m.gguf") {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	deadRoute := writeConfig(t, "[endpoints.gone]\nurl = \""+testserve.DeadURL(t)+"\"\n[routes.r]\nuse = [\"gone\"]\n")
	code, out, _ = tether(t, context.Background(), "doctor", "--config", deadRoute, "--timeout", "10s")
	if code != ExitDoctorProblems || !strings.Contains(out, "route r: none of its drivers works") {
		t.Fatalf("exit %d, stdout %q", code, out)
	}

	notGGUF := writeConfig(t, "")
	code, out, _ = tether(t, context.Background(), "doctor", "--config", notGGUF, "--model", notGGUF)
	if code != ExitDoctorProblems || !strings.Contains(out, "DOES NOT FIT") {
		t.Fatalf("exit %d, stdout %q", code, out)
	}

	if code, _, _ := tether(t, context.Background(), "doctor", "--ctx", "10"); code != ExitUsage {
		t.Fatalf("--ctx without --model: exit %d", code)
	}
}

func TestDoctorWithoutConfiguration(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	code, out, errs := tether(t, context.Background(), "doctor")
	if code != ExitOK || !strings.Contains(out, "no problems found") || !strings.Contains(out, "kernels") || errs != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestProgramVersion(t *testing.T) {
	dir := t.TempDir()
	script := dir + "/fake-server"
	os.WriteFile(script, []byte("#!/bin/sh\necho 'warning: no GPU' >&2\necho 'version: 4242 (abcdef)' >&2\n"), 0o755)
	if v, e := programVersion(context.Background(), script, 10*time.Second); v != "version: 4242 (abcdef)" || e != "" {
		t.Fatalf("%q %q", v, e)
	}
	hang := dir + "/hang"
	os.WriteFile(hang, []byte("#!/bin/sh\nexec sleep 60\n"), 0o755)
	if v, e := programVersion(context.Background(), hang, 200*time.Millisecond); v != "" || !strings.Contains(e, "did not answer") {
		t.Fatalf("%q %q", v, e)
	}
}

func TestParseMeminfo(t *testing.T) {
	m := parseMeminfo("MemTotal:       16384000 kB\nMemFree:  1 kB\nMemAvailable:    8192000 kB\nbogus\nHugePages_Total: 0\n")
	if m.TotalBytes != 16384000*1024 || m.AvailableBytes != 8192000*1024 {
		t.Fatalf("%+v", m)
	}
}

func TestDoctorReadsNvidiaSmi(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(dir+"/nvidia-smi", []byte("#!/bin/sh\necho 'NVIDIA H200, 143771 MiB, 570.86.15'\necho 'NVIDIA H200, 143771 MiB, 570.86.15'\n"), 0o755)
	t.Setenv("PATH", dir)
	g := gpus(context.Background(), 10*time.Second)
	if len(g) != 2 || g[0].Name != "NVIDIA H200" || g[0].Memory != "143771 MiB" || g[0].Driver != "570.86.15" || g[0].Source != "nvidia-smi" {
		t.Fatalf("%+v", g)
	}
}

// TestDoctorSendsNoPromptAndUsesTheEndpointSettings checks that doctor
// reaches an endpoint the way a request would (its key from the
// environment, its headers) and only lists its models.
func TestDoctorSendsNoPromptAndUsesTheEndpointSettings(t *testing.T) {
	var lists, others atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v1/models" {
			others.Add(1)
			http.Error(w, "no", http.StatusBadRequest)
			return
		}
		if r.Header.Get("Authorization") != "Bearer doc-key" || r.Header.Get("X-Org") != "org-7x" {
			http.Error(w, `{"error":{"message":"who are you"}}`, http.StatusUnauthorized)
			return
		}
		lists.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"object":"list","data":[{"id":"m","object":"model"}]}`)
	}))
	defer srv.Close()
	t.Setenv("DOC_KEY", "doc-key")
	cfg := writeConfig(t, "[endpoints.e]\nurl = \""+srv.URL+"\"\nmodel = \"m\"\napi_key_env = \"DOC_KEY\"\n[endpoints.e.headers]\nX-Org = \"org-7x\"\n")
	code, out, errs := tether(t, context.Background(), "doctor", "--config", cfg, "--json")
	var r doctorReport
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != ExitOK {
		t.Fatalf("exit %d, %v, stderr %q", code, err, errs)
	}
	if len(r.Endpoints) != 1 || !r.Endpoints[0].OK || !slices.Equal(r.Endpoints[0].Models, []string{"m"}) {
		t.Fatalf("endpoints %+v", r.Endpoints)
	}
	if lists.Load() == 0 || others.Load() != 0 {
		t.Fatalf("%d model lists, %d other requests", lists.Load(), others.Load())
	}
	if strings.Contains(out, "doc-key") || strings.Contains(out, "org-7x") {
		t.Fatalf("the key or a header value is in the report: %s", out)
	}
}
