package localserver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// portHold is how long FreePort keeps a port it handed out from being handed
// out again, so that parallel launches in one process never share a port
// while their servers are still starting.
const portHold = 2 * time.Minute

var issuedPorts = struct {
	sync.Mutex
	at map[int]time.Time
}{at: map[int]time.Time{}}

// FreePort returns a TCP port on 127.0.0.1 that the kernel just reported
// free. The kernel picks it (never a fixed or pid-derived port), and no other
// FreePort call in this process returns the same port for two minutes. A
// program outside this process can still take the port before the server
// binds it; the server then fails with "address in use" or, if the other
// program answers in its place, the probe cannot verify it is ours — both
// are reported, never mistaken for readiness. Where the backend supports it,
// prefer a unix socket from [SocketPath], which has no such window.
func FreePort() (int, error) {
	issuedPorts.Lock()
	defer issuedPorts.Unlock()
	now := time.Now()
	for p, t := range issuedPorts.at {
		if now.Sub(t) > portHold {
			delete(issuedPorts.at, p)
		}
	}
	// Keep every candidate open until the end, so the kernel cannot hand
	// a rejected port straight back.
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for range 64 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free port: %w", err)
		}
		held = append(held, l)
		port := l.Addr().(*net.TCPAddr).Port
		if _, taken := issuedPorts.at[port]; !taken {
			issuedPorts.at[port] = now
			return port, nil
		}
	}
	return 0, fmt.Errorf("find a free port: no unused port after 64 tries")
}

// ReleasePort lets FreePort hand out port again, once the server that used
// it has stopped. Calling it is optional.
func ReleasePort(port int) {
	issuedPorts.Lock()
	delete(issuedPorts.at, port)
	issuedPorts.Unlock()
}

// maxSocketPath is the most bytes a unix socket path may hold on every
// supported system (sun_path is 104 bytes on the BSDs and macOS, 108 on
// Linux, and must end in a NUL).
const maxSocketPath = 103

// SocketPath returns a path for a unix socket named name (e.g. "server.sock")
// inside a fresh directory that only the current user can enter (mode 0700),
// so no other user can connect to the server or squat the path. remove
// deletes the directory and whatever is in it. The directory is made under
// os.TempDir, or under /tmp when that would make the path too long for a
// socket, and named as [TempDir]'s are.
func SocketPath(name string) (path string, remove func(), err error) {
	if name == "" || filepath.Base(name) != name {
		return "", nil, fmt.Errorf("socket name %q must be a plain file name", name)
	}
	sweepTempDirsOnce()
	for _, base := range []string{os.TempDir(), "/tmp"} {
		dir, err := os.MkdirTemp(base, OwnedPrefix())
		if err != nil {
			continue
		}
		path := filepath.Join(dir, name)
		if len(path) > maxSocketPath {
			os.RemoveAll(dir)
			continue
		}
		// MkdirTemp already uses 0700; make it explicit against odd umasks.
		if err := os.Chmod(dir, 0o700); err != nil {
			os.RemoveAll(dir)
			return "", nil, fmt.Errorf("socket directory: %w", err)
		}
		return path, func() { os.RemoveAll(dir) }, nil
	}
	return "", nil, fmt.Errorf("no temporary directory gives a socket path short enough for %q", name)
}

// LoopbackClient returns an HTTP client for talking to a local server: it
// never uses a proxy (HTTP_PROXY must not capture loopback traffic), it
// connects quickly or not at all, and, when socket is not empty, it dials
// that unix socket whatever host the URL names (use "http://localhost").
func LoopbackClient(socket string) *http.Client {
	dialer := &net.Dialer{Timeout: 2 * time.Second}
	dial := dialer.DialContext
	if socket != "" {
		dial = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", socket)
		}
	}
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         dial,
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}}
}
