package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tetherllm/tether/llm"
)

func TestExampleFileLoads(t *testing.T) {
	f, err := Load(filepath.Join("..", "..", "docs", "tether.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.Route("")
	if err != nil || r.Name != "local-first" || r.Privacy != llm.Private || !slices.Equal(r.Use, []string{"local", "team"}) {
		t.Fatalf("default route %+v, %v", r, err)
	}
	if tier, _ := f.Tier("team"); tier != llm.Private {
		t.Fatalf("team is %s, want private (10.20.0.0/16 is listed)", tier)
	}
	if tier, _ := f.Tier("hosted"); tier != llm.Standard {
		t.Fatalf("hosted is %s", tier)
	}
	big := f.Backends["big"]
	if big.Kind != "vllm" || big.TensorParallel != 4 || big.PipelineParallel != 2 || big.RayAddress != "10.20.0.5:6379" {
		t.Fatalf("big %+v", big)
	}
	local := f.Backends["local"]
	if local.GPULayers != 99 || local.Ctx != 8192 || local.ReadyTimeout != 5*time.Minute || strings.HasPrefix(local.Model, "~") {
		t.Fatalf("local %+v", local)
	}
	team := f.Endpoints["team"]
	if team.APIKeyEnv != "TEAM_VLLM_KEY" || team.Timeout != 10*time.Minute || team.API != APIOpenAI || !team.ModelCheck ||
		team.ConnectTimeout != 5*time.Second || team.FirstByteTimeout != 2*time.Minute || team.IdleTimeout != time.Minute ||
		team.RetryAttempts != 3 || team.RetryMaxDelay != 20*time.Second || team.Headers["X-Team"] != "inference" {
		t.Fatalf("team %+v", team)
	}
	claude := f.Endpoints["claude"]
	if claude.API != APIAnthropic || claude.MaxTokens != 8192 || claude.AnthropicVersion != "2023-06-01" || claude.Privacy != llm.Standard || claude.ContextWindow != 200000 {
		t.Fatalf("claude %+v", claude)
	}
	if hosted := f.Endpoints["hosted"]; hosted.API != APIOpenAI || hosted.RetryAttempts != 0 || hosted.ConnectTimeout != 0 {
		t.Fatalf("hosted %+v", hosted)
	}
	if p := f.Prices["hosted"]; p.InputPerMTok != 0.40 || p.OutputPerMTok != 1.60 {
		t.Fatalf("price %+v", p)
	}
	if _, err := f.Route("nope"); err == nil {
		t.Fatal("an unknown route was found")
	}
}

func TestBadFiles(t *testing.T) {
	for _, c := range []struct {
		name string
		doc  string
		line int
		want string
	}{
		{"syntax", "[routes.a]\nuse = [\"x\"\nprivacy = 1\n", 3, ""},
		{"unknown top-level key", "default_route = \"\"\nbogus = 1\n", 2, `unknown key "bogus"`},
		{"unknown backend key", "[backends.a]\nmodel = \"m.gguf\"\n\ngpu_layer = 3\n", 4, `unknown key "backends.a.gpu_layer"`},
		{"unknown table", "[backend.a]\nmodel = \"m\"\n", 1, `unknown key "backend.a"`},
		{"wrong type", "[backends.a]\nmodel = \"m\"\nctx = \"big\"\n", 3, "backends.a.ctx"},
		{"negative ctx", "[backends.a]\nmodel = \"m\"\nctx = -1\n", 3, "ctx must not be negative"},
		{"unknown backend", "[backends.a]\nbackend = \"tgi\"\nmodel = \"m\"\n", 2, `backend "tgi"`},
		{"no model", "\n[backends.a]\nbackend = \"tether\"\n", 2, "has no model"},
		{"gpu layers on vllm", "[backends.a]\nbackend = \"vllm\"\nmodel = \"m\"\ngpu_layers = 3\n", 4, "gpu_layers is llama-server's"},
		{"tensor parallel on llama-server", "[backends.a]\nbackend = \"llama-server\"\nmodel = \"m\"\ntensor_parallel = 2\n", 4, "tensor_parallel is vllm's"},
		{"bad ray address", "[backends.a]\nbackend = \"vllm\"\nmodel = \"m\"\nray_address = \"head\"\n", 4, "ray_address"},
		{"custom without command", "[backends.a]\nbackend = \"custom\"\nmodel = \"m\"\n", 1, "has no command"},
		{"bad duration", "[backends.a]\nmodel = \"m\"\nready_timeout = \"soon\"\n", 3, "positive duration"},
		{"endpoint without url", "[endpoints.e]\nmodel = \"x\"\n", 1, "has no url"},
		{"bad url scheme", "[endpoints.e]\nurl = \"ftp://h/\"\n", 2, `scheme "ftp"`},
		{"bad privacy", "[endpoints.e]\nurl = \"http://127.0.0.1:1\"\nprivacy = \"secret\"\n", 3, `privacy "secret"`},
		{"sovereign claim for a remote host", "[endpoints.e]\nurl = \"http://10.0.0.5:8000\"\nprivacy = \"sovereign\"\n", 3, "not a loopback address"},
		{"private claim for an unlisted host", "[tiers.private]\nnetworks = [\"10.1.0.0/16\"]\n[endpoints.e]\nurl = \"http://10.0.0.5:8000\"\nprivacy = \"private\"\n", 5, "not among the hosts and networks"},
		{"bad network", "[tiers.private]\nhosts = [\"h\"]\nnetworks = [\"10.0.0.0\"]\n", 3, "CIDR"},
		{"both key sources", "[endpoints.e]\nurl = \"http://127.0.0.1:1\"\napi_key_env = \"K\"\napi_key_file = \"/k\"\n", 4, "not both"},
		{"name both backend and endpoint", "[backends.x]\nmodel = \"m\"\n[endpoints.x]\nurl = \"http://127.0.0.1:1\"\n", 3, "both a backend and an endpoint"},
		{"price for nothing", "[prices.ghost]\ninput = 1.0\n", 1, `price for "ghost"`},
		{"negative price", "[backends.a]\nmodel = \"m\"\n[prices.a]\ninput = 1.0\noutput = -2.0\n", 5, "output must be a price"},
		{"nan price", "[backends.a]\nmodel = \"m\"\n[prices.a]\ninput = nan\n", 4, "input must be a price"},
		{"route naming an undefined backend", "[backends.a]\nmodel = \"m\"\n\n[routes.r]\nuse = [\"a\",\n  \"b\"]\n", 5, `uses "b", which is neither`},
		{"empty route", "[routes.r]\nprivacy = \"standard\"\n", 1, "uses nothing"},
		{"route using a name twice", "[backends.a]\nmodel = \"m\"\n[routes.r]\nuse = [\"a\", \"a\"]\n", 4, "twice"},
		{"tier violation", "[endpoints.hosted]\nurl = \"https://api.example.com/v1\"\n[routes.r]\nprivacy = \"private\"\nuse = [\"hosted\"]\n", 5, `route "r" is private, but endpoint "hosted" is standard`},
		{"default route tier violation", "[endpoints.lan]\nurl = \"http://192.168.1.2:8080\"\n[routes.r]\nuse = [\"lan\"]\n", 4, `route "r" is sovereign, but endpoint "lan" is standard`},
		{"undefined default route", "default_route = \"main\"\n[backends.a]\nmodel = \"m\"\n[routes.r]\nuse = [\"a\"]\n", 1, `default_route "main"`},
		{"unknown api", "[endpoints.e]\nurl = \"http://127.0.0.1:1\"\napi = \"grpc\"\n", 3, `api "grpc"`},
		{"max_tokens on openai", "[endpoints.e]\nurl = \"http://127.0.0.1:1\"\nmax_tokens = 10\n", 3, "max_tokens is for api = \"anthropic\""},
		{"negative max_tokens", "[endpoints.e]\nurl = \"http://127.0.0.1:1\"\napi = \"anthropic\"\nmax_tokens = -1\n", 4, "max_tokens must not be negative"},
		{"anthropic unchecked without model", "[endpoints.e]\napi = \"anthropic\"\nurl = \"http://127.0.0.1:1\"\nmodel_check = false\n", 4, "needs a model"},
		{"bad phase timeout", "[endpoints.e]\nurl = \"http://127.0.0.1:1\"\n\nidle_timeout = \"-1s\"\n", 4, `or "none"`},
		{"bad retries", "[endpoints.e]\nurl = \"http://127.0.0.1:1\"\nretries = -2\n", 3, "retries must be from 0"},
		{"bad retry delay", "[endpoints.e]\nurl = \"http://127.0.0.1:1\"\nretry_max_delay = \"later\"\n", 3, "positive duration"},
		{"credential header", "[endpoints.e]\nurl = \"http://127.0.0.1:1\"\n[endpoints.e.headers]\nX-Org = \"o\"\nAuthorization = \"Bearer sk-secret\"\n", 5, "carries a credential"},
		{"inline credential header", "[endpoints.e]\nurl = \"http://127.0.0.1:1\"\nheaders = { \"x-api-key\" = \"k\" }\n", 3, "carries a credential"},
		{"bad header name", "[endpoints.e]\nurl = \"http://127.0.0.1:1\"\n[endpoints.e.headers]\n\"X Org\" = \"o\"\n", 4, "not a valid header name"},
		{"header value on two lines", "[endpoints.e]\nurl = \"http://127.0.0.1:1\"\n[endpoints.e.headers]\nX-Org = \"a\\nb\"\n", 4, "one line"},
		{"header tether sets", "[endpoints.e]\nurl = \"http://127.0.0.1:1\"\n[endpoints.e.headers]\nanthropic-version = \"1\"\n", 4, "set by tether"},
		{"inline table unknown key", "[backends.a]\nmodel = \"m\"\n[routes]\nr = { use = [\"a\"], privacy = \"standard\", extra = 1 }\n", 4, "unknown key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("cfg.toml", []byte(c.doc))
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("err %v (%T), want Errors", err, err)
			}
			e := es[0]
			if e.File != "cfg.toml" || e.Line != c.line || !strings.Contains(e.Message, c.want) ||
				!strings.HasPrefix(err.Error(), "cfg.toml:"+strconv.Itoa(c.line)+": ") {
				t.Fatalf("got %q (line %d), want line %d containing %q", err, e.Line, c.line, c.want)
			}
		})
	}
}

