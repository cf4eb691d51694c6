package node

import (
	"context"
	"math/bits"
	"time"

	"github.com/switchboard-io/switchboard/engineio"
)

// drainTick is the shortest wait between two rounds of closes: a drain of
// many connections wakes up at most this often and closes every connection
// that fell due meanwhile, a drain of few sleeps until the next one is due.
const drainTick = 10 * time.Millisecond

// abandonedAfter is how long a polling session may go without a request,
// with none under way, before a drain takes its client for gone: a live
// polling client is without a pending GET for one round trip after each
// response, far less than this.
const abandonedAfter = 2 * time.Second

// Drain closes the connections of eng spread evenly over window, each with
// a graceful transport close, and returns when all are closed or ctx is
// done. Of n connections, the k-th (from 0) is closed window*k/n after the
// start, whatever n is: the first at once, the last one window/n before the
// window ends, so that clients reconnect elsewhere at a steady rate. A
// window of 0 closes them all at once. Connections that arrive during the
// drain (sessions handed over by other nodes) are closed at its end.
//
// Polling sessions whose client has stopped polling (no request under way
// and none for idle: see engineio.Server.CloseAbandoned) are closed at once,
// first and at the end: their graceful close would wait for a GET that
// never comes, and hold the shutdown for engineio.Options.CloseTimeout.
func Drain(ctx context.Context, eng *engineio.Server, window, idle time.Duration) {
	eng.CloseAbandoned(idle)
	conns := eng.Conns()
	closers := make([]closer, len(conns))
	for i, c := range conns {
		closers[i] = c
	}
	if !drain(ctx, closers, window, realClock{}) {
		return
	}
	for eng.Count() > 0 {
		for _, c := range eng.Conns() {
			c.Close()
		}
		eng.CloseAbandoned(idle)
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// closer is what a drain closes: an *engineio.Conn.
type closer interface{ Close() }

// clock is the time a drain paces itself by.
type clock interface {
	// now returns the time elapsed since the clock's reference point.
	now() time.Duration
	// sleep waits for d or until ctx is done, and reports whether d passed.
	sleep(ctx context.Context, d time.Duration) bool
}

// drainDue returns when the k-th of n connections is closed: window*k/n
// after the start, for 0 <= k < n (the product is 128 bits wide: no
// overflow with any window or n).
func drainDue(k, n int, window time.Duration) time.Duration {
	hi, lo := bits.Mul64(uint64(window), uint64(k))
	q, _ := bits.Div64(hi, lo, uint64(n))
	return time.Duration(q)
}

// drain closes conns on the schedule of drainDue and reports whether it
// closed them all before ctx was done.
func drain(ctx context.Context, conns []closer, window time.Duration, clk clock) bool {
	start := clk.now()
	n := len(conns)
	for i := 0; i < n; {
		elapsed := clk.now() - start
		for i < n && drainDue(i, n, window) <= elapsed {
			conns[i].Close()
			i++
		}
		if i == n {
			break
		}
		if !clk.sleep(ctx, max(drainDue(i, n, window)-elapsed, drainTick)) {
			return false
		}
	}
	return true
}

// realClock is the monotonic clock.
type realClock struct{}

var clockStart = time.Now()

func (realClock) now() time.Duration { return time.Since(clockStart) }

func (realClock) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
