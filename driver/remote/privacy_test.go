package remote

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tetherllm/tether/internal/testserve"
	"github.com/tetherllm/tether/llm"
)

// mapResolver resolves names from a map, as a DNS server that points
// them anywhere would.
type mapResolver map[string]netip.Addr

func (m mapResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := m[host]; ok {
		return []netip.Addr{a}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// outsideListener is a recorded server on this machine's non-loopback
// address — for the tiers, somewhere else — that counts the connections
// it accepts.
func outsideListener(t *testing.T) (netip.Addr, int, *atomic.Int32) {
	t.Helper()
	url, ip, conns := testserve.Outside(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(vllmModels)) }))
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(url, "http://"))
	n, _ := strconv.Atoi(port)
	return ip, n, conns
}

// TestTierRefusedBeforeConnecting dials a server outside loopback under
// tiers that forbid it — by address, by a name that resolves to it, by
// an inferred private tier whose name resolves outside private networks
// — and checks each fails with a PrivacyError naming the rule while the
// server sees no connection; then the tiers that allow it reach it.
func TestTierRefusedBeforeConnecting(t *testing.T) {
	ip, port, conns := outsideListener(t)
	res := mapResolver{"cluster.example": ip, "gpu.internal": ip}
	at := func(host string) string { return "http://" + net.JoinHostPort(host, strconv.Itoa(port)) }
	ctx := context.Background()
	refused := []struct {
		name string
		o    Options
		tier llm.PrivacyTier
	}{
		{"sovereign by address", Options{Endpoint: at(ip.String()), Privacy: llm.Sovereign}, llm.Sovereign},
		{"sovereign by name", Options{Endpoint: at("cluster.example"), Privacy: llm.Sovereign, Resolver: res}, llm.Sovereign},
		{"sovereign without the model check", Options{Endpoint: at(ip.String()), Privacy: llm.Sovereign, SkipModelCheck: true, Model: "m"}, llm.Sovereign},
		{"private, other network listed", Options{Endpoint: at(ip.String()), Privacy: llm.Private, AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, llm.Private},
		{"private, other host listed", Options{Endpoint: at("cluster.example"), AllowedHosts: []string{"gpu.internal"}, Resolver: res}, llm.Private},
		{"inferred private name resolving outside", Options{Endpoint: at("gpu.internal"), Resolver: res}, llm.Private},
	}
	for _, tt := range refused {
		_, err := Dial(ctx, tt.o)
		var pe *llm.PrivacyError
		if !errors.As(err, &pe) || pe.Tier != tt.tier || pe.Address != ip.String() || pe.Rule == "" || llm.Retryable(err) {
			t.Errorf("%s: %v, want a %s PrivacyError naming %s", tt.name, err, tt.tier, ip)
		}
		_, err = DialAnthropic(ctx, AnthropicOptions{Options: tt.o})
		if !errors.As(err, &pe) {
			t.Errorf("%s (Messages API): %v", tt.name, err)
		}
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("the server outside saw %d connections", n)
	}
	allowed := []Options{
		{Endpoint: at(ip.String()), Privacy: llm.Private, AllowedNetworks: []netip.Prefix{netip.PrefixFrom(ip, 24).Masked()}},
		{Endpoint: at("cluster.example"), AllowedHosts: []string{"*.example"}, Resolver: res},
		{Endpoint: at("cluster.example"), Privacy: llm.Standard, Resolver: res},
	}
	for _, o := range allowed {
		d, err := Dial(ctx, o)
		if err != nil {
			t.Errorf("%+v: %v", o, err)
			continue
		}
		d.Close()
	}
	if conns.Load() == 0 {
		t.Error("the allowed dials made no connection")
	}
}

func TestTierConfigErrors(t *testing.T) {
	for name, o := range map[string]Options{
		"hosts with sovereign": {Endpoint: "http://127.0.0.1:1", Privacy: llm.Sovereign, AllowedHosts: []string{"a"}},
		"bad tier":             {Endpoint: "http://127.0.0.1:1", Privacy: 7},
		"bad endpoint":         {Endpoint: "ftp://x"},
	} {
		var ce *llm.ConfigError
		if _, err := Dial(context.Background(), o); !errors.As(err, &ce) {
			t.Errorf("%s: %v, want a ConfigError", name, err)
		}
	}
	if _, err := ParseNetworks([]string{"10.0.0.0/8", "fd00::/8", "192.0.2.1"}); err != nil {
		t.Error(err)
	}
	if _, err := ParseNetworks([]string{"10.0.0.0/40"}); err == nil {
		t.Error("ParseNetworks accepted /40")
	}
}

// TestUnixSocketIsSovereign serves the model list on a unix socket: the
// tier inferred is sovereign and the driver reaches it under every tier.
func TestUnixSocketIsSovereign(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "llm.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Skip(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(vllmModels)) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	for _, tier := range []llm.PrivacyTier{0, llm.Sovereign, llm.Private, llm.Standard} {
		d, err := Dial(context.Background(), Options{Endpoint: "unix://" + sock, Privacy: tier})
		if err != nil {
			t.Fatalf("%s: %v", tier, err)
		}
		if want := max(tier, llm.Sovereign); d.Info().Privacy != want || d.Info().Model != "Qwen/Qwen3-8B" {
			t.Errorf("%s: info %+v", tier, d.Info())
		}
	}
}
