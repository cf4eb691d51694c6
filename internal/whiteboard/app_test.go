package whiteboard_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/switchboard-io/switchboard/adapter/redis"
	"github.com/switchboard-io/switchboard/internal/redistest"
	"github.com/switchboard-io/switchboard/internal/whiteboard"
	"github.com/switchboard-io/switchboard/socketiotest"
)

// redisNode starts a node of a cluster on r: the Redis adapter and a
// RedisStore on its own client, as the binary wires them.
func redisNode(t *testing.T, r *redistest.Server, name string) (*socketiotest.Server, *whiteboard.App) {
	t.Helper()
	ctx := socketiotest.Context(t)
	c, err := redis.NewClient(ctx, redis.Options{URL: r.URL()})
	if err != nil {
		t.Fatal(err)
	}
	ad, err := redis.New(ctx, redis.Options{Client: c})
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ad.Close(); c.Close() }) // after the node's shutdown
	store := whiteboard.NewRedisStore(whiteboard.RedisOptions{Client: c, Prefix: "test:whiteboard:"})
	return startNode(t, whiteboard.Options{Node: name, Store: store}, ad.Factory())
}

// redisCluster starts a node per name on r and waits until each sees them
// all subscribed, so that no broadcast is published before a node listens.
func redisCluster(t *testing.T, r *redistest.Server, names ...string) ([]*socketiotest.Server, []*whiteboard.App) {
	t.Helper()
	srvs, apps := make([]*socketiotest.Server, len(names)), make([]*whiteboard.App, len(names))
	for i, name := range names {
		srvs[i], apps[i] = redisNode(t, r, name)
	}
	for _, srv := range srvs {
		socketiotest.Eventually(t, func() error {
			if n, err := srv.Of("/").ServerCount(socketiotest.Context(t)); err != nil || n != len(names) {
				return fmt.Errorf("%d nodes subscribed (%v), want %d", n, err, len(names))
			}
			return nil
		}, socketiotest.DefaultTimeout)
	}
	return srvs, apps
}

// seamStroke encodes stroke number i in its coordinates.
func seamStroke(i int) map[string]any {
	return map[string]any{"x0": float64(i%1000) / 1000, "y0": float64(i/1000) / 1000,
		"x1": 0.5, "y1": 0.5, "color": "#e03131"}
}

func seamIndex(e entry) int {
	return int(math.Round(e.X0*1000)) + 1000*int(math.Round(e.Y0*1000))
}

// TestReplaySeamDuringFastStream: a page that joins a board on another
// node while a writer streams strokes as fast as it can ends with every
// stroke exactly once, in order: the history, then the live strokes past
// its last ID.
func TestReplaySeamDuringFastStream(t *testing.T) {
	r := redistest.Start(t)
	srvs, apps := redisCluster(t, r, "node-a", "node-b")
	a, b, appA := srvs[0], srvs[1], apps[0]
	writer := openPage(t, a.HTTP.URL, "seam")

	const n = 5000
	sent := make(chan int, n)
	go func() {
		defer close(sent)
		for i := range n {
			if writer.sock.Emit("drawing", seamStroke(i)) != nil {
				return
			}
			sent <- i
		}
	}()
	// Join once half the stream is stored (a history of several pages),
	// while the rest flows.
	socketiotest.Eventually(t, func() error {
		if got := appA.Stats().Strokes; got < n/2 {
			return fmt.Errorf("%d strokes stored", got)
		}
		return nil
	}, socketiotest.DefaultTimeout)
	joiner := openPage(t, b.HTTP.URL, "seam")
	for range sent {
	}
	joiner.waitBoard("all strokes", func(b []entry) bool { return len(b) >= n })
	board := joiner.board()
	if len(board) != n {
		t.Fatalf("the joiner has %d strokes, want %d", len(board), n)
	}
	for i, e := range board {
		if got := seamIndex(e); got != i {
			t.Fatalf("stroke %d of the joiner is stroke %d: a gap, a duplicate or a reorder", i, got)
		}
	}
	joiner.mu.Lock()
	seam, live := joiner.seam, joiner.received
	joiner.mu.Unlock()
	t.Logf("history up to %s, %d live strokes received (those at or before the seam dropped)", seam, live)
	if live == 0 || seam.IsZero() {
		t.Errorf("the join missed the stream: %d live strokes, seam %s", live, seam)
	}
}

// TestBoardSurvivesEveryNode: strokes drawn on a cluster whose nodes all
// stop are there for a page of a new node on the same Redis.
func TestBoardSurvivesEveryNode(t *testing.T) {
	r := redistest.Start(t)
	a, appA := redisNode(t, r, "node-a")
	p := openPage(t, a.HTTP.URL, "")
	for i := range 5 {
		p.draw(float64(i)/10, 0.1, float64(i)/10, 0.2, "#2f9e44")
	}
	_ = p.m.Close()
	appA.Close()
	shutdown(t, a)
	b, _ := redisNode(t, r, "node-b")
	q := openPage(t, b.HTTP.URL, "")
	if got := q.board(); len(got) != 5 {
		t.Fatalf("a page of a new node has %d strokes, want 5", len(got))
	}
}

func shutdown(t *testing.T, s *socketiotest.Server) {
	t.Helper()
	if err := s.Shutdown(socketiotest.Context(t)); err != nil {
		t.Fatal(err)
	}
}

// TestBoardsAndClearAcrossNodes: over two nodes on one Redis, a board's
// strokes reach its pages on the other node and no other board's, and a
// clear on one node clears the board on both, for pages open and to come.
func TestBoardsAndClearAcrossNodes(t *testing.T) {
	r := redistest.Start(t)
	srvs, _ := redisCluster(t, r, "node-a", "node-b")
	a, b := srvs[0], srvs[1]
	onA, onB, otherB := openPage(t, a.HTTP.URL, "team"), openPage(t, b.HTTP.URL, "team"), openPage(t, b.HTTP.URL, "")
	onA.draw(0.1, 0.1, 0.2, 0.2, "#e03131")
	otherB.draw(0.3, 0.3, 0.4, 0.4, "#1c7ed6")
	onB.waitBoard("the team stroke from node a", func(b []entry) bool { return colors(b) == "#e03131" })
	onB.draw(0.7, 0.7, 0.8, 0.8, "#f08c00")
	onA.waitBoard("the team stroke from node b", func(b []entry) bool { return colors(b) == "#f08c00" })
	if _, err := onB.sock.EmitWithAck(socketiotest.Context(t), "clear"); err != nil {
		t.Fatal(err)
	}
	onA.waitBoard("cleared", func(b []entry) bool { return len(b) == 0 })
	onA.draw(0.5, 0.5, 0.6, 0.6, "#2f9e44") // after the clear: kept
	onB.waitBoard("cleared, then the green stroke", func(b []entry) bool { return colors(b) == "#2f9e44" })
	for _, url := range []string{a.HTTP.URL, b.HTTP.URL} {
		if got := colors(openPage(t, url, "team").board()); got != "#2f9e44" {
			t.Fatalf("a new page of the team board shows %q, want the green stroke only", got)
		}
		if got := colors(openPage(t, url, "").board()); got != "#1c7ed6" {
			t.Fatalf("a new page of the default board shows %q, want its blue stroke only", got)
		}
	}
	otherB.mu.Lock()
	defer otherB.mu.Unlock()
	if otherB.received != 0 {
		t.Fatalf("a page of the default board received %d strokes of the team board", otherB.received)
	}
}
