package cli

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tetherllm/tether/driver/remote"
	"github.com/tetherllm/tether/internal/config"
	"github.com/tetherllm/tether/internal/testmodel"
	"github.com/tetherllm/tether/internal/testserve"
	"github.com/tetherllm/tether/llm"
)

// writeConfig writes a configuration file into the test's directory.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tether.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunRouteFallsBackToALiveEndpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	for _, k := range []string{"APR_AGENT_MAX_TOKENS_CAP", "APR_AGENT_TEMPERATURE", "APR_AGENT_HTTP_TIMEOUT_S", "TETHER_API_KEY"} {
		t.Setenv(k, "")
	}
	srv := testserve.Start(t, testmodel.Write(t, testmodel.Spec{Name: "tiny"}), "--api-key", "team-secret")
	t.Setenv("TEAM_KEY", "team-secret")
	cfg := writeConfig(t, `
[endpoints.dead]
url = "`+testserve.DeadURL(t)+`"
[endpoints.live]
url = "`+srv.URL+`"
api_key_env = "TEAM_KEY"
[prices.live]
input = 1000000.0
output = 0.0
[routes.main]
use = ["dead", "live"]
`)
	code, out, errs := tether(t, context.Background(), "run", "--config", cfg, "--route", "main", "--json", "--max-tokens", "3", "hello")
	if code != ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	var res runResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Served == nil || res.Served.Driver != "live" || res.Served.Attempts != 2 || res.Model != "tiny" || res.ContextWindow <= 0 ||
		res.Served.CostUSD != float64(res.Usage.InputTokens) || res.Usage.InputTokens == 0 {
		t.Fatalf("result %+v served %+v", res, res.Served)
	}

	// Streaming, with the route from the user's configuration file.
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	os.MkdirAll(filepath.Join(dir, "tether"), 0o700)
	data, _ := os.ReadFile(cfg)
	os.WriteFile(filepath.Join(dir, "tether", "config.toml"), data, 0o600)
	code, out, errs = tether(t, context.Background(), "run", "--max-tokens", "3", "hello")
	if code != ExitOK || out == "" || !strings.Contains(errs, "via live (tiny)") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}

	// A wrong key is the user's to fix, not a reason to try elsewhere.
	t.Setenv("TEAM_KEY", "wrong")
	code, _, errs = tether(t, context.Background(), "run", "--config", cfg, "--max-tokens", "3", "hello")
	if code != ExitRequestFailed || !strings.Contains(errs, "live") || strings.Contains(errs, "wrong") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}

func TestRunRouteUsageErrors(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	good := writeConfig(t, "[endpoints.a]\nurl = \"http://127.0.0.1:1\"\n[routes.r]\nuse = [\"a\"]\n")
	bad := writeConfig(t, "[endpoints.a]\nurl = \"http://127.0.0.1:1\"\n\n[routes.r]\nuse = [\"a\", \"ghost\"]\n")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"bad file", []string{"--config", bad}, "tether.toml:5: "},
		{"missing file", []string{"--config", filepath.Join(t.TempDir(), "none.toml")}, "cannot read the configuration file"},
		{"unknown route", []string{"--config", good, "--route", "nope"}, `no route "nope"`},
		{"route with model", []string{"--config", good, "--model", "m.gguf"}, "one or the other"},
		{"route with endpoint", []string{"--route", "r", "--endpoint", "http://127.0.0.1:1"}, "one or the other"},
		{"route with a server flag", []string{"--config", good, "--ctx", "4096"}, "--ctx sets up a single server"},
		{"route with an endpoint flag", []string{"--config", good, "--api-key-env", "K"}, "--api-key-env sets up a single server"},
		{"route with a header", []string{"--config", good, "--header", "X: y"}, "--header sets up a single server"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := tether(t, context.Background(), append(append([]string{"run"}, c.args...), "hi")...)
			if code != ExitUsage || !strings.Contains(errs, c.want) {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
		})
	}
}

func TestRemoteOptionsCarryTheEndpoint(t *testing.T) {
	private := config.PrivateTier{Hosts: []string{"gpu.lab"}, Networks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	e := config.Endpoint{
		Name: "team", URL: "http://10.0.0.1:8000", Model: "m", ModelCheck: true, Privacy: llm.Private, ContextWindow: 99,
		APIKeyFile: "/k", Headers: map[string]string{"X-Org": "o"}, ConnectTimeout: time.Second, FirstByteTimeout: -1,
		IdleTimeout: time.Minute, RetryAttempts: -1, RetryMaxDelay: 3 * time.Second, Timeout: time.Hour,
	}
	o := remoteOptions(e, private)
	if o.Endpoint != e.URL || o.Model != "m" || o.SkipModelCheck || o.APIKeyFile != "/k" || o.APIKey != "" || o.Headers["X-Org"] != "o" ||
		o.Privacy != llm.Private || o.ContextWindow != 99 || o.Timeout != time.Hour ||
		o.Timeouts != (remote.Timeouts{Connect: time.Second, FirstByte: -1, Idle: time.Minute}) ||
		o.Retry.Attempts != -1 || o.Retry.MaxDelay != 3*time.Second ||
		!slices.Equal(o.AllowedHosts, private.Hosts) || !slices.Equal(o.AllowedNetworks, private.Networks) {
		t.Fatalf("%+v", o)
	}
	e.Privacy, e.ModelCheck = llm.Standard, false
	if o := remoteOptions(e, private); o.AllowedHosts != nil || o.AllowedNetworks != nil || !o.SkipModelCheck {
		t.Fatalf("a standard endpoint got the private tier's lists: %+v", o)
	}
}

func TestDialEndpointNamesTheKeyNotItsValue(t *testing.T) {
	t.Setenv("TEAM_KEY", "")
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.key")
	os.WriteFile(empty, []byte("\n"), 0o600)
	dead := testserve.DeadURL(t)
	for _, c := range []struct {
		e    config.Endpoint
		want string
	}{
		{config.Endpoint{Name: "team", URL: dead, APIKeyEnv: "TEAM_KEY"}, "endpoints.team.api_key_env"},
		{config.Endpoint{Name: "team", URL: dead, APIKeyFile: filepath.Join(dir, "missing.key")}, "endpoints.team.api_key_file"},
		{config.Endpoint{Name: "claude", API: config.APIAnthropic, URL: dead, APIKeyFile: empty}, "endpoints.claude.api_key_file"},
	} {
		_, err := dialEndpoint(context.Background(), c.e, remoteOptions(c.e, config.PrivateTier{}))
		var ce *llm.ConfigError
		if !errors.As(err, &ce) || ce.Setting != c.want {
			t.Fatalf("%+v: %v", c.e, err)
		}
	}
}
