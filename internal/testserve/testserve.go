// Package testserve runs a real `tether serve run` process for tests that
// need an OpenAI-compatible server on loopback: a stand-in for a remote
// cluster, built from this module with internal/testbin.
package testserve

import (
	"bufio"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tetherllm/tether/internal/testbin"
)

// Server is a running `tether serve`.
type Server struct {
	// URL is its base URL, "http://127.0.0.1:PORT".
	URL string
	cmd *exec.Cmd
}

// Start runs `tether serve run MODEL --host 127.0.0.1 --port 0` with the
// extra args, waits until it says it is ready, and stops it when the test
// ends. It fails the test if the server does not get ready within a
// minute (a bound for a broken build, not a measurement).
func Start(t testing.TB, model string, args ...string) *Server {
	t.Helper()
	return StartWithKey(t, "", model, args...)
}

// StartWithKey is Start for a server that requires the API key key
// (given through TETHER_API_KEY, never on its command line); "" is none.
func StartWithKey(t testing.TB, key, model string, args ...string) *Server {
	t.Helper()
	bin := testbin.Build(t, "github.com/tetherllm/tether/cmd/tether")
	cmd := exec.Command(bin, append([]string{"serve", "run", model, "--host", "127.0.0.1", "--port", "0"}, args...)...)
	cmd.Env = append(os.Environ(), "TETHER_API_KEY="+key)
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // nobody reads after start-up; the pipe must not block the server
			}
		}
	}()
	s := &Server{cmd: cmd}
	var seen []string
	timeout := time.After(time.Minute)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("testserve: tether serve exited before it was ready:\n%s", strings.Join(seen, "\n"))
			}
			seen = append(seen, l)
			if rest, ok := strings.CutPrefix(l, "tether serve: listening on "); ok {
				s.URL, _, _ = strings.Cut(rest, ";")
			}
			if strings.HasPrefix(l, "tether serve: ready") {
				if s.URL == "" {
					t.Fatalf("testserve: no listening line:\n%s", strings.Join(seen, "\n"))
				}
				return s
			}
		case <-timeout:
			t.Fatalf("testserve: tether serve not ready within a minute:\n%s", strings.Join(seen, "\n"))
		}
	}
}

// DeadURL is the base URL of a loopback port that nothing listens on:
// connections to it are refused.
func DeadURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// Outside serves h on this machine's first non-loopback IPv4 address —
// for the privacy tiers, another host — and counts the connections it
// accepts, so a test can check that a refused request opened none. It
// skips the test on a machine with no such address.
func Outside(t testing.TB, h http.Handler) (url string, ip netip.Addr, conns *atomic.Int32) {
	t.Helper()
	ifaddrs, _ := net.InterfaceAddrs()
	for _, a := range ifaddrs {
		if n, ok := a.(*net.IPNet); ok {
			if v, ok := netip.AddrFromSlice(n.IP); ok && v.Unmap().Is4() && !v.Unmap().IsLoopback() && !v.IsLinkLocalUnicast() {
				ip = v.Unmap()
				break
			}
		}
	}
	if !ip.IsValid() {
		t.Skip("no non-loopback IPv4 address")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	conns = &atomic.Int32{}
	srv := &http.Server{Handler: h, ConnState: func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String(), ip, conns
}
