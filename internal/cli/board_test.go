package cli

import (
	"context"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/client"
	"github.com/switchboard-io/switchboard/internal/redistest"
)

// dialBoard connects a page of board to the node at addr.
func dialBoard(ctx context.Context, t *testing.T, addr, board string) *client.Socket {
	t.Helper()
	s, err := client.Dial(ctx, "http://"+addr, &client.Options{Auth: map[string]string{"board": board}, NoReconnection: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// boardHistory connects a page of board to the node at addr and returns
// the colours of the first page of its history.
func boardHistory(t *testing.T, addr, board string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := dialBoard(ctx, t, addr, board)
	defer s.Close()
	res, err := s.EmitWithAck(ctx, "history", map[string]string{"after": ""})
	var page struct {
		Entries []struct{ Color string }
	}
	if err != nil || len(res) != 1 || res[0].Decode(&page) != nil {
		t.Fatalf("history: %v, %v", res, err)
	}
	var colors []string
	for _, e := range page.Entries {
		colors = append(colors, e.Color)
	}
	return colors
}

// serveBoards starts `switchboard serve` named name in the cluster of r,
// with extra flags; the function returned stops it (SIGTERM) and fails the
// test if it does not exit cleanly.
func serveBoards(t *testing.T, r *redistest.Server, name string, extra ...string) (string, func()) {
	t.Helper()
	pub, internal := freeAddr(t), freeAddr(t)
	cmd := startCommand(t, &lockedBuffer{}, append([]string{"serve", "--redis", r.URL(), "--listen", pub,
		"--internal-listen", internal, "--drain-window", "100ms", "--node-name", name}, extra...)...)
	waitReady(t, internal, 20*time.Second)
	return pub, func() {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// drawOn stores one stroke of each colour on board through the node at
// addr, in order.
func drawOn(t *testing.T, addr, board string, colors ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := dialBoard(ctx, t, addr, board)
	defer s.Close()
	for _, c := range colors {
		if _, err := s.EmitWithAck(ctx, "drawing", map[string]any{"x0": 0.1, "y0": 0.2, "x1": 0.3, "y1": 0.4, "color": c}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBoardsInRedis: a cluster node keeps the boards in its Redis, so a
// stroke drawn through one node is in the history another node serves,
// and still there for a node started after every node stopped.
func TestBoardsInRedis(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	serve := func(name string) (string, func()) { return serveBoards(t, r, name) }
	a, stopA := serve("board-a")
	b, stopB := serve("board-b")
	drawOn(t, a, "kept", "#e03131")
	if got := boardHistory(t, b, "kept"); len(got) != 1 || got[0] != "#e03131" {
		t.Fatalf("another node's history of the board: %q, want the one stroke", got)
	}
	stopA()
	stopB()
	c, stopC := serve("board-c")
	defer stopC()
	if got := boardHistory(t, c, "kept"); len(got) != 1 || got[0] != "#e03131" {
		t.Fatalf("after every node stopped, a new node's history of the board: %q, want the one stroke", got)
	}
}

// TestBoardLimitsInRedis: in a cluster, --max-board-entries N keeps a
// board's last N strokes and --board-ttl is the board key's expiry.
func TestBoardLimitsInRedis(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	a, stop := serveBoards(t, r, "limits", "--max-board-entries", "3", "--board-ttl", "1h")
	defer stop()
	drawOn(t, a, "capped", "#111111", "#222222", "#333333", "#444444", "#555555")
	if got := strings.Join(boardHistory(t, a, "capped"), " "); got != "#333333 #444444 #555555" {
		t.Fatalf("a board capped at 3 after 5 strokes holds %q, want the last three", got)
	}
	reply := r.Command(t, "PTTL socket.io:whiteboard:capped")
	ms, err := strconv.ParseInt(strings.TrimPrefix(reply, ":"), 10, 64)
	if err != nil || ms <= 59*60*1000 || ms > 60*60*1000 {
		t.Fatalf("PTTL of the board's key: %q, want just under an hour", reply)
	}
}
