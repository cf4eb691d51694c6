package whiteboard_test

import (
	"context"
	"testing"

	"github.com/switchboard-io/switchboard/adapter/redis"
	"github.com/switchboard-io/switchboard/internal/redistest"
	"github.com/switchboard-io/switchboard/internal/whiteboard"
)

// stores runs f on each Store, capped at max entries per board.
func stores(t *testing.T, max int, f func(t *testing.T, s whiteboard.Store)) {
	t.Run("memory", func(t *testing.T) {
		f(t, whiteboard.NewMemoryStore(whiteboard.MemoryOptions{MaxEntries: max}))
	})
	t.Run("redis", func(t *testing.T) {
		r := redistest.Start(t)
		c, err := redis.NewClient(context.Background(), redis.Options{URL: r.URL()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		f(t, whiteboard.NewRedisStore(whiteboard.RedisOptions{Client: c, MaxEntries: max}))
	})
}

func stroke(i int) whiteboard.Stroke {
	return whiteboard.Stroke{X0: float32(i) / 1000, Y0: 0.5, X1: 0.5, Y1: 0.5, Color: 0xe03131}
}

// readAll pages through a board as a page does.
func readAll(t *testing.T, s whiteboard.Store, board string, page int) []whiteboard.Entry {
	t.Helper()
	var all []whiteboard.Entry
	var after whiteboard.ID
	for {
		es, err := s.Range(context.Background(), board, after, page)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, es...)
		if len(es) < page {
			return all
		}
		after = es[len(es)-1].ID
	}
}

// TestStore: entries come back in ID order, page by page; a board keeps
// its cap, the oldest dropped; a clear drops what came before it and stays
// as the first entry; boards are separate.
func TestStore(t *testing.T) {
	stores(t, 50, func(t *testing.T, s whiteboard.Store) {
		ctx := context.Background()
		var ids []whiteboard.ID
		for i := range 120 {
			id, err := s.Append(ctx, "b1", stroke(i))
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) > 0 && !ids[len(ids)-1].Less(id) {
				t.Fatalf("id %s after %s", id, ids[len(ids)-1])
			}
			ids = append(ids, id)
		}
		if _, err := s.Append(ctx, "b2", stroke(7)); err != nil {
			t.Fatal(err)
		}
		got := readAll(t, s, "b1", 7)
		if len(got) != 50 {
			t.Fatalf("b1 holds %d entries, want its cap 50", len(got))
		}
		for i, e := range got {
			if e.ID != ids[70+i] || e.Stroke != stroke(70+i) || e.Clear {
				t.Fatalf("entry %d is %+v, want stroke %d with id %s", i, e, 70+i, ids[70+i])
			}
		}
		clearID, err := s.Clear(ctx, "b1")
		if err != nil {
			t.Fatal(err)
		}
		after, _ := s.Append(ctx, "b1", stroke(1))
		got = readAll(t, s, "b1", 10)
		if len(got) != 2 || !got[0].Clear || got[0].ID != clearID || got[1].ID != after {
			t.Fatalf("after a clear b1 holds %+v", got)
		}
		if b2 := readAll(t, s, "b2", 10); len(b2) != 1 || b2[0].Stroke != stroke(7) {
			t.Fatalf("b2 holds %+v", b2)
		}
		if none := readAll(t, s, "nothing", 10); len(none) != 0 {
			t.Fatalf("an unknown board holds %+v", none)
		}
	})
}

// TestMemoryStoreBounds: the memory store keeps at most MaxBoards boards,
// dropping the one written least recently.
func TestMemoryStoreBounds(t *testing.T) {
	t.Parallel()
	s := whiteboard.NewMemoryStore(whiteboard.MemoryOptions{MaxEntries: 10, MaxBoards: 3})
	ctx := context.Background()
	for _, b := range []string{"a", "b", "c", "a", "d"} {
		for i := range 25 {
			_, _ = s.Append(ctx, b, stroke(i))
		}
	}
	if s.Boards() != 3 || s.Len("b") != 0 || s.Len("a") != 10 || s.Len("d") != 10 {
		t.Fatalf("boards %d, a %d, b %d, d %d", s.Boards(), s.Len("a"), s.Len("b"), s.Len("d"))
	}
}
