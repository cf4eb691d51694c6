package adapter_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/parser"
)

// fakeSocket records what the adapter does to it.
type fakeSocket struct {
	id    string
	panic bool // Deliver panics

	mu           sync.Mutex
	delivered    []*adapter.Message
	acks         map[uint64]func([]parser.Arg)
	disconnected []bool
}

func (f *fakeSocket) ID() string { return f.id }
func (f *fakeSocket) Deliver(m *adapter.Message) {
	if f.panic {
		panic("delivery to " + f.id)
	}
	f.mu.Lock()
	f.delivered = append(f.delivered, m)
	f.mu.Unlock()
}
func (f *fakeSocket) ExpectAck(id uint64, fn func([]parser.Arg)) {
	f.mu.Lock()
	f.acks[id] = fn
	f.mu.Unlock()
}
func (f *fakeSocket) Disconnect(close bool) {
	f.mu.Lock()
	f.disconnected = append(f.disconnected, close)
	f.mu.Unlock()
}
func (f *fakeSocket) Info() adapter.SocketInfo { return adapter.SocketInfo{ID: f.id} }

// fakeNamespace holds fake sockets.
type fakeNamespace struct{ socks map[string]*fakeSocket }

func (n *fakeNamespace) Name() string { return "/" }
func (n *fakeNamespace) Socket(id string) adapter.Socket {
	if s := n.socks[id]; s != nil {
		return s
	}
	return nil
}
func (n *fakeNamespace) HandleServerSideEmit(string, []parser.Arg, func(any)) {}
func (n *fakeNamespace) NextAckID() uint64                                    { return 0 }
func (n *fakeNamespace) RecoveryWindow() time.Duration                        { return 0 }

// newMemory returns an adapter with sockets s0..s(n-1), each in its own
// room, plus the rooms given per socket.
func newMemory(rooms ...[]string) (*adapter.Memory, *fakeNamespace) {
	ns := &fakeNamespace{socks: map[string]*fakeSocket{}}
	m := adapter.NewMemoryAdapter(ns)
	for i, r := range rooms {
		id := fmt.Sprintf("s%d", i)
		ns.socks[id] = &fakeSocket{id: id, acks: map[uint64]func([]parser.Arg){}}
		m.Join(id, append([]string{id}, r...)...)
	}
	return m, ns
}

func TestMatch(t *testing.T) {
	t.Parallel()
	m, _ := newMemory([]string{"a"}, []string{"a", "b"}, []string{"b"}, nil)
	for _, tc := range []struct {
		name string
		opts adapter.Options
		want []string
	}{
		{"all", adapter.Options{}, []string{"s0", "s1", "s2", "s3"}},
		{"one room", adapter.Options{Rooms: []string{"a"}}, []string{"s0", "s1"}},
		{"two rooms once each", adapter.Options{Rooms: []string{"a", "b"}}, []string{"s0", "s1", "s2"}},
		{"same room twice", adapter.Options{Rooms: []string{"b", "b"}}, []string{"s1", "s2"}},
		{"except", adapter.Options{Except: []string{"a"}}, []string{"s2", "s3"}},
		{"rooms and except", adapter.Options{Rooms: []string{"a", "b"}, Except: []string{"s1"}}, []string{"s0", "s2"}},
		{"unknown room", adapter.Options{Rooms: []string{"zzz"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := m.Match(tc.opts)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Match = %q, want %q", got, tc.want)
			}
			var applied []string
			m.Apply(tc.opts, func(s adapter.Socket) { applied = append(applied, s.ID()) })
			slices.Sort(applied)
			if !slices.Equal(applied, tc.want) {
				t.Errorf("Apply visited %q, want %q", applied, tc.want)
			}
		})
	}
}

