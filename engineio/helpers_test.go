package engineio

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"

	"github.com/switchboard-io/switchboard/eio"
)

// waitTimeout bounds every wait of the tests. It is an upper bound for
// something expected to happen much sooner, never a measure of speed.
const waitTimeout = 5 * time.Second

// testHandler echoes every message back, like Node's engine.io echo server,
// and records opens, messages and closes.
type testHandler struct {
	// onOpen and onMessage, when set, run instead of the defaults (no-op,
	// echo). They are set before the server starts.
	onOpen    func(c *Conn)
	onMessage func(c *Conn, data []byte, binary bool)

	opens chan *Conn

	mu       sync.Mutex
	closes   map[string]chan string // sid → reason (capacity 1)
	messages map[string][]string    // sid → messages received, binary as "b<base64>"
	doubles  []string               // sids closed twice
}

func newTestHandler() *testHandler {
	return &testHandler{opens: make(chan *Conn, 256), closes: map[string]chan string{},
		messages: map[string][]string{}}
}

func (h *testHandler) OnOpen(c *Conn) {
	h.opens <- c
	if h.onOpen != nil {
		h.onOpen(c)
	}
}

func (h *testHandler) OnMessage(c *Conn, data []byte, binary bool) {
	rec := string(data)
	if binary {
		rec = "b" + base64.StdEncoding.EncodeToString(data)
	}
	h.mu.Lock()
	h.messages[c.ID()] = append(h.messages[c.ID()], rec)
	h.mu.Unlock()
	if h.onMessage != nil {
		h.onMessage(c, data, binary)
		return
	}
	if binary {
		_ = c.Send(eio.NewBinaryMessage(data))
	} else {
		_ = c.Send(eio.NewMessage(data))
	}
}

func (h *testHandler) OnClose(c *Conn, reason string) {
	select {
	case h.closeCh(c.ID()) <- reason:
	default:
		h.mu.Lock()
		h.doubles = append(h.doubles, c.ID())
		h.mu.Unlock()
	}
}

func (h *testHandler) closeCh(sid string) chan string {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch, ok := h.closes[sid]
	if !ok {
		ch = make(chan string, 1)
		h.closes[sid] = ch
	}
	return ch
}

func (h *testHandler) received(sid string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.messages[sid]...)
}

// waitClose waits for the close of session sid and returns its reason.
func (h *testHandler) waitClose(t *testing.T, sid string) string {
	t.Helper()
	select {
	case reason := <-h.closeCh(sid):
		h.closeCh(sid) <- reason // keep it for later checks
		return reason
	case <-time.After(waitTimeout):
		t.Fatalf("session %s: no close within %v", sid, waitTimeout)
		return ""
	}
}

// closed reports whether session sid was closed, and why.
func (h *testHandler) closed(sid string) (string, bool) {
	select {
	case reason := <-h.closeCh(sid):
		h.closeCh(sid) <- reason
		return reason, true
	default:
		return "", false
	}
}

// waitOpen returns the next opened connection.
func (h *testHandler) waitOpen(t *testing.T) *Conn {
	t.Helper()
	select {
	case c := <-h.opens:
		return c
	case <-time.After(waitTimeout):
		t.Fatal("no connection opened")
		return nil
	}
}

// testServer is an Engine.IO server mounted at /engine.io/ on a loopback
// httptest server, with a dedicated HTTP client.
type testServer struct {
	t      *testing.T
	srv    *Server
	h      *testHandler
	hs     *httptest.Server
	url    string // http://127.0.0.1:port/engine.io/
	client *http.Client
}

// newTestServer starts a server; the handler is newTestHandler's unless h
// is given. The server is shut down when the test ends.
func newTestServer(t *testing.T, opts *Options, h ...*testHandler) *testServer {
	t.Helper()
	return startTestServer(t, opts, nil, h...)
}

