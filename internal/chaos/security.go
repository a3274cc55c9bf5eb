package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tetherllm/tether/internal/testmodel"
)

func init() {
	register(Suite{
		Order: 70,
		Group: "Security",
		About: "What a machine shared with other users needs: `tether serve` listens on loopback unless told otherwise, " +
			"an API key is required when set and compared in constant time, the per-launch key of a managed server never " +
			"appears on a command line (which every local user can read in /proc), and no prompt or key reaches a log, at debug level included. " +
			"The servers are real processes: tether's own, and its fault-injection server installed as llama-server, vLLM and a custom server.",
		Run: runSecurity,
	})
}

func runSecurity(ctx context.Context, e *Env) ([]Row, error) {
	tether, err := e.Tether(ctx)
	if err != nil {
		return nil, err
	}
	fault, err := e.FaultServer(ctx)
	if err != nil {
		return nil, err
	}
	// WordsOnly: answers run to max_tokens, so that a server lives long
	// enough for its command line to be read.
	model, err := e.Model(testmodel.Spec{Name: "chaos-security", Seed: 10, Context: 512, WordsOnly: true})
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, f := range []func(context.Context, *Env, string, string) (Row, error){loopbackRow, apiKeyRow, logsRow} {
		if ctx.Err() != nil {
			break
		}
		r, err := f(ctx, e, tether, model)
		if err != nil {
			return rows, err
		}
		rows = append(rows, r)
	}
	if ctx.Err() == nil {
		r, err := argvRow(ctx, e, tether, fault, model)
		if err != nil {
			return rows, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// listenAddresses are the local addresses of the TCP sockets listening
// on port, from /proc/net/tcp and tcp6.
func listenAddresses(port int) ([]net.IP, error) {
	var ips []net.IP
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(file)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, err
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 4 || f[3] != "0A" { // 0A: LISTEN
				continue
			}
			hexIP, hexPort, ok := strings.Cut(f[1], ":")
			p, err := strconv.ParseUint(hexPort, 16, 16)
			if !ok || err != nil || int(p) != port {
				continue
			}
			raw, err := hex.DecodeString(hexIP)
			if err != nil {
				continue
			}
			// The kernel prints each 32-bit word in host (little-endian) order.
			for i := 0; i+4 <= len(raw); i += 4 {
				raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
			}
			ips = append(ips, net.IP(raw))
		}
	}
	return ips, nil
}

// otherLocalIP is an address of this machine that is not loopback.
func otherLocalIP() net.IP {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil && !n.IP.IsLinkLocalUnicast() {
			return n.IP
		}
	}
	return nil
}

// portOf is the port of a server's URL.
func portOf(u string) int {
	parsed, err := url.Parse(u)
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(parsed.Port())
	return p
}

