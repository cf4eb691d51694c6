package engineio

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-io/switchboard/eio"
)

// A POST is answered only after its packets were handled, so a GET right
// after it sees every echoed packet in one payload.
func TestPollingEcho(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, payload string }{
		{"text", "4test1\x1e4test2\x1e4test3"},
		{"binary", "bAQIDBA=="},
		{"mixed", "4hello\x1ebAQIDBA==\x1e4€ and \"quotes\""},
		{"empty message", "4"},
		{"empty binary", "b"},
	}
	ts := newTestServer(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sid := ts.handshake()
			res := ts.request(http.MethodPost, pollQuery(sid), tt.payload)
			if res.status != 200 || res.body != "ok" || res.header.Get("Content-Type") != "text/html" ||
				res.header.Get("Content-Length") != "2" || res.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("POST: %d %q %v", res.status, res.body, res.header)
			}
			res = ts.get(sid)
			if res.status != 200 || res.body != tt.payload {
				t.Fatalf("GET: %d %q, want %q", res.status, res.body, tt.payload)
			}
			if ct, cl := res.header.Get("Content-Type"), res.header.Get("Content-Length"); ct != "text/plain; charset=UTF-8" || cl != strconv.Itoa(len(tt.payload)) {
				t.Errorf("GET headers: Content-Type %q, Content-Length %q", ct, cl)
			}
			if cc, xss := res.header.Get("Cache-Control"), res.header.Get("X-XSS-Protection"); cc != "no-store" || xss != "" {
				t.Errorf("GET headers: Cache-Control %q, X-XSS-Protection %q", cc, xss)
			}
		})
	}
}

// OnMessage owns its data: appending to it must not change the packets that
// follow it in the same payload.
func TestPollingMessageDataOwned(t *testing.T) {
	t.Parallel()
	h := newTestHandler()
	h.onMessage = func(c *Conn, data []byte, _ bool) {
		_ = append(data, "XYZXYZXYZ"...)
	}
	ts := newTestServer(t, nil, h)
	sid := ts.handshake()
	ts.post(sid, "4a\x1e4bb\x1e4ccc")
	got := strings.Join(h.received(sid), ",")
	if got != "a,bb,ccc" {
		t.Fatalf("received %q, want a,bb,ccc", got)
	}
}

// A POST over MaxHTTPBufferSize gets 413 and the session stays usable,
// whether its length is announced or not.
func TestPollingPostTooLarge(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, &Options{MaxHTTPBufferSize: 100})
	big := "4" + strings.Repeat("x", 150)
	tests := []struct {
		name string
		body func() io.Reader
	}{
		{"content-length", func() io.Reader { return strings.NewReader(big) }},
		{"chunked", func() io.Reader { return io.MultiReader(strings.NewReader(big)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sid := ts.handshake()
			res, err := ts.do(t.Context(), http.MethodPost, pollQuery(sid), tt.body())
			if err != nil {
				t.Fatal(err)
			}
			if res.status != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413", res.status)
			}
			ts.post(sid, "4"+strings.Repeat("y", 99)) // exactly the limit
			if res := ts.get(sid); res.body != "4"+strings.Repeat("y", 99) {
				t.Fatalf("GET %q", res.body)
			}
			if _, closed := ts.h.closed(sid); closed {
				t.Fatal("the session was closed")
			}
		})
	}
}

// Bad POSTs close the session: a binary body (v4 is text only), or a payload
// that does not decode. Packets before the first bad one are handled.
func TestPollingBadPost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, ctype, payload, reason string
		handled                      []string
	}{
		{"octet-stream", "application/octet-stream", "4hello", ReasonTransportError, nil},
		{"garbage", "text/plain", "abc", ReasonParseError, nil},
		{"empty", "text/plain", "", ReasonParseError, nil},
		{"unknown type", "text/plain", "7x", ReasonParseError, nil},
		{"bad base64", "text/plain", "b!!!", ReasonParseError, nil},
		{"trailing separator", "text/plain", "4a\x1e", ReasonParseError, []string{"a"}},
		{"bad second packet", "text/plain", "4a\x1e4b\x1ex\x1e4c", ReasonParseError, []string{"a", "b"}},
		{"client ping", "text/plain", "2", ReasonTransportError, nil},
	}
	ts := newTestServer(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sid := ts.handshake()
			res := ts.request(http.MethodPost, pollQuery(sid), tt.payload, "Content-Type", tt.ctype)
			if tt.name != "client ping" && res.status != http.StatusBadRequest {
				t.Errorf("POST status %d, want 400", res.status)
			}
			if got := ts.h.waitClose(t, sid); got != tt.reason {
				t.Fatalf("close reason %q, want %q", got, tt.reason)
			}
			if got := ts.h.received(sid); strings.Join(got, ",") != strings.Join(tt.handled, ",") {
				t.Errorf("handled %q, want %q", got, tt.handled)
			}
			ts.gone(sid)
		})
	}
}

