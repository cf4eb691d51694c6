package node

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/switchboard-io/switchboard/client"
	"github.com/switchboard-io/switchboard/cluster"
	"github.com/switchboard-io/switchboard/internal/config"
	"github.com/switchboard-io/switchboard/internal/freeport"
	"github.com/switchboard-io/switchboard/internal/realip"
	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

// shutdown stops n when the test ends.
func shutdown(t *testing.T, n *Node) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	})
}

// addresses reports the handshake address of each socket connecting to n.
func addresses(n *Node) <-chan string {
	ch := make(chan string, 16)
	n.SocketIO().OnConnection(func(s *socketio.Socket) { ch <- s.Handshake().Address })
	return ch
}

func nextAddress(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no socket connected")
		return ""
	}
}

// connectAs connects a Go client to n with opts and returns the handshake
// address n saw (from seen, see addresses); the client closes when the
// test ends.
func connectAs(t *testing.T, n *Node, seen <-chan string, opts *client.Options) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts.NoReconnection = true
	c, err := client.Dial(ctx, "http://"+n.Addr().String(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return nextAddress(t, seen)
}

// handshakeVia makes a polling handshake on n as a proxy would forward it,
// with X-Forwarded-For xff (none if empty), and returns the status.
func handshakeVia(t *testing.T, n *Node, xff string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+n.Addr().String()+"/socket.io/?EIO=4&transport=polling", nil)
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return handshakeAnswer(t, n, resp)
}

// handshakeAnswer returns the status of a handshake's response, checks a
// refusal's body, and closes an open session (shutting down, a node would
// wait for an abandoned one).
func handshakeAnswer(t *testing.T, n *Node, resp *http.Response) int {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch resp.StatusCode {
	case 403:
		if string(body) != `{"code":4,"message":"too many handshakes"}` {
			t.Fatalf("refusal %q", body)
		}
	case 200:
		_, rest, _ := strings.Cut(string(body), `"sid":"`)
		sid, _, _ := strings.Cut(rest, `"`)
		url := "http://" + n.Addr().String() + "/socket.io/?EIO=4&transport=polling&sid=" + sid
		if code, _ := post(t, url, "text/plain", "1"); code != 200 {
			t.Fatalf("closing session %q: %d", sid, code)
		}
	}
	return resp.StatusCode
}

// A --handshake-rate this low gives each client address one handshake for
// the length of any test (a burst of 1, the next token in 100 s).
const oneHandshake = "0.01"

// TestClientAddressBehindProxy: with the test as a trusted proxy, the
// handshake address and the handshake rate limit are the forwarded
// client's; a client's own entries in front of the proxy's count for
// nothing.
func TestClientAddressBehindProxy(t *testing.T) {
	t.Parallel()
	n := startNode(t, "--trusted-proxies", "127.0.0.1", "--handshake-rate", oneHandshake)
	shutdown(t, n)
	xff := http.Header{"X-Forwarded-For": {"198.51.100.1, 203.0.113.5"}}
	if a := connectAs(t, n, addresses(n), &client.Options{Headers: xff}); a != "203.0.113.5" {
		t.Fatalf("handshake address %s, want the forwarded client's 203.0.113.5", a)
	}
	steps := []struct {
		xff  string
		want int
	}{
		{"203.0.113.6", 200},
		{"203.0.113.6", 403},               // its one handshake is spent
		{"203.0.113.7", 200},               // another client behind the same proxy
		{"203.0.113.99, 203.0.113.6", 403}, // a spoof in front changes nothing
		{"203.0.113.5", 403},               // the Socket.IO client's, spent
		{"", 200},                          // the proxy's own request
		{"2001:db8::6, 2001:db8::7", 200},  // IPv6
		{"[2001:db8::6]:4711, [2001:db8::7]:1", 403},
	}
	for _, s := range steps {
		if got := handshakeVia(t, n, s.xff); got != s.want {
			t.Errorf("X-Forwarded-For %q: %d, want %d", s.xff, got, s.want)
		}
	}
}

