package httpapi

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tetherllm/tether/llm"
)

// mapResolver resolves names from a map.
type mapResolver map[string][]netip.Addr

func (m mapResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := m[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

func TestEgressCheck(t *testing.T) {
	res := mapResolver{
		"localhost":          addrs("127.0.0.1", "::1"),
		"evil.example":       addrs("127.0.0.1", "203.0.113.9"),
		"gpu.internal":       addrs("198.51.100.7"),
		"node3.corp.example": addrs("198.51.100.8"),
		"inside.example":     addrs("10.1.2.3"),
		"public.example":     addrs("203.0.113.10"),
	}
	nets, err := ParseNetworks([]string{"10.0.0.0/8", "192.0.2.44"})
	if err != nil {
		t.Fatal(err)
	}
	sovereign := &Egress{Tier: llm.Sovereign, Resolver: res}
	private := &Egress{Tier: llm.Private, Resolver: res, AllowedHosts: []string{"gpu.internal", ".corp.example", "198.51.100.99"}, AllowedNetworks: nets}
	standard := &Egress{Tier: llm.Standard, Resolver: res}
	tests := []struct {
		e       *Egress
		host    string
		refused string // the address named in the refusal; "" if allowed
	}{
		{sovereign, "127.0.0.1", ""},
		{sovereign, "::1", ""},
		{sovereign, "[::1]", ""},
		{sovereign, "localhost", ""},
		{sovereign, "evil.example", "203.0.113.9"}, // one address elsewhere is enough
		{sovereign, "10.1.2.3", "10.1.2.3"},
		{sovereign, "gpu.internal", "198.51.100.7"},
		{private, "127.0.0.1", ""},
		{private, "gpu.internal", ""},
		{private, "gpu.internal.", ""},
		{private, "node3.corp.example", ""},
		{private, "inside.example", ""},
		{private, "10.9.9.9", ""},
		{private, "192.0.2.44", ""},
		{private, "198.51.100.99", ""},
		{private, "192.0.2.45", "192.0.2.45"},
		{private, "public.example", "203.0.113.10"},
		{private, "evil.example", "203.0.113.9"},
		{private, "corp.example.attacker.test", ""}, // not resolvable: a DNS error, checked below
	}
	for _, tt := range tests {
		got, err := tt.e.Check(context.Background(), tt.host)
		var pe *llm.PrivacyError
		switch {
		case tt.host == "corp.example.attacker.test":
			var de *net.DNSError
			if !errors.As(err, &de) {
				t.Errorf("%s: %v, want a DNS error (the name is not under .corp.example)", tt.host, err)
			}
		case tt.refused == "":
			if err != nil || len(got) == 0 {
				t.Errorf("%s %s: %v %v, want allowed", tt.e.Tier, tt.host, got, err)
			}
		case !errors.As(err, &pe):
			t.Errorf("%s %s: %v, want a *llm.PrivacyError", tt.e.Tier, tt.host, err)
		case pe.Address != tt.refused || pe.Tier != tt.e.Tier || pe.Rule == "" || llm.Retryable(err):
			t.Errorf("%s %s: %+v", tt.e.Tier, tt.host, pe)
		}
	}
	if got, err := standard.Check(context.Background(), "public.example"); got != nil || err != nil {
		t.Errorf("standard checks nothing: %v %v", got, err)
	}
	if _, err := ParseNetworks([]string{"10.0.0.0/33"}); err == nil {
		t.Error("ParseNetworks accepted /33")
	}
	if !strings.Contains(private.Rule(), "gpu.internal") || !strings.Contains(private.Rule(), "10.0.0.0/8") {
		t.Errorf("rule %q does not list what is allowed", private.Rule())
	}
}

// TestEgressRefusesBeforeConnecting points a sovereign transport at a
// listener on this machine's non-loopback address, by address and by a
// name that resolves to it: the request fails with a PrivacyError and
// the listener sees no connection. The same transport reaches a loopback
// listener, and a private one that lists the address reaches it.
func TestEgressRefusesBeforeConnecting(t *testing.T) {
	ip := nonLoopbackIP(t)
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	var accepted atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				accepted.Add(1)
			}
		}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	res := mapResolver{"looks-local.example": []netip.Addr{ip}}

	tr := NewGuardedTransport(TransportOptions{Egress: Egress{Tier: llm.Sovereign, Resolver: res}, Retry: Retry{Attempts: 3}})
	client := &http.Client{Transport: tr}
	for _, host := range []string{ip.String(), "looks-local.example"} {
		url := "http://" + net.JoinHostPort(host, itoa(port)) + "/v1/models"
		_, err := client.Get(url)
		var pe *llm.PrivacyError
		if !errors.As(err, &pe) || pe.Address != ip.String() || pe.Tier != llm.Sovereign {
			t.Errorf("GET %s: %v, want a sovereign PrivacyError naming %s", url, err, ip)
		}
		if got := TransportError("GET", err); !errors.As(got, &pe) || llm.Retryable(got) {
			t.Errorf("the refusal reads as %T (retryable %v)", got, llm.Retryable(got))
		}
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("the refused listener saw %d connections", n)
	}
	private := &http.Client{Transport: NewGuardedTransport(TransportOptions{Egress: Egress{Tier: llm.Private, AllowedHosts: []string{ip.String()}}})}
	resp, err := private.Get("http://" + net.JoinHostPort(ip.String(), itoa(port)) + "/")
	if err != nil {
		t.Fatalf("private with the address listed: %v", err)
	}
	resp.Body.Close()
	if accepted.Load() != 1 {
		t.Errorf("the allowed request made %d connections", accepted.Load())
	}
}

