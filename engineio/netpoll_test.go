package engineio

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-io/switchboard/eio"
)

// Idle WebSocket connections are watched by the poller: they hold no
// goroutine of their own.
func TestIdleWebSocketHoldsNoGoroutine(t *testing.T) {
	if !usePoller || runtime.GOOS != "linux" {
		t.Skip("one goroutine per connection without the poller")
	}
	ts := newTestServer(t, nil)
	c0, _ := ts.wsOpen() // starts the poller
	c0.writeText("4warm-up")
	waitFor(t, "the first message", func() bool { return ts.srv.Stats().PacketsIn == 1 })
	before := runtime.NumGoroutine()
	const n = 50
	clients := make([]*wsClient, n)
	for i := range clients {
		clients[i], _ = ts.wsOpen()
	}
	time.Sleep(100 * time.Millisecond) // let handshake goroutines end
	if extra := runtime.NumGoroutine() - before; extra > n/10 {
		t.Fatalf("%d idle connections added %d goroutines", n, extra)
	}
	// And they are still read: every one echoes.
	for i, c := range clients {
		c.writeText(fmt.Sprintf("4m%d", i))
	}
	waitFor(t, "every message", func() bool { return ts.srv.Stats().PacketsIn >= n+1 })
}

// A client that reads slowly makes non-blocking writes stop part-way
// through a frame; what is left goes out first, before later packets and
// before a control frame, so the client sees every frame whole and in
// order.
func TestPartialWritesKeepFrames(t *testing.T) {
	ts := newTestServer(t, &Options{MaxQueueBytes: 64 << 20})
	c, sid := ts.wsOpen()
	conn := ts.conn(sid)
	const count, size = 400, 50_000
	payload := func(i int) []byte {
		return bytes.Repeat([]byte{byte('a' + i%26)}, size)
	}
	go func() {
		for i := range count {
			if conn.Send(&eio.Packet{Type: eio.PacketMessage, Data: payload(i)}) != nil {
				return
			}
			if i == count/2 {
				// A ping from the client now gets a pong written
				// while the socket is full.
				c.write(ws.OpPing, []byte("p"))
			}
		}
	}()
	if runtime.GOOS == "linux" { // 20 MB fill the socket buffers
		waitFor(t, "a write stopped part-way", func() bool { return ts.srv.stats.partialWrites.Load() > 0 })
	}
	pongs := 0
	for i := 0; i < count; {
		h, p := c.frame()
		switch h.OpCode {
		case ws.OpPong:
			pongs++
			continue
		case ws.OpText:
		default:
			t.Fatalf("frame %d: got %v", i, h.OpCode)
		}
		want := append([]byte{'4'}, payload(i)...)
		if !bytes.Equal(p, want) {
			t.Fatalf("frame %d: got %d bytes starting %q, want %d bytes of %q", i, len(p), p[:min(len(p), 8)], len(want), want[:8])
		}
		i++
	}
	if pongs == 0 {
		if h, _ := c.frame(); h.OpCode != ws.OpPong {
			t.Fatalf("got %v, want the pong", h.OpCode)
		}
	}
}

// With a write delay, packets sent within it go out in one write.
func TestWriteDelayBatches(t *testing.T) {
	ts := newTestServer(t, &Options{WriteDelay: 100 * time.Millisecond})
	c, sid := ts.wsOpen()
	conn := ts.conn(sid)
	// The open packet (with the 101) was the writers' first write; it may
	// be counted after the client has read it.
	if runtime.GOOS == "linux" {
		waitFor(t, "the open packet's write to be counted", func() bool { return ts.srv.stats.writerWrites.Load() == 1 })
	}
	before := ts.srv.stats.writerWrites.Load()
	for i := range 10 {
		if err := conn.Send(&eio.Packet{Type: eio.PacketMessage, Data: []byte{byte('0' + i)}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		c.expectText("4" + string(rune('0'+i)))
	}
	if runtime.GOOS != "linux" {
		return
	}
	// The writer counts its write once writev has returned, which may be
	// after the client has read the frames.
	waitFor(t, "the write to be counted", func() bool { return ts.srv.stats.writerWrites.Load() > before })
	if n := ts.srv.stats.writerWrites.Load() - before; n != 1 {
		t.Fatalf("10 packets within the write delay took %d writes, want 1", n)
	}
}

// Enqueue leaves the writes to the writers: every connection gets its
// packets whole and in order.
func TestEnqueueWritesInOrder(t *testing.T) {
	ts := newTestServer(t, nil)
	const clients, count = 3, 100
	ws := make([]*wsClient, clients)
	conns := make([]*Conn, clients)
	for i := range ws {
		var sid string
		ws[i], sid = ts.wsOpen()
		conns[i] = ts.conn(sid)
	}
	before := ts.srv.stats.writerWrites.Load()
	for n := range count {
		p := eio.NewMessage([]byte(fmt.Sprint(n)))
		for _, c := range conns {
			if err := c.Enqueue(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range ws {
		for n := range count {
			c.expectText("4" + fmt.Sprint(n))
		}
	}
	if runtime.GOOS == "linux" { // counted once writev has returned
		waitFor(t, "a write by the writers", func() bool { return ts.srv.stats.writerWrites.Load() > before })
	}
}
