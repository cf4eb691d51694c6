package whiteboard_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/client"
	"github.com/switchboard-io/switchboard/internal/whiteboard"
	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

func TestMain(m *testing.M) { socketiotest.VerifyTestMain(m) }

// startNode serves a Socket.IO server with the whiteboard app on loopback;
// factory nil means the in-memory adapter. Both stop when the test ends.
func startNode(t *testing.T, opts whiteboard.Options, factory adapter.Factory) (*socketiotest.Server, *whiteboard.App) {
	t.Helper()
	srv := socketiotest.NewServer(t, &socketio.Options{Adapter: factory})
	app := whiteboard.Attach(srv.Of("/"), opts)
	t.Cleanup(app.Close) // runs before the server's shutdown
	return srv, app
}

// entry is a board entry as a page receives it.
type entry struct {
	ID             string  `json:"id"`
	Clear          bool    `json:"clear"`
	X0, Y0, X1, Y1 float64 `json:"-"`
	Color          string  `json:"color"`
}

// wireEntry is entry with its coordinates decoded.
type wireEntry struct {
	ID    string   `json:"id"`
	Clear bool     `json:"clear"`
	X0    *float64 `json:"x0"`
	Y0    *float64 `json:"y0"`
	X1    *float64 `json:"x1"`
	Y1    *float64 `json:"y1"`
	Color string   `json:"color"`
}

func (w wireEntry) entry() entry {
	e := entry{ID: w.ID, Clear: w.Clear, Color: w.Color}
	if w.X0 != nil && w.Y0 != nil && w.X1 != nil && w.Y1 != nil {
		e.X0, e.Y0, e.X1, e.Y1 = *w.X0, *w.Y0, *w.X1, *w.Y1
	}
	return e
}

// page is a Go client doing what internal/whiteboard/web/main.js does: it keeps
// live entries while it reads the board's history page by page, then
// applies those past the history's last ID (the seam), and drops what a
// clear removed.
type page struct {
	t    *testing.T
	m    *client.Manager
	sock *client.Socket

	mu       sync.Mutex
	syncing  bool
	pending  []entry
	seam     whiteboard.ID
	floor    whiteboard.ID
	strokes  []entry // the board as the page shows it
	received int     // live "drawing" events received
	node     string
}

// openPage connects a page to board at a node's URL and catches up.
func openPage(t *testing.T, url, board string) *page {
	t.Helper()
	auth := map[string]string{}
	if board != "" {
		auth["board"] = board
	}
	m, err := client.NewManager(url, &client.Options{Auth: auth, NoReconnection: true})
	if err != nil {
		t.Fatal(err)
	}
	p := &page{t: t, m: m, sock: m.Socket("/", nil), syncing: true}
	t.Cleanup(func() { _ = m.Close() })
	p.sock.On("drawing", func(e *client.Event) {
		var w wireEntry
		if e.Decode(&w) == nil {
			p.live(w.entry(), true)
		}
	})
	p.sock.On("clear", func(e *client.Event) {
		var w wireEntry
		if e.Decode(&w) == nil {
			p.live(entry{ID: w.ID, Clear: true}, false)
		}
	})
	p.sock.On("hello", func(e *client.Event) {
		var h struct{ Node string }
		_ = e.Decode(&h)
		p.mu.Lock()
		p.node = h.Node
		p.mu.Unlock()
	})
	if err := p.sock.Connect(socketiotest.Context(t)); err != nil {
		t.Fatal(err)
	}
	p.catchUp()
	return p
}

func mustID(t *testing.T, s string) whiteboard.ID {
	t.Helper()
	id, err := whiteboard.ParseID(s)
	if err != nil {
		t.Fatalf("entry id %q: %v", s, err)
	}
	return id
}

// catchUp reads the history, then applies the live entries that waited.
func (p *page) catchUp() {
	var last whiteboard.ID
	for {
		after := ""
		if !last.IsZero() {
			after = last.String()
		}
		res, err := p.sock.EmitWithAck(socketiotest.Context(p.t), "history", map[string]string{"after": after})
		if err != nil {
			p.t.Fatalf("history: %v", err)
		}
		var pg struct {
			Entries []wireEntry
			More    bool
			Error   string
		}
		if len(res) != 1 || res[0].Decode(&pg) != nil || pg.Error != "" {
			p.t.Fatalf("history: bad answer %v", res)
		}
		p.mu.Lock()
		for _, w := range pg.Entries {
			p.applyLocked(w.entry())
			last = mustID(p.t, w.ID)
		}
		p.mu.Unlock()
		if !pg.More {
			break
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seam, p.syncing = last, false
	for _, e := range p.pending {
		if p.seam.Less(mustID(p.t, e.ID)) {
			p.applyLocked(e)
		}
	}
	p.pending = nil
}

func (p *page) live(e entry, stroke bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if stroke {
		p.received++
	}
	if e.ID == "" && stroke { // one the board could not keep: drawn, as the page does
		p.strokes = append(p.strokes, e)
		return
	}
	if p.syncing {
		p.pending = append(p.pending, e)
		return
	}
	if p.seam.Less(mustID(p.t, e.ID)) {
		p.applyLocked(e)
	}
}

func (p *page) applyLocked(e entry) {
	id := mustID(p.t, e.ID)
	if !p.floor.Less(id) {
		return
	}
	if e.Clear {
		p.floor = id
		kept := p.strokes[:0]
		for _, s := range p.strokes {
			if id.Less(mustID(p.t, s.ID)) {
				kept = append(kept, s)
			}
		}
		p.strokes = kept
		return
	}
	p.strokes = append(p.strokes, e)
}

// board returns a copy of what the page shows.
func (p *page) board() []entry {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]entry(nil), p.strokes...)
}

// draw sends a stroke; its ack is its entry ID.
func (p *page) draw(x0, y0, x1, y1 float64, color string) string {
	p.t.Helper()
	res, err := p.sock.EmitWithAck(socketiotest.Context(p.t), "drawing",
		map[string]any{"x0": x0, "y0": y0, "x1": x1, "y1": y1, "color": color})
	var id string
	if err != nil || len(res) != 1 || res[0].Decode(&id) != nil {
		p.t.Fatalf("drawing: ack %v, %v", res, err)
	}
	return id
}

// waitBoard waits until the page's board satisfies cond.
func (p *page) waitBoard(what string, cond func([]entry) bool) {
	p.t.Helper()
	socketiotest.Eventually(p.t, func() error {
		if b := p.board(); !cond(b) {
			return fmt.Errorf("%s: the board has %d strokes", what, len(b))
		}
		return nil
	}, socketiotest.DefaultTimeout)
}

// colors returns the colours of a board's strokes, in order.
func colors(b []entry) string {
	var sb strings.Builder
	for _, e := range b {
		sb.WriteString(e.Color)
	}
	return sb.String()
}
