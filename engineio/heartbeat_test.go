package engineio

import (
	"net/http"
	"testing"
	"time"
)

// Short heartbeat settings, as in the engine.io conformance suite.
var fastHeartbeat = Options{PingInterval: 300 * time.Millisecond, PingTimeout: 200 * time.Millisecond}

// A client that answers every ping stays connected.
func TestHeartbeatAnswered(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			opts := fastHeartbeat
			ts := newTestServer(t, &opts)
			c := ts.dial(tr)
			for range 3 {
				c.expect("2")
				c.send("3")
			}
			if reason, closed := ts.h.closed(c.sid); closed {
				t.Fatalf("closed: %s", reason)
			}
			c.send("4still here")
			c.expect("4still here")
		})
	}
}

// A client that never answers is closed with "ping timeout" once
// pingInterval+pingTimeout have passed, even if it never polls.
func TestHeartbeatTimeout(t *testing.T) {
	t.Parallel()
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			opts := fastHeartbeat
			ts := newTestServer(t, &opts)
			start := time.Now()
			var w *wsClient
			var sid string
			if tr == "polling" {
				sid = ts.handshake()
			} else {
				w, sid = ts.wsOpen()
			}
			if got := ts.h.waitClose(t, sid); got != ReasonPingTimeout {
				t.Fatalf("reason %q", got)
			}
			if elapsed := time.Since(start); elapsed < opts.PingInterval+opts.PingTimeout {
				t.Fatalf("closed after %v, before pingInterval+pingTimeout", elapsed)
			}
			if w != nil {
				w.expectText("2")
				w.expectEnd()
			}
			ts.gone(sid)
			if st := ts.srv.Stats(); st.CloseReasons[ReasonPingTimeout] != 1 || st.Closed != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// The next ping is scheduled from the pong: a ping is answered, and the
// session is not closed at the first ping's timeout.
func TestHeartbeatRearmedByPong(t *testing.T) {
	t.Parallel()
	opts := fastHeartbeat
	ts := newTestServer(t, &opts)
	w, sid := ts.wsOpen()
	w.expectText("2")
	pong := time.Now()
	w.writeText("3")
	w.expectText("2")
	if gap := time.Since(pong); gap < opts.PingInterval {
		t.Fatalf("next ping %v after the pong, before pingInterval", gap)
	}
	if reason, closed := ts.h.closed(sid); closed {
		t.Fatalf("closed: %s", reason)
	}
}

// v4 clients never ping: a ping from the client closes the session.
func TestHeartbeatClientPing(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, nil)
			c := ts.dial(tr)
			if tr == "polling" {
				ts.request(http.MethodPost, pollQuery(c.sid), "2")
			} else {
				c.send("2")
			}
			if got := ts.h.waitClose(t, c.sid); got != ReasonTransportError {
				t.Fatalf("reason %q", got)
			}
			ts.gone(c.sid)
		})
	}
}
