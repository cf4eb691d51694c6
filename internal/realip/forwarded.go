package realip

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// Header names the request header in which the trusted proxies pass on
// the client's address. Only that one header is read: a proxy passes the
// headers it does not write through unchanged, so reading another one
// would believe whatever the client wrote there. It is a flag.Value.
type Header int

const (
	// XForwardedFor is the de facto standard list of addresses, one
	// appended by each proxy (nginx's $proxy_add_x_forwarded_for,
	// HAProxy's option forwardfor).
	XForwardedFor Header = iota
	// Forwarded is RFC 7239's header; its for= parameters are read
	// (HAProxy 2.7's option forwarded, some cloud balancers).
	Forwarded
)

// String returns the header's canonical name.
func (h Header) String() string {
	if h == Forwarded {
		return "Forwarded"
	}
	return "X-Forwarded-For"
}

// Set parses a header name, in any case (flag.Value).
func (h *Header) Set(v string) error {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "x-forwarded-for":
		*h = XForwardedFor
	case "forwarded":
		*h = Forwarded
	default:
		return fmt.Errorf("forwarded header %q: want X-Forwarded-For or Forwarded", v)
	}
	return nil
}

// Resolver finds the client address of HTTP requests that may come through
// trusted proxies. The zero value trusts nobody: the peer is the client.
type Resolver struct {
	// Proxies are the peers whose header is believed.
	Proxies Proxies
	// Header is the header they set.
	Header Header
}

// Client returns the address of the client of a request that came from
// peer with headers h. When peer is not a trusted proxy it is the client.
// Otherwise the forwarded addresses are read from the right, skipping
// trusted proxies, and the first other address is the client; when every
// address is a trusted proxy, the leftmost is. An entry that names no
// address ("unknown", an obfuscated "_name", or a malformed value) ends the
// walk: the nearest proxy known is taken as the client, since what lies
// further left was not vouched for. The port is 0 when the header gives
// none.
func (res Resolver) Client(peer netip.AddrPort, h http.Header) netip.AddrPort {
	client := unmap(peer)
	if !res.Proxies.Trusts(client.Addr()) {
		return client
	}
	var hops []string
	if res.Header == Forwarded {
		hops = forwardedFor(h.Values("Forwarded"))
	} else {
		hops = xForwardedFor(h.Values("X-Forwarded-For"))
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseNode(hops[i])
		if !ok {
			return client
		}
		client = a
		if !res.Proxies.Trusts(a.Addr()) {
			break
		}
	}
	return client
}

// Handler returns next with the RemoteAddr of each request replaced by its
// client's address (Client), as ip:port, so that everything after it (the
// handshake's address, rate limits, logs) sees the client. Requests from
// untrusted peers pass unchanged. With no trusted proxies it returns next.
func (res Resolver) Handler(next http.Handler) http.Handler {
	if res.Proxies.Empty() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, err := netip.ParseAddrPort(r.RemoteAddr)
		if err == nil {
			if c := res.Client(peer, r.Header); c != unmap(peer) {
				r = r.WithContext(r.Context()) // a handler must not modify its request
				r.RemoteAddr = c.String()
			}
		}
		next.ServeHTTP(w, r)
	})
}

func unmap(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap().WithZone(""), a.Port())
}

// xForwardedFor returns the entries of X-Forwarded-For header lines, in
// order; empty entries carry nothing and are dropped.
func xForwardedFor(lines []string) []string {
	var hops []string
	for _, line := range lines {
		for entry := range strings.SplitSeq(line, ",") {
			if e := strings.TrimSpace(entry); e != "" {
				hops = append(hops, e)
			}
		}
	}
	return hops
}

// forwardedFor returns the for= value of each element of Forwarded header
// lines, in order, unquoted; "" for an element without one or that does not
// parse, which ends the walk of Client there. Each line is parsed on its
// own, so a quote left open by a client cannot swallow a proxy's line.
func forwardedFor(lines []string) []string {
	var hops []string
	for _, line := range lines {
		elements, ok := splitQuoted(line, ',')
		for i, e := range elements {
			switch {
			case i == len(elements)-1 && !ok:
				hops = append(hops, "") // a quote left open
			case strings.TrimSpace(e) != "": // RFC 9110's lists allow empty elements
				hops = append(hops, elementFor(e))
			}
		}
	}
	return hops
}

// elementFor returns the unquoted for= value of one Forwarded element ("" if
// none, twice, or malformed).
func elementFor(element string) string {
	pairs, ok := splitQuoted(element, ';')
	if !ok {
		return ""
	}
	var value string
	found := false
	for _, pair := range pairs {
		name, v, hasEq := strings.Cut(strings.TrimSpace(pair), "=")
		if !hasEq || !isToken(name) {
			if strings.TrimSpace(pair) == "" {
				continue
			}
			return ""
		}
		if !strings.EqualFold(name, "for") {
			continue
		}
		if found {
			return ""
		}
		found = true
		if value, ok = unquote(v); !ok {
			return ""
		}
	}
	return value
}

// splitQuoted splits s on sep outside quoted strings; ok is false when a
// quote is left open (the last part then runs to the end).
func splitQuoted(s string, sep byte) (parts []string, ok bool) {
	start, quoted, escaped := 0, false, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:]), !quoted
}

// unquote returns a quoted-string's content, or an unquoted value as it
// is: RFC 7239 wants IPv6 addresses and ports quoted, but some proxies do
// not quote them, and parseNode checks the value anyway.
func unquote(v string) (string, bool) {
	if !strings.HasPrefix(v, `"`) {
		return v, v != ""
	}
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			if i++; i == len(v) {
				return "", false
			}
			b.WriteByte(v[i])
		case '"':
			return b.String(), i == len(v)-1 // nothing may follow the quote
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}

// isToken reports whether s is an RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// parseNode parses one forwarded address: "192.0.2.7", "192.0.2.7:4711",
// "2001:db8::7", "[2001:db8::7]" or "[2001:db8::7]:4711". ok is false for
// "unknown", an obfuscated identifier ("_hidden") and anything malformed;
// an obfuscated port gives port 0.
func parseNode(s string) (netip.AddrPort, bool) {
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.AddrPort{}, false
		}
		host = s[1:end]
		if rest := s[end+1:]; rest != "" {
			if rest[0] != ':' {
				return netip.AddrPort{}, false
			}
			port = rest[1:]
			if port == "" {
				return netip.AddrPort{}, false
			}
		}
	} else if strings.Count(s, ":") == 1 {
		host, port, _ = strings.Cut(s, ":") // IPv4 with a port
		if port == "" {
			return netip.AddrPort{}, false
		}
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return netip.AddrPort{}, false
	}
	var p uint64
	switch {
	case port == "", strings.HasPrefix(port, "_") && isToken(port):
	case strings.Trim(port, "0123456789") == "":
		if p, err = strconv.ParseUint(port, 10, 16); err != nil {
			return netip.AddrPort{}, false
		}
	default:
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(p)), true
}
