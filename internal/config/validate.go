package config

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tetherllm/tether/backend"
	"github.com/tetherllm/tether/driver/router"
	"github.com/tetherllm/tether/internal/httpapi"
	"github.com/tetherllm/tether/llm"
)

// validator checks a decoded file and collects every problem.
type validator struct {
	name  string
	lines map[string]int
	errs  Errors
}

// errorf records a problem at the line of path, or of the nearest
// enclosing key that is written in the file.
func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.name, Line: v.line(path), Message: fmt.Sprintf(format, args...)})
}

func (v *validator) line(path string) int {
	for path != "" {
		if l, ok := v.lines[path]; ok {
			return l
		}
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (v *validator) file(raw *rawFile) *File {
	f := &File{
		DefaultRoute: raw.DefaultRoute,
		Backends:     map[string]Backend{},
		Endpoints:    map[string]Endpoint{},
		Prices:       map[string]router.Price{},
		Routes:       map[string]Route{},
	}
	f.Private = v.private(raw.Tiers)
	for _, name := range sortedKeys(raw.Backends) {
		f.Backends[name] = v.backend(name, raw.Backends[name])
	}
	for _, name := range sortedKeys(raw.Endpoints) {
		if _, dup := raw.Backends[name]; dup {
			v.errorf("endpoints."+name, "%q is both a backend and an endpoint; a route could not tell them apart", name)
		}
		f.Endpoints[name] = v.endpoint(name, raw.Endpoints[name], f.Private)
	}
	for _, name := range sortedKeys(raw.Prices) {
		p := raw.Prices[name]
		path := "prices." + name
		if _, ok := f.Tier(name); !ok {
			v.errorf(path, "price for %q, which is neither a backend nor an endpoint", name)
		}
		for _, c := range []struct {
			key string
			val float64
		}{{"input", p.Input}, {"output", p.Output}} {
			if !(c.val >= 0) || math.IsInf(c.val, 0) {
				v.errorf(path+"."+c.key, "%s must be a price in USD per million tokens, not %v", c.key, c.val)
			}
		}
		f.Prices[name] = router.Price{InputPerMTok: p.Input, OutputPerMTok: p.Output}
	}
	for _, name := range sortedKeys(raw.Routes) {
		f.Routes[name] = v.route(name, raw.Routes[name], f)
	}
	if raw.DefaultRoute != "" {
		if _, ok := raw.Routes[raw.DefaultRoute]; !ok {
			v.errorf("default_route", "default_route %q names no route (routes: %s)", raw.DefaultRoute, strings.Join(sortedKeys(raw.Routes), ", "))
		}
	}
	return f
}

func (v *validator) private(t rawTiers) PrivateTier {
	var p PrivateTier
	for _, h := range t.Private.Hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" || strings.ContainsAny(h, "/: ") && net.ParseIP(h) == nil {
			v.errorf("tiers.private.hosts", "host %q: want a host name or an IP address (networks go in networks)", h)
			continue
		}
		p.Hosts = append(p.Hosts, h)
	}
	for _, n := range t.Private.Networks {
		prefix, err := netip.ParsePrefix(strings.TrimSpace(n))
		if err != nil {
			v.errorf("tiers.private.networks", "network %q: want CIDR notation such as 10.0.0.0/8 or fd00::/8", n)
			continue
		}
		p.Networks = append(p.Networks, prefix.Masked())
	}
	return p
}

func (v *validator) backend(name string, r rawBackend) Backend {
	path := "backends." + name
	b := Backend{
		Name: name, Kind: r.Backend, Model: expandHome(r.Model), Ctx: r.Ctx, NoGPU: r.NoGPU, GPULayers: r.GPULayers,
		Threads: r.Threads, Program: expandHome(r.Program), Command: r.Command, HealthPath: r.HealthPath,
		ExtraArgs: r.ExtraArgs, TensorParallel: r.TensorParallel, PipelineParallel: r.PipelineParallel,
		RayAddress: r.RayAddress, Line: v.line(path),
	}
	if b.Kind == "" {
		b.Kind = "auto"
	}
	if !slices.Contains(backend.Names, b.Kind) {
		v.errorf(path+".backend", "backend %q: want one of %s", r.Backend, strings.Join(backend.Names, ", "))
	}
	if b.Model == "" {
		v.errorf(path, "backend %q has no model", name)
	}
	for _, c := range []struct {
		key string
		val int
	}{{"ctx", r.Ctx}, {"gpu_layers", r.GPULayers}, {"threads", r.Threads}, {"tensor_parallel", r.TensorParallel}, {"pipeline_parallel", r.PipelineParallel}} {
		if c.val < 0 {
			v.errorf(path+"."+c.key, "%s must not be negative", c.key)
		}
	}
	if r.GPULayers > 0 && b.Kind != "llama-server" {
		v.errorf(path+".gpu_layers", "gpu_layers is llama-server's; backend %q does not take it", b.Kind)
	}
	if r.GPULayers > 0 && r.NoGPU {
		v.errorf(path+".gpu_layers", "gpu_layers with no_gpu = true: choose one")
	}
	for _, key := range []string{"tensor_parallel", "pipeline_parallel", "ray_address"} {
		set := key == "tensor_parallel" && r.TensorParallel > 0 || key == "pipeline_parallel" && r.PipelineParallel > 0 || key == "ray_address" && r.RayAddress != ""
		if set && b.Kind != "vllm" {
			v.errorf(path+"."+key, "%s is vllm's; backend %q does not take it", key, b.Kind)
		}
	}
	if r.RayAddress != "" && r.RayAddress != "auto" {
		if _, port, err := net.SplitHostPort(r.RayAddress); err != nil || port == "" {
			v.errorf(path+".ray_address", "ray_address %q: want host:port of the Ray head (or \"auto\")", r.RayAddress)
		}
	}
	if b.Kind == "custom" && r.Command == "" {
		v.errorf(path, "backend %q is custom but has no command", name)
	}
	if b.Kind != "custom" && (r.Command != "" || r.HealthPath != "") {
		v.errorf(path+".command", "command and health_path are for backend \"custom\", not %q", b.Kind)
	}
	if r.HealthPath != "" && !strings.HasPrefix(r.HealthPath, "/") {
		v.errorf(path+".health_path", "health_path %q must start with /", r.HealthPath)
	}
	b.ReadyTimeout = v.duration(path+".ready_timeout", r.ReadyTimeout)
	return b
}