// TestForwardedHeadersFromUntrustedPeer: a peer outside --trusted-proxies
// cannot choose its address with a header.
func TestForwardedHeadersFromUntrustedPeer(t *testing.T) {
	t.Parallel()
	n := startNode(t, "--trusted-proxies", "10.0.0.0/8", "--handshake-rate", oneHandshake)
	shutdown(t, n)
	xff := http.Header{"X-Forwarded-For": {"203.0.113.5"}}
	if a := connectAs(t, n, addresses(n), &client.Options{Headers: xff}); a != "127.0.0.1" {
		t.Fatalf("handshake address %s, want the peer's 127.0.0.1", a)
	}
	if got := handshakeVia(t, n, "203.0.113.6"); got != 403 {
		t.Fatalf("a new X-Forwarded-For got the untrusted peer another handshake: %d", got)
	}
}

// proxyHeader is the v2 header of a connection from src, as HAProxy's
// send-proxy-v2 sends it (src "": the LOCAL command of health checks).
func proxyHeader(t *testing.T, src string) []byte {
	t.Helper()
	h := &realip.ProxyHeader{Local: src == ""}
	if src != "" {
		h.Source, h.Destination = netip.MustParseAddrPort(src), netip.MustParseAddrPort("127.0.0.1:3000")
		if h.Source.Addr().Is6() {
			h.Destination = netip.MustParseAddrPort("[::1]:3000")
		}
	}
	b, err := h.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// proxiedHandshake dials n from the local address from, sends header and a
// polling handshake, and returns the status (0: the connection was closed
// without an answer).
func proxiedHandshake(t *testing.T, n *Node, from string, header []byte) int {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	conn, err := d.Dial("tcp", n.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	if _, err := conn.Write(append(header, req...)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0
	}
	return handshakeAnswer(t, n, resp)
}

// TestProxyProtocol: behind a trusted proxy speaking the PROXY protocol,
// the client is the header's source, for the handshake's address and for
// the rate limit; health checks (LOCAL) and direct requests are the
// peer's; an untrusted peer's header closes its connection.
func TestProxyProtocol(t *testing.T) {
	t.Parallel()
	n := startNode(t, "--proxy-protocol", "--trusted-proxies", "127.0.0.1", "--handshake-rate", oneHandshake)
	shutdown(t, n)
	// Go clients whose connections start as HAProxy's do: polling then the
	// WebSocket upgrade, and WebSocket only (read through the engine's
	// poller, on the connection's descriptor past the header).
	seen := addresses(n)
	for _, c := range []struct {
		src        string
		transports []string
	}{{"203.0.113.20:40000", nil}, {"203.0.113.26:40000", []string{"websocket"}}} {
		dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				_, err = conn.Write(proxyHeader(t, c.src))
			}
			return conn, err
		}
		hc := &http.Client{Transport: &http.Transport{DialContext: dial}}
		defer hc.CloseIdleConnections()
		opts := &client.Options{HTTPClient: hc, Dialer: &ws.Dialer{NetDial: dial}, Transports: c.transports}
		if a, want := connectAs(t, n, seen, opts), netip.MustParseAddrPort(c.src).Addr().String(); a != want {
			t.Fatalf("%v: handshake address %s, want the PROXY header's %s", c.transports, a, want)
		}
	}
	v1 := []byte("PROXY TCP4 203.0.113.23 127.0.0.1 40000 3000\r\n")
	steps := []struct {
		name, from string
		header     []byte
		want       int
	}{
		{"a client", "127.0.0.1", proxyHeader(t, "203.0.113.21:40000"), 200},
		{"the same client again", "127.0.0.1", proxyHeader(t, "203.0.113.21:40001"), 403},
		{"the official client's address", "127.0.0.1", proxyHeader(t, "203.0.113.20:40002"), 403},
		{"another client", "127.0.0.1", proxyHeader(t, "[2001:db8::22]:40000"), 200},
		{"v1", "127.0.0.1", v1, 200},
		{"a health check (LOCAL): the proxy's own address", "127.0.0.1", proxyHeader(t, ""), 200},
		{"the proxy without a header: its address, spent", "127.0.0.1", nil, 403},
		{"an untrusted peer with a header: closed", "127.0.0.2", proxyHeader(t, "203.0.113.24:1"), 0},
		{"an untrusted peer without: served", "127.0.0.2", nil, 200},
		{"a malformed header: closed", "127.0.0.1", []byte("PROXY TCP4 203.0.113.25\r\n"), 0},
	}
	for _, s := range steps {
		if got := proxiedHandshake(t, n, s.from, s.header); got != s.want {
			t.Errorf("%s: %d, want %d", s.name, got, s.want)
		}
	}
}

