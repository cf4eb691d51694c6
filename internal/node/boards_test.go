package node

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/client"
	"github.com/switchboard-io/switchboard/socketiotest"
)

// dialBoard connects a client to a board of n.
func dialBoard(t *testing.T, n *Node, board string) *client.Socket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, "http://"+n.Addr().String(),
		&client.Options{Transports: []string{"websocket"}, NoReconnection: true, Auth: map[string]string{"board": board}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// draw stores a stroke on c's board and returns its entry id.
func draw(t *testing.T, c *client.Socket, x float64) string {
	t.Helper()
	args, err := c.EmitWithAck(socketiotest.Context(t), "drawing", map[string]any{"x0": x, "y0": 0, "x1": x, "y1": 1, "color": "#123"})
	if err != nil || len(args) == 0 {
		t.Fatalf("drawing: %v %v", args, err)
	}
	var id string
	if err := args[0].Decode(&id); err != nil || id == "" {
		t.Fatalf("drawing acked %s (%v), want an entry id", args[0].JSON(), err)
	}
	return id
}

// history reads the ids of the first page of c's board.
func history(t *testing.T, c *client.Socket) []string {
	t.Helper()
	args, err := c.EmitWithAck(socketiotest.Context(t), "history", map[string]string{"after": ""})
	if err != nil || len(args) == 0 {
		t.Fatalf("history: %v %v", args, err)
	}
	var page struct {
		Entries []struct{ ID string }
		More    bool
	}
	if err := args[0].Decode(&page); err != nil || page.More {
		t.Fatalf("history answered %s (%v)", args[0].JSON(), err)
	}
	ids := make([]string, len(page.Entries))
	for i, e := range page.Entries {
		ids[i] = e.ID
	}
	return ids
}

// TestBoardLimitFlags: --max-board-entries N keeps a board's last N
// entries, and --max-boards M keeps the M boards drawn on last.
func TestBoardLimitFlags(t *testing.T) {
	t.Parallel()
	n := startNode(t, "--max-board-entries", "5", "--max-boards", "2")
	defer func() { _ = n.Shutdown(socketiotest.Context(t)) }()
	c := dialBoard(t, n, "capped")
	defer c.Close()
	var ids []string
	for i := range 8 {
		ids = append(ids, draw(t, c, float64(i)/10))
	}
	if got, want := strings.Join(history(t, c), " "), strings.Join(ids[3:], " "); got != want {
		t.Fatalf("a board capped at 5 after 8 strokes holds %q, want the last five %q", got, want)
	}

	// Two more boards drawn on: "capped", written least recently, goes.
	for _, name := range []string{"second", "third"} {
		o := dialBoard(t, n, name)
		draw(t, o, 0.5)
		o.Close()
	}
	if got := history(t, c); len(got) != 0 {
		t.Fatalf("with --max-boards 2, the oldest of three boards still holds %q", got)
	}
}
