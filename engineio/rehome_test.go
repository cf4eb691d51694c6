package engineio

import (
	"context"
	"testing"
)

// TestRehome: a polling session the handler has seen is closed with a
// close packet (its client reconnects; the handler sees a forced close);
// a WebSocket session, or an unknown one, is left alone.
func TestRehome(t *testing.T) {
	ts := newTestServer(t, nil)
	sid := ts.handshake()
	ts.h.waitOpen(t)
	waitGet := ts.getAsync(context.Background(), sid)
	waitGetPending(t, ts.conn(sid))
	if !ts.srv.Rehome(sid) {
		t.Fatal("Rehome refused an open polling session")
	}
	if res := awaitResponse(t, waitGet); res.body != "1" {
		t.Fatalf("the pending GET got %q, want the close packet", res.body)
	}
	if r := ts.h.waitClose(t, sid); r != ReasonForcedClose {
		t.Fatalf("closed with %q, want %q", r, ReasonForcedClose)
	}
	if st := ts.srv.Stats(); st.Rehomed != 1 {
		t.Fatalf("Rehomed = %d, want 1", st.Rehomed)
	}

	c, wsid := ts.wsOpen()
	defer c.conn.Close()
	ts.h.waitOpen(t)
	if ts.srv.Rehome(wsid) || ts.srv.Rehome("nope") {
		t.Fatal("Rehome closed a WebSocket session or an unknown one")
	}
	if _, closed := ts.h.closed(wsid); closed {
		t.Fatal("the WebSocket session was closed")
	}
}
