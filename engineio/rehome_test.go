package engineio

import (
	"context"
	"io"
	"strings"
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

// TestReadPayloadGrowsAsDataArrives: a frame that claims 1 MB but sends
// 10 bytes before stalling makes the reader hold one chunk, not 1 MB; a
// complete payload is read whole, across chunks.
func TestReadPayloadGrowsAsDataArrives(t *testing.T) {
	r := &widestRead{r: strings.NewReader("0123456789")}
	if _, err := readPayload(r, nil, 1<<20); err == nil || r.widest > payloadChunk {
		t.Fatalf("stalled frame: err %v, read into a buffer of %d bytes", err, r.widest)
	}
	want := strings.Repeat("x", 3*payloadChunk+5)
	got, err := readPayload(strings.NewReader(want), []byte("ab"), len(want))
	if err != nil || string(got) != "ab"+want {
		t.Fatalf("complete payload: %d bytes, %v", len(got), err)
	}
}

// widestRead records the largest buffer it was asked to fill.
type widestRead struct {
	r      io.Reader
	widest int
}

func (w *widestRead) Read(p []byte) (int, error) {
	w.widest = max(w.widest, len(p))
	return w.r.Read(p)
}
