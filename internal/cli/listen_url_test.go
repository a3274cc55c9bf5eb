package cli

import (
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/tetherllm/tether/serve"
)

// The address printed for a wildcard bind must reach the server.
func TestListenURLReachesAWildcardBind(t *testing.T) {
	for _, c := range []struct{ host, want string }{
		{"0.0.0.0", "http://127.0.0.1:"},
		{"127.0.0.1", "http://127.0.0.1:"},
		{"::", "http://[::1]:"},
	} {
		t.Run(c.host, func(t *testing.T) {
			ln, err := serve.Listen(c.host, 0)
			if err != nil {
				t.Skipf("cannot listen on %s here: %v", c.host, err)
			}
			defer ln.Close()
			got := listenURL(c.host, ln)
			if !strings.HasPrefix(got, c.want) {
				t.Fatalf("listenURL(%s) = %s, want %s…", c.host, got, c.want)
			}
			if c.host == "::" {
				return // ::1 may not exist where the test runs
			}
			u, err := url.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				if conn, err := ln.Accept(); err == nil {
					conn.Close()
				}
			}()
			conn, err := net.Dial("tcp", u.Host)
			if err != nil {
				t.Fatalf("%s does not reach the server: %v", got, err)
			}
			conn.Close()
		})
	}
}
