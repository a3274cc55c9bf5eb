package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/tetherllm/tether/driver/router"
	"github.com/tetherllm/tether/llm"
)

// File is a validated configuration.
type File struct {
	// Path is where the file was read.
	Path string
	// DefaultRoute is the route used when none is named; "" when the file
	// names none (a file with one route uses it).
	DefaultRoute string
	// Private lists the hosts and networks the private tier allows.
	Private   PrivateTier
	Backends  map[string]Backend
	Endpoints map[string]Endpoint
	// Prices are keyed by backend or endpoint name.
	Prices map[string]router.Price
	Routes map[string]Route
}

// PrivateTier is what the "private" privacy tier allows: the user's own
// hosts and networks (a cluster, a VPC). Nothing else counts as private.
type PrivateTier struct {
	// Hosts are names ("gpu.lab"), domains (".corp.example" or
	// "*.corp.example", every name under it) and addresses. A listed
	// name is trusted whatever it resolves to.
	Hosts []string
	// Networks are CIDRs; a host that is not listed by name must
	// resolve only to addresses inside them.
	Networks []netip.Prefix
}

// Backend is a server tether launches and supervises (driver/managed).
// Its data never leaves the machine: its tier is sovereign.
type Backend struct {
	Name string
	// Kind is the backend: "auto", "tether", "apr", "llama-server",
	// "ollama", "vllm" or "custom".
	Kind  string
	Model string
	// Ctx is the context window to ask for; 0 leaves the server's.
	Ctx       int
	NoGPU     bool
	GPULayers int
	Threads   int
	// Program is an explicit path of the server program.
	Program string
	// Command and HealthPath are the custom backend's.
	Command    string
	HealthPath string
	ExtraArgs  []string
	// ReadyTimeout is the start-up budget; 0 means the default rule.
	ReadyTimeout     time.Duration
	TensorParallel   int
	PipelineParallel int
	RayAddress       string
	// Line is where the backend's table starts.
	Line int
}

// Endpoint is a running server tether calls (driver/remote), over the
// OpenAI-compatible API or Anthropic's Messages API.
type Endpoint struct {
	Name string
	URL  string
	// API is the wire protocol: [APIOpenAI] or [APIAnthropic].
	API string
	// Model is the model to ask for; "" takes the server's first.
	Model string
	// ModelCheck asks the server's model list for Model before the
	// first request (the default); false trusts Model, for servers
	// without GET /v1/models.
	ModelCheck bool
	// AnthropicVersion and MaxTokens are the Messages API's: its
	// anthropic-version header and the answer bound of requests that set
	// none; empty and 0 take the driver's defaults.
	AnthropicVersion string
	MaxTokens        int
	// Headers are sent with every request (a gateway's routing or
	// organisation headers). They are never logged or printed.
	Headers map[string]string
	// APIKeyEnv and APIKeyFile say where the API key is: an environment
	// variable, or a file holding it. The key itself is never in the
	// configuration file.
	APIKeyEnv  string
	APIKeyFile string
	// Privacy is the endpoint's tier: the one declared, or else the one
	// its URL shows (loopback and unix sockets sovereign, the private
	// tier's hosts and networks private, anything else standard).
	Privacy       llm.PrivacyTier
	ContextWindow int
	// Timeout bounds each request; 0 leaves it to the caller.
	Timeout time.Duration
	// ConnectTimeout, FirstByteTimeout and IdleTimeout bound the phases
	// of a request (driver/remote's Timeouts): 0 takes the driver's
	// default, a negative value (written "none") means no bound.
	ConnectTimeout   time.Duration
	FirstByteTimeout time.Duration
	IdleTimeout      time.Duration
	// RetryAttempts is how many times a request whose answer never began
	// is sent again: 0 takes the driver's default, negative never
	// (written retries = 0).
	RetryAttempts int
	// RetryMaxDelay caps a wait between attempts; 0 takes the default.
	RetryMaxDelay time.Duration
	Line          int
}

// The wire protocols an endpoint may speak.
const (
	APIOpenAI    = "openai"
	APIAnthropic = "anthropic"
)

// Route is an ordered list of backends and endpoints.
type Route struct {
	Name string
	// Privacy is the widest tier the route may send data to.
	Privacy llm.PrivacyTier
	// Use names the route's backends and endpoints, in order.
	Use  []string
	Line int
}

// MaxFileSize bounds the configuration file.
const MaxFileSize = 1 << 20

// DefaultPath is the configuration file tether reads when none is given:
// tether/config.toml in the user's configuration directory.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no configuration directory: %w", err)
	}
	return filepath.Join(dir, "tether", "config.toml"), nil
}

// Load reads and validates the file at path.
func Load(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		msg := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			msg = pe.Err.Error() // the path is the error's file already
		}
		return nil, Errors{{File: path, Message: "cannot read the configuration file: " + msg}}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, Errors{{File: path, Message: "cannot read the configuration file: " + err.Error()}}
	}
	if len(data) > MaxFileSize {
		return nil, Errors{{File: path, Message: fmt.Sprintf("larger than %d bytes", MaxFileSize)}}
	}
	return Parse(path, data)
}