// Two GETs at once: the pending one gets a close packet, the second a bare
// 400, and the session is gone.
func TestPollingOverlappingGET(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	sid := ts.handshake()
	first := ts.getAsync(t.Context(), sid)
	waitGetPending(t, ts.conn(sid))
	second := ts.get(sid)
	if second.status != http.StatusBadRequest || second.body != "" {
		t.Fatalf("second GET: %d %q, want 400 and no body", second.status, second.body)
	}
	if res := awaitResponse(t, first); res.status != 200 || res.body != "1" {
		t.Fatalf("first GET: %d %q, want 200 \"1\"", res.status, res.body)
	}
	if got := ts.h.waitClose(t, sid); got != ReasonTransportError {
		t.Fatalf("reason %q", got)
	}
	ts.gone(sid)
}

// Two POSTs at once: the second gets 400 and the session closes.
func TestPollingOverlappingPOST(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	sid := ts.handshake()
	c := ts.conn(sid)
	pr, pw := io.Pipe()
	firstDone := make(chan *response, 1)
	go func() {
		res, _ := ts.do(context.Background(), http.MethodPost, pollQuery(sid), pr)
		firstDone <- res
	}()
	_, _ = pw.Write([]byte("4fir"))
	waitFor(t, "the first POST", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.postActive
	})
	res := ts.request(http.MethodPost, pollQuery(sid), "4second")
	if res.status != http.StatusBadRequest || res.body != "" {
		t.Fatalf("second POST: %d %q, want 400 and no body", res.status, res.body)
	}
	if got := ts.h.waitClose(t, sid); got != ReasonTransportError {
		t.Fatalf("reason %q", got)
	}
	_, _ = pw.Write([]byte("st"))
	_ = pw.Close()
	<-firstDone
	if got := ts.h.received(sid); len(got) != 0 {
		t.Fatalf("a closed session handled %q", got)
	}
	ts.gone(sid)
}

// A client close packet sent by POST while a GET is pending: the GET is
// released with exactly a noop, then the session is gone.
func TestPollingClientClose(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	sid := ts.handshake()
	pending := ts.getAsync(t.Context(), sid)
	waitGetPending(t, ts.conn(sid))
	ts.post(sid, "1")
	if res := awaitResponse(t, pending); res.status != 200 || res.body != "6" {
		t.Fatalf("pending GET: %d %q, want 200 \"6\"", res.status, res.body)
	}
	if got := ts.h.waitClose(t, sid); got != ReasonTransportClose {
		t.Fatalf("reason %q", got)
	}
	ts.gone(sid)
}

// A client dropping its pending GET closes the session.
func TestPollingGETDropped(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	sid := ts.handshake()
	ctx, cancel := context.WithCancel(t.Context())
	pending := ts.getAsync(ctx, sid)
	waitGetPending(t, ts.conn(sid))
	cancel()
	<-pending
	if got := ts.h.waitClose(t, sid); got != ReasonTransportError {
		t.Fatalf("reason %q", got)
	}
	ts.gone(sid)
}

// A GET without anything queued waits, and is answered with the first packet
// sent.
func TestPollingLongPoll(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	sid := ts.handshake()
	c := ts.conn(sid)
	if c.Writable() {
		t.Fatal("writable without a pending GET")
	}
	pending := ts.getAsync(t.Context(), sid)
	waitFor(t, "a writable connection", c.Writable)
	if err := c.Send(eio.NewMessage([]byte("late")), eio.NewBinaryMessage([]byte{0xff, 0})); err != nil {
		t.Fatal(err)
	}
	if res := awaitResponse(t, pending); res.body != "4late\x1eb/wA=" {
		t.Fatalf("GET %q", res.body)
	}
}

