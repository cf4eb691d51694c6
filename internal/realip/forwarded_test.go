package realip

import (
	"flag"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func mustProxies(t *testing.T, list ...string) Proxies {
	t.Helper()
	p, err := ParseProxies(list...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseProxies(t *testing.T) {
	t.Parallel()
	p := mustProxies(t, "10.1.2.3/8", " 192.0.2.7 ", "2001:db8::/32", "::ffff:172.16.0.0/108", "", "fd00::1")
	if got, want := p.String(), "10.0.0.0/8,192.0.2.7/32,2001:db8::/32,172.16.0.0/12,fd00::1/128"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	for _, tc := range []struct {
		addr string
		want bool
	}{
		{"10.255.0.1", true}, {"11.0.0.1", false}, {"192.0.2.7", true}, {"192.0.2.8", false},
		{"::ffff:10.0.0.1", true}, {"2001:db8:1::1", true}, {"2001:db9::1", false},
		{"172.31.255.255", true}, {"172.32.0.0", false}, {"fd00::1", true}, {"fd00::2", false},
		{"fe80::1%eth0", false},
	} {
		if got := p.Trusts(netip.MustParseAddr(tc.addr)); got != tc.want {
			t.Errorf("Trusts(%s) = %v, want %v", tc.addr, got, tc.want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0", "fe80::1%eth0", "1.2.3.4/"} {
		if _, err := ParseProxies(bad); err == nil {
			t.Errorf("ParseProxies(%q) succeeded", bad)
		}
	}
	var empty Proxies
	if !empty.Empty() || empty.Trusts(netip.MustParseAddr("127.0.0.1")) || empty.String() != "" {
		t.Fatal("the zero Proxies must trust nobody")
	}
	// As a flag: a list, replaced (not appended to) by a second Set.
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	var q Proxies
	fs.Var(&q, "trusted", "")
	if err := fs.Parse([]string{"--trusted", "10.0.0.0/8,192.0.2.1", "--trusted", "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if q.String() != "127.0.0.1/32" {
		t.Fatalf("after two Sets: %q", q.String())
	}
	if err := fs.Set("trusted", "10.0.0.0/8,nonsense"); err == nil {
		t.Fatal("a bad entry must fail the flag")
	}
}

func TestHeaderSet(t *testing.T) {
	t.Parallel()
	var h Header
	if h.String() != "X-Forwarded-For" {
		t.Fatalf("zero Header = %s", h)
	}
	for v, want := range map[string]Header{"forwarded": Forwarded, "X-FORWARDED-FOR": XForwardedFor, " Forwarded ": Forwarded} {
		if err := h.Set(v); err != nil || h != want {
			t.Errorf("Set(%q) = %v, %s", v, err, h)
		}
	}
	if err := h.Set("X-Real-IP"); err == nil {
		t.Fatal("X-Real-IP accepted")
	}
}

// clientCase is a request from peer with headers; want is the client.
type clientCase struct {
	name   string
	header Header
	peer   string
	xff    []string // X-Forwarded-For lines
	fwd    []string // Forwarded lines
	want   string
}

func TestClient(t *testing.T) {
	t.Parallel()
	proxies := mustProxies(t, "10.0.0.0/8", "2001:db8:ffff::/48")
	const peer = "10.0.0.1:5000"
	cases := []clientCase{
		// Untrusted peers: their headers are ignored, whatever they say.
		{name: "untrusted peer, X-Forwarded-For", peer: "198.51.100.9:5000", xff: []string{"203.0.113.7"}, want: "198.51.100.9:5000"},
		{name: "untrusted peer, Forwarded", header: Forwarded, peer: "198.51.100.9:5000", fwd: []string{"for=203.0.113.7"}, want: "198.51.100.9:5000"},
		{name: "untrusted peer claiming a trusted hop", peer: "198.51.100.9:5000", xff: []string{"203.0.113.7, 10.0.0.2"}, want: "198.51.100.9:5000"},
		{name: "untrusted IPv6 peer", peer: "[2001:db8::9]:5000", xff: []string{"203.0.113.7"}, want: "[2001:db8::9]:5000"},
		// Trusted peers.
		{name: "trusted peer, no header", peer: peer, want: peer},
		{name: "one proxy", peer: peer, xff: []string{"203.0.113.7"}, want: "203.0.113.7:0"},
		{name: "client prepends a spoof", peer: peer, xff: []string{"1.1.1.1, 203.0.113.7"}, want: "203.0.113.7:0"},
		{name: "client prepends a trusted address", peer: peer, xff: []string{"10.9.9.9, 203.0.113.7"}, want: "203.0.113.7:0"},
		{name: "chain of trusted proxies", peer: "10.0.0.4:5000", xff: []string{"1.1.1.1, 203.0.113.7, 10.0.0.2, 10.0.0.3"}, want: "203.0.113.7:0"},
		{name: "several header lines", peer: peer, xff: []string{"1.1.1.1", "203.0.113.7, 10.0.0.2"}, want: "203.0.113.7:0"},
		{name: "every hop trusted: the leftmost", peer: peer, xff: []string{"10.0.0.9, 10.0.0.2"}, want: "10.0.0.9:0"},
		{name: "unknown from the proxy: the proxy", peer: peer, xff: []string{"203.0.113.7, unknown"}, want: peer},
		{name: "unknown further in: the nearest proxy", peer: peer, xff: []string{"203.0.113.7, unknown, 10.0.0.2"}, want: "10.0.0.2:0"},
		{name: "malformed from the proxy", peer: peer, xff: []string{"203.0.113.7, not-an-ip"}, want: peer},
		{name: "malformed from the client", peer: peer, xff: []string{"<script>, 203.0.113.7"}, want: "203.0.113.7:0"},
		{name: "empty entries", peer: peer, xff: []string{" , 203.0.113.7,"}, want: "203.0.113.7:0"},
		{name: "IPv6", peer: peer, xff: []string{"2001:db8::7"}, want: "[2001:db8::7]:0"},
		{name: "IPv6 in brackets", peer: peer, xff: []string{"[2001:db8::7]"}, want: "[2001:db8::7]:0"},
		{name: "IPv6 with a port", peer: peer, xff: []string{"[2001:db8::7]:4711"}, want: "[2001:db8::7]:4711"},
		{name: "IPv4 with a port", peer: peer, xff: []string{"203.0.113.7:4711"}, want: "203.0.113.7:4711"},
		{name: "IPv4-mapped", peer: peer, xff: []string{"::ffff:203.0.113.7"}, want: "203.0.113.7:0"},
		{name: "IPv6 trusted peer", peer: "[2001:db8:ffff::1]:443", xff: []string{"203.0.113.7"}, want: "203.0.113.7:0"},
		{name: "IPv4-mapped trusted peer", peer: "[::ffff:10.0.0.1]:443", xff: []string{"203.0.113.7"}, want: "203.0.113.7:0"},
		{name: "a zone", peer: peer, xff: []string{"fe80::1%eth0"}, want: peer},
		{name: "a port out of range", peer: peer, xff: []string{"203.0.113.7:70000"}, want: peer},
		{name: "a port with a sign", peer: peer, xff: []string{"203.0.113.7:+80"}, want: peer},
		{name: "an empty port", peer: peer, xff: []string{"203.0.113.7:"}, want: peer},
		{name: "brackets unclosed", peer: peer, xff: []string{"[2001:db8::7"}, want: peer},
		{name: "junk after the brackets", peer: peer, xff: []string{"[2001:db8::7]x"}, want: peer},
		{name: "a host name", peer: peer, xff: []string{"client.example"}, want: peer},
		{name: "Forwarded is not read for X-Forwarded-For", peer: peer, xff: []string{"203.0.113.7"}, fwd: []string{"for=1.1.1.1"}, want: "203.0.113.7:0"},
		{name: "nor when X-Forwarded-For is absent", peer: peer, fwd: []string{"for=1.1.1.1"}, want: peer},
	}
	cases = append(cases, forwardedCases(peer)...)
	for _, tc := range cases {
		h := http.Header{}
		for _, v := range tc.xff {
			h.Add("X-Forwarded-For", v)
		}
		for _, v := range tc.fwd {
			h.Add("Forwarded", v)
		}
		res := Resolver{Proxies: proxies, Header: tc.header}
		if got := res.Client(netip.MustParseAddrPort(tc.peer), h); got.String() != tc.want {
			t.Errorf("%s: Client(%s, %v) = %s, want %s", tc.name, tc.peer, h, got, tc.want)
		}
	}
}

// forwardedCases are RFC 7239 headers from the trusted peer.
func forwardedCases(peer string) []clientCase {
	c := func(name string, want string, lines ...string) clientCase {
		return clientCase{name: "Forwarded: " + name, header: Forwarded, peer: peer, fwd: lines, want: want}
	}
	return []clientCase{
		c("one proxy", "203.0.113.7:0", "for=203.0.113.7"),
		c("quoted IPv6 with a port and more parameters", "[2001:db8::7]:4711", `for="[2001:db8::7]:4711";proto=https;by=10.0.0.1`),
		c("parameter names in any case", "203.0.113.7:0", "For=203.0.113.7;PROTO=http"),
		c("a chain", "203.0.113.7:0", "for=1.1.1.1, for=203.0.113.7, for=10.0.0.2"),
		c("several lines", "203.0.113.7:0", "for=1.1.1.1", "for=203.0.113.7;proto=https"),
		c("obfuscated by the proxy", peer, "for=203.0.113.7, for=_hidden"),
		c("obfuscated further in", "10.0.0.2:0", "for=203.0.113.7, for=_hidden, for=10.0.0.2"),
		c("unknown", peer, "for=unknown"),
		c("an obfuscated port", "203.0.113.7:0", `for="203.0.113.7:_p1"`),
		c("an element without for", peer, "for=203.0.113.7, proto=https"),
		c("a client's open quote on its own line", "203.0.113.7:0", `for="1.1.1.1`, "for=203.0.113.7"),
		c("a client's open quote swallowing the proxy's element", peer, `for="x, for=203.0.113.7`),
		c("a quote closed inside the proxy's element", peer, `for=1.1.1.1;x=", for="[2001:db8::7]"`),
		c("for twice in one element", peer, "for=1.1.1.1;for=203.0.113.7"),
		c("unquoted IPv6 (not RFC 7239, but sent)", "[2001:db8::7]:0", "for=[2001:db8::7]"),
		c("an escape in a quoted string", "203.0.113.7:0", `for="203.0.113.\7"`),
		c("a comma in a quoted string", peer, `for="1.1.1.1,203.0.113.7"`),
		c("junk after a quoted string", peer, `for="203.0.113.7"x`),
		c("an empty value", peer, "for="),
		c("a pair without a value", peer, "for"),
		c("a bad parameter name", peer, "f(r=1.1.1.1;for=203.0.113.7"),
		c("empty elements and pairs", "203.0.113.7:0", " , for=203.0.113.7;;proto=http ,"),
		c("X-Forwarded-For is not read for Forwarded", peer),
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	var seen string
	next := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = r.RemoteAddr })
	res := Resolver{Proxies: mustProxies(t, "10.0.0.0/8")}
	h := res.Handler(next)
	for _, tc := range []struct{ peer, xff, want string }{
		{"10.0.0.1:5000", "203.0.113.7", "203.0.113.7:0"},
		{"10.0.0.1:5000", "[2001:db8::7]:4711", "[2001:db8::7]:4711"},
		{"10.0.0.1:5000", "", "10.0.0.1:5000"},
		{"198.51.100.9:5000", "203.0.113.7", "198.51.100.9:5000"},
		{"not an address", "203.0.113.7", "not an address"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.peer
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if seen != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: handler saw %s, want %s", tc.peer, tc.xff, seen, tc.want)
		}
		if r.RemoteAddr != tc.peer {
			t.Errorf("the caller's request was modified: %s", r.RemoteAddr)
		}
	}
	// Trusting nobody: today's behaviour, headers never read.
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.1:5000"
	r.Header.Set("X-Forwarded-For", "203.0.113.7")
	Resolver{}.Handler(next).ServeHTTP(httptest.NewRecorder(), r)
	if seen != "10.0.0.1:5000" {
		t.Fatalf("no trusted proxies: handler saw %s", seen)
	}
}

// FuzzClient: no header panics the parser, and what a client writes in
// front of the proxies' entries (its own header line, which a proxy passes
// on before the one it adds) never changes the client address found in
// them.
func FuzzClient(f *testing.F) {
	f.Add(false, "1.1.1.1", "203.0.113.7, 10.0.0.2")
	f.Add(false, "unknown, [2001:db8::1]:80", "2001:db8::7, unknown")
	f.Add(true, `for="x`, `for="[2001:db8::7]:4711";proto=https, for=10.0.0.2`)
	f.Add(true, "for=_hidden;by=1.2.3.4", `for=203.0.113.7, for="_x"`)
	proxies, _ := ParseProxies("10.0.0.0/8", "2001:db8:ffff::/48")
	peer := netip.MustParseAddrPort("10.0.0.1:5000")
	f.Fuzz(func(t *testing.T, forwarded bool, spoof, line string) {
		res := Resolver{Proxies: proxies}
		name := "X-Forwarded-For"
		if forwarded {
			res.Header, name = Forwarded, "Forwarded"
		}
		honest := res.Client(peer, http.Header{name: {line}})
		if !honest.IsValid() || honest.Addr().Is4In6() || honest.Addr().Zone() != "" {
			t.Fatalf("%s: %q gives %v", name, line, honest)
		}
		if proxies.Trusts(honest.Addr()) {
			return // the walk did not reach the client
		}
		if got := res.Client(peer, http.Header{name: {spoof, line}}); got != honest {
			t.Fatalf("%s: %q in front of %q turns %v into %v", name, spoof, line, honest, got)
		}
		untrusted := netip.MustParseAddrPort("198.51.100.9:1")
		if got := res.Client(untrusted, http.Header{name: {line}}); got != untrusted {
			t.Fatalf("an untrusted peer's %s %q was believed: %v", name, line, got)
		}
	})
}
