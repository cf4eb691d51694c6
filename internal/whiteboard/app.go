package whiteboard

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-io/switchboard/socketio"
)

// App implements the whiteboard's Socket.IO side on a namespace: "drawing"
// is relayed to every other client (on every node), each new client gets
// "hello" {node, clients}, and every client gets "clients" {count} when the
// cluster-wide count changes. Each node counts its own clients and shares
// the count with ServerSideEmit, so no request crosses the cluster per
// connection.
type App struct {
	ns       *socketio.Namespace
	node     string
	interval time.Duration // at most one count update per interval

	mu     sync.Mutex
	remote map[string]remoteCount // other nodes' counts, by node name
	total  int                    // last total announced to clients

	announced    int // last local count shared; the count loop's own
	countUpdates atomic.Uint64

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

// Options configure an App.
type Options struct {
	// Node is the node's name, shown on the page.
	Node string
	// CountInterval is the shortest time between two "clients" updates:
	// the first change after a quiet interval goes out at once, the
	// changes that follow within it together at its end. Zero means
	// DefaultCountInterval.
	CountInterval time.Duration
}

// DefaultCountInterval is Options.CountInterval's default.
const DefaultCountInterval = 500 * time.Millisecond

// Stats are an App's counters.
type Stats struct {
	// CountUpdates counts the "clients" broadcasts to this node's pages.
	CountUpdates uint64
}

// Attach installs the whiteboard on ns and starts its count loop; Close
// stops it.
func Attach(ns *socketio.Namespace, opts Options) *App {
	if opts.CountInterval <= 0 {
		opts.CountInterval = DefaultCountInterval
	}
	a := &App{ns: ns, node: opts.Node, interval: opts.CountInterval, remote: map[string]remoteCount{},
		announced: -1, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	ns.OnServerSideEmit(countEvent, a.onRemoteCount)
	ns.OnConnection(a.onConnection)
	go a.countLoop()
	return a
}

// Close stops the count loop.
func (a *App) Close() {
	close(a.stop)
	<-a.done
}

// Stats returns the App's counters.
func (a *App) Stats() Stats { return Stats{CountUpdates: a.countUpdates.Load()} }

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