func (v *validator) endpoint(name string, r rawEndpoint, private PrivateTier) Endpoint {
	path := "endpoints." + name
	e := Endpoint{
		Name: name, URL: r.URL, API: r.API, Model: r.Model, ModelCheck: r.ModelCheck == nil || *r.ModelCheck,
		AnthropicVersion: r.AnthropicVersion, MaxTokens: r.MaxTokens, Headers: r.Headers,
		APIKeyEnv: r.APIKeyEnv, APIKeyFile: expandHome(r.APIKeyFile), ContextWindow: r.ContextWindow, Line: v.line(path),
	}
	switch r.API {
	case "":
		e.API = APIOpenAI
	case APIOpenAI, APIAnthropic:
	default:
		v.errorf(path+".api", "api %q: want %q (OpenAI-compatible chat completions) or %q (Messages API)", r.API, APIOpenAI, APIAnthropic)
	}
	if e.API != APIAnthropic {
		for _, key := range []string{"anthropic_version", "max_tokens"} {
			if key == "anthropic_version" && r.AnthropicVersion != "" || key == "max_tokens" && r.MaxTokens != 0 {
				v.errorf(path+"."+key, "%s is for api = %q endpoints", key, APIAnthropic)
			}
		}
	}
	if r.MaxTokens < 0 {
		v.errorf(path+".max_tokens", "max_tokens must not be negative")
	}
	if e.API == APIAnthropic && !e.ModelCheck && r.Model == "" {
		v.errorf(path+".model_check", "model_check = false needs a model: the Messages API takes no request without one")
	}
	v.headers(path+".headers", r.Headers)
	if r.Retries != nil {
		switch n := *r.Retries; {
		case n < 0 || n > maxRetries:
			v.errorf(path+".retries", "retries must be from 0 to %d, not %d", maxRetries, n)
		case n == 0:
			e.RetryAttempts = -1
		default:
			e.RetryAttempts = n
		}
	}
	e.Timeout = v.duration(path+".timeout", r.Timeout)
	e.ConnectTimeout = v.phaseTimeout(path+".connect_timeout", r.ConnectTimeout)
	e.FirstByteTimeout = v.phaseTimeout(path+".first_byte_timeout", r.FirstByteTimeout)
	e.IdleTimeout = v.phaseTimeout(path+".idle_timeout", r.IdleTimeout)
	e.RetryMaxDelay = v.duration(path+".retry_max_delay", r.RetryMaxDelay)
	if r.APIKeyEnv != "" && r.APIKeyFile != "" {
		v.errorf(path+".api_key_file", "give api_key_env or api_key_file, not both")
	}
	if r.ContextWindow < 0 {
		v.errorf(path+".context_window", "context_window must not be negative")
	}
	if r.URL == "" {
		v.errorf(path, "endpoint %q has no url", name)
		return e
	}
	shown, err := AddressTier(r.URL, private)
	if err != nil {
		v.errorf(path+".url", "%v", err)
		return e
	}
	e.Privacy = shown
	if r.Privacy != "" {
		declared, err := llm.ParsePrivacyTier(r.Privacy)
		switch {
		case err != nil:
			v.errorf(path+".privacy", "privacy %q: want sovereign, private or standard", r.Privacy)
		case declared < shown && declared == llm.Sovereign:
			v.errorf(path+".privacy", "endpoint %q is declared sovereign, but %s is not a loopback address or unix socket", name, r.URL)
		case declared < shown:
			v.errorf(path+".privacy", "endpoint %q is declared private, but %s is not among the hosts and networks of [tiers.private]", name, hostOf(r.URL))
		default:
			e.Privacy = declared
		}
	}
	return e
}