// loopbackRow starts tether serve with the default host and checks where
// it listens; then, as a control that the check can fail, with --host
// 0.0.0.0, where it must warn that no key is set.
func loopbackRow(ctx context.Context, e *Env, tether, model string) (Row, error) {
	r := Row{Name: "`tether serve` listens on loopback by default"}
	began := time.Now()
	other := otherLocalIP()
	srv, err := startServedTether(ctx, tether, model, nil, "--threads", "1")
	if err != nil {
		return r, err
	}
	port := portOf(srv.URL)
	ips, err := listenAddresses(port)
	switch {
	case err != nil:
		r.Check(err)
	case len(ips) == 0:
		r.Check(fmt.Errorf("no listening socket on port %d in /proc/net/tcp*", port))
	default:
		for _, ip := range ips {
			if !ip.IsLoopback() {
				r.Check(fmt.Errorf("listening on %s:%d", ip, port))
			} else {
				r.Check(nil)
			}
		}
	}
	if u, _ := url.Parse(srv.URL); u == nil || u.Hostname() != "127.0.0.1" {
		r.Check(fmt.Errorf("printed address %s, want 127.0.0.1", srv.URL))
	} else {
		r.Check(nil)
	}
	refused := "no non-loopback address on this machine to try"
	if other != nil {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(other.String(), strconv.Itoa(port)), 2*time.Second)
		if err == nil {
			c.Close()
			r.Check(fmt.Errorf("a connection to %s:%d was accepted", other, port))
		} else {
			r.Check(nil)
			refused = fmt.Sprintf("a connection to %s:%d refused", other, port)
		}
	}
	srv.Stop()

	// The control: bound to every address, it is reachable there, and
	// says that no key protects it.
	wide, err := startServedTether(ctx, tether, model, nil, "--threads", "1", "--host", "0.0.0.0")
	if err != nil {
		return r, err
	}
	if !strings.Contains(wide.Stderr.String(), "without an API key") {
		r.Check(fmt.Errorf("--host 0.0.0.0 without a key printed no warning: %s", firstLines(wide.Stderr.String(), 3)))
	} else {
		r.Check(nil)
	}
	if other != nil {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(other.String(), strconv.Itoa(portOf(wide.URL))), 2*time.Second)
		if err != nil {
			r.Check(fmt.Errorf("control: with --host 0.0.0.0 a connection to %s failed too: %v", other, err))
		} else {
			c.Close()
			r.Check(nil)
		}
	}
	wide.Stop()
	r.Bound = fmt.Sprintf("listening sockets (/proc/net/tcp*) %v only, printed address 127.0.0.1; %s; control: --host 0.0.0.0 is reachable there and warns that no API key is set", ips, refused)
	r.Elapsed = time.Since(began)
	return r, nil
}

// newSecret is a random marker that no output contains by chance.
func newSecret(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// get sends a GET with headers and returns the status.
func get(ctx context.Context, u string, header map[string]string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// apiKeyRow serves with a key and sends requests without it, with wrong
// keys and with the right one; it checks the comparison in the source
// and times wrong keys that differ early and late.
func apiKeyRow(ctx context.Context, e *Env, tether, model string) (Row, error) {
	r := Row{Name: "with an API key, requests without it or with a wrong one are refused"}
	began := time.Now()
	key := newSecret("key-")
	srv, err := startServedTether(ctx, tether, model, []string{"TETHER_API_KEY=" + key}, "--threads", "1", "--alias", "chaos")
	if err != nil {
		return r, err
	}
	defer srv.Stop()
	late := key[:len(key)-1] + string(key[len(key)-1]^1)
	early := string(key[0]^1) + key[1:]
	cases := []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"no key", nil, 401},
		{"empty bearer", map[string]string{"Authorization": "Bearer "}, 401},
		{"wrong key, last byte", map[string]string{"Authorization": "Bearer " + late}, 401},
		{"wrong key, first byte", map[string]string{"Authorization": "Bearer " + early}, 401},
		{"key as a prefix", map[string]string{"Authorization": "Bearer " + key + "x"}, 401},
		{"basic scheme", map[string]string{"Authorization": "Basic " + key}, 401},
		{"wrong X-Api-Key", map[string]string{"X-Api-Key": late}, 401},
		{"right bearer", map[string]string{"Authorization": "Bearer " + key}, 200},
		{"right X-Api-Key", map[string]string{"X-Api-Key": key}, 200},
	}
	for _, c := range cases {
		for _, path := range []string{"/v1/chat/completions", "/v1/completions", "/props", "/tokenize", "/metrics"} {
			var status int
			var err error
			switch path {
			case "/props", "/metrics":
				status, err = get(ctx, srv.URL+path, c.header)
			case "/v1/completions":
				status, _, _, err = post(ctx, srv.URL+path, strings.NewReader(`{"model":"chaos","prompt":"hi","max_tokens":2}`), c.header)
			case "/tokenize":
				status, _, _, err = post(ctx, srv.URL+path, strings.NewReader(`{"content":"hi"}`), c.header)
			default:
				status, _, _, err = post(ctx, srv.URL+path, strings.NewReader(normalChat("chaos")), c.header)
			}
			switch {
			case err != nil:
				r.Check(fmt.Errorf("%s %s: %v", c.name, path, err))
			case status != c.want:
				r.Check(fmt.Errorf("%s %s: status %d, want %d", c.name, path, status, c.want))
			default:
				r.Check(nil)
			}
		}
	}
	// The comparison, as the source has it.
	src, err := os.ReadFile(filepath.Join(e.Root, "serve", "auth.go"))
	constant := err == nil && bytes.Contains(src, []byte("subtle.ConstantTimeCompare"))
	if !constant {
		r.Check(errors.New("serve/auth.go does not compare the key with crypto/subtle.ConstantTimeCompare"))
	} else {
		r.Check(nil)
	}
	// Timing: wrong keys that differ in the first and in the last byte,
	// interleaved; reported, not asserted (a loaded machine's noise is
	// larger than any difference a constant-time compare leaves).
	n := e.Trials(300, 60)
	var tEarly, tLate []time.Duration
	for i := range 2 * n {
		k := early
		if i%2 == 1 {
			k = late
		}
		start := time.Now()
		get(ctx, srv.URL+"/props", map[string]string{"Authorization": "Bearer " + k})
		if i%2 == 1 {
			tLate = append(tLate, time.Since(start))
		} else {
			tEarly = append(tEarly, time.Since(start))
		}
	}
	slices.Sort(tEarly)
	slices.Sort(tLate)
	median := func(d []time.Duration) time.Duration {
		if len(d) == 0 {
			return 0
		}
		return d[len(d)/2]
	}
	r.Bound = fmt.Sprintf("401 without the key or with a wrong one on every protected endpoint, 200 with it (Bearer or X-Api-Key); the key is compared with crypto/subtle.ConstantTimeCompare of SHA-256 digests (serve/auth.go: %v); "+
		"median time of %d wrong keys differing in the first byte %s, in the last %s",
		constant, n, median(tEarly).Round(time.Microsecond), median(tLate).Round(time.Microsecond))
	r.Elapsed = time.Since(began)
	return r, nil
}

