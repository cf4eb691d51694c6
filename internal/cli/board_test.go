package cli

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/client"
	"github.com/switchboard-io/switchboard/internal/redistest"
)

// boardHistory connects a page of board to the node at addr and returns
// the colours of the first page of its history.
func boardHistory(t *testing.T, addr, board string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, "http://"+addr, &client.Options{Auth: map[string]string{"board": board}, NoReconnection: true})
	if err != nil {
		t.Fatal(err)
	}
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

// TestBoardsInRedis: a cluster node keeps the boards in its Redis, so a
// stroke drawn through one node is in the history another node serves,
// and still there for a node started after every node stopped.
func TestBoardsInRedis(t *testing.T) {
	t.Parallel()
	r := redistest.Start(t)
	serve := func(name string) (string, func()) {
		pub, internal := freeAddr(t), freeAddr(t)
		cmd := startCommand(t, &lockedBuffer{}, "serve", "--redis", r.URL(), "--listen", pub, "--internal-listen", internal,
			"--drain-window", "100ms", "--node-name", name)
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
	a, stopA := serve("board-a")
	b, stopB := serve("board-b")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, "http://"+a, &client.Options{Auth: map[string]string{"board": "kept"}, NoReconnection: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.EmitWithAck(ctx, "drawing", map[string]any{"x0": 0.1, "y0": 0.2, "x1": 0.3, "y1": 0.4, "color": "#e03131"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
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
