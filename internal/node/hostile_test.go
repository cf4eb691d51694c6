package node

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/switchboard-io/switchboard/client"
	"github.com/switchboard-io/switchboard/socketiotest"
)

// TestHostileClients sends every kind of bad input of issue 8 to one node.
// Each closes (at worst) the offending session with a clear error, shows in
// a metric, and a well-behaved client on the same node keeps receiving.
func TestHostileClients(t *testing.T) {
	t.Parallel()
	n := startNode(t, "--max-queue-bytes", "1048576", "--max-payload", "100000")
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	}()
	base := "http://" + n.Addr().String() + "/socket.io/"
	good := dial(t, n, "websocket")
	defer good.Close()
	sender := dial(t, n, "websocket")
	defer sender.Close()
	received := make(chan struct{}, 64)
	good.On("drawing", func(*client.Event) { received <- struct{}{} })
	stillServed := func(what string) {
		t.Helper()
		if err := sender.Emit("drawing", map[string]any{"x0": 0, "y0": 0, "x1": 1, "y1": 1, "color": "#111"}); err != nil {
			t.Fatalf("after %s: %v", what, err)
		}
		select {
		case <-received:
		case <-time.After(5 * time.Second):
			t.Fatalf("after %s: the well-behaved client no longer receives", what)
		}
	}

	t.Run("oversized POST: 413, session kept", func(t *testing.T) {
		sid := pollingSession(t, base)
		code, _ := post(t, base+"?EIO=4&transport=polling&sid="+sid, "text/plain", "4"+strings.Repeat("x", 100_001))
		if code != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d", code)
		}
		if code, body := post(t, base+"?EIO=4&transport=polling&sid="+sid, "text/plain", "40"); code != 200 || body != "ok" {
			t.Fatalf("the session must survive a 413: %d %q", code, body)
		}
	})
	closes := func(name, payload string) {
		t.Run(name, func(t *testing.T) {
			sid := pollingSession(t, base)
			url := base + "?EIO=4&transport=polling&sid=" + sid
			post(t, url, "text/plain", "40")
			post(t, url, "text/plain", payload)
			socketiotest.Eventually(t, func() error {
				if code, _ := getStatus(url); code != http.StatusBadRequest {
					return io.ErrNoProgress
				}
				return nil
			}, 5*time.Second)
		})
	}
	closes("11 attachments", "451"+"1-[\"a\"]")
	closes("reserved event name", `42["disconnect"]`)
	closes("broken JSON", `42["drawing",{`)
	closes("garbage packet", "9garbage")
	t.Run("binary POST on v4: 400 and closed", func(t *testing.T) {
		sid := pollingSession(t, base)
		url := base + "?EIO=4&transport=polling&sid=" + sid
		if code, _ := post(t, url, "application/octet-stream", "\x00\x01"); code != http.StatusBadRequest {
			t.Fatalf("status %d", code)
		}
		if code, _ := getStatus(url); code != http.StatusBadRequest {
			t.Fatal("the session must be closed")
		}
	})
	t.Run("overlapping polls close the session", func(t *testing.T) {
		sid := pollingSession(t, base)
		url := base + "?EIO=4&transport=polling&sid=" + sid
		first := make(chan int, 1)
		go func() { c, _ := getStatus(url); first <- c }()
		time.Sleep(100 * time.Millisecond)
		if code, _ := getStatus(url); code != http.StatusBadRequest {
			t.Fatalf("second GET %d", code)
		}
		if code := <-first; code != 200 {
			t.Fatalf("first GET %d (answered with a close packet)", code)
		}
	})
	t.Run("garbage before a handshake", func(t *testing.T) {
		if code, body := getStatus(base + "?EIO=4&transport=carrier-pigeon"); code != 400 || body != `{"code":0,"message":"Transport unknown"}` {
			t.Fatalf("%d %q", code, body)
		}
		conn, err := net.Dial("tcp", n.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, _ = conn.Write([]byte("\x16\x03\x01garbage\r\n\r\n"))
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		reply, _ := io.ReadAll(conn)
		if !strings.HasPrefix(string(reply), "HTTP/1.1 400") {
			t.Fatalf("reply to garbage: %q", reply)
		}
	})
	t.Run("invalid UTF-8 in a WebSocket text frame", func(t *testing.T) {
		conn := wsSession(t, n)
		_ = wsutil.WriteClientText(conn, []byte("42[\"drawing\",\"\xff\xfe\"]"))
		if code := readCloseCode(t, conn); code != ws.StatusInvalidFramePayloadData {
			t.Fatalf("close code %d, want 1007", code)
		}
	})
	t.Run("a client that never reads is cut by the queue limit", func(t *testing.T) {
		conn := wsSession(t, n) // joins "/" and then never reads again
		before := metric(t, n, "switchboard_slow_client_disconnects_total")
		// Strokes are small and validated (no padding gets through), so
		// the queue fills with many: batches the good client must keep up
		// with.
		stroke := map[string]any{"x0": 0.12345678, "y0": 0.23456789, "x1": 0.34567891, "y1": 0.45678912, "color": "#111111"}
		const batch = 2000
		deadline := time.Now().Add(30 * time.Second)
		for metric(t, n, "switchboard_slow_client_disconnects_total") == before && time.Now().Before(deadline) {
			for range batch {
				_ = sender.Emit("drawing", stroke)
			}
			for range batch {
				select { // the good client keeps up
				case <-received:
				case <-time.After(5 * time.Second):
					t.Fatal("the well-behaved client stopped receiving")
				}
			}
		}
		if metric(t, n, "switchboard_slow_client_disconnects_total") == before {
			t.Fatal("the stalled client was never disconnected")
		}
		conn.Close()
	})
	stillServed("every hostile client")
	if metric(t, n, "switchboard_decode_errors_total") < 3 || metric(t, n, `switchboard_request_errors_total{code="0",message="Transport unknown"}`) < 1 {
		t.Fatal("bad input must show in the metrics")
	}
}

func pollingSession(t *testing.T, base string) string {
	t.Helper()
	_, body := getStatus(base + "?EIO=4&transport=polling")
	var open struct {
		SID string `json:"sid"`
	}
	if len(body) < 2 || json.Unmarshal([]byte(body[1:]), &open) != nil {
		t.Fatalf("handshake %q", body)
	}
	return open.SID
}

func getStatus(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t *testing.T, url, ctype, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, ctype, strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// wsSession opens a WebSocket session and joins "/".
func wsSession(t *testing.T, n *Node) net.Conn {
	t.Helper()
	conn, err := dialWS("ws://" + n.Addr().String() + "/socket.io/?EIO=4&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wsutil.ReadServerText(conn); err != nil { // the open packet
		t.Fatal(err)
	}
	_ = wsutil.WriteClientText(conn, []byte("40"))
	return conn
}

// readCloseCode reads until the server's close frame and returns its code.
func readCloseCode(t *testing.T, conn net.Conn) ws.StatusCode {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, err := ws.ReadFrame(conn)
		if err != nil {
			t.Fatalf("no close frame: %v", err)
		}
		if f.Header.OpCode == ws.OpClose {
			code, _ := ws.ParseCloseFrameData(f.Payload)
			return code
		}
	}
}

// dialWS dials a WebSocket speaking raw frames.
func dialWS(url string) (net.Conn, error) {
	return socketiotest.DialRawWebSocket(context.Background(), url)
}
