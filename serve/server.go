package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetherllm/tether/driver/embedded"
	"github.com/tetherllm/tether/engine"
	"github.com/tetherllm/tether/engine/gguf"
)

// Server is tether's OpenAI-compatible HTTP server over one model. Create
// it with [New], serve its handler (or call [Server.Serve]) at once, and
// call [Server.Load]: until the model is loaded, /health answers 503 with
// llama.cpp's "Loading model" error, so that a supervisor can tell a
// loading server from a dead one.
type Server struct {
	cfg   Config
	log   *slog.Logger
	id    string
	names map[string]bool

	// model is set once, when the model is loaded.
	model   atomic.Pointer[loadedModel]
	loadErr atomic.Pointer[error]

	admit   admission
	mem     memoryBudget
	freeing atomic.Bool // a freeMemory call is running
	// freePending asks the running freeMemory call for another round.
	freePending atomic.Bool
	metrics     *metrics
	routes      map[string]route
	// modelRoute serves GET /v1/models/{id}, whose paths the routes map
	// cannot list.
	modelRoute route
	inflight   sync.WaitGroup
	closing    atomic.Bool
	started    time.Time
	fp         string // system_fingerprint
	corsPolicy corsPolicy
	hostPolicy hostPolicy
}

// loadedModel is what a loaded server serves.
type loadedModel struct {
	eng *engine.Engine
	drv *embedded.Driver
}

// New checks cfg and returns a server that has not loaded its model yet.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, started: time.Now()}
	s.id = cfg.Alias
	if s.id == "" {
		s.id = gguf.ModelName(cfg.Model)
	}
	s.names = map[string]bool{s.id: true, cfg.Model: true, filepath.Base(cfg.Model): true, gguf.ModelName(cfg.Model): true}
	if abs, err := filepath.Abs(cfg.Model); err == nil {
		s.names[abs] = true
	}
	if s.corsPolicy, err = newCORSPolicy(cfg.CORSOrigins); err != nil {
		return nil, err
	}
	s.hostPolicy = newHostPolicy(cfg.AllowedHosts)
	s.metrics = newMetrics()
	s.fp = strings.Join(strings.Fields(cfg.Build), "-")
	s.admit.limit = int64(max(cfg.Engine.Parallel, 1) + cfg.MaxQueue)
	s.mem.limit = cfg.MaxRequestMemory
	s.routes = s.routeTable()
	return s, nil
}

// ID is the model's id in the API.
func (s *Server) ID() string { return s.id }

// Load loads the model and makes the server ready. It is called once; a
// failure is also reported by /health (500) from then on.
func (s *Server) Load() error {
	if s.model.Load() != nil {
		return errors.New("serve: the model is already loaded")
	}
	start := time.Now()
	m, err := load(s.cfg, s.id)
	if err != nil {
		s.loadErr.Store(&err)
		return err
	}
	s.model.Store(m)
	s.log.Info("tether serve: model loaded", "model", s.id, "ms", time.Since(start).Milliseconds())
	return nil
}

func load(cfg Config, id string) (*loadedModel, error) {
	e, err := engine.Load(cfg.Model, cfg.Engine)
	if err != nil {
		return nil, err
	}
	if _, terr := e.Template(); terr != nil {
		cfg.Logger.Warn("tether serve: the model's chat template cannot be used; /v1/chat/completions will fail, /v1/completions works", "err", terr)
	}
	return &loadedModel{eng: e, drv: embedded.New(e, embedded.Options{Model: id})}, nil
}

// Ready reports whether the model is loaded.
func (s *Server) Ready() bool { return s.model.Load() != nil }

// Info describes the loaded engine; ok is false before the model is
// loaded.
func (s *Server) Info() (info engine.Info, ok bool) {
	m := s.model.Load()
	if m == nil {
		return engine.Info{}, false
	}
	return m.eng.Info(), true
}

// Close releases the model. Requests still running end with an error.
func (s *Server) Close() error {
	s.closing.Store(true)
	if m := s.model.Load(); m != nil {
		return m.eng.Close()
	}
	return nil
}

