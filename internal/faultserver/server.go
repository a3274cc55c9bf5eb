package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// server is one faultserver's state.
type server struct {
	opts *options
	log  *logger

	progress      atomic.Uint64 // math.Float64bits of the loading progress
	ready         atomic.Bool
	floodDone     atomic.Bool
	grandchildPID atomic.Int64
	streamed      atomic.Int64 // chunks streamed, for crash-mid-stream
	requests      atomic.Int64
	boundPort     atomic.Int64
}

// logger writes the server's log lines. Writes are synchronous, as in a real
// server: if nobody drains stderr, the server stalls.
type logger struct {
	mu    sync.Mutex
	quiet bool
}

func (l *logger) printf(format string, args ...any) {
	if l.quiet {
		return
	}
	l.mu.Lock()
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	l.mu.Unlock()
}

// always writes even in quiet mode: crashes must be explained.
func (l *logger) always(line string) {
	l.mu.Lock()
	fmt.Fprintln(os.Stderr, line)
	l.mu.Unlock()
}

func run(o *options) int {
	if o.Linger {
		return linger(o)
	}
	s := &server{opts: o, log: &logger{quiet: o.Quiet}}
	s.handleSignals()
	time.AfterFunc(o.MaxLife, func() {
		s.log.always(fmt.Sprintf("faultserver: max life %s reached, exiting", o.MaxLife))
		os.Exit(3)
	})
	s.log.printf("build: faultserver (%s stand-in), pid %d", o.Form, os.Getpid())
	s.log.printf("system_info: n_threads = 2 | ngl = %d | jinja = %t", o.NGL, o.Jinja)
	if o.Heartbeat > 0 {
		go s.heartbeat()
	}
	if o.Grandchild != "" && o.GrandchildAfter > 0 {
		time.AfterFunc(o.GrandchildAfter, func() {
			if err := s.startGrandchild(); err != nil {
				s.log.always("faultserver: grandchild: " + err.Error())
			}
		})
	} else if o.Grandchild != "" {
		if err := s.startGrandchild(); err != nil {
			s.log.always("faultserver: grandchild: " + err.Error())
			return 1
		}
	}
	if (o.Crash != "" || o.CrashSignal != "") && (o.CrashMidStream == 0 || o.CrashAfter > 0) {
		if o.CrashAfter == 0 {
			s.crash(o.Crash)
		}
		time.AfterFunc(o.CrashAfter, func() { s.crash(o.Crash) })
	}
	if o.BindAfterLoad {
		s.load()
		s.markReady() // ready the moment it binds
	}
	ln, err := s.listen()
	if err != nil {
		s.log.always(err.Error())
		s.log.always(fmt.Sprintf("main: couldn't bind HTTP server socket, hostname: %s, port: %d", o.Host, o.Port))
		return 1
	}
	s.log.printf("main: HTTP server is listening, hostname: %s, port: %d, http threads: 2", o.Host, s.boundPort.Load())
	switch {
	case o.Hang == "all":
		go holdConnections(ln)
	case o.Squat:
		go http.Serve(ln, http.HandlerFunc(s.squat))
	default:
		go http.Serve(ln, s.routes())
	}
	if !o.BindAfterLoad {
		s.load()
		s.markReady()
	}
	s.announceReady()
	select {} // until a signal, a crash or max life ends the process
}

// listen binds the TCP address or unix socket the flags name.
func (s *server) listen() (net.Listener, error) {
	o := s.opts
	if o.Socket != "" {
		ln, err := net.Listen("unix", o.Socket)
		if err == nil {
			s.boundPort.Store(0)
		}
		return ln, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(o.Host, strconv.Itoa(o.Port)))
	if err != nil {
		return nil, err
	}
	s.boundPort.Store(int64(ln.Addr().(*net.TCPAddr).Port))
	return ln, nil
}

// load pretends to load a model, in steps, reporting progress.
func (s *server) load() {
	o := s.opts
	s.log.printf("srv    load_model: loading model '%s'", o.Model)
	if o.Load > 0 {
		step := o.Load / time.Duration(o.Steps)
		for i := 1; i <= o.Steps; i++ {
			time.Sleep(step)
			p := float64(i) / float64(o.Steps)
			if i < o.Steps {
				s.setProgress(p)
				s.log.printf("llama_model_load: loading tensors %3d%%", int(p*100))
			}
		}
	}
}