// logsRow sends prompts and keys with unique markers to tether serve at
// debug level, and runs tether run with debug logging and a log file,
// then looks for the markers in every log.
func logsRow(ctx context.Context, e *Env, tether, model string) (Row, error) {
	r := Row{Name: "no prompt or key in the logs (tether serve --log-level debug; tether run with TETHER_LOG=debug and --log-file)"}
	began := time.Now()
	key := newSecret("key-")
	wrong := newSecret("wrongkey-")
	var markers []string
	mark := func() string { m := newSecret("marker-"); markers = append(markers, m); return m }
	srv, err := startServedTether(ctx, tether, model, []string{"TETHER_API_KEY=" + key}, "--threads", "1", "--alias", "chaos", "--log-level", "debug")
	if err != nil {
		return r, err
	}
	auth := map[string]string{"Authorization": "Bearer " + key}
	bodies := []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"chaos","max_tokens":2,"messages":[{"role":"system","content":"` + mark() + `"},{"role":"user","content":"` + mark() + `"}]}`},
		{"/v1/chat/completions", `{"model":"chaos","max_tokens":2,"stream":true,"messages":[{"role":"user","content":"` + mark() + `"}],"tools":[{"type":"function","function":{"name":"f","description":"` + mark() + `","parameters":{"type":"object"}}}]}`},
		{"/v1/chat/completions", `{"model":"chaos","max_tokens":-1,"messages":[{"role":"user","content":"` + mark() + `"}]}`},
		{"/v1/chat/completions", `{"model":"chaos","messages":[{"role":"user","content":"` + mark() + `"`},
		{"/v1/completions", `{"model":"chaos","max_tokens":2,"prompt":"` + mark() + `"}`},
		{"/tokenize", `{"content":"` + mark() + `"}`},
		{"/v1/messages", `{"model":"chaos","max_tokens":2,"messages":[{"role":"user","content":"` + mark() + `"}]}`},
	}
	for _, b := range bodies {
		for _, h := range []map[string]string{auth, {"Authorization": "Bearer " + wrong}} {
			if _, _, _, err := post(ctx, srv.URL+b.path, strings.NewReader(b.body), h); err != nil {
				r.Check(fmt.Errorf("%s: %v", b.path, err))
			}
		}
	}
	srv.Stop()
	serveLog := srv.Stderr.String()
	if !strings.Contains(serveLog, "level=DEBUG") && !strings.Contains(serveLog, "level=INFO") {
		r.Check(fmt.Errorf("the server logged nothing to search: %s", firstLines(serveLog, 3)))
	}
	secrets := append([]string{key, wrong}, markers...)
	for _, s := range secrets {
		if strings.Contains(serveLog, s) {
			r.Check(fmt.Errorf("tether serve's log holds %q: %s", s, lineWith(serveLog, s)))
		} else {
			r.Check(nil)
		}
	}

	// tether run: its own debug log on stderr and the server's output in
	// --log-file, with the prompt and the per-launch key.
	dir, err := e.TempDir("logs-")
	if err != nil {
		return r, err
	}
	logFile := filepath.Join(dir, "server.log")
	prompt := mark()
	cmd := exec.Command(tether, "run", "--backend", "tether", "--model", model, "--max-tokens", "2", "--log-file", logFile, "--system", mark(), prompt)
	cmd.Env = append(os.Environ(), "TETHER_LOG=debug")
	seen, m, err := watchLaunch(ctx, cmd, tether, loadBound)
	if err != nil {
		return r, err
	}
	if m.Code != 0 {
		r.Check(fmt.Errorf("tether run: %s: %s", m.ended(), firstLines(m.Stderr, 3)))
	}
	fileLog, _ := os.ReadFile(logFile)
	if len(fileLog) == 0 {
		r.Check(errors.New("tether run --log-file wrote nothing to search"))
	}
	runKey := seen.key
	if runKey == "" {
		r.Check(errors.New("could not read the per-launch key from the server's environment"))
	}
	for _, s := range append(slices.Clone(markers[len(markers)-2:]), runKey) {
		if s == "" {
			continue
		}
		for name, text := range map[string]string{"tether run's stderr": m.Stderr, "--log-file": string(fileLog)} {
			if strings.Contains(text, s) {
				r.Check(fmt.Errorf("%s holds %q: %s", name, s, lineWith(text, s)))
			} else {
				r.Check(nil)
			}
		}
	}
	r.Bound = fmt.Sprintf("none of %d prompt markers, the key or a wrong key in %d KiB of tether serve's debug log (chat, streaming, tools, bad requests, completions, tokenize, Messages; right and wrong keys); "+
		"neither the prompt, the system prompt nor the per-launch key in tether run's debug stderr (%d KiB) or its --log-file (%d KiB)",
		len(markers)-2, len(serveLog)>>10, len(m.Stderr)>>10, len(fileLog)>>10)
	r.Elapsed = time.Since(began)
	return r, nil
}

// lineWith is the line of text that holds s, shortened.
func lineWith(text, s string) string {
	for line := range strings.SplitSeq(text, "\n") {
		if strings.Contains(line, s) {
			return oneLine(line)
		}
	}
	return ""
}

// launched is what watchLaunch saw of the server tether run started.
type launched struct {
	pid     int
	cmdline []string
	key     string
}

// watchLaunch runs cmd (a tether run) to its end, watching its
// descendants for the server program (its executable's path is server):
// its command line and the per-launch key, from its environment or the
// key file its command line names.
func watchLaunch(ctx context.Context, cmd *exec.Cmd, server string, timeout time.Duration) (launched, measured, error) {
	var seen launched
	serverExe, err := filepath.EvalSymlinks(server)
	if err != nil {
		return seen, measured{}, err
	}
	started := make(chan int, 1)
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		var root int
		select {
		case root = <-started:
		case <-stop:
			return
		}
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			for _, pid := range descendants(root) {
				exe, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
				if exe != serverExe {
					continue
				}
				args := procList(pid, "cmdline")
				key := ""
				for _, kv := range procList(pid, "environ") {
					for _, name := range []string{"TETHER_API_KEY=", "LLAMA_API_KEY=", "VLLM_API_KEY="} {
						if v, ok := strings.CutPrefix(kv, name); ok && v != "" {
							key = v
						}
					}
				}
				for i, a := range args {
					if a == "--api-key-file" && i+1 < len(args) {
						if data, err := os.ReadFile(args[i+1]); err == nil {
							key, _, _ = strings.Cut(string(data), "\n")
						}
					}
				}
				if len(args) > 0 && seen.pid == 0 || seen.key == "" && key != "" {
					seen = launched{pid: pid, cmdline: args, key: key}
				}
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	m := measureStarted(ctx, timeout, cmd, func(pid int) { started <- pid })
	close(stop)
	<-watched
	return seen, m, nil
}

// descendants are the processes below pid, from /proc/*/stat.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, ent := range entries {
		p, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + ent.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// procList reads a NUL-separated /proc/PID file (cmdline, environ).
func procList(pid int, name string) []string {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/" + name)
	if err != nil || len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
}

// argvRow launches servers through tether run — tether's own and the
// fault server installed as llama-server, vLLM and a custom server — and
// reads each server's command line in /proc while it runs: the
// per-launch key must not be on it.
func argvRow(ctx context.Context, e *Env, tether, fault, model string) (Row, error) {
	r := Row{Name: "no per-launch API key on a managed server's command line (tether, llama-server, vLLM, custom with {api_key_file})"}
	began := time.Now()
	bin, err := e.TempDir("path-")
	if err != nil {
		return r, err
	}
	for _, name := range []string{"llama-server", "vllm", "my-server"} {
		if err := os.Symlink(fault, filepath.Join(bin, name)); err != nil {
			return r, err
		}
	}
	path := "PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")
	launches := []struct {
		backend string
		server  string
		args    []string
	}{
		{"tether", tether, nil},
		{"llama-server", fault, nil},
		{"vllm", fault, nil},
		{"custom", fault, []string{"--server-cmd", "my-server --host {host} --port {port} --model {model} --api-key-file {api_key_file}"}},
	}
	rounds := e.Trials(3, 1)
	var forms []string
	for _, l := range launches {
		for range rounds {
			if ctx.Err() != nil {
				break
			}
			marker := newSecret("prompt-")
			args := append([]string{"run", "-q", "--backend", l.backend, "--model", model, "--max-tokens", "200"}, l.args...)
			cmd := exec.Command(tether, append(args, marker)...)
			// The fault server takes a moment to load, so that its
			// command line can be read while it runs.
			cmd.Env = append(os.Environ(), path, "TETHER_FAULT_LOAD=300ms", "TETHER_LOG=debug")
			seen, m, err := watchLaunch(ctx, cmd, l.server, loadBound)
			if err != nil {
				return r, err
			}
			argv := strings.Join(seen.cmdline, " ")
			switch {
			case m.Code != 0:
				err = fmt.Errorf("%s: tether run %s: %s", l.backend, m.ended(), firstLines(m.Stderr, 3))
			case seen.pid == 0:
				err = fmt.Errorf("%s: the server process was never seen", l.backend)
			case seen.key == "":
				err = fmt.Errorf("%s: no per-launch key found in the server's environment or key file (command line %q)", l.backend, argv)
			case strings.Contains(argv, seen.key):
				err = fmt.Errorf("%s: the key is on the command line: %q", l.backend, argv)
			case strings.Contains(m.Stderr, seen.key) || strings.Contains(m.Stdout, seen.key):
				err = fmt.Errorf("%s: the key is in tether run's output", l.backend)
			case strings.Contains(m.Stderr, marker):
				err = fmt.Errorf("%s: the prompt is in tether run's debug log: %s", l.backend, lineWith(m.Stderr, marker))
			}
			r.Check(err)
		}
		forms = append(forms, l.backend)
	}
	r.Bound = fmt.Sprintf("the key each server got (environment variable, or the 0600 file of {api_key_file}) is on none of the command lines read from /proc/PID/cmdline, nor in tether run's debug output, with the prompt; %d launches each of %s",
		rounds, strings.Join(forms, ", "))
	r.Elapsed = time.Since(began)
	return r, nil
}
