package engineio

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// upgradeServer is a test server whose HTTP server listens through an
// UpgradeListener; served counts the requests the listener served itself.
func upgradeServer(t *testing.T, opts *Options, lopts UpgradeListenerOptions) (*testServer, *atomic.Int64) {
	t.Helper()
	served := new(atomic.Int64)
	lopts.Path = "/engine.io/"
	ts := startTestServer(t, opts, func(ln net.Listener, h http.Handler) net.Listener {
		counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			served.Add(1)
			h.ServeHTTP(w, r)
		})
		return NewUpgradeListener(ln, counted, lopts)
	})
	return ts, served
}

// TestUpgradeListenerServesWebSockets opens a WebSocket session through the
// listener's own path and exchanges messages on it.
func TestUpgradeListenerServesWebSockets(t *testing.T) {
	ts, served := upgradeServer(t, nil, UpgradeListenerOptions{})
	c, sid := ts.wsOpen()
	if served.Load() != 1 {
		t.Fatalf("the listener served %d requests, want the upgrade", served.Load())
	}
	conn := ts.conn(sid)
	if got := conn.Request().Header.Get("Host"); got == "" || conn.Request().RemoteAddr == "" {
		t.Errorf("handshake request: Host %q, RemoteAddr %q", got, conn.Request().RemoteAddr)
	}
	c.writeText("4hello")
	c.expectText("4hello") // the test handler echoes
}

// TestUpgradeListenerPassesOtherRequests checks that polling requests,
// keep-alive and request bodies reach net/http intact.
func TestUpgradeListenerPassesOtherRequests(t *testing.T) {
	ts, served := upgradeServer(t, nil, UpgradeListenerOptions{})
	sid := ts.handshake() // GET, kept alive by the client
	ts.post(sid, "4posted")
	waitFor(t, "the posted message", func() bool { return len(ts.h.received(sid)) == 1 })
	if got := ts.h.received(sid)[0]; got != "posted" {
		t.Errorf("received %q", got)
	}
	if served.Load() != 0 {
		t.Errorf("the listener served %d polling requests itself", served.Load())
	}
	// A WebSocket upgrade of that polling session is served by the listener.
	c, err := ts.wsDial("EIO=4&transport=websocket&sid="+sid, ws.Dialer{})
	if err == nil {
		c.writeText("2probe")
		c.expectText("3probe")
		c.writeText("5")
		waitFor(t, "the upgrade", func() bool { return ts.conn(sid).Transport() == TransportWebSocket })
	}
	if err != nil || served.Load() != 1 {
		t.Errorf("upgrade: %v, served %d", err, served.Load())
	}
}

// TestUpgradeListenerLargeHead sends an upgrade whose head does not fit the
// listener's buffer: net/http serves it, and the session works.
func TestUpgradeListenerLargeHead(t *testing.T) {
	ts, served := upgradeServer(t, nil, UpgradeListenerOptions{})
	d := ws.Dialer{Header: ws.HandshakeHeaderHTTP(http.Header{"X-Big": {strings.Repeat("b", 2*headBufferSize)}})}
	c, err := ts.wsDial("EIO=4&transport=websocket", d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.readText(), "0{") || served.Load() != 0 {
		t.Errorf("served by the listener: %d, want net/http", served.Load())
	}
}

// TestUpgradeListenerRefusal checks that an upgrade the handler refuses
// gets the handler's response, then a closed connection.
func TestUpgradeListenerRefusal(t *testing.T) {
	ts, served := upgradeServer(t, nil, UpgradeListenerOptions{})
	conn, err := net.Dial("tcp", ts.hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET /engine.io/?EIO=4&transport=websocket&sid=nope HTTP/1.1\r\nHost: x\r\n"+
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body) // ends: the connection is closed
	if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte("Session ID unknown")) || served.Load() != 1 {
		t.Errorf("refusal: %d %q (served %d), want 400 Session ID unknown", resp.StatusCode, body, served.Load())
	}
}

// TestUpgradeListenerHeadTimeout checks that a client that sends no
// request, or half a head, is closed after ReadHeaderTimeout.
func TestUpgradeListenerHeadTimeout(t *testing.T) {
	ts, _ := upgradeServer(t, nil, UpgradeListenerOptions{ReadHeaderTimeout: 50 * time.Millisecond})
	conn, err := net.Dial("tcp", ts.hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	if n, err := conn.Read(make([]byte, 1)); n != 0 || err == nil || isTimeout(err) {
		t.Errorf("silent client: read %d, %v; want the server to close", n, err)
	}
	// A head that stops half-way is closed too, not handed to net/http
	// for another ReadHeaderTimeout.
	slow, err := net.Dial("tcp", ts.hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	_, _ = io.WriteString(slow, "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n")
	_ = slow.SetReadDeadline(time.Now().Add(waitTimeout))
	if n, err := slow.Read(make([]byte, 1)); n != 0 || err == nil || isTimeout(err) {
		t.Errorf("half a head: read %d, %v; want the server to close", n, err)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestUpgradeListenerTLS checks that TLS connections are handed to net/http
// untouched: HTTP/2 is negotiated, and WebSockets over TLS work.
func TestUpgradeListenerTLS(t *testing.T) {
	certs := httptest.NewTLSServer(nil) // for its certificate and a client that trusts it
	serverTLS := certs.TLS.Clone()
	serverTLS.NextProtos = []string{"h2", "http/1.1"}
	clientTLS := certs.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	certs.Close()

	srv := NewServer(newTestHandler(), nil)
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var served atomic.Int64
	hsrv := &http.Server{Handler: mux}
	go func() {
		_ = hsrv.Serve(NewUpgradeListener(tls.NewListener(ln, serverTLS), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			served.Add(1)
			mux.ServeHTTP(w, r)
		}), UpgradeListenerOptions{Path: "/engine.io/"}))
	}()
	defer hsrv.Close()

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS, ForceAttemptHTTP2: true}}
	resp, err := client.Get("https://" + ln.Addr().String() + "/engine.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Errorf("polling handshake over TLS: %d, HTTP/%d; want 200 over HTTP/2", resp.StatusCode, resp.ProtoMajor)
	}
	wsTLS := clientTLS.Clone()
	wsTLS.NextProtos = nil // HTTP/1.1 for the upgrade
	d := ws.Dialer{TLSConfig: wsTLS, Timeout: waitTimeout}
	conn, br, _, err := d.Dial(t.Context(), "wss://"+ln.Addr().String()+"/engine.io/?EIO=4&transport=websocket")
	if err != nil {
		t.Fatalf("WebSocket over TLS: %v", err)
	}
	defer conn.Close()
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
	}
	h, err := ws.ReadHeader(r)
	if err != nil || h.OpCode != ws.OpText || served.Load() != 0 {
		t.Errorf("open frame over TLS: %+v, %v; served by the listener %d, want 0", h, err, served.Load())
	}
}