// TestTakeoverCarriesClientAddress: in stickiness-free mode, a session
// handshaken on node A through a proxy and taken over by node B (its
// WebSocket upgrade lands there) keeps the client's address, carried in
// the handoff: B's own request is the proxy's, with no header.
func TestTakeoverCarriesClientAddress(t *testing.T) {
	t.Parallel()
	reg := cluster.NewMemoryRegistry()
	a, b := startClusterNode(t, reg), startClusterNode(t, reg)
	seenA, seenB := addresses(a), addresses(b)
	_, body, sid := forwardedHandshake(t, a, "203.0.113.30")
	if sid == "" {
		t.Fatalf("handshake %q", body)
	}
	conn, err := dialWS("ws://" + b.Addr().String() + "/socket.io/?EIO=4&transport=websocket&sid=" + sid)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	for _, m := range []string{"2probe", "5", "40"} {
		if err := wsutil.WriteClientText(conn, []byte(m)); err != nil {
			t.Fatal(err)
		}
		if m == "2probe" {
			if got, err := wsutil.ReadServerText(conn); err != nil || string(got) != "3probe" {
				t.Fatalf("probe: %q %v", got, err)
			}
		}
	}
	if addr := nextAddress(t, seenB); addr != "203.0.113.30" {
		t.Fatalf("the node that took the session over saw %s, want the client's 203.0.113.30", addr)
	}
	select {
	case addr := <-seenA:
		t.Fatalf("the socket connected on the first node too (%s)", addr)
	default:
	}
}