func TestEveryProblemIsReported(t *testing.T) {
	doc := "[backends.a]\nmodel = \"m\"\nctx = -1\n\n[routes.r]\nuse = [\"a\", \"ghost\"]\n"
	_, err := Parse("c.toml", []byte(doc))
	var es Errors
	if !errors.As(err, &es) || len(es) != 2 || es[0].Line != 3 || es[1].Line != 6 {
		t.Fatalf("%v", err)
	}
}

func TestEndpointTiers(t *testing.T) {
	private := PrivateTier{Hosts: []string{"gpu.lab", "*.corp.example"}}
	doc := `
[tiers.private]
hosts = ["GPU.lab"]
networks = ["10.0.0.0/8"]
[endpoints.loop]
url = "http://127.0.0.1:8080"
[endpoints.sock]
url = "unix:///run/llm.sock"
[endpoints.named]
url = "http://gpu.lab:8000/v1"
[endpoints.net]
url = "http://10.1.2.3:8000"
[endpoints.lan]
url = "http://192.168.0.2:8000"
[endpoints.wider]
url = "http://localhost:8000"
privacy = "standard"
`
	f, err := Parse("c.toml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]llm.PrivacyTier{"loop": llm.Sovereign, "sock": llm.Sovereign, "named": llm.Private, "net": llm.Private, "lan": llm.Standard, "wider": llm.Standard} {
		if got, _ := f.Tier(name); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	for url, want := range map[string]llm.PrivacyTier{"http://gpu.lab:1": llm.Private, "http://a.corp.example": llm.Private, "http://corp.example.evil": llm.Standard, "http://[::1]:8": llm.Sovereign} {
		if got, _ := AddressTier(url, private); got != want {
			t.Errorf("AddressTier(%s): %s, want %s", url, got, want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing.toml")); err == nil {
		t.Fatal("a missing file loaded")
	}
	big := filepath.Join(dir, "big.toml")
	os.WriteFile(big, []byte("# "+strings.Repeat("x", MaxFileSize)), 0o600)
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("big file: %v", err)
	}
	t.Setenv("XDG_CONFIG_HOME", dir)
	if f, err := LoadDefault(); f != nil || err != nil {
		t.Fatalf("no default file: %v %v", f, err)
	}
	os.MkdirAll(filepath.Join(dir, "tether"), 0o700)
	os.WriteFile(filepath.Join(dir, "tether", "config.toml"), []byte("[backends.a]\nmodel = \"m\"\n[routes.only]\nuse = [\"a\"]\n"), 0o600)
	f, err := LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	if r, err := f.Route(""); err != nil || r.Name != "only" {
		t.Fatalf("the only route: %+v %v", r, err)
	}
}

func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("..", "..", "docs", "tether.example.toml")); err == nil {
		f.Add(data)
	}
	f.Add([]byte("[backends.a]\nmodel = \"m\"\n[routes]\nr = { use = [\"a\"] }\n"))
	f.Add([]byte("[tiers.private]\nnetworks = [\"10.0.0.0/8\"]\n[endpoints.e]\nurl = \"http://10.0.0.1\"\nprivacy = \"private\"\n"))
	f.Add([]byte("a.b.c = 1\n[x]\n[[y]]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.toml", data)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %v is not Errors", err)
			}
			for _, e := range es {
				if e.Line < 0 || e.Line > strings.Count(string(data), "\n")+1 {
					t.Fatalf("line %d outside the file: %v", e.Line, e)
				}
			}
			return
		}
		// What validates is consistent: every route's drivers exist and
		// its tier allows them.
		for _, r := range cfg.Routes {
			for _, m := range r.Use {
				tier, ok := cfg.Tier(m)
				if !ok || !r.Privacy.Allows(tier) {
					t.Fatalf("route %s uses %s (%s, defined %v)", r.Name, m, tier, ok)
				}
			}
		}
	})
}

func TestEndpointRemoteSettings(t *testing.T) {
	doc := `
[tiers.private]
hosts = [".lab.example"]
[endpoints.a]
url = "http://gpu1.lab.example:8000"
api = "anthropic"
model = "m"
model_check = false
retries = 0
connect_timeout = "none"
[endpoints.b]
url = "http://127.0.0.1:1"
`
	f, err := Parse("c.toml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	a, b := f.Endpoints["a"], f.Endpoints["b"]
	if a.Privacy != llm.Private || a.ModelCheck || a.RetryAttempts != -1 || a.ConnectTimeout != -1 || a.API != APIAnthropic {
		t.Fatalf("a %+v", a)
	}
	if b.API != APIOpenAI || !b.ModelCheck || b.RetryAttempts != 0 || b.ConnectTimeout != 0 {
		t.Fatalf("b %+v", b)
	}
}

func TestHeaderValuesAreNeverInErrors(t *testing.T) {
	doc := "[endpoints.e]\nurl = \"http://127.0.0.1:1\"\n[endpoints.e.headers]\nX-Org = \"s3cret\\nmore\"\nAuthorization = \"Bearer s3cret\"\n"
	_, err := Parse("c.toml", []byte(doc))
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("%v", err)
	}
}
