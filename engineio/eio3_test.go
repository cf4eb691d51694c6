package engineio

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-io/switchboard/eio"
)

var eio3Opts = Options{AllowEIO3: true}

// Without AllowEIO3, a v3 handshake (or one without EIO) is refused as
// Node refuses it.
func TestEIO3Refused(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	for _, q := range []string{"EIO=3&transport=polling", "transport=polling", "EIO=5&transport=polling"} {
		expectError(t, ts.request(http.MethodGet, q, ""), http.StatusBadRequest, CodeUnsupportedVersion,
			"Unsupported protocol version")
	}
	if _, err := ts.wsDial("EIO=3&transport=websocket", ws.Dialer{}); err == nil {
		t.Fatal("v3 WebSocket handshake accepted")
	}
}

var open3RE = regexp.MustCompile(`^(\d+):(0\{"sid":"([A-Za-z0-9_-]{20})","upgrades":\["websocket"\],` +
	`"pingInterval":\d+,"pingTimeout":\d+,"maxPayload":1000000\})$`)

// handshake3 opens a v3 polling session (extra query appended) and returns
// its id.
func (ts *testServer) handshake3(extra string) string {
	ts.t.Helper()
	res := ts.request(http.MethodGet, "EIO=3&transport=polling"+extra, "")
	m := open3RE.FindStringSubmatch(res.body)
	if res.status != http.StatusOK || m == nil {
		ts.t.Fatalf("v3 handshake: %d %q", res.status, res.body)
	}
	if n, _ := strconv.Atoi(m[1]); n != len(m[2]) {
		ts.t.Fatalf("length prefix %s for %d units", m[1], len(m[2]))
	}
	if ct := res.header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		ts.t.Fatalf("Content-Type %q", ct)
	}
	if c := ts.conn(m[3]); c.Protocol() != 3 {
		ts.t.Fatalf("protocol %d", c.Protocol())
	}
	return m[3]
}

// closedWith waits for session sid to close and checks its reason.
func (ts *testServer) closedWith(sid, want string) {
	ts.t.Helper()
	if reason := ts.h.waitClose(ts.t, sid); reason != want {
		ts.t.Fatalf("closed with %q, want %q", reason, want)
	}
}

// newEIO3Server starts a test server accepting v3 clients.
func newEIO3Server(t *testing.T) *testServer {
	t.Helper()
	opts := eio3Opts
	return newTestServer(t, &opts)
}

func poll3(sid string) string { return "EIO=3&transport=polling&sid=" + sid }

// post3 posts a v3 payload and expects "ok".
func (ts *testServer) post3(sid, payload, contentType string) {
	ts.t.Helper()
	res := ts.request(http.MethodPost, poll3(sid), payload, "Content-Type", contentType)
	if res.status != http.StatusOK || res.body != "ok" {
		ts.t.Fatalf("POST %q: %d %q", payload, res.status, res.body)
	}
}

// get3 polls and checks the body and its content type.
func (ts *testServer) get3(sid, want, contentType string) {
	ts.t.Helper()
	res := ts.request(http.MethodGet, poll3(sid), "")
	if res.status != http.StatusOK || res.body != want || res.header.Get("Content-Type") != contentType {
		ts.t.Fatalf("GET: %d %q (%s), want %q (%s)", res.status, res.body, res.header.Get("Content-Type"),
			want, contentType)
	}
}

const textPlain, octetStream = "text/plain; charset=UTF-8", "application/octet-stream"

// Text payloads both ways, with UTF-16 lengths; binary as b4<base64> for a
// client that asked for base64.
func TestEIO3PollingText(t *testing.T) {
	t.Parallel()
	ts := newEIO3Server(t)
	sid := ts.handshake3("&b64=1")
	ts.post3(sid, "6:4hello3:4😀10:b4AQIDBA==", "text/plain;charset=UTF-8")
	waitFor(t, "three messages", func() bool { return len(ts.h.received(sid)) == 3 })
	if got := ts.h.received(sid); got[0] != "hello" || got[1] != "😀" || got[2] != "bAQIDBA==" {
		t.Fatalf("received %q", got)
	}
	ts.get3(sid, "6:4hello3:4😀10:b4AQIDBA==", textPlain) // the echoes
	// A malformed payload closes the session (parse error).
	res := ts.request(http.MethodPost, poll3(sid), "5:4a", "Content-Type", "text/plain")
	if res.status != http.StatusBadRequest {
		t.Fatalf("bad payload: %d", res.status)
	}
	ts.closedWith(sid, ReasonParseError)
}

// A client that takes binary (no b64) gets the binary payload format when
// a binary packet is queued, and may post it (application/octet-stream).
func TestEIO3PollingBinary(t *testing.T) {
	t.Parallel()
	ts := newEIO3Server(t)
	sid := ts.handshake3("")
	body := string([]byte{0, 4, 0xff, '4', 0xe2, 0x82, 0xac, 1, 5, 0xff, 4, 1, 2, 3, 4})
	ts.post3(sid, body, octetStream)
	waitFor(t, "two messages", func() bool { return len(ts.h.received(sid)) == 2 })
	if got := ts.h.received(sid); got[0] != "€" || got[1] != "bAQIDBA==" {
		t.Fatalf("received %q", got)
	}
	ts.get3(sid, body, octetStream)
	// Without a binary packet the payload is text.
	ts.post3(sid, "2:4€", "text/plain;charset=UTF-8")
	ts.get3(sid, "2:4€", textPlain)
}

