package engineio

import (
	"bytes"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/eio"
)

// goroutineID returns the calling goroutine's number, from its stack header
// ("goroutine 42 [running]:"). For tests only.
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	id, _ := strconv.ParseUint(string(b[:bytes.IndexByte(b, ' ')]), 10, 64)
	return id
}

// Work passed to Conn.Go from OnMessage starts once OnMessage has returned;
// on a WebSocket watched by the poller it runs on the goroutine that read
// the message (no hand-off), and a second call in the same OnMessage runs
// on a goroutine of its own.
func TestGoRunsAfterOnMessageOnItsReader(t *testing.T) {
	type run struct {
		afterReturn bool
		sameReader  bool
	}
	runs := make(chan run, 4)
	h := newTestHandler()
	h.onMessage = func(c *Conn, data []byte, binary bool) {
		reader := goroutineID()
		var returned atomic.Bool
		for range 2 {
			c.Go(func() { runs <- run{returned.Load(), goroutineID() == reader} })
		}
		time.Sleep(10 * time.Millisecond) // a Go that ran f at once would be seen
		returned.Store(true)
	}
	ts := newTestServer(t, nil, h)
	c, _ := ts.wsOpen()
	c.writeText("4go")
	inline := 0
	for range 2 {
		select {
		case r := <-runs:
			if !r.afterReturn && r.sameReader {
				t.Error("work ran on the reader before OnMessage returned")
			}
			if r.sameReader {
				inline++
			}
		case <-time.After(waitTimeout):
			t.Fatal("work passed to Go did not run")
		}
	}
	want := 1
	if !usePoller || runtime.GOOS != "linux" {
		want = 0
	}
	if inline != want {
		t.Errorf("%d of 2 runs on the reading goroutine, want %d", inline, want)
	}
}

// Work passed to Conn.Go that blocks until a later message of the same
// connection arrives does not stop that message from being read: while it
// runs, another goroutine reads.
func TestGoBlockingKeepsReading(t *testing.T) {
	for _, transport := range []string{TransportWebSocket, TransportPolling} {
		t.Run(transport, func(t *testing.T) {
			release, running := make(chan struct{}), make(chan struct{}, 2)
			h := newTestHandler()
			h.onMessage = func(c *Conn, data []byte, binary bool) {
				switch string(data) {
				case "block":
					c.Go(func() {
						running <- struct{}{}
						select {
						case <-release:
							_ = c.Send(eio.NewMessage([]byte("released")))
						case <-time.After(waitTimeout):
						}
					})
				case "release":
					close(release)
				}
			}
			ts := newTestServer(t, nil, h)
			if transport == TransportPolling {
				sid := ts.handshake()
				ts.post(sid, "4block")
				waitRecv(t, running)
				ts.post(sid, "4release")
				if got := ts.get(sid).body; got != "4released" {
					t.Fatalf("got %q, want 4released", got)
				}
				return
			}
			c, sid := ts.wsOpen()
			c.writeText("4block")
			waitRecv(t, running) // the release comes while the work waits for it
			c.writeText("4release")
			c.expectText("4released")
			// The connection is still read, by one reader, in order.
			for i := range 3 {
				c.writeText("4m" + strconv.Itoa(i))
			}
			c.writeText("4block")
			waitFor(t, "the later messages", func() bool { return len(h.received(sid)) == 6 })
		})
	}
}

func waitRecv(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatal("work passed to Go did not start")
	}
}

// Conn.Go outside OnMessage runs f on a goroutine of its own.
func TestGoOutsideOnMessage(t *testing.T) {
	ts := newTestServer(t, nil)
	_, sid := ts.wsOpen()
	done := make(chan uint64, 1)
	ts.conn(sid).Go(func() { done <- goroutineID() })
	select {
	case id := <-done:
		if id == goroutineID() {
			t.Error("f ran on the caller's goroutine")
		}
	case <-time.After(waitTimeout):
		t.Fatal("f did not run")
	}
}