// startTestServer is newTestServer with the listener of the HTTP server
// given by listen (nil: httptest's own).
func startTestServer(t *testing.T, opts *Options, listen func(net.Listener, http.Handler) net.Listener, h ...*testHandler) *testServer {
	t.Helper()
	th := newTestHandler()
	if len(h) > 0 {
		th = h[0]
	}
	srv := NewServer(th, opts)
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	hs := httptest.NewUnstartedServer(mux)
	if listen != nil {
		hs.Listener = listen(hs.Listener, mux)
	}
	hs.Start()
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16}
	ts := &testServer{t: t, srv: srv, h: th, hs: hs, url: hs.URL + "/engine.io/",
		client: &http.Client{Transport: tr}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, ErrServerClosed) {
			t.Errorf("Shutdown: %v", err)
		}
		tr.CloseIdleConnections()
		hs.Close()
		th.mu.Lock()
		defer th.mu.Unlock()
		if len(th.doubles) > 0 {
			t.Errorf("OnClose called more than once for %v", th.doubles)
		}
	})
	return ts
}

// response is a complete HTTP response.
type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request to the engine path with the given query and returns the
// response. Headers are given as name, value pairs.
func (ts *testServer) do(ctx context.Context, method, query string, body io.Reader, hdr ...string) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, method, ts.url+"?"+query, body)
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := ts.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	return &response{status: res.StatusCode, header: res.Header, body: string(b)}, nil
}

