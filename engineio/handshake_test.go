package engineio

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-io/switchboard/eio"
)

func TestHandshakePolling(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	res := ts.request(http.MethodGet, "EIO=4&transport=polling&t=NxYz1", "")
	if res.status != http.StatusOK {
		t.Fatalf("status %d", res.status)
	}
	m := openRE.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatalf("body %q", res.body)
	}
	sid := m[1]
	want := `0{"sid":"` + sid + `","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
	if res.body != want {
		t.Fatalf("body\n%q, want\n%q", res.body, want)
	}
	for name, want := range map[string]string{
		"Content-Type":   "text/plain; charset=UTF-8",
		"Content-Length": strconv.Itoa(len(want)),
		"Cache-Control":  "no-store",
		"Set-Cookie":     "",
	} {
		if got := res.header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	c := ts.h.waitOpen(t)
	if c.ID() != sid || ts.srv.Conn(sid) != c || c.Transport() != TransportPolling {
		t.Fatalf("opened %s (%s), registered %v", c.ID(), c.Transport(), ts.srv.Conn(sid))
	}
	if c.Request().URL.Query().Get("t") != "NxYz1" || c.Request().Context().Err() != nil {
		t.Errorf("Request(): query %v, context error %v", c.Request().URL.Query(), c.Request().Context().Err())
	}
	if r := c.Request(); r.Host == "" || r.Header.Get("Host") != r.Host {
		t.Errorf("Request(): Host %q, Host header %q: want both, equal (Node's handshake headers have Host)", r.Host, r.Header.Get("Host"))
	}
	if st := ts.srv.Stats(); st.Opened != 1 || st.Polling != 1 {
		t.Errorf("stats %+v", st)
	}
}

// Of a repeated query key the last value counts, as in Node (which reads
// the query with Object.fromEntries).
func TestRepeatedQueryKeys(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	res := ts.request(http.MethodGet, "EIO=3&EIO=4&transport=websocket&transport=polling", "")
	m := openRE.FindStringSubmatch(res.body)
	if res.status != http.StatusOK || m == nil {
		t.Fatalf("handshake: %d %q", res.status, res.body)
	}
	sid := m[1]
	expectError(t, ts.request(http.MethodGet, "EIO=4&transport=polling&sid="+sid+"&sid=nope", ""),
		400, CodeUnknownSID, "Session ID unknown")
	if res := ts.request(http.MethodPost, "EIO=4&transport=polling&sid=nope&sid="+sid, "4hi"); res.status != 200 {
		t.Fatalf("POST with the sid last: %d %q", res.status, res.body)
	}
	if res := ts.get(sid); res.body != "4hi" {
		t.Fatalf("echo %q", res.body)
	}
	expectError(t, ts.request(http.MethodGet, "EIO=4&EIO=3&transport=polling", ""),
		400, CodeUnsupportedVersion, "Unsupported protocol version")
}

func TestHandshakeOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts Options
		want string // the open packet after the sid
	}{
		{"DisableUpgrades", Options{DisableUpgrades: true},
			`"upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`},
		{"polling only", Options{Transports: []string{TransportPolling}},
			`"upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`},
		{"custom", Options{PingInterval: 1500 * time.Millisecond, PingTimeout: 700 * time.Millisecond,
			MaxHTTPBufferSize: 5000},
			`"upgrades":["websocket"],"pingInterval":1500,"pingTimeout":700,"maxPayload":5000}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := tt.opts
			ts := newTestServer(t, &opts)
			res := ts.request(http.MethodGet, "EIO=4&transport=polling", "")
			m := openRE.FindStringSubmatch(res.body)
			if m == nil || res.body != `0{"sid":"`+m[1]+`",`+tt.want {
				t.Fatalf("body %q, want ...%q", res.body, tt.want)
			}
		})
	}
}

func TestOptionsNotModified(t *testing.T) {
	t.Parallel()
	opts := &Options{Transports: []string{TransportPolling}}
	srv := NewServer(newTestHandler(), opts)
	if opts.PingInterval != 0 || opts.Logger != nil || opts.GenerateID != nil {
		t.Fatalf("NewServer modified the options: %+v", opts)
	}
	got := srv.Options()
	if got.PingInterval != 25*time.Second || got.PingTimeout != 20*time.Second ||
		got.UpgradeTimeout != 10*time.Second || got.MaxHTTPBufferSize != 1e6 ||
		got.HTTPCompressionThreshold != 1024 || got.CloseTimeout != 30*time.Second {
		t.Fatalf("defaults not applied: %+v", got)
	}
	opts.Transports[0] = "websocket"
	if srv.Options().Transports[0] != TransportPolling {
		t.Fatal("the server shares the caller's Transports slice")
	}
}

func TestHandshakeWebSocket(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, &Options{PingInterval: 2 * time.Second, PingTimeout: time.Second})
	w, err := ts.wsDial("EIO=4&transport=websocket", ws.Dialer{})
	if err != nil {
		t.Fatal(err)
	}
	got := w.readText()
	m := openRE.FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("first frame %q", got)
	}
	want := `0{"sid":"` + m[1] + `","upgrades":[],"pingInterval":2000,"pingTimeout":1000,"maxPayload":1000000}`
	if got != want {
		t.Fatalf("first frame %q, want %q", got, want)
	}
	c := ts.h.waitOpen(t)
	if c.ID() != m[1] || c.Transport() != TransportWebSocket {
		t.Fatalf("opened %s over %s", c.ID(), c.Transport())
	}
	if st := ts.srv.Stats(); st.WebSocket != 1 || st.Polling != 0 {
		t.Errorf("stats %+v", st)
	}
}

// Packets sent from OnOpen follow the open packet: on the next GET for
// polling (the handshake response holds only the open packet), right after
// it on WebSocket.
func TestSendFromOnOpen(t *testing.T) {
	t.Parallel()
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			h := newTestHandler()
			h.onOpen = func(c *Conn) { _ = c.Send(eio.NewMessage([]byte("welcome"))) }
			ts := newTestServer(t, nil, h)
			c := ts.dial(tr)
			c.expect("4welcome")
		})
	}
}

func TestRequestErrors(t *testing.T) {
	t.Parallel()
	opts := &Options{AllowRequest: func(r *http.Request) error {
		switch r.Header.Get("X-Deny") {
		case "custom":
			return errors.New("custom denial")
		case "plain":
			return errors.New("")
		}
		return nil
	}}
	ts := newTestServer(t, opts)
	sid := ts.handshake()
	tests := []struct {
		name, method, query string
		hdr                 []string
		status, code        int
		message             string
	}{
		{"missing transport", "GET", "EIO=4", nil, 400, 0, "Transport unknown"},
		{"bad transport", "GET", "EIO=4&transport=tcp", nil, 400, 0, "Transport unknown"},
		{"webtransport", "GET", "EIO=4&transport=webtransport", nil, 400, 0, "Transport unknown"},
		{"bad transport with sid", "GET", "EIO=4&transport=tcp&sid=" + sid, nil, 400, 0, "Transport unknown"},
		{"unknown sid", "GET", "EIO=4&transport=polling&sid=abcdefghijklmnopqrst", nil, 400, 1, "Session ID unknown"},
		{"unknown sid POST", "POST", "EIO=4&transport=polling&sid=nope", nil, 400, 1, "Session ID unknown"},
		{"POST handshake", "POST", "EIO=4&transport=polling", nil, 400, 2, "Bad handshake method"},
		{"PUT handshake", "PUT", "EIO=4&transport=polling", nil, 400, 2, "Bad handshake method"},
		{"websocket without upgrade", "GET", "EIO=4&transport=websocket", nil, 400, 3, "Bad request"},
		{"websocket without upgrade, with sid", "GET", "EIO=4&transport=websocket&sid=" + sid, nil, 400, 3, "Bad request"},
		{"forbidden", "GET", "EIO=4&transport=polling", []string{"X-Deny", "custom"}, 403, 4, "custom denial"},
		{"forbidden default message", "GET", "EIO=4&transport=polling", []string{"X-Deny", "plain"}, 403, 4, "Forbidden"},
		{"EIO=3", "GET", "EIO=3&transport=polling", nil, 400, 5, "Unsupported protocol version"},
		{"EIO=5", "GET", "EIO=5&transport=polling", nil, 400, 5, "Unsupported protocol version"},
		{"missing EIO", "GET", "transport=polling", nil, 400, 5, "Unsupported protocol version"},
	}
	t.Run("cases", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				var body io.Reader
				if tt.method != "GET" {
					body = bytes.NewReader([]byte("4x"))
				}
				res, err := ts.do(t.Context(), tt.method, tt.query, body, tt.hdr...)
				if err != nil {
					t.Fatal(err)
				}
				expectError(t, res, tt.status, tt.code, tt.message)
				if cl := res.header.Get("Content-Length"); cl != strconv.Itoa(len(res.body)) {
					t.Errorf("Content-Length %q for %d bytes", cl, len(res.body))
				}
			})
		}
	})
	st := ts.srv.Stats()
	want := [6]int64{4, 2, 2, 2, 2, 3}
	if st.RequestErrors != want {
		t.Errorf("RequestErrors %v, want %v", st.RequestErrors, want)
	}
	if ts.srv.Conn(sid) == nil || st.Opened != 1 {
		t.Errorf("a refused request affected the sessions: %+v", st)
	}
}

// A request naming a session with a method other than GET or POST gets 500,
// and the session lives on.
func TestSessionBadMethod(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	sid := ts.handshake()
	if res := ts.request(http.MethodPut, pollQuery(sid), "4x"); res.status != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", res.status)
	}
	ts.post(sid, "4still")
	if res := ts.get(sid); res.body != "4still" {
		t.Fatalf("GET %q", res.body)
	}
}

// WebSocket upgrade refusals are a plain 400 with the message as text, as
// Node writes them on the raw socket.
func TestWebSocketRefusals(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, &Options{AllowRequest: func(r *http.Request) error {
		if r.Header.Get("X-Deny") != "" {
			return errors.New("go away")
		}
		return nil
	}})
	tests := []struct {
		name, query, header, message string
	}{
		{"forbidden", "EIO=4&transport=websocket", "X-Deny", "go away"},
		{"EIO=3", "EIO=3&transport=websocket", "", "Unsupported protocol version"},
		{"unknown sid", "EIO=4&transport=websocket&sid=abcdefghijklmnopqrst", "", "Session ID unknown"},
		{"unknown transport", "EIO=4&transport=foo", "", "Transport unknown"},
		{"polling transport", "EIO=4&transport=polling", "", "Bad request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				status int
				body   []byte
				ctype  string
			)
			d := ws.Dialer{OnStatusError: func(_ int, _ []byte, r io.Reader) {
				res, err := http.ReadResponse(bufio.NewReader(r), nil)
				if err != nil {
					return
				}
				defer res.Body.Close()
				status, ctype = res.StatusCode, res.Header.Get("Content-Type")
				body, _ = io.ReadAll(res.Body)
			}}
			if tt.header != "" {
				d.Header = ws.HandshakeHeaderHTTP(http.Header{tt.header: {"1"}})
			}
			_, err := ts.wsDial(tt.query, d)
			if err == nil {
				t.Fatal("the upgrade succeeded")
			}
			if status != http.StatusBadRequest || string(body) != tt.message || ctype != "text/html" {
				t.Fatalf("got %d %q (%s), want 400 %q (text/html); err %v", status, body, ctype, tt.message, err)
			}
		})
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if len(id) != 20 || !openRE.MatchString(`0{"sid":"`+id+`","upgrades":[],"pingInterval":1,"pingTimeout":1,"maxPayload":1}`) {
			t.Fatalf("bad id %q", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
}

// A failing GenerateID refuses the handshake with error 3.
func TestGenerateIDError(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, &Options{GenerateID: func(*http.Request) (string, error) {
		return "", errors.New("no id")
	}})
	expectError(t, ts.request(http.MethodGet, "EIO=4&transport=polling", ""), 400, 3, "Bad request")
	if ts.srv.Count() != 0 {
		t.Fatal("a session was registered")
	}
}

// A custom GenerateID that repeats an id in use cannot replace the live
// session.
func TestGenerateIDDuplicate(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, &Options{GenerateID: func(*http.Request) (string, error) {
		return "same-id-every-time_0", nil
	}})
	sid := ts.handshake()
	expectError(t, ts.request(http.MethodGet, "EIO=4&transport=polling", ""), 400, 3, "Bad request")
	_, err := ts.wsDial("EIO=4&transport=websocket", ws.Dialer{})
	if err == nil {
		t.Fatal("WebSocket handshake with a duplicate id succeeded")
	}
	ts.post(sid, "4first")
	if res := ts.get(sid); res.body != "4first" {
		t.Fatalf("GET %q", res.body)
	}
}

func TestCodeMessage(t *testing.T) {
	t.Parallel()
	for code, want := range map[int]string{0: "Transport unknown", 1: "Session ID unknown",
		2: "Bad handshake method", 3: "Bad request", 4: "Forbidden", 5: "Unsupported protocol version",
		6: "Bad request", -1: "Bad request"} {
		if got := CodeMessage(code); got != want {
			t.Errorf("CodeMessage(%d) = %q, want %q", code, got, want)
		}
	}
	e := &RequestError{Code: 3, Message: "Bad request", Context: "TRANSPORT_MISMATCH"}
	if e.Error() != "engine.io: Bad request (TRANSPORT_MISMATCH)" {
		t.Errorf("Error() = %q", e.Error())
	}
}

// MaxSessionsPerAddress refuses the handshakes of an address that has its
// sessions open, over both transports, and only while they are open; other
// addresses and sessions handed over by another node are not refused.
func TestMaxSessionsPerAddress(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, &Options{MaxSessionsPerAddress: 2})
	first := ts.handshake()
	ts.handshake()
	const msg = "too many sessions from this address"
	expectError(t, ts.request(http.MethodGet, "EIO=4&transport=polling", ""), 403, 4, msg)
	var status int
	var body []byte
	d := ws.Dialer{OnStatusError: func(code int, _ []byte, r io.Reader) {
		status = code
		if res, err := http.ReadResponse(bufio.NewReader(r), nil); err == nil {
			body, _ = io.ReadAll(res.Body)
			res.Body.Close()
		}
	}}
	if _, err := ts.wsDial("EIO=4&transport=websocket", d); err == nil || status != 400 || string(body) != msg {
		t.Fatalf("WebSocket handshake: %v, %d %q; want refused, 400 %q", err, status, body, msg)
	}

	// Another address has its own count.
	r := httptest.NewRequest(http.MethodGet, "/engine.io/?EIO=4&transport=polling", nil)
	r.RemoteAddr = "192.0.2.7:4000"
	rec := httptest.NewRecorder()
	ts.srv.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK || !openRE.MatchString(rec.Body.String()) {
		t.Fatalf("handshake of another address: %d %q", rec.Code, rec.Body)
	}

	// A session handed over counts but is not refused.
	adopted := newConn(ts.srv, NewID(), r.Clone(context.Background()), r.URL.Query(), TransportPolling)
	adopted.remoteAddr = "127.0.0.1:5000"
	if err := ts.srv.register(adopted, false, false); err != nil {
		t.Fatalf("a handed-over session was refused: %v", err)
	}
	ts.srv.remove(adopted)

	// A closed session frees its place.
	ts.post(first, "1")
	waitFor(t, "the closed session to go", func() bool { return ts.srv.Conn(first) == nil })
	ts.handshake()
	expectError(t, ts.request(http.MethodGet, "EIO=4&transport=polling", ""), 403, 4, msg)
}
