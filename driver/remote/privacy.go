package remote

import (
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/tetherllm/tether/internal/httpapi"
	"github.com/tetherllm/tether/llm"
)

// PrivacyOf infers the privacy tier of an endpoint from its address:
// loopback and unix sockets are sovereign, private networks (RFC 1918,
// unique-local IPv6, CGNAT, link-local, .local/.internal/.lan/.home.arpa
// names) private, anything else standard.
func PrivacyOf(endpoint string) (llm.PrivacyTier, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme == "" {
		return 0, &llm.ConfigError{Setting: "endpoint", Value: redact(endpoint), Reason: "not a URL (want http://host:port, https://… or unix:///path)"}
	}
	if u.Scheme == "unix" {
		return llm.Sovereign, nil
	}
	host := strings.ToLower(u.Hostname())
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return llm.Sovereign, nil
	}
	if ip := net.ParseIP(host); ip != nil {
		switch {
		case ip.IsLoopback():
			return llm.Sovereign, nil
		case ip.IsPrivate(), ip.IsLinkLocalUnicast(), cgnat.Contains(ip):
			return llm.Private, nil
		}
		return llm.Standard, nil
	}
	for _, suffix := range []string{".local", ".internal", ".lan", ".home.arpa"} {
		if strings.HasSuffix(host, suffix) {
			return llm.Private, nil
		}
	}
	return llm.Standard, nil
}

var cgnat = &net.IPNet{IP: net.IPv4(100, 64, 0, 0), Mask: net.CIDRMask(10, 32)}

// PrivateNetworks are the networks an endpoint whose tier is inferred
// private may reach: RFC 1918, CGNAT, link-local and unique-local IPv6.
var PrivateNetworks = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
}

// ParseNetworks reads networks as a configuration writes them: CIDRs
// ("10.0.0.0/8", "fd00::/8") or single addresses.
func ParseNetworks(list []string) ([]netip.Prefix, error) {
	nets, err := httpapi.ParseNetworks(list)
	if err != nil {
		return nil, &llm.ConfigError{Setting: "allowed networks", Value: strings.Join(list, ","), Reason: err.Error()}
	}
	return nets, nil
}

// egress is the check o's connections pass: the tier given, or the one
// the endpoint's address implies. Hosts or networks listed without a
// tier make it private; listed with another tier they are an error, as
// only a private tier reads them.
func (o *Options) egress() (httpapi.Egress, error) {
	e := httpapi.Egress{Tier: o.Privacy, AllowedHosts: o.AllowedHosts, AllowedNetworks: o.AllowedNetworks, Resolver: o.Resolver}
	listed := len(o.AllowedHosts) > 0 || len(o.AllowedNetworks) > 0
	switch {
	case e.Tier == 0 && listed:
		e.Tier = llm.Private
	case e.Tier == 0:
		tier, err := PrivacyOf(o.Endpoint)
		if err != nil {
			return e, err
		}
		e.Tier = tier
		if tier == llm.Private {
			e.AllowedNetworks = PrivateNetworks
		}
	case e.Tier < llm.Sovereign || e.Tier > llm.Standard:
		return e, &llm.ConfigError{Setting: "privacy", Value: e.Tier.String(), Reason: "want sovereign, private or standard"}
	case e.Tier != llm.Private && listed:
		return e, &llm.ConfigError{Setting: "privacy", Value: e.Tier.String(), Reason: "allowed hosts and networks are read by the private tier only"}
	}
	return e, nil
}