// heartbeat says it is alive every opts.Heartbeat until it is ready, with
// a counter and the time, as a server stuck in its load might.
func (s *server) heartbeat() {
	t := time.NewTicker(s.opts.Heartbeat)
	defer t.Stop()
	for n := 1; !s.ready.Load(); n++ {
		now := <-t.C
		s.log.printf("faultserver: still loading, heartbeat %d at %s", n, now.Format("15:04:05.000"))
	}
}

func (s *server) setProgress(p float64) { s.progress.Store(math.Float64bits(p)) }

// markReady flips to ready and records the moment.
func (s *server) markReady() {
	at := time.Now().UnixNano()
	s.ready.Store(true)
	if s.opts.ReadyFile != "" {
		writeStamp(s.opts.ReadyFile, at)
	}
}

// announceReady logs readiness as llama-server does and starts the flood.
func (s *server) announceReady() {
	o := s.opts
	s.log.printf("main: model loaded")
	where := fmt.Sprintf("http://%s:%d", o.Host, s.boundPort.Load())
	if o.Socket != "" {
		where = "unix://" + o.Socket
	}
	s.log.printf("main: server is listening on %s - starting the main loop", where)
	s.log.printf("srv  update_slots: all slots are idle")
	if o.Flood > 0 {
		go s.flood()
	}
}

// writeStamp writes a nanosecond time to path, atomically.
func writeStamp(path string, at int64) {
	tmp := path + ".tmp"
	if os.WriteFile(tmp, []byte(strconv.FormatInt(at, 10)), 0o600) == nil {
		os.Rename(tmp, path)
	}
}

// crash writes the crash line and ends the process the way the options say.
func (s *server) crash(line string) {
	o := s.opts
	if line != "" {
		s.log.always(line)
	}
	if o.ExitFile != "" {
		writeStamp(o.ExitFile, time.Now().UnixNano())
	}
	if o.CrashSignal != "" {
		sig := map[string]syscall.Signal{"KILL": syscall.SIGKILL, "TERM": syscall.SIGTERM, "ABRT": syscall.SIGABRT, "SEGV": syscall.SIGSEGV}[o.CrashSignal]
		signal.Reset(sig)
		dieBySignal(sig)
	}
	os.Exit(o.CrashCode)
}

// handleSignals exits on SIGTERM and SIGINT, or ignores them.
func (s *server) handleSignals() {
	if s.opts.IgnoreTerm {
		signal.Ignore(syscall.SIGTERM)
		return
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-ch
		s.log.printf("srv    operator(): received %s, shutting down", sig)
		time.Sleep(s.opts.TermDelay)
		os.Exit(0)
	}()
}

// holdConnections accepts connections and never answers them.
func holdConnections(ln net.Listener) {
	var held []net.Conn
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		held = append(held, c)
	}
}

// flood writes log lines as fast as the pipes take them.
func (s *server) flood() {
	o := s.opts
	const lineLen = 100
	block := make([]byte, 0, 64<<10)
	for n := 0; len(block)+lineLen <= cap(block); n++ {
		line := fmt.Sprintf("llama_decode: flood line %08d ", n)
		line += strings.Repeat("x", lineLen-1-len(line)) + "\n"
		block = append(block, line...)
	}
	var written int64
	for i := 0; written < o.Flood; i++ {
		chunk := block[:min(int64(len(block)), o.Flood-written)]
		out := os.Stderr
		if o.FloodTo == "stdout" || (o.FloodTo == "both" && i%2 == 0) {
			out = os.Stdout
		}
		if out == os.Stderr {
			s.log.mu.Lock()
		}
		_, err := out.Write(chunk)
		if out == os.Stderr {
			s.log.mu.Unlock()
		}
		if err != nil {
			return
		}
		written += int64(len(chunk))
	}
	s.floodDone.Store(true)
	s.log.always(fmt.Sprintf("faultserver: flood done, %d bytes", written))
}

