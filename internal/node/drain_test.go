package node

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/client"
)

// fakeClock is a virtual clock: sleeping advances it at once.
type fakeClock struct {
	t      time.Duration
	sleeps int
}

func (c *fakeClock) now() time.Duration { return c.t }

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	c.sleeps++
	c.t += d
	return true
}

// fakeConn records when the drain closed it.
type fakeConn struct {
	clk    *fakeClock
	closed []time.Duration
}

func (f *fakeConn) Close() { f.closed = append(f.closed, f.clk.now()) }

// TestDrainPacing: any number of connections, from one to many more than
// the window has ticks, is closed in order and evenly over the window: the
// k-th of n no earlier than window*k/n and less than one tick later, each
// once, and the drain wakes up no more often than once a tick.
func TestDrainPacing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n      int
		window time.Duration
	}{
		{1, 20 * time.Second}, {2, 20 * time.Second}, {30, 20 * time.Second},
		{199, 20 * time.Second}, {200, 20 * time.Second}, {5000, 20 * time.Second},
		{100000, 20 * time.Second}, {30, 0}, {7, 35 * time.Millisecond},
	} {
		t.Run(fmt.Sprintf("%d over %v", tc.n, tc.window), func(t *testing.T) {
			t.Parallel()
			clk := &fakeClock{t: time.Hour}
			conns := make([]*fakeConn, tc.n)
			closers := make([]closer, tc.n)
			for i := range conns {
				conns[i] = &fakeConn{clk: clk}
				closers[i] = conns[i]
			}
			if !drain(context.Background(), closers, tc.window, clk) {
				t.Fatal("the drain did not finish")
			}
			var prev time.Duration
			for k, c := range conns {
				if len(c.closed) != 1 {
					t.Fatalf("connection %d closed %d times", k, len(c.closed))
				}
				at, due := c.closed[0]-time.Hour, tc.window*time.Duration(k)/time.Duration(tc.n)
				if at < due || at >= due+drainTick || at < prev {
					t.Fatalf("connection %d of %d closed at %v, due at %v (previous at %v)", k, tc.n, at, due, prev)
				}
				prev = at
			}
			if last, want := prev, tc.window*time.Duration(tc.n-1)/time.Duration(tc.n); last < want {
				t.Fatalf("the last close at %v ends the drain early: want %v", last, want)
			}
			if limit := min(tc.n, int(tc.window/drainTick)+1); clk.sleeps > limit {
				t.Fatalf("%d wake-ups, want at most %d", clk.sleeps, limit)
			}
		})
	}
}

// TestDrainCancelled: a drain whose context ends stops closing and says so.
func TestDrainCancelled(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conns := make([]closer, 10)
	closedCount := 0
	for i := range conns {
		conns[i] = closeFunc(func() {
			if closedCount++; closedCount == 3 {
				cancel()
			}
		})
	}
	if drain(ctx, conns, time.Second, clk) {
		t.Fatal("a cancelled drain reported that it finished")
	}
	if closedCount != 3 {
		t.Fatalf("%d closed after the cancel, want 3", closedCount)
	}
}

type closeFunc func()

func (f closeFunc) Close() { f() }

// TestDrainSpreadsFewConnections: a node with 10 clients drains them over
// the whole window: sorted by when their client saw the transport close,
// the k-th saw it no earlier than window*k/10 after the shutdown began
// (the old pacing, one per 100 ms, had closed them all within 1 s).
func TestDrainSpreadsFewConnections(t *testing.T) {
	t.Parallel()
	const n, window = 10, 2 * time.Second
	nd := startNode(t, "--drain-window", window.String())
	var mu sync.Mutex
	var seen []time.Time
	reasons := map[client.DisconnectReason]int{}
	clients := make([]*client.Socket, n)
	done := make(chan struct{}, n)
	for i := range clients {
		clients[i] = dial(t, nd, "websocket")
		clients[i].OnDisconnect(func(r client.DisconnectReason, _ error) {
			mu.Lock()
			seen = append(seen, time.Now())
			reasons[r]++
			mu.Unlock()
			done <- struct{}{}
		})
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := nd.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for range n {
		<-done
	}
	for _, c := range clients {
		c.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	if reasons[client.ReasonTransportClose] != n {
		t.Fatalf("disconnect reasons %v, want %d transport close", reasons, n)
	}
	slices.SortFunc(seen, func(a, b time.Time) int { return a.Compare(b) })
	for k, at := range seen {
		if due := window * time.Duration(k) / n; at.Sub(start) < due {
			t.Fatalf("client %d of %d disconnected %v after the shutdown began, before its due time %v", k, n, at.Sub(start), due)
		}
	}
}

// TestDrainClosesAbandonedPolling: a polling session whose client made
// its handshake and never polled again does not hold the shutdown until
// the close timeout (5 s, beyond this shutdown's 3 s context): the drain
// closes it at once, and the shutdown succeeds. A live polling client on
// the same node still gets its transport close.
func TestDrainClosesAbandonedPolling(t *testing.T) {
	t.Parallel()
	nd := startNode(t)
	nd.abandonedAfter = 500 * time.Millisecond
	live := dial(t, nd, "polling")
	defer live.Close()
	reason := make(chan client.DisconnectReason, 1)
	live.OnDisconnect(func(r client.DisconnectReason, _ error) { reason <- r })
	sid := pollingHandshake(t, nd)
	eng := nd.SocketIO().Engine()
	if eng.Conn(sid) == nil {
		t.Fatalf("no session %s after its handshake", sid)
	}

	// Without the abandoned session's close, Shutdown waits for the whole
	// deadline and fails; a generous deadline keeps a loaded machine from
	// failing the test while a working drain still returns at once.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := nd.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with an abandoned polling session: %v", err)
	}
	if eng.Conn(sid) != nil || eng.Count() != 0 {
		t.Fatalf("session %s still open after the shutdown (%d open)", sid, eng.Count())
	}
	select {
	case r := <-reason:
		if r != client.ReasonTransportClose {
			t.Fatalf("the live polling client: %q, want %q", r, client.ReasonTransportClose)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the live polling client was not disconnected")
	}
}

// pollingHandshake opens a polling session on nd the way curl would, and
// returns its id; nothing polls it afterwards.
func pollingHandshake(t *testing.T, nd *Node) string {
	t.Helper()
	code, body := get(t, "http://"+nd.Addr().String()+"/socket.io/?EIO=4&transport=polling")
	var open struct{ Sid string }
	rest, ok := strings.CutPrefix(body, "0")
	if code != http.StatusOK || !ok || json.Unmarshal([]byte(rest), &open) != nil || open.Sid == "" {
		t.Fatalf("handshake: %d %q", code, body)
	}
	return open.Sid
}
