package engineio

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-io/switchboard/eio"
)

// Conn.Close delivers what is queued, then ends the session: a close packet
// on polling, a close frame on WebSocket.
func TestConnClose(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, nil)
			c := ts.dial(tr)
			conn := ts.conn(c.sid)
			if err := conn.Send(eio.NewMessage([]byte("a")), eio.NewBinaryMessage([]byte{7})); err != nil {
				t.Fatal(err)
			}
			conn.Close()
			if err := conn.Send(eio.NewMessage([]byte("too late"))); !errors.Is(err, ErrClosed) {
				t.Fatalf("Send after Close: %v, want ErrClosed", err)
			}
			c.expect("4a", "bBw==")
			if c.ws == nil {
				c.expect("1")
			} else if code := c.ws.expectClose(); code != ws.StatusNormalClosure {
				t.Fatalf("close code %d", code)
			}
			if got := ts.h.waitClose(t, c.sid); got != ReasonForcedClose {
				t.Fatalf("reason %q", got)
			}
			<-conn.Done()
			ts.gone(c.sid)
			conn.Close() // a second Close does nothing
		})
	}
}

// On polling, Conn.Close answers a pending GET with a close packet; without
// a GET or anything queued, the next GET gets "6\x1e1" as in Node.
func TestConnClosePolling(t *testing.T) {
	t.Parallel()
	t.Run("pending GET", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, nil)
		sid := ts.handshake()
		pending := ts.getAsync(t.Context(), sid)
		waitGetPending(t, ts.conn(sid))
		ts.conn(sid).Close()
		if res := awaitResponse(t, pending); res.body != "1" {
			t.Fatalf("GET %q, want \"1\"", res.body)
		}
		if got := ts.h.waitClose(t, sid); got != ReasonForcedClose {
			t.Fatalf("reason %q", got)
		}
	})
	t.Run("deferred", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, nil)
		sid := ts.handshake()
		ts.conn(sid).Close()
		if _, closed := ts.h.closed(sid); closed {
			t.Fatal("closed before the client was told")
		}
		if res := ts.get(sid); res.body != "6\x1e1" {
			t.Fatalf("GET %q, want \"6\\x1e1\"", res.body)
		}
		if got := ts.h.waitClose(t, sid); got != ReasonForcedClose {
			t.Fatalf("reason %q", got)
		}
		ts.gone(sid)
	})
	t.Run("close timeout", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, &Options{CloseTimeout: 100 * time.Millisecond})
		sid := ts.handshake()
		ts.conn(sid).Close()
		if got := ts.h.waitClose(t, sid); got != ReasonForcedClose {
			t.Fatalf("reason %q", got)
		}
		ts.gone(sid)
	})
}

// Messages that arrive while a session is closing are dropped, as in Node.
func TestConnClosingDropsMessages(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	sid := ts.handshake()
	ts.conn(sid).Close()
	ts.post(sid, "4ignored")
	if got := ts.h.received(sid); len(got) != 0 {
		t.Fatalf("handled %q while closing", got)
	}
	if res := ts.get(sid); res.body != "6\x1e1" {
		t.Fatalf("GET %q", res.body)
	}
}

// A WebSocket client that does not read is closed with "slow client" once
// its queue passes MaxQueueBytes; Send never blocks meanwhile, and another
// client of the same server keeps receiving.
func TestSlowClient(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, &Options{MaxQueueBytes: 1 << 20, WriteTimeout: time.Minute})
	_, slowSID := ts.wsOpen() // never reads again
	fast, fastSID := ts.wsOpen()
	slow, other := ts.conn(slowSID), ts.conn(fastSID)

	// Fill the socket buffers until the writer blocks (the queue no longer
	// drains), then overflow the queue: the close must not wait for the
	// blocked write (WriteTimeout is a minute).
	msg := eio.NewMessage(make([]byte, 256<<10))
	sent := make(chan error, 1)
	go func() {
		var err error
		for i := 0; i < 4096 && err == nil; i++ { // at most 1 GiB: far more than any socket buffer
			if err = slow.Send(msg); err == nil && !drains(slow, 200*time.Millisecond) {
				break // the writer is blocked on the client
			}
		}
		for err == nil {
			err = slow.Send(msg)
		}
		sent <- err
	}()
	select {
	case err := <-sent:
		if !errors.Is(err, ErrQueueFull) {
			t.Fatalf("Send: %v, want ErrQueueFull", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Send blocked on the slow client")
	}
	if got := ts.h.waitClose(t, slowSID); got != ReasonSlowClient {
		t.Fatalf("reason %q", got)
	}
	if err := slow.Send(msg); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after the close: %v, want ErrClosed", err)
	}
	if err := other.Send(eio.NewMessage([]byte("still here"))); err != nil {
		t.Fatal(err)
	}
	fast.expectText("4still here")
	st := ts.srv.Stats()
	if st.SlowClients != 1 || st.CloseReasons[ReasonSlowClient] != 1 {
		t.Fatalf("stats: %d slow clients, reasons %v", st.SlowClients, st.CloseReasons)
	}
	ts.gone(slowSID)
}