// request is do that fails the test on a transport error.
func (ts *testServer) request(method, query, body string, hdr ...string) *response {
	ts.t.Helper()
	var r io.Reader
	if body != "" || method == http.MethodPost {
		r = strings.NewReader(body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	res, err := ts.do(ctx, method, query, r, hdr...)
	if err != nil {
		ts.t.Fatalf("%s ?%s: %v", method, query, err)
	}
	return res
}

func pollQuery(sid string) string { return "EIO=4&transport=polling&sid=" + sid }

// get polls session sid once.
func (ts *testServer) get(sid string) *response {
	ts.t.Helper()
	return ts.request(http.MethodGet, pollQuery(sid), "")
}

// post sends a payload to session sid and expects Node's "ok".
func (ts *testServer) post(sid, payload string) {
	ts.t.Helper()
	res := ts.request(http.MethodPost, pollQuery(sid), payload, "Content-Type", "text/plain;charset=UTF-8")
	if res.status != http.StatusOK || res.body != "ok" {
		ts.t.Fatalf("POST %q: %d %q, want 200 \"ok\"", payload, res.status, res.body)
	}
}

// getAsync starts a GET for session sid and returns its future response
// (nil on a transport error).
func (ts *testServer) getAsync(ctx context.Context, sid string) <-chan *response {
	ch := make(chan *response, 1)
	go func() {
		res, _ := ts.do(ctx, http.MethodGet, pollQuery(sid), nil)
		ch <- res
	}()
	return ch
}

func awaitResponse(t *testing.T, ch <-chan *response) *response {
	t.Helper()
	select {
	case res := <-ch:
		if res == nil {
			t.Fatal("request failed")
		}
		return res
	case <-time.After(waitTimeout):
		t.Fatal("no response")
		return nil
	}
}

var openRE = regexp.MustCompile(`^0\{"sid":"([A-Za-z0-9_-]{20})","upgrades":(\[[^\]]*\]),` +
	`"pingInterval":(\d+),"pingTimeout":(\d+),"maxPayload":(\d+)\}$`)

// handshake opens a polling session and returns its id.
func (ts *testServer) handshake() string {
	ts.t.Helper()
	res := ts.request(http.MethodGet, "EIO=4&transport=polling", "")
	m := openRE.FindStringSubmatch(res.body)
	if res.status != http.StatusOK || m == nil {
		ts.t.Fatalf("handshake: %d %q", res.status, res.body)
	}
	return m[1]
}

// conn returns the server's connection sid, failing if there is none.
func (ts *testServer) conn(sid string) *Conn {
	ts.t.Helper()
	c := ts.srv.Conn(sid)
	if c == nil {
		ts.t.Fatalf("no connection %s", sid)
	}
	return c
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// pendingGET opens a polling session and starts a GET on it, and returns
// the session's id and the GET's future response once the GET waits.
func (ts *testServer) pendingGET() (string, <-chan *response) {
	ts.t.Helper()
	sid := ts.handshake()
	pending := ts.getAsync(ts.t.Context(), sid)
	waitGetPending(ts.t, ts.conn(sid))
	return sid, pending
}

// waitGetPending waits until session sid has a GET waiting.
func waitGetPending(t *testing.T, c *Conn) {
	t.Helper()
	waitFor(t, "a pending GET", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.getActive
	})
}

// wsClient is the client end of a WebSocket, speaking raw frames.
type wsClient struct {
	t    *testing.T
	conn net.Conn
	r    io.Reader
	hs   ws.Handshake
}

// wsDial opens a WebSocket to the engine path with the given query.
func (ts *testServer) wsDial(query string, d ws.Dialer) (*wsClient, error) {
	d.Timeout = waitTimeout
	u := "ws" + strings.TrimPrefix(ts.url, "http") + "?" + query
	conn, br, hs, err := d.Dial(context.Background(), u)
	if err != nil {
		return nil, err
	}
	c := &wsClient{t: ts.t, conn: conn, r: conn, hs: hs}
	if br != nil {
		c.r = io.MultiReader(br, conn)
	}
	ts.t.Cleanup(func() { _ = conn.Close() })
	return c, nil
}

// wsOpen opens a WebSocket-only session, checks its open packet and returns
// the client and the session id.
func (ts *testServer) wsOpen() (*wsClient, string) {
	ts.t.Helper()
	c, err := ts.wsDial("EIO=4&transport=websocket", ws.Dialer{})
	if err != nil {
		ts.t.Fatalf("dial: %v", err)
	}
	m := openRE.FindStringSubmatch(c.readText())
	if m == nil || m[2] != "[]" {
		ts.t.Fatalf("bad open packet %v", m)
	}
	return c, m[1]
}

// frame reads the next frame, control frames included, decompressing a
// compressed data frame.
func (c *wsClient) frame() (ws.Header, []byte) {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	f, err := ws.ReadFrame(c.r)
	if err != nil {
		c.t.Fatalf("read frame: %v", err)
	}
	if f.Header.Masked {
		c.t.Fatal("server frame is masked")
	}
	if f.Header.Rsv != 0 {
		if f, err = wsflate.DecompressFrame(f); err != nil {
			c.t.Fatalf("decompress: %v", err)
		}
		f.Header.Rsv = ws.Rsv(true, false, false) // keep the bit for checks
	}
	return f.Header, f.Payload
}

// message reads the next data frame, failing on anything else.
func (c *wsClient) message() (ws.OpCode, []byte) {
	c.t.Helper()
	h, p := c.frame()
	if h.OpCode != ws.OpText && h.OpCode != ws.OpBinary {
		c.t.Fatalf("got %v frame %q, want a data frame", h.OpCode, p)
	}
	return h.OpCode, p
}

func (c *wsClient) readText() string {
	c.t.Helper()
	op, p := c.message()
	if op != ws.OpText {
		c.t.Fatalf("got binary frame %x, want text", p)
	}
	return string(p)
}

func (c *wsClient) expectText(want string) {
	c.t.Helper()
	if got := c.readText(); got != want {
		c.t.Fatalf("got frame %q, want %q", got, want)
	}
}

// expectClose reads until a close frame and returns its status code; a
// connection closed without one fails the test.
func (c *wsClient) expectClose() ws.StatusCode {
	c.t.Helper()
	for {
		h, p := c.frame()
		if h.OpCode == ws.OpClose {
			code, _ := ws.ParseCloseFrameData(p)
			return code
		}
	}
}

// expectEnd reads until the server ends the connection: a close frame or
// EOF. It fails if a data frame comes first.
func (c *wsClient) expectEnd() {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	f, err := ws.ReadFrame(c.r)
	if err == nil && f.Header.OpCode != ws.OpClose {
		c.t.Fatalf("got %v frame %q, want the end of the connection", f.Header.OpCode, f.Payload)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatal("the server did not end the connection")
	}
}

// write sends one masked frame.
func (c *wsClient) write(op ws.OpCode, p []byte) {
	c.t.Helper()
	c.writeFrame(ws.MaskFrame(ws.NewFrame(op, true, p)))
}

func (c *wsClient) writeText(s string) { c.t.Helper(); c.write(ws.OpText, []byte(s)) }

func (c *wsClient) writeFrame(f ws.Frame) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(waitTimeout))
	if err := ws.WriteFrame(c.conn, f); err != nil {
		c.t.Fatalf("write frame: %v", err)
	}
}

// deflateDialer offers permessage-deflate without context takeover.
func deflateDialer() ws.Dialer {
	return ws.Dialer{Extensions: []httphead.Option{wsflate.DefaultParameters.Option()}}
}

