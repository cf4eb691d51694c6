// Package realip finds the address of the client behind trusted reverse
// proxies and load balancers: from the Forwarded (RFC 7239) or
// X-Forwarded-For header of an HTTP request (Resolver), and from the PROXY
// protocol header, v1 or v2, that HAProxy's send-proxy and send-proxy-v2
// put at the start of a connection (Listener).
//
// Only what trusted proxies said counts. A header from an untrusted peer is
// ignored, a PROXY header from an untrusted peer gets the connection closed,
// and in a list of forwarded addresses only the entries appended by trusted
// proxies are believed: the list is read from the right, and the first
// address that is not a trusted proxy is the client. Whatever a client puts
// in front of the list itself is never reached.
package realip

import (
	"fmt"
	"net/netip"
	"strings"
)

// Proxies is a set of trusted networks: the load balancers and reverse
// proxies in front of the server. The zero value trusts nobody. It is a
// flag.Value (a comma-separated list of CIDRs or addresses).
type Proxies struct {
	prefixes []netip.Prefix
}

// ParseProxies parses CIDRs ("10.0.0.0/8", "fd00::/8") and single
// addresses ("192.0.2.7", a /32 or /128).
func ParseProxies(list ...string) (Proxies, error) {
	var p Proxies
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		prefix, err := parsePrefix(s)
		if err != nil {
			return Proxies{}, err
		}
		p.prefixes = append(p.prefixes, prefix)
	}
	return p, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("trusted proxy %q: not a CIDR or an IP address", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("trusted proxy %q: not a CIDR or an IP address", s)
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		// ::ffff:10.0.0.0/104 is 10.0.0.0/8: addresses are unmapped before
		// they are matched.
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Empty reports whether p trusts nobody.
func (p Proxies) Empty() bool { return len(p.prefixes) == 0 }

// Trusts reports whether a is inside one of p's networks. IPv4-mapped IPv6
// addresses match as IPv4.
func (p Proxies) Trusts(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, prefix := range p.prefixes {
		if prefix.Contains(a) {
			return true
		}
	}
	return false
}

// String returns p as a comma-separated list of CIDRs.
func (p Proxies) String() string {
	s := make([]string, len(p.prefixes))
	for i, prefix := range p.prefixes {
		s[i] = prefix.String()
	}
	return strings.Join(s, ",")
}

// Set replaces p with the comma-separated list v (flag.Value).
func (p *Proxies) Set(v string) error {
	q, err := ParseProxies(strings.Split(v, ",")...)
	if err != nil {
		return err
	}
	*p = q
	return nil
}
