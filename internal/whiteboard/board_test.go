package whiteboard_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/switchboard-io/switchboard/internal/whiteboard"
	"github.com/switchboard-io/switchboard/socketiotest"
)

// TestBoardsAndClear: two boards stay separate, and a clear on one page
// clears the board on every page of it, the sender's included.
func TestBoardsAndClear(t *testing.T) {
	t.Parallel()
	srv, _ := startNode(t, whiteboard.Options{Node: "n"}, nil)
	red1, red2 := openPage(t, srv.HTTP.URL, "red"), openPage(t, srv.HTTP.URL, "red")
	blue := openPage(t, srv.HTTP.URL, "")
	red1.draw(0.1, 0.1, 0.2, 0.2, "#e03131")
	blue.draw(0.3, 0.3, 0.4, 0.4, "#1c7ed6")
	red2.waitBoard("the red stroke", func(b []entry) bool { return colors(b) == "#e03131" })
	late := openPage(t, srv.HTTP.URL, "red")
	if got := colors(late.board()); got != "#e03131" {
		t.Fatalf("a late page of board red shows %q", got)
	}
	if got := colors(openPage(t, srv.HTTP.URL, whiteboard.DefaultBoard).board()); got != "#1c7ed6" {
		t.Fatalf("a late page of the default board shows %q", got)
	}

	if _, err := red2.sock.EmitWithAck(socketiotest.Context(t), "clear"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*page{red1, red2, late} {
		p.waitBoard("cleared", func(b []entry) bool { return len(b) == 0 })
	}
	// The clear was relayed after the blue stroke, on the same queues: a
	// red page that got the clear would have got the blue stroke too.
	red1.mu.Lock()
	leaked := red1.received
	red1.mu.Unlock()
	if leaked != 0 {
		t.Fatalf("a page of board red received %d strokes live, want 0 (the only other stroke was the default board's)", leaked)
	}
	if got := colors(openPage(t, srv.HTTP.URL, "red").board()); got != "" {
		t.Fatalf("a page opened after the clear shows %q", got)
	}
	if got := colors(openPage(t, srv.HTTP.URL, "").board()); got != "#1c7ed6" {
		t.Fatalf("the clear of board red reached the default board: %q", got)
	}
}

// TestMalformedFlood: a flood of malformed strokes and requests is dropped
// and counted, never relayed, while a healthy page keeps drawing; a flood
// of valid strokes keeps the board at its cap.
func TestMalformedFlood(t *testing.T) {
	t.Parallel()
	store := whiteboard.NewMemoryStore(whiteboard.MemoryOptions{MaxEntries: 100})
	srv, app := startNode(t, whiteboard.Options{Node: "n", Store: store}, nil)
	bad, good, watcher := openPage(t, srv.HTTP.URL, ""), openPage(t, srv.HTTP.URL, ""), openPage(t, srv.HTTP.URL, "")

	junk := []any{
		"x", 42, nil, []int{1, 2}, map[string]any{},
		map[string]any{"x0": 2, "y0": 0, "x1": 0, "y1": 0, "color": "#000"},
		map[string]any{"x0": 0, "y0": 0, "x1": 0, "y1": 0, "color": "url(x)"},
		map[string]any{"x0": 0, "y0": 0, "x1": 0, "y1": 0, "color": "#000", "script": map[string]any{"src": "x"}},
		json.RawMessage(`{"x0":0,"y0":0,"x1":0,"y1":0,"color":"#000","pad":"` + strings.Repeat("x", 4000) + `"}`),
		[]byte("binary"),
	}
	const rounds = 200
	for i := range rounds {
		for _, j := range junk {
			_ = bad.sock.Emit("drawing", j)
		}
		_ = bad.sock.Emit("history", "not an object") // no ack either
		if i%20 == 0 {
			good.draw(0.5, 0.5, 0.6, 0.6, "#2f9e44")
		}
	}
	// The valid strokes interleaved with the flood all arrive; a marker
	// stroke sent after the whole flood arrives last.
	_ = bad.sock.Emit("drawing", map[string]any{"x0": 1, "y0": 1, "x1": 1, "y1": 1, "color": "#7048e8"})
	wantColors := strings.Repeat("#2f9e44", rounds/20) + "#7048e8"
	watcher.waitBoard("the healthy strokes", func(b []entry) bool { return len(b) == rounds/20+1 })
	if got := colors(watcher.board()); got != wantColors {
		t.Fatalf("the watcher shows %q, want %q", got, wantColors)
	}
	watcher.mu.Lock()
	received := watcher.received
	watcher.mu.Unlock()
	if received != rounds/20+1 {
		t.Fatalf("the watcher received %d strokes, want %d: malformed ones were relayed", received, rounds/20+1)
	}
	// Per round: 7 of the wrong shape, 2 out of range, 1 too big, and the
	// bad history request.
	want := map[string]uint64{whiteboard.DropShape: 7 * rounds, whiteboard.DropRange: 2 * rounds,
		whiteboard.DropSize: rounds, whiteboard.DropRequest: rounds, whiteboard.DropStore: 0}
	if got := app.Stats().Dropped; !maps.Equal(got, want) {
		t.Errorf("dropped %v, want %v", got, want)
	}

	// Valid strokes past the cap: the board keeps its last 100.
	for i := range 1000 {
		_ = bad.sock.Emit("drawing", map[string]any{"x0": float64(i) / 1000, "y0": 0, "x1": 0, "y1": 0, "color": "#000"})
	}
	socketiotest.Eventually(t, func() error {
		if s := app.Stats().Strokes; s < uint64(rounds/20+1+1000) {
			return fmt.Errorf("%d strokes stored", s)
		}
		return nil
	}, socketiotest.DefaultTimeout)
	if n := store.Len(whiteboard.DefaultBoard); n != 100 {
		t.Fatalf("the board holds %d entries, want its cap 100", n)
	}
	if got := len(openPage(t, srv.HTTP.URL, "").board()); got != 100 {
		t.Fatalf("a new page shows %d strokes, want 100", got)
	}
	runtime.KeepAlive(good)
}

// failingStore is a Store whose calls fail while down is set.
type failingStore struct {
	whiteboard.Store
	down atomic.Bool
}

var errDown = errors.New("store down")

func (f *failingStore) Append(ctx context.Context, board string, s whiteboard.Stroke) (whiteboard.ID, error) {
	if f.down.Load() {
		return whiteboard.ID{}, errDown
	}
	return f.Store.Append(ctx, board, s)
}

func (f *failingStore) Range(ctx context.Context, board string, after whiteboard.ID, limit int) ([]whiteboard.Entry, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Store.Range(ctx, board, after, limit)
}

// TestStoreDown: while the store fails, strokes are still relayed to the
// open pages, without an ID (counted as dropped by the store: the board
// does not keep them), and history answers an error; once it is back,
// drawing works again, with IDs.
func TestStoreDown(t *testing.T) {
	t.Parallel()
	store := &failingStore{Store: whiteboard.NewMemoryStore(whiteboard.MemoryOptions{})}
	srv, app := startNode(t, whiteboard.Options{Node: "n", Store: store}, nil)
	sender, watcher := openPage(t, srv.HTTP.URL, ""), openPage(t, srv.HTTP.URL, "")
	store.down.Store(true)
	for range 3 {
		_ = sender.sock.Emit("drawing", map[string]any{"x0": 0, "y0": 0, "x1": 0, "y1": 0, "color": "#000"})
	}
	res, err := sender.sock.EmitWithAck(socketiotest.Context(t), "history", map[string]string{"after": ""})
	var answer struct{ Error string }
	if err != nil || len(res) != 1 || res[0].Decode(&answer) != nil || answer.Error == "" {
		t.Fatalf("history with the store down: %v, %v, want an error answer", res, err)
	}
	if got := app.Stats().Dropped[whiteboard.DropStore]; got != 4 {
		t.Fatalf("dropped %d for the store, want 4 (3 strokes, 1 history)", got)
	}
	watcher.waitBoard("the strokes relayed while the store was down", func(b []entry) bool { return len(b) == 3 })
	for _, e := range watcher.board() {
		if e.ID != "" {
			t.Fatalf("a stroke the store refused came with the ID %q", e.ID)
		}
	}
	store.down.Store(false)
	sender.draw(0.5, 0.5, 0.5, 0.5, "#7048e8")
	watcher.waitBoard("the stroke after the store came back", func(b []entry) bool { return len(b) == 4 })
	if b := watcher.board(); b[3].ID == "" || b[3].Color != "#7048e8" {
		t.Fatalf("the stroke after the store came back: %+v", b[3])
	}
}
