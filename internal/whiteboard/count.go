package whiteboard

import (
	"context"
	"time"

	"github.com/switchboard-io/switchboard/socketio"
)

// countEvent is the inter-node event carrying a node's local client count.
const countEvent = "whiteboard:count"

// How often a node re-announces its count, and how long a silent node's
// count is still believed.
const (
	announceEvery = 5 * time.Second
	countTTL      = 3 * announceEvery
)

type remoteCount struct {
	n    int
	seen time.Time
}

// Total returns the number of clients on every node known.
func (a *App) Total() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.totalLocked(time.Now())
}

func (a *App) totalLocked(now time.Time) int {
	n := a.ns.Len()
	for name, rc := range a.remote {
		if now.Sub(rc.seen) > countTTL {
			delete(a.remote, name)
			continue
		}
		n += rc.n
	}
	return n
}

// countChanged tells the count loop that a count moved; it never blocks.
func (a *App) countChanged() {
	select {
	case a.kick <- struct{}{}:
	default: // one is pending already
	}
}

// countLoop coalesces count changes, so that a storm of N connections
// costs each page one update per interval rather than N: the first change
// after a quiet interval is flushed at once, the following ones together
// when the interval ends. Every announceEvery the local count is shared
// again, so that the other nodes keep believing it.
func (a *App) countLoop() {
	defer close(a.done)
	announce := time.NewTicker(announceEvery)
	defer announce.Stop()
	var pending *time.Timer
	var fire <-chan time.Time // pending's; nil when no flush is pending
	var last time.Time
	for {
		select {
		case <-a.stop:
			if pending != nil {
				pending.Stop()
			}
			return
		case <-a.kick:
			if fire != nil {
				continue // flushed with the pending one
			}
			if wait := a.interval - time.Since(last); wait > 0 {
				pending = time.NewTimer(wait)
				fire = pending.C
				continue
			}
		case <-fire:
			pending, fire = nil, nil
		case <-announce.C:
			a.flushCount(true)
			continue
		}
		a.flushCount(false)
		last = time.Now()
	}
}

// flushCount shares the local count if it moved (or always, with force)
// and tells this node's pages the total if it moved.
func (a *App) flushCount(force bool) {
	if n := a.ns.Len(); force || n != a.announced {
		a.announced = n
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = a.ns.ServerSideEmit(ctx, countEvent, a.node, n)
		cancel()
	}
	a.mu.Lock()
	total := a.totalLocked(time.Now())
	changed := total != a.total
	a.total = total
	a.mu.Unlock()
	if changed {
		a.countUpdates.Add(1)
		_ = a.ns.Local().Emit(context.Background(), "clients", map[string]int{"count": total})
	}
}

func (a *App) onRemoteCount(args []socketio.Arg, _ func(any)) {
	var node string
	var n int
	if len(args) < 2 || args[0].Decode(&node) != nil || args[1].Decode(&n) != nil || node == a.node {
		return
	}
	a.mu.Lock()
	a.remote[node] = remoteCount{n: n, seen: time.Now()}
	a.mu.Unlock()
	a.countChanged()
}