func TestRoomMembership(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var events []string
	m, _ := newMemory()
	m.OnRoomCreated = func(r string) { mu.Lock(); events = append(events, "+"+r); mu.Unlock() }
	m.OnRoomDeleted = func(r string) { mu.Lock(); events = append(events, "-"+r); mu.Unlock() }
	m.Join("x", "r1", "r2")
	m.Join("y", "r1")
	if m.Size("r1") != 2 || !m.HasRoom("r2") || m.HasRoom("r3") {
		t.Errorf("sizes r1=%d r2=%d", m.Size("r1"), m.Size("r2"))
	}
	m.Leave("x", "r1")
	m.Leave("x", "nope")
	if got := m.RoomsOf("x"); !slices.Equal(got, []string{"r2"}) {
		t.Errorf("RoomsOf(x) = %q", got)
	}
	m.LeaveAll("x")
	m.LeaveAll("y")
	if m.RoomsOf("x") != nil || len(m.AllRooms()) != 0 {
		t.Errorf("rooms left: %q", m.AllRooms())
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(events[2:])
	if want := []string{"+r1", "+r2", "-r1", "-r2"}; !slices.Equal(events, want) {
		t.Errorf("room events %q, want %q", events, want)
	}
}

// TestManyRooms checks membership past the size where a socket's rooms and
// a room's members move from a slice to a map.
func TestManyRooms(t *testing.T) {
	t.Parallel()
	m, _ := newMemory()
	var rooms []string
	for i := range 20 {
		rooms = append(rooms, fmt.Sprintf("r%02d", i))
		m.Join(fmt.Sprintf("s%02d", i), "big")
	}
	m.Join("x", rooms[:5]...)
	m.Join("x", rooms[3:]...) // three again
	m.Leave("x", "r07")
	want := slices.Concat(rooms[:7], rooms[8:])
	got := m.RoomsOf("x")
	slices.Sort(got)
	if !slices.Equal(got, want) || m.Size("r07") != 0 || m.Size("r08") != 1 {
		t.Errorf("RoomsOf(x) = %q, want %q", got, want)
	}
	if m.Size("big") != 20 {
		t.Errorf("Size(big) = %d", m.Size("big"))
	}
	for i := range 19 {
		m.Leave(fmt.Sprintf("s%02d", i), "big")
	}
	if ids := m.Match(adapter.Options{Rooms: []string{"big"}}); !slices.Equal(ids, []string{"s19"}) {
		t.Errorf("members of big %q", ids)
	}
	m.LeaveAll("x")
	m.LeaveAll("s19")
	if m.RoomsOf("x") != nil || len(m.AllRooms()) != 0 {
		t.Errorf("rooms left: %q", m.AllRooms())
	}
}

func TestBroadcast(t *testing.T) {
	t.Parallel()
	m, ns := newMemory([]string{"a"}, []string{"a"}, nil)
	data, atts, _ := parser.EncodeData("ev", []byte{1})
	p := &parser.Packet{Type: parser.Event, Namespace: "/", Data: data, Attachments: atts}
	if err := m.Broadcast(context.Background(), p, adapter.Options{Rooms: []string{"a"},
		Flags: adapter.Flags{Volatile: true, NoCompress: true}}); err != nil {
		t.Fatal(err)
	}
	m0, m1 := ns.socks["s0"].delivered, ns.socks["s1"].delivered
	if len(m0) != 1 || len(m1) != 1 || m0[0] != m1[0] || len(ns.socks["s2"].delivered) != 0 {
		t.Fatalf("deliveries %d %d %d: want one shared message for s0 and s1", len(m0), len(m1),
			len(ns.socks["s2"].delivered))
	}
	msg := m0[0]
	if !msg.Volatile || len(msg.Frames) != 2 || !msg.Frames[0].NoCompress || !msg.Frames[1].NoCompress ||
		!msg.Frames[1].Binary || string(msg.Frames[0].Data) != `51-["ev",{"_placeholder":true,"num":0}]` {
		t.Errorf("message %+v, frames %q", msg, msg.Frames[0].Data)
	}
}

func TestBroadcastWithAck(t *testing.T) {
	t.Parallel()
	m, ns := newMemory(nil, nil, nil)
	p := &parser.Packet{Type: parser.Event, Data: []byte(`["q"]`), ID: 5, HasID: true}
	var counts []int
	var acks []string
	err := m.BroadcastWithAck(context.Background(), p, adapter.Options{Except: []string{"s2"}},
		func(n int) { counts = append(counts, n) }, func(a parser.Arg) { acks = append(acks, string(a.JSON())) })
	if err != nil || !slices.Equal(counts, []int{2}) {
		t.Fatalf("client counts %v, %v", counts, err)
	}
	for _, id := range []string{"s0", "s1"} {
		fn := ns.socks[id].acks[5]
		if fn == nil {
			t.Fatalf("%s waits for no ack 5", id)
		}
		fn([]parser.Arg{})
	}
	if len(ns.socks["s2"].acks) != 0 {
		t.Error("excluded socket expects an ack")
	}
	if !slices.Equal(acks, []string{"", ""}) {
		t.Errorf("first args %q, want null (zero Arg) twice", acks)
	}
}

func TestClusterOperations(t *testing.T) {
	t.Parallel()
	m, ns := newMemory([]string{"a"}, nil)
	ctx := context.Background()
	_ = m.AddSockets(ctx, adapter.Options{Rooms: []string{"a"}}, []string{"x", "y"})
	_ = m.DelSockets(ctx, adapter.Options{}, []string{"y"})
	if got := m.RoomsOf("s0"); len(got) != 3 || !slices.Contains(got, "x") || slices.Contains(got, "y") {
		t.Errorf("rooms of s0 %q", got)
	}
	infos, err := m.FetchSockets(ctx, adapter.Options{Rooms: []string{"x"}})
	if err != nil || len(infos) != 1 || infos[0].ID != "s0" || !infos[0].Local {
		t.Errorf("FetchSockets %+v %v", infos, err)
	}
	_ = m.DisconnectSockets(ctx, adapter.Options{Except: []string{"x"}}, true)
	if got := ns.socks["s1"].disconnected; !slices.Equal(got, []bool{true}) || len(ns.socks["s0"].disconnected) != 0 {
		t.Errorf("disconnected %v", got)
	}
	if n, _ := m.ServerCount(ctx); n != 1 {
		t.Errorf("ServerCount %d", n)
	}
	if res, err := m.ServerSideEmit(ctx, []any{"e"}, true); res != nil || err != nil {
		t.Errorf("ServerSideEmit %v %v", res, err)
	}
	if m.Close() != nil {
		t.Error("Close")
	}
}

// TestBroadcastAllocations checks that a broadcast allocates nothing per
// recipient: the same number of allocations for 10 and 1000 sockets, to
// every socket or to several rooms.
func TestBroadcastAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts vary under the race detector")
	}
	p := &parser.Packet{Type: parser.Event, Data: []byte(`["news",1]`)}
	for _, opts := range []adapter.Options{{}, {Rooms: []string{"a", "b"}, Except: []string{"c"}}} {
		allocs := func(n int) float64 {
			rooms := make([][]string, n)
			for i := range rooms {
				rooms[i] = []string{[]string{"a", "b", "c"}[i%3]}
			}
			m, ns := newMemory(rooms...)
			for _, s := range ns.socks {
				s.delivered = make([]*adapter.Message, 0, 256)
			}
			return testing.AllocsPerRun(100, func() {
				for _, s := range ns.socks {
					s.delivered = s.delivered[:0]
				}
				m.BroadcastLocal(p, opts)
			})
		}
		if small, large := allocs(10), allocs(1000); large > small {
			t.Errorf("rooms %q: %v allocations for 1000 sockets, %v for 10", opts.Rooms, large, small)
		}
	}
}

