package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tetherllm/tether/internal/testbin"
	"github.com/tetherllm/tether/internal/testmodel"
	"github.com/tetherllm/tether/internal/testserve"
)

// tetherProcess runs the tether binary with args and the environment
// given on top of one without the operator's overrides, and returns its
// exit code and output.
func tetherProcess(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	bin := testbin.Build(t, "github.com/tetherllm/tether/cmd/tether")
	cmd := exec.Command(bin, args...)
	base := []string{"XDG_CONFIG_HOME=" + t.TempDir(), "TETHER_API_KEY="}
	for _, k := range []string{"APR_AGENT_MAX_TOKENS_CAP", "APR_AGENT_TEMPERATURE", "APR_AGENT_TOP_K", "APR_AGENT_TOP_P",
		"APR_AGENT_REPEAT_PENALTY", "APR_AGENT_REPEAT_LAST_N", "APR_AGENT_SEED", "APR_AGENT_HTTP_TIMEOUT_S"} {
		base = append(base, k+"=")
	}
	cmd.Env = append(append(os.Environ(), base...), env...)
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, out.String(), errs.String()
}

// TestRouteProcessFallsBackAcrossAPIs runs `tether run --config --route`
// as a process over a route of a dead endpoint, a tether serve speaking
// the OpenAI-compatible API with its key in an environment variable, and
// a tether serve speaking the Messages API with its key in a file.
func TestRouteProcessFallsBackAcrossAPIs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	model := testmodel.Write(t, testmodel.Spec{Name: "tiny"})
	team := testserve.Start(t, model, "--api-key", "team-secret")
	claude := testserve.Start(t, model, "--api-key", "claude-secret")
	keyFile := filepath.Join(t.TempDir(), "claude.key")
	if err := os.WriteFile(keyFile, []byte("claude-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, `
default_route = "main"

[endpoints.dead]
url = "`+testserve.DeadURL(t)+`"
retries = 0

[endpoints.team]
url = "`+team.URL+`"
model = "tiny"
api_key_env = "TEAM_KEY"
connect_timeout = "5s"
idle_timeout = "1m"
[endpoints.team.headers]
X-Team = "inference"

# The same server, asked for a model it does not have.
[endpoints.team-other-model]
url = "`+team.URL+`"
model = "absent"
api_key_env = "TEAM_KEY"

[endpoints.claude]
api = "anthropic"
url = "`+claude.URL+`"
model = "tiny"
api_key_file = "`+keyFile+`"
max_tokens = 64
context_window = 512

[prices.claude]
input = 1000000.0
output = 0.0

[routes.main]
use = ["dead", "team", "claude"]

[routes.spill]
use = ["dead", "team-other-model", "claude"]
`)
	env := []string{"TEAM_KEY=team-secret"}

	code, out, errs := tetherProcess(t, env, "run", "--config", cfg, "--route", "main", "--json", "--max-tokens", "3", "hello")
	if code != ExitOK {
		t.Fatalf("main: exit %d, stderr %q", code, errs)
	}
	var res runResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if res.Served == nil || res.Served.Driver != "team" || res.Served.Attempts != 2 || res.Served.Backend != "remote" || res.Model != "tiny" || res.Usage.OutputTokens == 0 {
		t.Fatalf("main: result %+v, served %+v", res, res.Served)
	}

	// The model is missing on the second: the Messages API endpoint
	// answers, and its price is counted.
	code, out, errs = tetherProcess(t, env, "run", "--config", cfg, "--route", "spill", "--json", "--max-tokens", "3", "hello")
	if code != ExitOK {
		t.Fatalf("spill: exit %d, stderr %q", code, errs)
	}
	res = runResult{}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if s := res.Served; s == nil || s.Driver != "claude" || s.Attempts != 3 || s.Backend != "anthropic" || s.ContextWindow != 512 ||
		res.Usage.InputTokens == 0 || s.CostUSD != float64(res.Usage.InputTokens) {
		t.Fatalf("spill: result %+v, served %+v", res, res.Served)
	}

	// Streaming, the default route: the answer on stdout, who answered
	// on stderr.
	code, out, errs = tetherProcess(t, env, "run", "--config", cfg, "--max-tokens", "3", "hello")
	if code != ExitOK || out == "" || !strings.Contains(errs, "via team (tiny)") {
		t.Fatalf("stream: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	code, out, errs = tetherProcess(t, env, "run", "--config", cfg, "--route", "spill", "--max-tokens", "3", "hello")
	if code != ExitOK || out == "" || !strings.Contains(errs, "via claude (tiny)") || !strings.Contains(errs, "falling back") {
		t.Fatalf("stream from the Messages API: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, errs = tetherProcess(t, env, "run", "-q", "--config", cfg, "--route", "spill", "--max-tokens", "3", "hello")
	if code != ExitOK || out == "" || errs != "" {
		t.Fatalf("-q: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	// Without its key the endpoint is the user's to fix: no fallback to
	// the next, and the error names where the key should be.
	code, _, errs = tetherProcess(t, []string{"TEAM_KEY="}, "run", "--config", cfg, "--route", "main", "--max-tokens", "3", "hello")
	if code != ExitUsage || !strings.Contains(errs, "endpoints.team.api_key_env") || strings.Contains(errs, "claude") {
		t.Fatalf("no key: exit %d, stderr %q", code, errs)
	}

	// Doctor lists both servers' models through their APIs, and says the
	// dead one is broken.
	code, out, errs = tetherProcess(t, env, "doctor", "--config", cfg, "--json")
	var doc doctorReport
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != ExitDoctorProblems {
		t.Fatalf("doctor: exit %d, %v, stdout %q, stderr %q", code, err, out, errs)
	}
	byName := map[string]endpointReport{}
	for _, e := range doc.Endpoints {
		byName[e.Name] = e
	}
	if e := byName["claude"]; !e.OK || e.API != "anthropic" || !strings.Contains(strings.Join(e.Models, ","), "tiny") {
		t.Fatalf("doctor claude %+v", e)
	}
	if e := byName["team"]; !e.OK || e.API != "openai" || len(e.Models) == 0 {
		t.Fatalf("doctor team %+v", e)
	}
	if e := byName["team-other-model"]; e.OK || !strings.Contains(e.Error, `"absent"`) {
		t.Fatalf("doctor team-other-model %+v", e)
	}
	if e := byName["dead"]; e.OK {
		t.Fatalf("doctor dead %+v", e)
	}
}

// outsideServer is an OpenAI-compatible server on this machine's
// non-loopback address — for the privacy tiers, another host — that
// counts the connections it accepts.
func outsideServer(t *testing.T) (url string, ip netip.Addr, conns *atomic.Int32) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"object":"list","data":[{"id":"m","object":"model"}]}`)
	})
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		sseAnswer(w, `{"choices":[{"index":0,"delta":{"content":"from outside"},"finish_reason":"stop"}]}`, "[DONE]")
	})
	return testserve.Outside(t, mux)
}

