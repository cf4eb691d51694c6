package adapter_test

import (
	"context"
	"slices"
	"testing"

	"github.com/switchboard-io/switchboard/adapter"
)

// TestWatchRooms: the watcher hears each new membership and each ended one
// once, as Node's join-room and leave-room events, whether by Join, Leave,
// LeaveAll or a cluster operation; removed, it hears nothing.
func TestWatchRooms(t *testing.T) {
	m := adapter.NewMemoryAdapter(&fakeNamespace{socks: map[string]*fakeSocket{}})
	var got []string
	m.WatchRooms(func(room, id string, joined bool) {
		op := "-"
		if joined {
			op = "+"
		}
		got = append(got, op+id+":"+room)
	})
	m.Join("a", "a", "r1")
	m.Join("a", "r1", "r2") // r1 again: no event
	m.Leave("a", "r3")      // not a member: no event
	m.Leave("a", "r2")
	m.Join("b", "r1")
	if err := m.AddSockets(context.Background(), adapter.Options{Rooms: []string{"r1"}}, []string{"r4"}); err != nil {
		t.Fatal(err)
	}
	if err := m.DelSockets(context.Background(), adapter.Options{Rooms: []string{"r4"}}, []string{"r4"}); err != nil {
		t.Fatal(err)
	}
	m.LeaveAll("a")
	want := []string{"+a:a", "+a:r1", "+a:r2", "-a:r2", "+b:r1", "+a:r4", "+b:r4", "-a:r4", "-b:r4"}
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Fatalf("events %v, want %v then a's two rooms", got, want)
	}
	rest := got[len(want):]
	slices.Sort(rest)
	if !slices.Equal(rest, []string{"-a:a", "-a:r1"}) {
		t.Fatalf("LeaveAll events %v", rest)
	}
	m.WatchRooms(nil)
	n := len(got)
	m.Join("c", "r1")
	m.LeaveAll("c")
	if len(got) != n {
		t.Fatalf("events after removal: %v", got[n:])
	}
}