// startClusterNode starts a stickiness-free node trusting loopback, with
// a takeover window long enough for any test, and the flags extra.
func startClusterNode(t *testing.T, reg cluster.Registry, extra ...string) *Node {
	t.Helper()
	internal := freeAddr(t)
	cfg, err := config.Parse(append([]string{"--listen", "127.0.0.1:0", "--internal-listen", internal,
		"--trusted-proxies", "127.0.0.0/8", "--drain-window", "0s", "--shutdown-grace", "5s"}, extra...),
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	router, err := cluster.New(cluster.Options{AdvertiseAddr: internal, Secret: []byte("s3cret"), Registry: reg, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := router.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	n := New(cfg, log, &Cluster{Router: router, TakeoverWindow: 10 * time.Second, Close: router.Close})
	if err := n.Start(); err != nil {
		_ = router.Close(context.Background())
		t.Fatal(err)
	}
	shutdown(t, n)
	return n
}

// freeAddr returns a loopback address free a moment ago (the internal
// listener's address must be advertised before it is opened).
func freeAddr(t *testing.T) string {
	t.Helper()
	return freeport.Addr(t)
}

// forwardedHandshake makes a polling handshake on n with X-Forwarded-For
// xff, as a proxy forwards it, and returns the status, the body and the
// session id (empty when refused). The session stays open.
func forwardedHandshake(t *testing.T, n *Node, xff string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+n.Addr().String()+"/socket.io/?EIO=4&transport=polling", nil)
	req.Header.Set("X-Forwarded-For", xff)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_, rest, _ := strings.Cut(string(body), `"sid":"`)
	sid, _, _ := strings.Cut(rest, `"`)
	return resp.StatusCode, string(body), sid
}

// TestMaxSessionsPerIP: behind a trusted proxy, --max-sessions-per-ip
// counts the open sessions of each forwarded client, and a closed session
// frees its place.
func TestMaxSessionsPerIP(t *testing.T) {
	t.Parallel()
	n := startNode(t, "--trusted-proxies", "127.0.0.1", "--max-sessions-per-ip", "2")
	shutdown(t, n)
	base := "http://" + n.Addr().String() + "/socket.io/?EIO=4&transport=polling"
	open := func(xff string) (int, string) {
		t.Helper()
		code, body, sid := forwardedHandshake(t, n, xff)
		if code == 403 && body != `{"code":4,"message":"too many sessions from this address"}` {
			t.Fatalf("refusal %q", body)
		}
		return code, sid
	}
	var sids []string
	for i, s := range []struct {
		xff  string
		want int
	}{
		{"203.0.113.6", 200},
		{"203.0.113.6", 200},
		{"203.0.113.6", 403},
		{"198.51.100.1, 203.0.113.6", 403}, // a spoof in front changes nothing
		{"203.0.113.7", 200},
	} {
		code, sid := open(s.xff)
		if code != s.want {
			t.Fatalf("step %d, X-Forwarded-For %q: %d, want %d", i, s.xff, code, s.want)
		}
		if code == 200 {
			sids = append(sids, sid)
		}
	}
	closeSession := func(sid string) {
		if code, _ := post(t, base+"&sid="+sid, "text/plain", "1"); code != 200 {
			t.Fatalf("closing session %q: %d", sid, code)
		}
	}
	closeSession(sids[0])
	socketiotest.Eventually(t, func() error {
		if n.io.Engine().Conn(sids[0]) != nil {
			return errors.New("the closed session is still open")
		}
		return nil
	}, 10*time.Second)
	code, sid := open("203.0.113.6")
	if code != 200 {
		t.Fatalf("after a session closed: %d, want 200", code)
	}
	for _, s := range append(sids[1:], sid) {
		closeSession(s)
	}
}

// TestTakeoverEIO3: a v2 client's session (Engine.IO v3) handshaken on one
// node and upgraded on another, as the v2 client upgrades (at once, before
// it polls), stays a v3 session there: the implicit connection to / comes
// over the WebSocket and the client's ping gets its pong (a v4 session
// would take a client ping for the wrong heartbeat direction and close).
func TestTakeoverEIO3(t *testing.T) {
	t.Parallel()
	reg := cluster.NewMemoryRegistry()
	a, b := startClusterNode(t, reg, "--allow-eio3"), startClusterNode(t, reg, "--allow-eio3")
	code, body := get(t, "http://"+a.Addr().String()+"/socket.io/?EIO=3&transport=polling")
	_, rest, _ := strings.Cut(body, `"sid":"`)
	sid, _, _ := strings.Cut(rest, `"`)
	if code != 200 || !strings.Contains(body, ":0{") {
		t.Fatalf("v3 handshake: %d %q", code, body)
	}
	conn, err := dialWS("ws://" + b.Addr().String() + "/socket.io/?EIO=3&transport=websocket&sid=" + sid)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	for _, step := range []struct{ send, want string }{{"2probe", "3probe"}, {"5", "40"}, {"2", "3"}} {
		if err := wsutil.WriteClientText(conn, []byte(step.send)); err != nil {
			t.Fatal(err)
		}
		for {
			got, err := wsutil.ReadServerText(conn)
			if err != nil {
				t.Fatalf("after %q: %v (want %q)", step.send, err, step.want)
			}
			if string(got) == step.want {
				break
			}
		}
	}
}
