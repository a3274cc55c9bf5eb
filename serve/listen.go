package serve

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// IsSocketPath reports whether a --host value names a unix socket: it
// ends in ".sock", as llama-server's convention has it.
func IsSocketPath(host string) bool { return strings.HasSuffix(host, ".sock") }

// Listen opens the listener for host and port: a unix socket, readable
// and writable by this user only, when host ends in ".sock" (port is then
// ignored), else TCP (port 0 lets the kernel choose; see [URL]). A stale
// socket file that nothing listens on is replaced; a socket in use, or a
// file that is not a socket, is an error.
func Listen(host string, port int) (net.Listener, error) {
	if IsSocketPath(host) {
		return listenUnix(host)
	}
	if port < 0 || port > 65535 {
		return nil, fmt.Errorf("serve: port %d is out of range (0-65535)", port)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	return ln, nil
}

func listenUnix(path string) (net.Listener, error) {
	if st, err := os.Lstat(path); err == nil {
		if st.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("serve: %s exists and is not a socket; not replacing it", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("serve: another server is listening on %s", path)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("serve: removing the stale socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("serve: %w", err)
	}
	return ln, nil
}

// URL is the base URL clients reach ln at: "http://127.0.0.1:8080", or
// "unix:///path/to.sock" for a unix socket (the form tether's openai
// client takes).
func URL(ln net.Listener) string {
	switch a := ln.Addr().(type) {
	case *net.UnixAddr:
		return "unix://" + a.Name
	case *net.TCPAddr:
		host := a.IP.String()
		if a.IP.IsUnspecified() {
			host = "127.0.0.1"
			if a.IP.To4() == nil {
				host = "::1"
			}
		}
		return "http://" + net.JoinHostPort(host, strconv.Itoa(a.Port))
	}
	return ln.Addr().String()
}

// IsLoopback reports whether host binds only this machine: a loopback
// address, "localhost", or a unix socket.
func IsLoopback(host string) bool {
	if IsSocketPath(host) || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