// drains reports whether c's queue empties within d.
func drains(c *Conn, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		n := c.queueBytes
		c.mu.Unlock()
		if n == 0 {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

// The polling queue is bounded too.
func TestSlowClientPolling(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, &Options{MaxQueueBytes: 1000})
	sid := ts.handshake()
	c := ts.conn(sid)
	if err := c.Send(eio.NewMessage(make([]byte, 999))); err != nil { // 1000 bytes queued
		t.Fatal(err)
	}
	if err := c.Send(eio.NewMessage(nil)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Send: %v, want ErrQueueFull", err)
	}
	if got := ts.h.waitClose(t, sid); got != ReasonSlowClient {
		t.Fatalf("reason %q", got)
	}
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	idle := ts.handshake()
	waiting, pending := ts.pendingGET()
	w, wsSID := ts.wsOpen()
	up := ts.handshake()
	upWS := ts.upgrade(up)
	if err := ts.conn(wsSID).Send(eio.NewMessage([]byte("bye"))); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := ts.srv.Count(); n != 0 {
		t.Fatalf("%d connections left", n)
	}
	for _, sid := range []string{idle, waiting, wsSID, up} {
		if reason, ok := ts.h.closed(sid); !ok || reason != ReasonForcedClose {
			t.Errorf("session %s (%s): closed %v, reason %q", sid, map[string]string{idle: "idle", waiting: "waiting", wsSID: "websocket", up: "upgraded"}[sid], ok, reason)
		}
	}
	if res := awaitResponse(t, pending); res.body != "1" {
		t.Errorf("pending GET %q, want \"1\"", res.body)
	}
	w.expectText("4bye")
	if code := w.expectClose(); code != ws.StatusNormalClosure {
		t.Errorf("close code %d", code)
	}
	upWS.expectEnd()

	if ts.srv.Accepting() {
		t.Error("still accepting")
	}
	res := ts.request(http.MethodGet, "EIO=4&transport=polling", "")
	if res.status != http.StatusServiceUnavailable {
		t.Errorf("handshake after Shutdown: %d", res.status)
	}
	if _, err := ts.wsDial("EIO=4&transport=websocket", ws.Dialer{}); err == nil {
		t.Error("WebSocket handshake after Shutdown succeeded")
	}
	if st := ts.srv.Stats(); st.RefusedDraining != 2 || st.Opened != 4 || st.Closed != 4 {
		t.Errorf("stats %+v", st)
	}
	if err := ts.srv.Shutdown(ctx); !errors.Is(err, ErrServerClosed) {
		t.Errorf("second Shutdown: %v", err)
	}
}

// Shutdown gives up when its context ends, closing what is left at once.
func TestShutdownContext(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	sid := ts.handshake()
	if err := ts.conn(sid).Send(eio.NewMessage([]byte("never polled"))); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want DeadlineExceeded", err)
	}
	if got := ts.h.waitClose(t, sid); got != ReasonForcedClose {
		t.Fatalf("reason %q", got)
	}
	if ts.srv.Count() != 0 {
		t.Fatal("connections left")
	}
}

// StopAccepting refuses handshakes while existing sessions go on.
func TestStopAccepting(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	c := ts.dial("polling")
	ts.srv.StopAccepting()
	if res := ts.request(http.MethodGet, "EIO=4&transport=polling", ""); res.status != http.StatusServiceUnavailable {
		t.Fatalf("handshake: %d", res.status)
	}
	c.send("4still")
	c.expect("4still")
}

// CloseAbandoned closes the polling sessions whose client stopped polling
// (one never polled since its handshake, one closing whose client never
// came for the close packet) and none with a request under way, an upgrade
// or a WebSocket; sessions with a request more recent than the idle
// threshold stay.
func TestCloseAbandoned(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	never := ts.handshake()
	closing := ts.handshake()
	ts.conn(closing).Close() // no GET: the close waits for one
	waiting, pending := ts.pendingGET()
	_, wsSID := ts.wsOpen()
	probing := ts.handshake()
	probe := ts.probe(probing)

	if n := ts.srv.CloseAbandoned(time.Hour); n != 0 {
		t.Fatalf("CloseAbandoned(1h) closed %d sessions, none idle for an hour", n)
	}
	if n := ts.srv.CloseAbandoned(0); n != 2 {
		t.Fatalf("CloseAbandoned(0) closed %d sessions, want 2", n)
	}
	for _, sid := range []string{never, closing} {
		if got := ts.h.waitClose(t, sid); got != ReasonForcedClose {
			t.Errorf("session %s: reason %q, want %q", sid, got, ReasonForcedClose)
		}
		ts.gone(sid)
	}
	for _, sid := range []string{waiting, wsSID, probing} {
		if ts.srv.Conn(sid) == nil {
			t.Errorf("session %s closed: its client is still there", sid)
		}
	}
	ts.conn(waiting).Close()
	if res := awaitResponse(t, pending); res.body != "1" {
		t.Errorf("the pending GET got %q, want the close packet", res.body)
	}
	probe.writeText("5") // completes the upgrade: the shutdown closes the WebSocket
}
