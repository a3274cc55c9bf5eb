package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/tetherllm/tether/llm"
)

// Resolver looks host names up; *net.Resolver is one. Tests map names to
// addresses with their own.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Egress says where a client's connections may go: the privacy tier
// enforced on every dial. The check runs in the dialer, on the addresses
// a host name resolves to, and the connection goes to an address that
// passed it, so a name that resolves elsewhere is refused and no
// connection to a refused address is ever opened. Unix sockets are on
// this machine and pass every tier.
type Egress struct {
	// Tier is the tier enforced: Sovereign allows loopback addresses only;
	// Private allows loopback, AllowedHosts and AllowedNetworks; Standard
	// (or 0) allows any address.
	Tier llm.PrivacyTier
	// AllowedHosts are the hosts a private tier allows: a name
	// ("gpu.internal"), a domain with a leading dot or "*."
	// (".corp.example" allows every name under it), or an IP address. A
	// name listed is trusted whatever it resolves to.
	AllowedHosts []string
	// AllowedNetworks are the networks a private tier allows
	// ("10.0.0.0/8", "fd00::/8"): every address a host resolves to must be
	// in one of them (or loopback) unless the host is listed by name.
	AllowedNetworks []netip.Prefix
	// Resolver looks names up, for every tier; nil means
	// net.DefaultResolver.
	Resolver Resolver
}

// Enforced reports whether dials are checked at all.
func (e *Egress) Enforced() bool {
	return e != nil && (e.Tier == llm.Sovereign || e.Tier == llm.Private)
}

// Rule says in words what the tier allows, for errors.
func (e *Egress) Rule() string {
	switch e.Tier {
	case llm.Sovereign:
		return "sovereign allows only loopback addresses and unix sockets"
	case llm.Private:
		var listed []string
		listed = append(listed, e.AllowedHosts...)
		for _, n := range e.AllowedNetworks {
			listed = append(listed, n.String())
		}
		if len(listed) == 0 {
			return "private allows loopback addresses, unix sockets and the hosts and networks listed for it (none are listed)"
		}
		return "private allows loopback addresses, unix sockets and the listed hosts and networks: " + strings.Join(listed, ", ")
	}
	return "standard allows any address"
}

// Check resolves host and returns the addresses a connection may go to,
// or an *llm.PrivacyError naming the first address the tier refuses. It
// returns nil addresses and no error when the tier checks nothing.
func (e *Egress) Check(ctx context.Context, host string) ([]netip.Addr, error) {
	if !e.Enforced() {
		return nil, nil
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	addrs, err := e.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	if e.Tier == llm.Private && e.HostListed(host) {
		return addrs, nil
	}
	for _, a := range addrs {
		if !e.addrAllowed(a) {
			return nil, &llm.PrivacyError{Tier: e.Tier, Host: host, Address: a.String(), Rule: e.Rule()}
		}
	}
	return addrs, nil
}

// resolve looks host up with the Resolver (an address is itself).
func (e *Egress) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	r := e.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	return addrs, nil
}

func (e *Egress) addrAllowed(a netip.Addr) bool {
	a = a.WithZone("").Unmap() // a zone only says which interface
	if a.IsLoopback() {
		return true
	}
	if e.Tier != llm.Private {
		return false
	}
	for _, n := range e.AllowedNetworks {
		if n.Contains(a) {
			return true
		}
	}
	for _, h := range e.AllowedHosts {
		if ip, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil && ip.Unmap() == a {
			return true
		}
	}
	return false
}

// HostListed reports whether a name is in AllowedHosts, by itself or
// under a listed domain.
func (e *Egress) HostListed(host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return false // addresses are checked as addresses
	}
	host = strings.ToLower(host)
	for _, h := range e.AllowedHosts {
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		switch {
		case strings.HasPrefix(h, "*."):
			if strings.HasSuffix(host, h[1:]) {
				return true
			}
		case strings.HasPrefix(h, "."):
			if strings.HasSuffix(host, h) || host == h[1:] {
				return true
			}
		case host == h:
			return true
		}
	}
	return false
}

// dialer returns a DialContext that checks every address against the
// tier before dialing it and reports a connect timeout as an
// *llm.TimeoutError.
func (e *Egress) dialer(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		addrs, err := e.Check(ctx, host)
		if err != nil {
			return nil, err
		}
		if addrs == nil && e != nil && e.Resolver != nil {
			// Unchecked, but names still resolve the way the caller
			// said.
			if addrs, err = e.resolve(ctx, strings.Trim(host, "[]")); err != nil {
				return nil, err
			}
		}
		if addrs == nil {
			c, err := d.DialContext(ctx, network, addr)
			return connectError(ctx, d, c, err)
		}
		var first error
		for _, a := range addrs {
			c, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
			if err == nil {
				return c, nil
			}
			if first == nil {
				first = err
			}
			if ctx.Err() != nil {
				break
			}
		}
		return connectError(ctx, d, nil, first)
	}
}

// connectError reports a dial that ran out of the dialer's timeout (and
// not of the caller's context) as an *llm.TimeoutError.
func connectError(ctx context.Context, d *net.Dialer, c net.Conn, err error) (net.Conn, error) {
	var ne net.Error
	if err != nil && ctx.Err() == nil && d.Timeout > 0 && errors.As(err, &ne) && ne.Timeout() {
		return nil, &llm.TimeoutError{Phase: "connect", Limit: d.Timeout}
	}
	return c, err
}

// ParseNetworks reads CIDR networks ("10.0.0.0/8"); a bare address is a
// network of that one address.
func ParseNetworks(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("network %q: want a CIDR such as 10.0.0.0/8 or an address", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