// nonLoopbackIP is an address of this machine that is not loopback.
func nonLoopbackIP(t *testing.T) netip.Addr {
	t.Helper()
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skip(err)
	}
	for _, a := range ifaddrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && !ip.Unmap().IsLoopback() && !ip.IsLinkLocalUnicast() && ip.Unmap().Is4() {
				return ip.Unmap()
			}
		}
	}
	t.Skip("no non-loopback IPv4 address on this machine")
	return netip.Addr{}
}

func itoa(n int) string { return strconv.Itoa(n) }

// FuzzEgressCheck checks, for any host and any address a name resolves
// to, that what a tier lets through is what it allows: sovereign only
// loopback, private only loopback, listed networks and listed names.
func FuzzEgressCheck(f *testing.F) {
	for _, s := range []struct{ host, addr string }{
		{"127.0.0.1", ""}, {"::1", ""}, {"[::ffff:127.0.0.1]", ""}, {"x.example", "203.0.113.1"}, {"gpu.internal", "10.0.0.1"},
		{"fe80::1%eth0", ""}, {"10.1.2.3", ""}, {"GPU.Internal.", "8.8.8.8"}, {"", ""}, {"a.corp.example", "1.2.3.4"}, {"::ffff:10.0.0.1", ""},
	} {
		f.Add(s.host, s.addr)
	}
	f.Fuzz(func(t *testing.T, host, addr string) {
		res := mapResolver{}
		if a, err := netip.ParseAddr(addr); err == nil {
			res[strings.TrimSuffix(strings.Trim(host, "[]"), ".")] = []netip.Addr{a}
		}
		nets := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		for _, e := range []*Egress{
			{Tier: llm.Sovereign, Resolver: res},
			{Tier: llm.Private, Resolver: res, AllowedNetworks: nets, AllowedHosts: []string{"gpu.internal", ".corp.example"}},
		} {
			got, err := e.Check(context.Background(), host)
			if err != nil {
				continue
			}
			for _, a := range got {
				a = a.WithZone("").Unmap()
				switch {
				case a.IsLoopback():
				case e.Tier == llm.Sovereign:
					t.Fatalf("sovereign let %q through to %s", host, a)
				case nets[0].Contains(a):
				case e.HostListed(strings.TrimSuffix(strings.Trim(host, "[]"), ".")):
				default:
					t.Fatalf("private let %q through to %s", host, a)
				}
			}
		}
	})
}

func FuzzParseNetworks(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "fd00::/8", "192.0.2.1", "10.0.0.0/33", "", " 10.1.2.3/16 ", "::ffff:1.2.3.4/128", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		nets, err := ParseNetworks([]string{s})
		if err != nil {
			return
		}
		if len(nets) != 1 || !nets[0].IsValid() || nets[0] != nets[0].Masked() {
			t.Fatalf("ParseNetworks(%q) = %v", s, nets)
		}
	})
}