// LoadDefault reads the file at DefaultPath; it returns nil and no error
// when there is none.
func LoadDefault() (*File, error) {
	path, err := DefaultPath()
	if err != nil {
		return nil, nil
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return Load(path)
}

// Parse validates data, the contents of the file name. Problems are
// [Errors].
func Parse(name string, data []byte) (*File, error) {
	var raw rawFile
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, decodeErrors(name, err)
	}
	v := &validator{name: name, lines: keyLines(data)}
	f := v.file(&raw)
	if len(v.errs) > 0 {
		sort.SliceStable(v.errs, func(i, j int) bool { return v.errs[i].Line < v.errs[j].Line })
		return nil, v.errs
	}
	f.Path = name
	return f, nil
}

// decodeErrors turns the TOML library's errors into ours, with lines.
func decodeErrors(name string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var es Errors
		for _, e := range strict.Errors {
			line, _ := e.Position()
			es = append(es, &Error{File: name, Line: line, Message: fmt.Sprintf("unknown key %q", strings.Join(e.Key(), "."))})
		}
		return es
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		msg := de.Error()
		if k := de.Key(); len(k) > 0 {
			msg = strings.Join(k, ".") + ": " + msg
		}
		return Errors{{File: name, Line: line, Message: msg}}
	}
	return Errors{{File: name, Message: err.Error()}}
}

// The file as written.
type rawFile struct {
	DefaultRoute string                 `toml:"default_route"`
	Tiers        rawTiers               `toml:"tiers"`
	Backends     map[string]rawBackend  `toml:"backends"`
	Endpoints    map[string]rawEndpoint `toml:"endpoints"`
	Prices       map[string]rawPrice    `toml:"prices"`
	Routes       map[string]rawRoute    `toml:"routes"`
}

type rawTiers struct {
	Private struct {
		Hosts    []string `toml:"hosts"`
		Networks []string `toml:"networks"`
	} `toml:"private"`
}

type rawBackend struct {
	Backend          string   `toml:"backend"`
	Model            string   `toml:"model"`
	Ctx              int      `toml:"ctx"`
	NoGPU            bool     `toml:"no_gpu"`
	GPULayers        int      `toml:"gpu_layers"`
	Threads          int      `toml:"threads"`
	Program          string   `toml:"program"`
	Command          string   `toml:"command"`
	HealthPath       string   `toml:"health_path"`
	ExtraArgs        []string `toml:"extra_args"`
	ReadyTimeout     string   `toml:"ready_timeout"`
	TensorParallel   int      `toml:"tensor_parallel"`
	PipelineParallel int      `toml:"pipeline_parallel"`
	RayAddress       string   `toml:"ray_address"`
}

type rawEndpoint struct {
	URL              string            `toml:"url"`
	API              string            `toml:"api"`
	Model            string            `toml:"model"`
	ModelCheck       *bool             `toml:"model_check"`
	AnthropicVersion string            `toml:"anthropic_version"`
	MaxTokens        int               `toml:"max_tokens"`
	Headers          map[string]string `toml:"headers"`
	APIKeyEnv        string            `toml:"api_key_env"`
	APIKeyFile       string            `toml:"api_key_file"`
	Privacy          string            `toml:"privacy"`
	ContextWindow    int               `toml:"context_window"`
	Timeout          string            `toml:"timeout"`
	ConnectTimeout   string            `toml:"connect_timeout"`
	FirstByteTimeout string            `toml:"first_byte_timeout"`
	IdleTimeout      string            `toml:"idle_timeout"`
	Retries          *int              `toml:"retries"`
	RetryMaxDelay    string            `toml:"retry_max_delay"`
}

type rawPrice struct {
	Input  float64 `toml:"input"`
	Output float64 `toml:"output"`
}

type rawRoute struct {
	Privacy string   `toml:"privacy"`
	Use     []string `toml:"use"`
}

// Route returns the named route; "" means the file's default route, or
// its only one.
func (f *File) Route(name string) (Route, error) {
	if name == "" {
		name = f.DefaultRoute
	}
	if name == "" {
		if len(f.Routes) == 1 {
			for _, r := range f.Routes {
				return r, nil
			}
		}
		return Route{}, fmt.Errorf("%s: no route named and no default_route (routes: %s)", f.Path, strings.Join(f.RouteNames(), ", "))
	}
	r, ok := f.Routes[name]
	if !ok {
		return Route{}, fmt.Errorf("%s: no route %q (routes: %s)", f.Path, name, strings.Join(f.RouteNames(), ", "))
	}
	return r, nil
}

// RouteNames lists the routes, sorted.
func (f *File) RouteNames() []string {
	names := make([]string, 0, len(f.Routes))
	for n := range f.Routes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Tier is the privacy tier of a backend (sovereign) or endpoint.
func (f *File) Tier(name string) (llm.PrivacyTier, bool) {
	if _, ok := f.Backends[name]; ok {
		return llm.Sovereign, true
	}
	if e, ok := f.Endpoints[name]; ok {
		return e.Privacy, true
	}
	return 0, false
}