// TestUpgradeListenerEarlyFrame sends a message in the same write as the
// upgrade request (before the 101): it is read from the head's buffer.
func TestUpgradeListenerEarlyFrame(t *testing.T) {
	ts, served := upgradeServer(t, nil, UpgradeListenerOptions{})
	conn, err := net.Dial("tcp", ts.hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var out bytes.Buffer
	out.WriteString("GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n" +
		"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	if err := ws.WriteFrame(&out, ws.MaskFrame(ws.NewTextFrame([]byte("4early")))); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(out.Bytes()); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("response %v, %v", resp, err)
	}
	var texts []string
	for len(texts) < 2 {
		f, err := ws.ReadFrame(br)
		if err != nil {
			t.Fatalf("frames %q, then %v", texts, err)
		}
		texts = append(texts, string(f.Payload))
	}
	if !strings.HasPrefix(texts[0], "0{") || texts[1] != "4early" || served.Load() != 1 {
		t.Errorf("frames %q (served %d); want the open packet, then the echo", texts, served.Load())
	}
}

// FuzzUpgradeHead feeds arbitrary first bytes of a connection to the
// listener's head reading and classification: no panic, and a head is only
// ever taken for an upgrade when it is a complete GET under the path.
func FuzzUpgradeHead(f *testing.F) {
	f.Add([]byte("GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n"))
	f.Add([]byte("GET /engine.io/ HTTP/1.1\r\nUpgrade:  WebSocket \r\nConnection: upgrade\r\n\r\n\x81\x85"))
	f.Add([]byte("POST /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"))
	f.Add([]byte("GET /other HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"))
	f.Add([]byte("\x16\x03\x01\x02\x00\x01"))
	l := &UpgradeListener{prefix: []byte("GET /engine.io/")}
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(in), headBufferSize)
		head, complete := readHead(br)
		if !bytes.HasPrefix(in, head) {
			t.Fatalf("head %q is not the start of the input", head)
		}
		if complete && !bytes.Contains(head, []byte("\r\n\r\n")) {
			t.Fatalf("complete head without its blank line: %q", head)
		}
		if l.isUpgrade(head) && !bytes.HasPrefix(head, l.prefix) {
			t.Fatalf("upgrade outside the path: %q", head)
		}
		if complete && l.isUpgrade(head) {
			_, _ = http.ReadRequest(br) // what serveConn does next: an error, never a panic
		}
	})
}

// TestUpgradeListenerHandlerPanic checks that a handler's panic on an
// upgrade closes that connection only, as http.Server does, and that the
// listener goes on serving.
func TestUpgradeListenerHandlerPanic(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			panic("first upgrade")
		}
		w.WriteHeader(http.StatusTeapot)
	})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	hs := &http.Server{Handler: h}
	go func() {
		_ = hs.Serve(NewUpgradeListener(ln, h, UpgradeListenerOptions{Path: "/engine.io/", Logger: quiet}))
	}()
	defer hs.Close()
	upgrade := func() (*http.Response, error) {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		_ = conn.SetReadDeadline(time.Now().Add(waitTimeout))
		_, _ = io.WriteString(conn, "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n")
		return http.ReadResponse(bufio.NewReader(conn), nil)
	}
	if resp, err := upgrade(); err == nil || isTimeout(err) {
		t.Fatalf("the panicking upgrade: %v, %v; want the connection closed", resp, err)
	}
	resp, err := upgrade()
	if err != nil || resp.StatusCode != http.StatusTeapot {
		t.Fatalf("the next upgrade: %v, %v; want the handler's 418", resp, err)
	}
}

// TestUpgradeHandshakeRefused sends a new session's upgrade with a
// WebSocket version the server does not speak, through net/http and
// through the listener: the client gets 426 with the version it can use,
// then a closed connection (before, the hijacked connection stayed open).
func TestUpgradeHandshakeRefused(t *testing.T) {
	for _, direct := range []bool{false, true} {
		ts := newTestServer(t, nil)
		if direct {
			ts, _ = upgradeServer(t, nil, UpgradeListenerOptions{})
		}
		conn, err := net.Dial("tcp", ts.hs.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, _ = io.WriteString(conn, "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"+
			"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 12\r\n\r\n")
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusUpgradeRequired || resp.Header.Get("Sec-WebSocket-Version") != "13" {
			t.Errorf("direct=%v: %d, Sec-WebSocket-Version %q, want 426 and 13", direct, resp.StatusCode,
				resp.Header.Get("Sec-WebSocket-Version"))
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := br.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("direct=%v: after the refusal read %d bytes, %v; want the connection closed", direct, n, err)
		}
	}
}