// transports of the matrix: every behaviour that does not depend on the
// transport is checked over each.
var transports = []string{"polling", "websocket", "upgrade"}

// eioClient is a minimal Engine.IO v4 client over one transport, speaking
// packets in their text form (binary messages as "b<base64>").
type eioClient struct {
	t       *testing.T
	ts      *testServer
	sid     string
	ws      *wsClient // nil on polling
	pending []string  // polling: packets received and not yet returned
}

// dial opens a session over transport ("upgrade": polling, then upgraded to
// WebSocket).
func (ts *testServer) dial(transport string) *eioClient {
	ts.t.Helper()
	c := &eioClient{t: ts.t, ts: ts}
	switch transport {
	case "polling":
		c.sid = ts.handshake()
	case "websocket":
		c.ws, c.sid = ts.wsOpen()
	case "upgrade":
		c.sid = ts.handshake()
		c.ws = ts.upgrade(c.sid)
	default:
		ts.t.Fatalf("unknown transport %q", transport)
	}
	return c
}

// probe opens a WebSocket for the polling session sid and exchanges the
// probe on it; the session is upgrading.
func (ts *testServer) probe(sid string) *wsClient {
	ts.t.Helper()
	w, err := ts.wsDial("EIO=4&transport=websocket&sid="+sid, ws.Dialer{})
	if err != nil {
		ts.t.Fatalf("upgrade dial: %v", err)
	}
	w.writeText("2probe")
	w.expectText("3probe")
	return w
}

// upgrade runs the polling → WebSocket upgrade of session sid.
func (ts *testServer) upgrade(sid string) *wsClient {
	ts.t.Helper()
	w := ts.probe(sid)
	w.writeText("5")
	waitFor(ts.t, "the upgrade", func() bool {
		c := ts.srv.Conn(sid)
		return c == nil || c.Transport() == TransportWebSocket
	})
	return w
}

// send sends packets (one POST on polling, one frame each on WebSocket).
func (c *eioClient) send(packets ...string) {
	c.t.Helper()
	if c.ws == nil {
		c.ts.post(c.sid, strings.Join(packets, "\x1e"))
		return
	}
	for _, p := range packets {
		if b, ok := strings.CutPrefix(p, "b"); ok {
			data, err := base64.StdEncoding.DecodeString(b)
			if err != nil {
				c.t.Fatalf("bad test packet %q", p)
			}
			c.ws.write(ws.OpBinary, data)
			continue
		}
		c.ws.writeText(p)
	}
}

// recv returns the next packet from the server.
func (c *eioClient) recv() string {
	c.t.Helper()
	if c.ws != nil {
		op, p := c.ws.message()
		if op == ws.OpBinary {
			return "b" + base64.StdEncoding.EncodeToString(p)
		}
		return string(p)
	}
	for len(c.pending) == 0 {
		res := c.ts.get(c.sid)
		if res.status != http.StatusOK {
			c.t.Fatalf("GET: %d %q", res.status, res.body)
		}
		c.pending = strings.Split(res.body, "\x1e")
	}
	p := c.pending[0]
	c.pending = c.pending[1:]
	return p
}

// expect receives the next packets and compares them with want.
func (c *eioClient) expect(want ...string) {
	c.t.Helper()
	for _, w := range want {
		if got := c.recv(); got != w {
			c.t.Fatalf("got packet %q, want %q", got, w)
		}
	}
}

// errorBody is Node's JSON error body.
func errorBody(code int, message string) string {
	b, _ := json.Marshal(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{code, message})
	return string(b)
}

// expectError checks a refused polling request.
func expectError(t *testing.T, res *response, status, code int, message string) {
	t.Helper()
	want := errorBody(code, message)
	if res.status != status || res.body != want {
		t.Fatalf("got %d %q, want %d %q", res.status, res.body, status, want)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
}

// gone checks that session sid no longer exists: a poll gets error 1.
func (ts *testServer) gone(sid string) {
	ts.t.Helper()
	if ts.srv.Conn(sid) != nil {
		ts.t.Fatalf("session %s still registered", sid)
	}
	expectError(ts.t, ts.get(sid), http.StatusBadRequest, CodeUnknownSID, "Session ID unknown")
}