// maxRetries bounds an endpoint's retries: more only hides a server
// that is down from the route's next driver.
const maxRetries = 10

// headers checks an endpoint's extra headers: names an HTTP header may
// have, values on one line, and no credentials, which belong in
// api_key_env or api_key_file rather than in the file.
func (v *validator) headers(path string, h map[string]string) {
	for _, name := range sortedKeys(h) {
		at := path + "." + name
		switch {
		case !headerName(name):
			v.errorf(at, "header %q: not a valid header name", name)
		case credentialHeaders[strings.ToLower(name)]:
			v.errorf(at, "header %q carries a credential: name where the key is with api_key_env or api_key_file instead", name)
		case managedHeaders[strings.ToLower(name)]:
			v.errorf(at, "header %q is set by tether itself", name)
		case strings.ContainsAny(h[name], "\r\n\x00"):
			v.errorf(at, "header %q: the value must be one line", name) // the value is never shown
		}
	}
}

var credentialHeaders = map[string]bool{"authorization": true, "proxy-authorization": true, "x-api-key": true, "api-key": true, "cookie": true}

var managedHeaders = map[string]bool{"host": true, "content-type": true, "content-length": true, "accept": true, "anthropic-version": true, "transfer-encoding": true, "connection": true}

// headerName reports whether s is an RFC 9110 token.
func headerName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// phaseTimeout reads a phase's bound: a positive duration, or "none".
func (v *validator) phaseTimeout(path, s string) time.Duration {
	if s == "none" {
		return -1
	}
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		v.errorf(path, "%q: want a positive duration such as \"30s\", or \"none\"", s)
		return 0
	}
	return d
}

func (v *validator) route(name string, r rawRoute, f *File) Route {
	path := "routes." + name
	rt := Route{Name: name, Privacy: llm.Sovereign, Use: r.Use, Line: v.line(path)}
	if r.Privacy != "" {
		t, err := llm.ParsePrivacyTier(r.Privacy)
		if err != nil {
			v.errorf(path+".privacy", "privacy %q: want sovereign, private or standard", r.Privacy)
		} else {
			rt.Privacy = t
		}
	}
	if len(r.Use) == 0 {
		v.errorf(path, "route %q uses nothing: list backends and endpoints in use", name)
	}
	seen := map[string]bool{}
	for _, m := range r.Use {
		if seen[m] {
			v.errorf(path+".use", "route %q uses %q twice", name, m)
			continue
		}
		seen[m] = true
		tier, ok := f.Tier(m)
		switch {
		case !ok:
			v.errorf(path+".use", "route %q uses %q, which is neither a backend nor an endpoint", name, m)
		case tier != 0 && !rt.Privacy.Allows(tier):
			v.errorf(path+".use", "route %q is %s, but endpoint %q is %s: its data would leave what the tier allows (raise the route's privacy or drop the endpoint)", name, rt.Privacy, m, tier)
		}
	}
	return rt
}

// duration reads an optional Go duration ("90s", "10m").
func (v *validator) duration(path, s string) time.Duration {
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		v.errorf(path, "%q: want a positive duration such as \"90s\" or \"10m\"", s)
		return 0
	}
	return d
}

// AddressTier is the privacy tier an endpoint's URL shows: sovereign for
// unix sockets, localhost and loopback addresses; private for the hosts
// and networks of the private tier; standard for anything else. A host
// name is judged by its name only here (listed, or under a listed
// domain); the remote driver checks the addresses it resolves to before
// it connects.
func AddressTier(raw string, private PrivateTier) (llm.PrivacyTier, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return 0, fmt.Errorf("url %q: want http://host:port, https://host/… or unix:///path", raw)
	}
	switch u.Scheme {
	case "unix":
		if u.Path == "" {
			return 0, fmt.Errorf("url %q: a unix socket needs a path", raw)
		}
		return llm.Sovereign, nil
	case "http", "https":
	default:
		return 0, fmt.Errorf("url %q: scheme %q (want http, https or unix)", raw, u.Scheme)
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return 0, fmt.Errorf("url %q has no host", raw)
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return llm.Sovereign, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.WithZone("").Unmap()
		if ip.IsLoopback() {
			return llm.Sovereign, nil
		}
		for _, n := range private.Networks {
			if n.Contains(ip) {
				return llm.Private, nil
			}
		}
		for _, h := range private.Hosts {
			if a, err := netip.ParseAddr(h); err == nil && a.Unmap() == ip {
				return llm.Private, nil
			}
		}
		return llm.Standard, nil
	}
	egress := httpapi.Egress{Tier: llm.Private, AllowedHosts: private.Hosts}
	if egress.HostListed(host) {
		return llm.Private, nil
	}
	return llm.Standard, nil
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return raw
}

// expandHome replaces a leading "~/" with the user's home directory.
func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}