// TestSpreadAllocations checks that a broadcast spread over several
// goroutines allocates nothing per recipient either.
func TestSpreadAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts vary under the race detector")
	}
	p := &parser.Packet{Type: parser.Event, Data: []byte(`["news",1]`)}
	allocs := func(n int) float64 {
		m, ns := spreadSockets(t, n)
		for _, s := range ns.socks {
			s.delivered = make([]*adapter.Message, 0, 256)
		}
		return testing.AllocsPerRun(100, func() {
			for _, s := range ns.socks {
				s.delivered = s.delivered[:0]
			}
			m.BroadcastLocal(p, adapter.Options{})
		})
	}
	if small, large := allocs(2*adapter.ParallelDelivery), allocs(8*adapter.ParallelDelivery); large > small {
		t.Errorf("%v allocations for %d sockets, %v for %d", large, 8*adapter.ParallelDelivery,
			small, 2*adapter.ParallelDelivery)
	}
}

// spreadSockets returns an adapter with n sockets, every third one in room
// "a", and sets GOMAXPROCS to 4 for the test, so that broadcasts to more
// than adapter.ParallelDelivery sockets are spread on any machine. Tests
// that use it must not be parallel.
func spreadSockets(t *testing.T, n int) (*adapter.Memory, *fakeNamespace) {
	old := runtime.GOMAXPROCS(4)
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	rooms := make([][]string, n)
	for i := range rooms {
		if i%3 == 0 {
			rooms[i] = []string{"a"}
		}
	}
	return newMemory(rooms...)
}

