package whiteboard

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-io/switchboard/socketio"
)

// App implements the whiteboard's Socket.IO side on a namespace. Each page
// draws on one board (the CONNECT auth's "board", DefaultBoard without
// one), whose pages share a room. A "drawing" stroke is validated, stored
// and relayed with its entry ID to the board's other pages on every node;
// "clear" clears the board for everyone; "history" pages through the
// board's entries, so that a page that joins catches up with no gap and no
// duplicate at the seam (see web/whiteboard/README.md). Each new page gets
// "hello" {node, clients, board}, and every page gets "clients" {count}
// when the cluster-wide count changes, at most once per CountInterval.
// Each node counts its own pages and shares the count with
// ServerSideEmit, so no request crosses the cluster per connection.
type App struct {
	ns           *socketio.Namespace
	node         string
	store        Store
	interval     time.Duration // at most one count update per interval
	storeTimeout time.Duration

	mu     sync.Mutex
	remote map[string]remoteCount // other nodes' counts, by node name
	total  int                    // last total announced to clients

	announced    int // last local count shared; the count loop's own
	countUpdates atomic.Uint64

	strokes, clears, historyPages atomic.Uint64
	dropped                       [numDropReasons]atomic.Uint64

	kick     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
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
	// Store keeps the boards. Nil means a MemoryStore with its defaults
	// (one node); a cluster shares a RedisStore.
	Store Store
	// StoreTimeout bounds each call to the store. Zero means
	// DefaultStoreTimeout.
	StoreTimeout time.Duration
}

// DefaultCountInterval is Options.CountInterval's default.
const DefaultCountInterval = 500 * time.Millisecond

// DefaultStoreTimeout is Options.StoreTimeout's default.
const DefaultStoreTimeout = 5 * time.Second

// Stats are an App's counters.
type Stats struct {
	// CountUpdates counts the "clients" broadcasts to this node's pages.
	CountUpdates uint64
	// Strokes counts the strokes stored and relayed.
	Strokes uint64
	// Clears counts the boards cleared.
	Clears uint64
	// HistoryPages counts the "history" answers sent.
	HistoryPages uint64
	// Dropped counts the strokes and requests dropped unrelayed, by reason
	// (the Drop constants); every reason is present.
	Dropped map[string]uint64
}

// Attach installs the whiteboard on ns and starts its count loop; Close
// stops it.
func Attach(ns *socketio.Namespace, opts Options) *App {
	if opts.CountInterval <= 0 {
		opts.CountInterval = DefaultCountInterval
	}
	if opts.Store == nil {
		opts.Store = NewMemoryStore(MemoryOptions{})
	}
	if opts.StoreTimeout <= 0 {
		opts.StoreTimeout = DefaultStoreTimeout
	}
	a := &App{ns: ns, node: opts.Node, store: opts.Store, interval: opts.CountInterval,
		storeTimeout: opts.StoreTimeout, remote: map[string]remoteCount{}, announced: -1,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	ns.OnServerSideEmit(countEvent, a.onRemoteCount)
	ns.OnConnection(a.onConnection)
	go a.countLoop()
	return a
}

// Close stops the count loop. It may be called more than once.
func (a *App) Close() {
	a.stopOnce.Do(func() { close(a.stop) })
	<-a.done
}

// Stats returns the App's counters.
func (a *App) Stats() Stats {
	st := Stats{CountUpdates: a.countUpdates.Load(), Strokes: a.strokes.Load(), Clears: a.clears.Load(),
		HistoryPages: a.historyPages.Load(), Dropped: make(map[string]uint64, numDropReasons)}
	for r := range dropReason(numDropReasons) {
		st.Dropped[r.String()] = a.dropped[r].Load()
	}
	return st
}

func (a *App) drop(r dropReason) { a.dropped[r].Add(1) }

func (a *App) onConnection(s *socketio.Socket) {
	board := boardOf(s.Handshake())
	if !s.Recovered() { // a recovered socket is in its rooms already
		s.Join(rooms(board)...)
	}
	s.On("drawing", func(e *socketio.Event) { a.onDrawing(e, board) })
	s.On("clear", func(e *socketio.Event) { a.onClear(e, board) })
	s.On("history", func(e *socketio.Event) { a.onHistory(e, board) })
	s.OnDisconnect(func(string) { a.countChanged() })
	_ = s.Emit("hello", map[string]any{"node": a.node, "clients": a.Total(), "board": board})
	a.countChanged()
}

// boardOf returns the board a page asked for in its CONNECT auth, or
// DefaultBoard when it asked for none or for an invalid name.
func boardOf(h *socketio.Handshake) string {
	var auth struct {
		Board string `json:"board"`
	}
	if json.Unmarshal(h.Auth, &auth) != nil || !ValidBoard(auth.Board) {
		return DefaultBoard
	}
	return auth.Board
}

// storeContext bounds a store call and the broadcast that follows it. It
// is not the sender's: a stroke stored as its sender disconnects must still
// be relayed, or the pages that are live would miss it.
func (a *App) storeContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), a.storeTimeout)
}