// TestTierRefusesBeforeConnecting checks, with the tether binary, that a
// sovereign route refuses an endpoint outside this machine and that
// --privacy sovereign refuses it in the dialer, while the server sees no
// connection; then that the private tier listing its network reaches it.
func TestTierRefusesBeforeConnecting(t *testing.T) {
	url, ip, conns := outsideServer(t)
	cfg := writeConfig(t, `
[endpoints.outside]
url = "`+url+`"
privacy = "standard"
[routes.local]
privacy = "sovereign"
use = ["outside"]
`)
	code, _, errs := tetherProcess(t, nil, "run", "--config", cfg, "--route", "local", "hello")
	if code != ExitUsage || !strings.Contains(errs, `route "local" is sovereign, but endpoint "outside" is standard`) {
		t.Fatalf("route: exit %d, stderr %q", code, errs)
	}
	code, _, errs = tetherProcess(t, nil, "run", "--endpoint", url, "--privacy", "sovereign", "hello")
	if code != ExitRequestFailed || !strings.Contains(errs, "privacy tier sovereign refuses "+ip.String()) {
		t.Fatalf("--privacy sovereign: exit %d, stderr %q", code, errs)
	}
	code, _, errs = tetherProcess(t, nil, "run", "--endpoint", url, "--privacy", "private", "--allow-host", "gpu.lab", "hello")
	if code != ExitRequestFailed || !strings.Contains(errs, "privacy tier private refuses") {
		t.Fatalf("--privacy private, other host: exit %d, stderr %q", code, errs)
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("the server outside saw %d connections", n)
	}

	// The same server, allowed: it was reachable all along.
	code, out, errs := tetherProcess(t, nil, "run", "-q", "--endpoint", url, "--privacy", "private", "--allow-network", ip.String()+"/32", "hello")
	if code != ExitOK || out != "from outside\n" || conns.Load() == 0 {
		t.Fatalf("allowed: exit %d, stdout %q, stderr %q, %d connections", code, out, errs, conns.Load())
	}
}