// routes is the server's HTTP interface.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("GET /v1/health", s.health)
	mux.HandleFunc("GET /v1/models", s.models)
	mux.HandleFunc("GET /models", s.models)
	mux.HandleFunc("GET /props", s.props)
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	mux.HandleFunc("POST /chat/completions", s.chat)
	mux.HandleFunc("GET /fault/info", s.info)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "File Not Found", "not_found_error")
	})
	return s.middleware(mux)
}

// public are the paths llama-server serves without an API key; vLLM checks
// the key on everything under /v1, its model list included.
var public = map[string]bool{"/health": true, "/v1/health": true, "/models": true, "/v1/models": true, "/fault/info": true}

func (s *server) isPublic(path string) bool {
	if s.opts.Form == "vllm" && strings.HasPrefix(path, "/v1/") {
		return false
	}
	return public[path]
}

// middleware logs every request, checks the API key and answers 503 while
// loading, in llama-server's order.
func (s *server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			s.log.printf("srv  log_server_r: request: %s %s %s %d", r.Method, r.URL.Path, r.RemoteAddr, rec.status)
		}()
		if s.opts.apiKey != "" && !s.isPublic(r.URL.Path) && !s.authorized(r) {
			writeError(rec, http.StatusUnauthorized, "Invalid API Key", "authentication_error")
			return
		}
		if !s.ready.Load() && r.URL.Path != "/health" && r.URL.Path != "/v1/health" && r.URL.Path != "/fault/info" {
			writeError(rec, http.StatusServiceUnavailable, "Loading model", "unavailable_error")
			return
		}
		next.ServeHTTP(rec, r)
	})
}

func (s *server) authorized(r *http.Request) bool {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		key = r.Header.Get("X-Api-Key")
	}
	return key == s.opts.apiKey
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *server) health(w http.ResponseWriter, r *http.Request) {
	if s.ready.Load() {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
		return
	}
	body := map[string]any{"error": map[string]any{"code": 503, "message": "Loading model", "type": "unavailable_error"}}
	if !s.opts.NoProgress {
		body["progress"] = math.Float64frombits(s.progress.Load())
	}
	writeJSON(w, http.StatusServiceUnavailable, body)
}

func (s *server) models(w http.ResponseWriter, r *http.Request) {
	o := s.opts
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data": []any{map[string]any{
			"id":            o.modelID(),
			"object":        "model",
			"created":       time.Now().Unix(),
			"owned_by":      "llamacpp",
			"root":          o.Model,
			"max_model_len": o.NCtx,
			"meta": map[string]any{
				"n_ctx_train": o.NCtxTrain,
				"n_params":    1_000_000,
				"size":        1 << 20,
			},
		}},
	})
}

func (s *server) props(w http.ResponseWriter, r *http.Request) {
	o := s.opts
	writeJSON(w, http.StatusOK, map[string]any{
		"default_generation_settings": map[string]any{"n_ctx": o.NCtx},
		"n_ctx":                       o.NCtx,
		"total_slots":                 1,
		"model_path":                  o.Model,
		"build_info":                  "faultserver",
		"chat_template_caps":          map[string]any{"supports_tools": o.Jinja},
	})
}

func (s *server) info(w http.ResponseWriter, r *http.Request) {
	env := map[string]string{}
	for _, k := range strings.Split(r.URL.Query().Get("env"), ",") {
		if k != "" {
			if v, ok := os.LookupEnv(k); ok {
				env[k] = v
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"pid":            os.Getpid(),
		"grandchild_pid": s.grandchildPID.Load(),
		"argv":           os.Args,
		"options":        s.opts,
		"port":           s.boundPort.Load(),
		"ready":          s.ready.Load(),
		"flood_done":     s.floodDone.Load(),
		"requests":       s.requests.Load(),
		"env":            env,
	})
}

// squat answers 200 to everything, as a foreign server on our port would.
func (s *server) squat(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	if strings.HasSuffix(r.URL.Path, "/models") {
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{map[string]any{"id": "squatter", "object": "model"}}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg, typ string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": code, "message": msg, "type": typ}})
}