// Serve serves HTTP on ln until ctx ends, then shuts down gracefully: it
// stops accepting connections, lets the requests in flight finish for up
// to Config.ShutdownGrace, cancels the rest and waits for them to end. It
// returns nil after a shutdown asked for by ctx. It does not close the
// model; call Close after it.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	base, cancelAll := context.WithCancelCause(withListenAddr(context.WithoutCancel(ctx), ln))
	defer cancelAll(errServerShutdown)
	hs := &http.Server{
		Handler:           s,
		BaseContext:       func(net.Listener) context.Context { return base },
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.closing.Store(true)
	s.log.Info("tether serve: shutting down", "grace", s.cfg.ShutdownGrace, "in_flight", s.metrics.inFlight.Load())
	grace, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
	defer cancel()
	if err := hs.Shutdown(grace); err != nil {
		s.log.Warn("tether serve: grace period over; cancelling the requests still running", "in_flight", s.metrics.inFlight.Load())
		cancelAll(errServerShutdown)
		waitTimeout(&s.inflight, 5*time.Second)
		hs.Close()
	}
	<-errc
	return nil
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// route is one endpoint.
type route struct {
	method string
	// public endpoints need no API key (llama-server's public ones).
	public bool
	// early endpoints answer while the model loads.
	early bool
	// anthropic endpoints answer errors in the Messages API's shape.
	anthropic bool
	handler   func(s *Server, w http.ResponseWriter, r *http.Request, m *loadedModel) *apiError
}

func (s *Server) routeTable() map[string]route {
	chat := route{method: http.MethodPost, handler: (*Server).chatCompletions}
	completions := route{method: http.MethodPost, handler: (*Server).completions}
	health := route{method: http.MethodGet, public: true, early: true, handler: (*Server).health}
	models := route{method: http.MethodGet, public: true, early: true, handler: (*Server).listModels}
	s.modelRoute = route{method: http.MethodGet, public: true, early: true, handler: (*Server).retrieveModel}
	table := map[string]route{
		"/v1/chat/completions": chat,
		"/chat/completions":    chat,
		"/v1/completions":      completions,
		"/completions":         completions,
		"/health":              health,
		"/v1/health":           health,
		"/v1/models":           models,
		"/models":              models,
		"/props":               {method: http.MethodGet, handler: (*Server).props},
		"/tokenize":            {method: http.MethodPost, handler: (*Server).tokenize},
		"/detokenize":          {method: http.MethodPost, handler: (*Server).detokenize},
		"/metrics":             {method: http.MethodGet, early: true, handler: (*Server).serveMetrics},
	}
	maps.Copy(table, messagesRoutes())
	return table
}

// ServeHTTP routes a request through the checks every endpoint shares:
// the route and method, the API key, the model being loaded, and the body
// size limit. A panic in a handler is answered 500, never a crash.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.inflight.Add(1)
	defer s.inflight.Done()
	s.metrics.inFlight.Add(1)
	defer s.metrics.inFlight.Add(-1)
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w}
	rt, known := s.routes[r.URL.Path]
	endpoint := r.URL.Path
	if _, ok := modelID(r.URL.Path); ok && !known {
		// One label for every id keeps the metrics' series bounded.
		rt, known, endpoint = s.modelRoute, true, modelPrefixV0+"{id}"
		if strings.HasPrefix(r.URL.Path, modelPrefix) {
			endpoint = modelPrefix + "{id}"
		}
	}
	if !known {
		endpoint = "other"
	}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.log.Error("tether serve: handler panic", "endpoint", endpoint, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if !rw.wrote {
				writeError(rw, errInternal)
			}
		}
		status := rw.status
		switch {
		case rw.cancelled:
			status = 499
		case rw.failed != 0:
			status = rw.failed
		}
		elapsed := time.Since(start)
		s.metrics.request(endpoint, status, elapsed)
		s.log.Info("tether serve: request", "method", r.Method, "endpoint", endpoint, "status", status,
			"ms", elapsed.Milliseconds(), "prompt_tokens", rw.promptTokens, "generated_tokens", rw.generatedTokens)
	}()
	if e := s.checkHost(r); e != nil {
		writeError(rw, e)
		return
	}
	if s.cors(rw, r) {
		return
	}
	if e := s.check(rw, r, rt, known); e != nil {
		writeError(rw, e)
		return
	}
	// Admission by memory: a body is charged against the budget before
	// it is read when its length is announced, else as it is read, and
	// the charge holds until the request is answered.
	var charge int64
	if r.ContentLength > 0 {
		charge = min(r.ContentLength, s.cfg.MaxBodyBytes) * requestMemoryPerByte
		if !s.mem.acquire(charge) {
			if rt.anthropic {
				writeMsgError(rw, msgMemoryFull)
			} else {
				writeError(rw, errMemoryFull)
			}
			return
		}
	}
	body := &budgetedBody{ReadCloser: http.MaxBytesReader(rw, r.Body, s.cfg.MaxBodyBytes), budget: &s.mem, charged: charge}
	defer func() {
		s.mem.release(body.charged)
		if body.read >= freeMemoryAfterBytes {
			s.freeMemory()
		}
	}()
	r.Body = body
	if e := rt.handler(s, rw, r, s.model.Load()); e != nil {
		if e.Status == 499 {
			rw.cancelled = true
			return
		}
		if rw.wrote {
			// A streamed answer has reported its own error; the log
			// and the metrics take its status, not the stream's 200.
			rw.failed = e.Status
			return
		}
		writeError(rw, e)
	}
}

// check applies the shared rules; it returns the error to answer with.
func (s *Server) check(w http.ResponseWriter, r *http.Request, rt route, known bool) *apiError {
	switch {
	case !known:
		return notFound(r.URL.Path)
	case r.Method != rt.method && !(rt.method == http.MethodGet && r.Method == http.MethodHead):
		w.Header().Set("Allow", rt.method)
		msg := fmt.Sprintf("%s %s is not allowed; use %s", r.Method, r.URL.Path, rt.method)
		if isPreflight(r) {
			msg += " (this is a CORS preflight, and CORS is off: start the server with --cors-origin)"
		}
		return &apiError{Status: http.StatusMethodNotAllowed, Type: "invalid_request_error", Code: "method_not_allowed", Message: msg}
	case !rt.public && !s.authorized(r):
		return errUnauthorized
	case !rt.early && s.model.Load() == nil:
		if err := s.loadErr.Load(); err != nil {
			return loadFailed(*err)
		}
		return errLoading
	}
	return nil
}

// statusWriter records what a handler did with the response, for the log
// and the metrics.
type statusWriter struct {
	http.ResponseWriter
	status          int
	wrote           bool
	cancelled       bool
	failed          int // the status of an error a started answer reported in its body
	promptTokens    int
	generatedTokens int
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