func TestPollingCompression(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("abcdefgh", 250) // 2000 bytes
	tests := []struct {
		name       string
		threshold  int
		accept     string
		msg        string
		noCompress bool
		want       string // Content-Encoding
	}{
		{"gzip", 0, "gzip, deflate", big, false, "gzip"},
		{"deflate", 0, "deflate", big, false, "deflate"},
		{"header order", 0, "deflate, gzip", big, false, "deflate"},
		{"q values", 0, "gzip;q=0.5, deflate;q=0.8", big, false, "deflate"},
		{"gzip refused", 0, "gzip;q=0, deflate", big, false, "deflate"},
		{"q=0.0 refused", 0, "gzip;q=0.0", big, false, ""},
		{"wildcard", 0, "*", big, false, "gzip"},
		{"identity", 0, "identity", big, false, ""},
		{"none accepted", 0, "", big, false, ""},
		{"below threshold", 0, "gzip", big[:1000], false, ""},
		{"at threshold", 0, "gzip", big[:1023], false, "gzip"}, // "4" + 1023 bytes = 1024
		{"custom threshold", 100, "gzip", big[:200], false, "gzip"},
		{"disabled", -1, "gzip", big, false, ""},
		{"NoCompress packets", 0, "gzip", big, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, &Options{HTTPCompressionThreshold: tt.threshold})
			sid := ts.handshake()
			p := eio.NewMessage([]byte(tt.msg))
			p.NoCompress = tt.noCompress
			if err := ts.conn(sid).Send(p); err != nil {
				t.Fatal(err)
			}
			res := ts.request(http.MethodGet, pollQuery(sid), "", "Accept-Encoding", tt.accept)
			enc := res.header.Get("Content-Encoding")
			if enc != tt.want {
				t.Fatalf("Content-Encoding %q, want %q", enc, tt.want)
			}
			if cl := res.header.Get("Content-Length"); cl != strconv.Itoa(len(res.body)) {
				t.Errorf("Content-Length %q for %d bytes", cl, len(res.body))
			}
			if got := decodeBody(t, enc, res.body); got != "4"+tt.msg {
				t.Fatalf("body %d bytes, want %d", len(got), len(tt.msg)+1)
			}
		})
	}
}

func decodeBody(t *testing.T, enc, body string) string {
	t.Helper()
	var (
		r   io.Reader
		err error
	)
	switch enc {
	case "":
		return body
	case "gzip":
		r, err = gzip.NewReader(strings.NewReader(body))
	case "deflate":
		r, err = zlib.NewReader(strings.NewReader(body)) // HTTP deflate is zlib
	}
	if err != nil {
		t.Fatalf("%s: %v", enc, err)
	}
	var out bytes.Buffer
	if _, err := io.Copy(&out, r); err != nil {
		t.Fatalf("%s: %v", enc, err)
	}
	return out.String()
}

// Node turns off the XSS filter of old Internet Explorers.
func TestPollingIEHeader(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	sid := ts.handshake()
	ts.post(sid, "4x")
	res := ts.request(http.MethodGet, pollQuery(sid), "", "User-Agent",
		"Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0) like Gecko")
	if res.body != "4x" || res.header.Get("X-XSS-Protection") != "0" {
		t.Fatalf("%q, X-XSS-Protection %q", res.body, res.header.Get("X-XSS-Protection"))
	}
}

func TestNegotiateEncoding(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"":                         "",
		"gzip":                     "gzip",
		"GZIP":                     "gzip",
		"deflate":                  "deflate",
		"br, deflate, gzip":        "deflate",
		"gzip, deflate, br, zstd":  "gzip",
		"gzip;q=0.1, deflate;q=1":  "deflate",
		"gzip;q=abc, deflate;q=0":  "",
		"*;q=0.5, deflate;q=0.4":   "gzip",
		"*, gzip;q=0":              "deflate",
		"deflate;q=0.5, *;q=0.5":   "deflate",
		" gzip ; q=1 , deflate":    "gzip",
		"compress, identity;q=0.5": "",
	}
	for header, want := range tests {
		if got := negotiateEncoding([]string{header}); got != want {
			t.Errorf("negotiateEncoding(%q) = %q, want %q", header, got, want)
		}
	}
}

// Options.ObserveQueue is told the bytes of each queue taken to be
// written, once per poll that carries packets.
func TestObserveQueue(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []int
	ts := newTestServer(t, &Options{ObserveQueue: func(n int) {
		mu.Lock()
		seen = append(seen, n)
		mu.Unlock()
	}})
	sid := ts.handshake()
	if err := ts.conn(sid).Send(eio.NewMessage([]byte("hello")), eio.NewMessage([]byte("world!"))); err != nil {
		t.Fatal(err)
	}
	if res := ts.get(sid); res.body != "4hello\x1e4world!" {
		t.Fatalf("poll %q", res.body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] < len("helloworld!") {
		t.Fatalf("observed %v, want one queue of at least 11 bytes", seen)
	}
}