// v3's heartbeat: the client pings, the server answers "3" without data.
func TestEIO3HeartbeatPolling(t *testing.T) {
	t.Parallel()
	ts := newEIO3Server(t)
	sid := ts.handshake3("&b64=1")
	ts.post3(sid, "1:2", "text/plain")
	ts.get3(sid, "1:3", textPlain)
	// A pong from a v3 client: "invalid heartbeat direction".
	ts.post3(sid, "1:3", "text/plain")
	ts.closedWith(sid, ReasonTransportError)
	ts.gone3(sid)
}

func (ts *testServer) gone3(sid string) {
	ts.t.Helper()
	expectError(ts.t, ts.request(http.MethodGet, poll3(sid), ""), http.StatusBadRequest, CodeUnknownSID,
		"Session ID unknown")
}

// Without pings a v3 session ends after pingInterval+pingTimeout (the
// server never pings it); each ping pushes the end back.
func TestEIO3HeartbeatTimeout(t *testing.T) {
	t.Parallel()
	opts := Options{AllowEIO3: true, PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond}
	ts := newTestServer(t, &opts)
	sid := ts.handshake3("&b64=1")
	ts.closedWith(sid, ReasonPingTimeout)

	// Generous margins: pings every 250 ms against a 2 s timeout.
	opts = Options{AllowEIO3: true, PingInterval: time.Second, PingTimeout: time.Second}
	ts = newTestServer(t, &opts)
	sid = ts.handshake3("&b64=1")
	for range 12 { // 3 s in all, past the timeout of a session never pinged
		ts.post3(sid, "1:2", "text/plain")
		ts.get3(sid, "1:3", textPlain)
		time.Sleep(250 * time.Millisecond)
	}
	if reason, closed := ts.h.closed(sid); closed {
		t.Fatalf("a pinging session closed: %s", reason)
	}
}

// wsOpen3 opens a v3 WebSocket-only session (extra query appended) and
// returns the client and the session id.
func (ts *testServer) wsOpen3(extra string) (*wsClient, string) {
	ts.t.Helper()
	w, err := ts.wsDial("EIO=3&transport=websocket"+extra, ws.Dialer{})
	if err != nil {
		ts.t.Fatal(err)
	}
	m := openRE.FindStringSubmatch(w.readText())
	if m == nil || m[2] != "[]" {
		ts.t.Fatalf("open packet %v", m)
	}
	return w, m[1]
}

// expectBinary reads the next message, which must be the binary want.
func (c *wsClient) expectBinary(want string) {
	c.t.Helper()
	if op, p := c.message(); op != ws.OpBinary || string(p) != want {
		c.t.Fatalf("got %v % x, want binary % x", op, p, want)
	}
}

// pendingGet3 starts a GET of v3 session sid and waits until it is pending.
func (ts *testServer) pendingGet3(sid string) <-chan *response {
	ts.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	ts.t.Cleanup(cancel)
	pending := make(chan *response, 1)
	go func() {
		res, _ := ts.do(ctx, http.MethodGet, poll3(sid), nil)
		pending <- res
	}()
	waitGetPending(ts.t, ts.conn(sid))
	return pending
}

// A v3 WebSocket: binary frames carry the type byte, pings are answered.
func TestEIO3WebSocket(t *testing.T) {
	t.Parallel()
	ts := newEIO3Server(t)
	w, sid := ts.wsOpen3("")
	w.write(ws.OpBinary, []byte{4, 1, 2, 3})
	w.expectBinary("\x04\x01\x02\x03")
	w.writeText("b4AQID") // a base64 binary message is accepted too
	w.expectBinary("\x04\x01\x02\x03")
	w.writeText("2")
	w.expectText("3")
	w.write(ws.OpBinary, []byte{2, 1}) // only messages are binary
	ts.closedWith(sid, ReasonParseError)
}

// A v3 WebSocket client that asked for base64 gets binary as "b4<base64>".
func TestEIO3WebSocketBase64(t *testing.T) {
	t.Parallel()
	ts := newEIO3Server(t)
	w, _ := ts.wsOpen3("&b64=1")
	w.write(ws.OpBinary, []byte{4, 1, 2, 3})
	w.expectText("b4AQID")
	w.writeText("3") // a pong from a v3 client
	w.expectClose()
}

// The upgrade of a v3 polling session: probe, the pending GET released
// with a v3 noop, then v3 frames on the WebSocket.
func TestEIO3Upgrade(t *testing.T) {
	t.Parallel()
	opts := eio3Opts
	opts.upgradeCheck = 10 * time.Millisecond
	ts := newTestServer(t, &opts)
	sid := ts.handshake3("")
	pending := ts.pendingGet3(sid)
	w, err := ts.wsDial("EIO=3&transport=websocket&sid="+sid, ws.Dialer{})
	if err != nil {
		t.Fatal(err)
	}
	w.writeText("2probe")
	w.expectText("3probe")
	if res := awaitResponse(t, pending); res.body != "1:6" {
		t.Fatalf("pending GET got %q, want 1:6", res.body)
	}
	w.writeText("5")
	waitFor(t, "the upgrade", func() bool { return ts.conn(sid).Transport() == TransportWebSocket })
	if err := ts.conn(sid).Send(eio.NewBinaryMessage([]byte{9})); err != nil {
		t.Fatal(err)
	}
	w.expectBinary("\x04\x09")
}

// A server close answers the pending GET with a v3 close packet.
func TestEIO3Close(t *testing.T) {
	t.Parallel()
	ts := newEIO3Server(t)
	sid := ts.handshake3("")
	pending := ts.pendingGet3(sid)
	ts.conn(sid).Close()
	if res := awaitResponse(t, pending); res.body != "1:1" {
		t.Fatalf("GET got %q, want 1:1", res.body)
	}
	// A v4 session on the same server is untouched by the option.
	if v4 := ts.handshake(); ts.conn(v4).Protocol() != 4 {
		t.Fatal("a v4 session is not v4")
	}
}
