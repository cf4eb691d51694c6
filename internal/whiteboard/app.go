package whiteboard

import (
	"context"
	"sync"
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

// App implements the whiteboard's Socket.IO side on a namespace: "drawing"
// is relayed to every other client (on every node), each new client gets
// "hello" {node, clients}, and every client gets "clients" {count} when the
// cluster-wide count changes. Each node counts its own clients and shares
// the count with ServerSideEmit, so no request crosses the cluster per
// connection.
type App struct {
	ns   *socketio.Namespace
	node string

	mu     sync.Mutex
	remote map[string]remoteCount // other nodes' counts, by node name
	total  int                    // last total announced to clients

	stop chan struct{}
	done chan struct{}
}

type remoteCount struct {
	n    int
	seen time.Time
}

// Attach installs the whiteboard on ns and starts the count announcer;
// Close stops it.
func Attach(ns *socketio.Namespace, node string) *App {
	a := &App{ns: ns, node: node, remote: map[string]remoteCount{},
		stop: make(chan struct{}), done: make(chan struct{})}
	ns.OnServerSideEmit(countEvent, a.onRemoteCount)
	ns.OnConnection(a.onConnection)
	go a.announceLoop()
	return a
}

// Close stops the announcer.
func (a *App) Close() {
	close(a.stop)
	<-a.done
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

func (a *App) onConnection(s *socketio.Socket) {
	s.On("drawing", func(e *socketio.Event) {
		if len(e.Args) == 1 && !e.Args[0].HasBinary() {
			_ = s.Broadcast().Emit(context.Background(), "drawing", e.Args[0])
		}
	})
	s.OnDisconnect(func(string) { a.countChanged() })
	_ = s.Emit("hello", map[string]any{"node": a.node, "clients": a.Total()})
	a.countChanged()
}

// countChanged shares the local count and tells local clients the new total.
func (a *App) countChanged() {
	a.announce()
	a.publishTotal()
}

func (a *App) announce() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = a.ns.ServerSideEmit(ctx, countEvent, a.node, a.ns.Len())
}

// publishTotal sends "clients" to this node's clients when the total moved.
func (a *App) publishTotal() {
	a.mu.Lock()
	total := a.totalLocked(time.Now())
	changed := total != a.total
	a.total = total
	a.mu.Unlock()
	if changed {
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
	a.publishTotal()
}

func (a *App) announceLoop() {
	defer close(a.done)
	t := time.NewTicker(announceEvery)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			a.announce()
			a.publishTotal()
		}
	}
}
