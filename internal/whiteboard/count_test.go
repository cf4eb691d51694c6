package whiteboard_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/client"
	"github.com/switchboard-io/switchboard/internal/whiteboard"
	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

// startApp serves a whiteboard with opts on a loopback server.
func startApp(t *testing.T, opts whiteboard.Options) (*socketiotest.Server, *whiteboard.App) {
	t.Helper()
	srv := socketiotest.NewServer(t, &socketio.Options{})
	app := whiteboard.Attach(srv.Of("/"), opts)
	t.Cleanup(app.Close)
	return srv, app
}

// countWatcher is a page that records the "clients" counts it gets.
type countWatcher struct {
	mu     sync.Mutex
	counts []int
}

func watchCounts(t *testing.T, url string) *countWatcher {
	t.Helper()
	w := &countWatcher{}
	m, err := client.NewManager(url, &client.Options{NoReconnection: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	s := m.Socket("/", nil)
	s.On("clients", func(e *client.Event) {
		var c struct{ Count int }
		_ = e.Decode(&c)
		w.mu.Lock()
		w.counts = append(w.counts, c.Count)
		w.mu.Unlock()
	})
	if err := s.Connect(socketiotest.Context(t)); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *countWatcher) get() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]int(nil), w.counts...)
}

// TestCountCoalescedStorm: a storm of connections within one interval
// costs each page at most one count update (the first change goes out at
// once, the rest wait for the interval's end), where each connection used
// to cost every page one: N connections, N² deliveries.
func TestCountCoalescedStorm(t *testing.T) {
	t.Parallel()
	srv, app := startApp(t, whiteboard.Options{Node: "n", CountInterval: time.Hour})
	const n = 40
	watchers := make([]*countWatcher, n)
	for i := range watchers {
		watchers[i] = watchCounts(t, srv.HTTP.URL)
	}
	if app.Total() != n {
		t.Fatalf("Total = %d, want %d", app.Total(), n)
	}
	for i, w := range watchers {
		if got := w.get(); len(got) > 1 {
			t.Fatalf("page %d got %d count updates within one interval: %v", i, len(got), got)
		}
	}
	if u := app.Stats().CountUpdates; u != 1 {
		t.Fatalf("%d count broadcasts within one interval, want 1", u)
	}
}

// TestCountConverges: with a short interval, every page ends with the
// right count once the storm is over, and no update repeats the count
// before it.
func TestCountConverges(t *testing.T) {
	t.Parallel()
	srv, _ := startApp(t, whiteboard.Options{Node: "n", CountInterval: 20 * time.Millisecond})
	const n = 20
	watchers := make([]*countWatcher, n)
	for i := range watchers {
		watchers[i] = watchCounts(t, srv.HTTP.URL)
	}
	socketiotest.Eventually(t, func() error {
		for i, w := range watchers {
			if got := w.get(); len(got) == 0 || got[len(got)-1] != n {
				return fmt.Errorf("page %d got counts %v, want a last one of %d", i, got, n)
			}
		}
		return nil
	}, socketiotest.DefaultTimeout)
	for i, w := range watchers {
		got := w.get()
		for j := 1; j < len(got); j++ {
			if got[j] == got[j-1] {
				t.Fatalf("page %d got an unchanged count: %v", i, got)
			}
		}
	}
}