// TestBroadcastSpread checks large broadcasts, delivered by several
// goroutines: each recipient gets every broadcast once and in order, the
// count is right, acks are registered, and a panic reaches the caller once
// the other goroutines' recipients have been served.
func TestBroadcastSpread(t *testing.T) {
	const n = 3 * adapter.ParallelDelivery
	m, ns := spreadSockets(t, n)
	packets := make([]*parser.Packet, 3)
	for i := range packets {
		packets[i] = &parser.Packet{Type: parser.Event, Data: fmt.Appendf(nil, `["n",%d]`, i)}
		if got := m.BroadcastLocal(packets[i], adapter.Options{}); got != n {
			t.Fatalf("broadcast %d reached %d sockets, want %d", i, got, n)
		}
	}
	if got := m.BroadcastLocal(packets[0], adapter.Options{Except: []string{"a"}}); got != n-n/3 {
		t.Errorf("broadcast except a reached %d sockets, want %d", got, n-n/3)
	}
	ack := &parser.Packet{Type: parser.Event, Data: []byte(`["q"]`), ID: 9, HasID: true}
	if got := m.BroadcastLocalWithAck(ack, adapter.Options{Rooms: []string{"a"}}, func(parser.Arg) {}); got != n/3 {
		t.Errorf("broadcast with ack reached %d sockets, want %d", got, n/3)
	}
	for i := range n {
		// Three broadcasts to all, then one to those out of "a" or one
		// with an ack to those in "a".
		s := ns.socks[fmt.Sprintf("s%d", i)]
		if len(s.delivered) != 4 || (s.acks[9] != nil) != (i%3 == 0) {
			t.Fatalf("%s got %d packets, waits for ack: %v", s.id, len(s.delivered), s.acks[9] != nil)
		}
		for j, p := range packets {
			if s.delivered[j].Packet != p {
				t.Fatalf("%s got packet %d out of order", s.id, j)
			}
		}
	}
	ns.socks[fmt.Sprintf("s%d", n-1)].panic = true
	defer func() {
		if r := recover(); r != fmt.Sprintf("delivery to s%d", n-1) {
			t.Errorf("recovered %v", r)
		}
		served := 0
		for _, s := range ns.socks {
			served += len(s.delivered) - 4
		}
		if share := (n + 3) / 4; served < n-share {
			t.Errorf("%d sockets served, want at least %d (all but one goroutine's share)", served, n-share)
		}
	}()
	m.BroadcastLocal(packets[0], adapter.Options{})
	t.Error("no panic")
}

func TestPartialError(t *testing.T) {
	t.Parallel()
	err := error(&adapter.PartialError{Expected: 3, Received: 1})
	if !errors.Is(err, adapter.ErrTimeout) || err.Error() != "operation has timed out: 1 of 3 responses received" {
		t.Errorf("%v", err)
	}
	err = &adapter.PartialError{Expected: 3, Received: 1, Cause: context.DeadlineExceeded}
	if !errors.Is(err, adapter.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v does not wrap its cause", err)
	}
}
