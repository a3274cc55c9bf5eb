package serve

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// CORS: browsers may call the server from the origins of
// Config.CORSOrigins only. It is off by default because a local server
// open to every web page lets any site a user visits spend its model.

// corsAllowHeaders are the request headers a preflight always allows:
// the ones OpenAI's and Anthropic's clients send. Headers a preflight
// asks for beyond these (the SDKs' x-stainless-* telemetry) are allowed
// too, since the origin is trusted.
var corsAllowHeaders = []string{"Authorization", "Content-Type", "X-Api-Key", "anthropic-version"}

const (
	corsAllowMethods = "GET, POST, OPTIONS"
	// corsMaxAge is how long, in seconds, a browser may cache a
	// preflight's answer (Firefox's cap; Chrome caps it at 2 hours).
	corsMaxAge = 86400
)

// corsPolicy is the parsed Config.CORSOrigins.
type corsPolicy struct {
	any     bool
	origins map[string]bool // lower-case, without a trailing slash
}

// newCORSPolicy checks the configured origins: "*", "null", or
// scheme://host[:port] with nothing after it.
func newCORSPolicy(origins []string) (corsPolicy, error) {
	p := corsPolicy{origins: map[string]bool{}}
	for _, o := range origins {
		o = strings.TrimSuffix(strings.TrimSpace(o), "/")
		switch {
		case o == "*":
			p.any = true
			continue
		case o == "null":
			p.origins[o] = true
			continue
		}
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return p, fmt.Errorf("serve: CORS origin %q must be \"*\" or scheme://host[:port], as a browser sends it (e.g. http://localhost:3000)", o)
		}
		p.origins[strings.ToLower(o)] = true
	}
	return p, nil
}

func (p corsPolicy) enabled() bool { return p.any || len(p.origins) > 0 }

// allows reports whether a request's Origin header may see the answer.
func (p corsPolicy) allows(origin string) bool {
	if origin == "" {
		return false
	}
	return p.any || p.origins[strings.ToLower(origin)]
}

// isPreflight reports whether r is a browser's CORS preflight.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// cors adds the CORS headers an allowed origin gets to every answer,
// errors included, so that a page's script can read them. It reports
// whether r was a preflight it has answered (204). A preflight from an
// origin that is not allowed gets 403 and no CORS headers; other
// requests from it are served without them, so the browser hides the
// answer from the page.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) (answered bool) {
	if !s.corsPolicy.enabled() {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if !s.corsPolicy.allows(origin) {
		if isPreflight(r) {
			writeError(w, &apiError{Status: http.StatusForbidden, Type: "invalid_request_error", Code: "cors_origin_not_allowed",
				Message: fmt.Sprintf("the origin %s may not call this server (allowed origins are set with --cors-origin)", origin)})
			return true
		}
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if !isPreflight(r) {
		h.Set("Access-Control-Expose-Headers", "Retry-After")
		return false
	}
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	allow := append([]string(nil), corsAllowHeaders...)
	for _, v := range r.Header.Values("Access-Control-Request-Headers") {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" && validHeaderName(name) {
				allow = append(allow, name)
			}
		}
	}
	h.Set("Access-Control-Allow-Methods", corsAllowMethods)
	h.Set("Access-Control-Allow-Headers", strings.Join(allow, ", "))
	h.Set("Access-Control-Max-Age", strconv.Itoa(corsMaxAge))
	w.WriteHeader(http.StatusNoContent)
	return true
}

// validHeaderName reports whether name is an HTTP token, so that no
// request can put anything else into an answer's header.
func validHeaderName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return len(name) <= 256
}
