package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/parser"
	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

// world is a server with clients connected to "/", each client i having
// socket socks[i] on the server.
type world struct {
	srv     *socketiotest.Server
	clients []*socketiotest.Client
	socks   []*socketio.Socket
	syncs   atomic.Int64
}

// newWorld connects one client per rooms entry over transport; client i's
// socket joins rooms[i].
func newWorld(t *testing.T, opts *socketio.Options, transport string, rooms ...[]string) *world {
	t.Helper()
	w := &world{srv: newServer(t, opts)}
	ch := sockets(w.srv)
	for _, r := range rooms {
		c := w.srv.Connect(t, transport, "/", nil)
		s := recv(t, ch)
		s.Join(r...)
		w.clients = append(w.clients, c)
		w.socks = append(w.socks, s)
	}
	return w
}

// received returns the events client i received since the last call, in
// order: the server sends a marker event after them and the client reads
// up to it, so what did not arrive before the marker never will.
func (w *world) received(t *testing.T, i int) []string {
	t.Helper()
	marker := fmt.Sprintf("sync-%d", w.syncs.Add(1))
	if err := w.socks[i].Emit(marker); err != nil {
		t.Fatalf("client %d: %v", i, err)
	}
	var names []string
	for {
		e, err := w.clients[i].ReadEvent(ctxT(t), "/", "")
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		if e.Name == marker {
			return names
		}
		names = append(names, e.Name)
	}
}

// expect checks that exactly the clients in want received event once, and
// nothing else.
func (w *world) expect(t *testing.T, event string, want ...int) {
	t.Helper()
	for i := range w.clients {
		got := w.received(t, i)
		var exp []string
		if slices.Contains(want, i) {
			exp = []string{event}
		}
		if !slices.Equal(got, exp) {
			t.Errorf("client %d received %q, want %q", i, got, exp)
		}
	}
}

func TestBroadcastTargets(t *testing.T) {
	t.Parallel()
	// Clients 0..3 are in rooms {a}, {a,b}, {b} and none.
	rooms := [][]string{{"a"}, {"a", "b"}, {"b"}, nil}
	for _, tc := range []struct {
		name string
		emit func(w *world) error
		want []int
	}{
		{"Server.Emit", func(w *world) error { return w.srv.Emit(ctxT(t), "ev") }, []int{0, 1, 2, 3}},
		{"Namespace.Emit", func(w *world) error { return w.srv.Of("/").Emit(ctxT(t), "ev") }, []int{0, 1, 2, 3}},
		{"To one room", func(w *world) error { return w.srv.To("a").Emit(ctxT(t), "ev") }, []int{0, 1}},
		{"To two rooms, once each", func(w *world) error { return w.srv.To("a", "b").Emit(ctxT(t), "ev") }, []int{0, 1, 2}},
		{"To then In", func(w *world) error { return w.srv.To("a").In("b").Emit(ctxT(t), "ev") }, []int{0, 1, 2}},
		{"In", func(w *world) error { return w.srv.Of("/").In("b").Emit(ctxT(t), "ev") }, []int{1, 2}},
		{"To an unknown room", func(w *world) error { return w.srv.To("zzz").Emit(ctxT(t), "ev") }, nil},
		{"Except", func(w *world) error { return w.srv.Of("/").Except("a").Emit(ctxT(t), "ev") }, []int{2, 3}},
		{"To and Except", func(w *world) error { return w.srv.To("b").Except("a").Emit(ctxT(t), "ev") }, []int{2}},
		{"own id room", func(w *world) error { return w.srv.To(w.socks[3].ID()).Emit(ctxT(t), "ev") }, []int{3}},
		{"Socket.Broadcast", func(w *world) error { return w.socks[0].Broadcast().Emit(ctxT(t), "ev") }, []int{1, 2, 3}},
		{"Socket.To excludes itself", func(w *world) error { return w.socks[1].To("b").Emit(ctxT(t), "ev") }, []int{2}},
		{"Socket.Except", func(w *world) error { return w.socks[0].Except("b").Emit(ctxT(t), "ev") }, []int{3}},
		{"Socket.Broadcast.To", func(w *world) error { return w.socks[2].Broadcast().To("a", "b").Emit(ctxT(t), "ev") }, []int{0, 1}},
		{"Local", func(w *world) error { return w.srv.Of("/").Local().To("a").Emit(ctxT(t), "ev") }, []int{0, 1}},
		{"Compress(false)", func(w *world) error { return w.srv.To("b").Compress(false).Emit(ctxT(t), "ev") }, []int{1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, nil, socketiotest.WebSocket, rooms...)
			if err := tc.emit(w); err != nil {
				t.Fatal(err)
			}
			w.expect(t, "ev", tc.want...)
		})
	}
}

// TestExceptDoesNotAlias checks that Socket.Except leaves the caller's
// slice alone, spare capacity included (shared slices are then safe to use
// from several goroutines), and that its operators stay independent.
func TestExceptDoesNotAlias(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil, socketiotest.WebSocket, []string{"a"}, []string{"a"}, []string{"b"})
	rooms := make([]string, 1, 8)
	rooms[0] = "b"
	op0 := w.socks[0].Except(rooms...)
	op1 := w.socks[1].Except(rooms...)
	if spare := rooms[:2][1]; spare != "" {
		t.Errorf("Except wrote %q into the caller's slice", spare)
	}
	if err := op0.Emit(ctxT(t), "ev"); err != nil {
		t.Fatal(err)
	}
	w.expect(t, "ev", 1)
	if err := op1.Emit(ctxT(t), "ev"); err != nil {
		t.Fatal(err)
	}
	w.expect(t, "ev", 0)
}

func TestRooms(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil, socketiotest.WebSocket, nil, nil)
	s, other := w.socks[0], w.socks[1]
	ad := w.srv.Of("/").Adapter()
	sorted := func(r []string) []string { slices.Sort(r); return r }
	if got := s.Rooms(); !slices.Equal(got, []string{s.ID()}) {
		t.Errorf("rooms after connect %q, want own id only", got)
	}
	s.Join("a", "b")
	other.Join("b")
	if got, want := sorted(s.Rooms()), sorted([]string{s.ID(), "a", "b"}); !slices.Equal(got, want) {
		t.Errorf("rooms %q, want %q", got, want)
	}
	if ad.Size("b") != 2 || ad.Size("a") != 1 || ad.Size(s.ID()) != 1 {
		t.Errorf("sizes a=%d b=%d own=%d", ad.Size("a"), ad.Size("b"), ad.Size(s.ID()))
	}
	s.Leave("a")
	s.Leave("never-joined")
	if got, want := sorted(s.Rooms()), sorted([]string{s.ID(), "b"}); !slices.Equal(got, want) {
		t.Errorf("rooms after Leave %q, want %q", got, want)
	}
	if ad.Size("a") != 0 {
		t.Errorf("room a has %d members after leaving", ad.Size("a"))
	}
	_ = w.srv.To("a").Emit(ctxT(t), "to-a")
	_ = w.srv.To("b").Emit(ctxT(t), "to-b")
	if got := w.received(t, 0); !slices.Equal(got, []string{"to-b"}) {
		t.Errorf("received %q, want [to-b]", got)
	}
}

func TestVolatile(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	ch := sockets(srv)
	// A polling client with no GET pending cannot take a packet now.
	idle := srv.Dial(t, socketiotest.Polling, &socketiotest.DialOptions{ManualPoll: true})
	if err := idle.SendRaw("40"); err != nil {
		t.Fatal(err)
	}
	idleSock := recv(t, ch)
	ws := srv.Connect(t, socketiotest.WebSocket, "/", nil)
	wsSock := recv(t, ch)
	socketiotest.Eventually(t, func() error {
		if !wsSock.Conn().Writable() {
			return errors.New("websocket not writable")
		}
		return nil
	}, waitTimeout)

	_ = srv.Of("/").Volatile().Emit(ctxT(t), "v-broadcast")
	_ = idleSock.Volatile().Emit("v-direct")
	_ = idleSock.Emit("normal")
	if got := srv.Stats().VolatileDropped; got != 2 {
		t.Errorf("VolatileDropped = %d, want 2", got)
	}
	if _, err := ws.ReadEvent(ctxT(t), "/", "v-broadcast"); err != nil {
		t.Errorf("writable websocket client: %v", err)
	}
	// One GET takes everything queued: the CONNECT reply and "normal".
	if err := idle.Poll(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range idle.Pending() {
		if name, _, err := p.Event(); err == nil {
			names = append(names, name)
		}
	}
	if !slices.Equal(names, []string{"normal"}) {
		t.Errorf("non-writable polling client received %q, want [normal]", names)
	}
}

// TestCompress checks that Compress(false) reaches the transport: polling
// responses above the threshold are compressed unless every packet in them
// says otherwise.
func TestCompress(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	ch := sockets(srv)
	c := srv.Connect(t, socketiotest.Polling, "/", nil)
	s := recv(t, ch)
	big := strings.Repeat("x", 4096)
	steps := []struct {
		name string
		emit func() error
		want int // compressed responses so far
	}{
		{"socket uncompressed", func() error { return s.Compress(false).Emit("e1", big) }, 0},
		{"broadcast uncompressed", func() error { return srv.Of("/").Compress(false).Emit(ctxT(t), "e2", big) }, 0},
		{"volatile uncompressed", func() error { return s.Compress(false).Volatile().Emit("e3", big) }, 0},
		{"socket default", func() error { return s.Emit("e4", big) }, 1},
		{"broadcast compressed", func() error { return srv.To(s.ID()).Compress(true).Emit(ctxT(t), "e5", big) }, 2},
	}
	for i, st := range steps {
		socketiotest.Eventually(t, func() error { // one event per response
			if !s.Conn().Writable() {
				return errors.New("no GET pending")
			}
			return nil
		}, waitTimeout)
		if err := st.emit(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ReadEvent(ctxT(t), "/", fmt.Sprintf("e%d", i+1)); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := c.CompressedPolls(); got != st.want {
			t.Errorf("%s: %d compressed responses, want %d", st.name, got, st.want)
		}
	}
}

// recordingAdapter is the in-memory adapter recording the options of
// every broadcast.
type recordingAdapter struct {
	*adapter.Memory
	opts chan adapter.Options
}

func (r *recordingAdapter) Broadcast(ctx context.Context, p *parser.Packet, o adapter.Options) error {
	r.opts <- o
	return r.Memory.Broadcast(ctx, p, o)
}

func (r *recordingAdapter) BroadcastWithAck(ctx context.Context, p *parser.Packet, o adapter.Options,
	count func(int), ack func(parser.Arg)) error {
	r.opts <- o
	return r.Memory.BroadcastWithAck(ctx, p, o, count, ack)
}

// TestBroadcastFlags checks that the operator's modifiers reach the adapter.
func TestBroadcastFlags(t *testing.T) {
	t.Parallel()
	rec := make(chan adapter.Options, 16)
	srv := newServer(t, &socketio.Options{Adapter: func(ns adapter.Namespace) adapter.Adapter {
		return &recordingAdapter{Memory: adapter.NewMemoryAdapter(ns), opts: rec}
	}})
	ns := srv.Of("/")
	_ = ns.Local().Volatile().Compress(false).To("r1", "r2").Except("x").Emit(ctxT(t), "e")
	got := recv(t, rec)
	want := adapter.Flags{Local: true, Volatile: true, NoCompress: true}
	if got.Flags != want || !slices.Equal(got.Rooms, []string{"r1", "r2"}) || !slices.Equal(got.Except, []string{"x"}) {
		t.Errorf("options %+v", got)
	}
	_, _ = ns.Timeout(10*time.Millisecond).EmitWithAck(context.Background(), "e")
	if got := recv(t, rec); got.Flags.Timeout != 10*time.Millisecond || got.Flags.Local {
		t.Errorf("EmitWithAck options %+v", got)
	}
	// Modifiers never leak into the operator they were derived from.
	base := ns.To("r1")
	_ = base.Volatile().Local().Emit(ctxT(t), "e")
	<-rec
	_ = base.Emit(ctxT(t), "e")
	if got := recv(t, rec); got.Flags != (adapter.Flags{}) || !slices.Equal(got.Rooms, []string{"r1"}) {
		t.Errorf("base operator options %+v", got)
	}
}

// answerAcks makes client c answer every "q" event with reply, until ctx ends.
func answerAcks(ctx context.Context, c *socketiotest.Client, reply any) {
	go func() {
		for {
			e, err := c.ReadEvent(ctx, "/", "q")
			if err != nil {
				return
			}
			_ = e.Ack(reply)
		}
	}()
}

func TestBroadcastEmitWithAck(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		w := newWorld(t, nil, transport, []string{"r"}, []string{"r"}, []string{"r"}, nil)
		ctx, cancel := context.WithCancel(ctxT(t))
		defer cancel()
		for i, c := range w.clients[:2] {
			answerAcks(ctx, c, i)
		}
		// Complete: every client of room r but the silent one answers.
		res, err := w.srv.To("r").Except(w.socks[2].ID()).EmitWithAck(ctxT(t), "q")
		if err != nil {
			t.Fatal(err)
		}
		if got := argsJSON(res); !slices.Equal(got, []string{"0", "1"}) {
			t.Errorf("responses %q, want [0 1]", got)
		}
		// Timeout: client 2 never answers.
		start := time.Now()
		res, err = w.srv.To("r").Timeout(50*time.Millisecond).EmitWithAck(ctxT(t), "q")
		if !errors.Is(err, socketio.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want ErrTimeout wrapping DeadlineExceeded", err)
		}
		var pe *socketio.PartialError
		if !errors.As(err, &pe) || pe.Expected != 3 || pe.Received != 2 {
			t.Errorf("err = %#v, want a PartialError of 2 of 3", err)
		}
		if time.Since(start) < 50*time.Millisecond {
			t.Errorf("returned before the timeout")
		}
		if got := argsJSON(res); !slices.Equal(got, []string{"0", "1"}) {
			t.Errorf("partial responses %q, want [0 1]", got)
		}
		if n := socketio.PendingAcks(w.socks[2]); n != 0 {
			t.Errorf("silent socket still waits for %d acks after the timeout", n)
		}
		// The caller's deadline bounds it too; no recipient completes at once.
		short, cancelShort := context.WithTimeout(ctxT(t), 20*time.Millisecond)
		defer cancelShort()
		if _, err := w.srv.To(w.socks[2].ID()).EmitWithAck(short, "q"); !errors.Is(err, socketio.ErrTimeout) {
			t.Errorf("with a ctx deadline: %v", err)
		}
		if res, err := w.srv.To("nobody").EmitWithAck(ctxT(t), "q"); err != nil || len(res) != 0 {
			t.Errorf("no recipient: %v %v", res, err)
		}
	})
}

func argsJSON(args []socketio.Arg) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = string(a.JSON())
	}
	sort.Strings(out)
	return out
}

func TestClusterOperationsOnOneNode(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil, socketiotest.WebSocket, []string{"a"}, []string{"a", "b"}, nil)
	ns := w.srv.Of("/")
	ctx := ctxT(t)
	if err := ns.To("a").SocketsJoin(ctx, "joined"); err != nil {
		t.Fatal(err)
	}
	if err := ns.To("b").SocketsLeave(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]string{{"a", "joined"}, {"b", "joined"}, {}} {
		got := slices.DeleteFunc(w.socks[i].Rooms(), func(r string) bool { return r == w.socks[i].ID() })
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("socket %d rooms %q, want %q", i, got, want)
		}
	}
	w.socks[1].SetData(map[string]int{"n": 1})
	fetched, err := ns.In("joined").FetchSockets(ctx)
	if err != nil || len(fetched) != 2 {
		t.Fatalf("FetchSockets: %d, %v", len(fetched), err)
	}
	for _, r := range fetched {
		s := ns.LocalSocket(r.ID)
		if s == nil || !r.Local || r.Handshake == nil || !slices.Contains(r.Rooms, "joined") {
			t.Errorf("fetched %+v", r)
		}
		if s == w.socks[1] && string(r.Data) != `{"n":1}` {
			t.Errorf("data %s", r.Data)
		}
	}
	if all, _ := ns.FetchSockets(ctx); len(all) != 3 {
		t.Errorf("FetchSockets on the namespace: %d sockets, want 3", len(all))
	}
	if err := ns.Except("joined").DisconnectSockets(ctx, false); err != nil {
		t.Fatal(err)
	}
	p, err := w.clients[2].Next(ctx, func(p *parser.Packet) bool { return p.Type == parser.Disconnect })
	if err != nil || p.Namespace != "/" {
		t.Fatalf("DISCONNECT: %v %v", p, err)
	}
	if err := ns.To("b").DisconnectSockets(ctx, true); err != nil {
		t.Fatal(err)
	}
	waitDone(t, w.clients[1].Done(), "connection closed by DisconnectSockets(true)")
	socketiotest.Eventually(t, func() error {
		if n := ns.Len(); n != 1 {
			return fmt.Errorf("%d sockets left, want 1", n)
		}
		return nil
	}, waitTimeout)
}

func TestRemoteSocket(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil, socketiotest.WebSocket, nil, nil)
	ns := w.srv.Of("/")
	ctx := ctxT(t)
	fetched, err := ns.To(w.socks[0].ID()).FetchSockets(ctx)
	if err != nil || len(fetched) != 1 || fetched[0].ID != w.socks[0].ID() {
		t.Fatalf("FetchSockets: %v %v", fetched, err)
	}
	r := fetched[0]
	if err := r.Emit(ctxT(t), "hello", 1); err != nil {
		t.Fatal(err)
	}
	w.expect(t, "hello", 0)

	answerAcks(ctx, w.clients[0], "pong")
	if a, err := r.EmitWithAck(ctx, "q"); err != nil || string(a.JSON()) != `"pong"` {
		t.Errorf("EmitWithAck: %s %v", a.JSON(), err)
	}
	if err := r.Join(ctx, "x", "y"); err != nil {
		t.Fatal(err)
	}
	if err := r.Leave(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if got := w.socks[0].Rooms(); !slices.Contains(got, "y") || slices.Contains(got, "x") {
		t.Errorf("rooms %q, want y and not x", got)
	}
	if err := r.Disconnect(ctx, false); err != nil {
		t.Fatal(err)
	}
	socketiotest.Eventually(t, func() error {
		if w.socks[0].Connected() {
			return errors.New("still connected")
		}
		return nil
	}, waitTimeout)
	if _, err := r.EmitWithAck(ctx, "q"); !errors.Is(err, socketio.ErrDisconnected) {
		t.Errorf("EmitWithAck to a gone socket: %v, want ErrDisconnected", err)
	}
	fetched, _ = ns.To(w.socks[1].ID()).FetchSockets(ctx)
	if err := fetched[0].Disconnect(ctx, true); err != nil {
		t.Fatal(err)
	}
	waitDone(t, w.clients[1].Done(), "connection of a socket disconnected with close")
}

// TestLargeBroadcast checks broadcasts to more than adapter.ParallelDelivery
// sockets, delivered by several goroutines (GOMAXPROCS is 4 for the test):
// every client gets every event once and in order, and the outgoing
// handlers see each one. The sessions are polling ones, made in process.
func TestLargeBroadcast(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	srv := socketio.NewServer(&socketio.Options{Logger: quietLogger,
		Engine: engineio.Options{CloseTimeout: time.Millisecond}}) // nobody polls the close packet
	defer srv.Shutdown(context.Background())
	var ready, outgoing atomic.Int64
	srv.OnConnection(func(s *socketio.Socket) {
		s.OnAnyOutgoing(func(string, []socketio.Arg) { outgoing.Add(1) })
		ready.Add(1)
	})
	sids := make([]string, adapter.ParallelDelivery+100)
	for i := range sids {
		sids[i] = openPolling(t, srv)
	}
	socketiotest.Eventually(t, func() error { // the connection handlers run on the sockets' goroutines
		if n := ready.Load(); n != int64(len(sids)) {
			return fmt.Errorf("%d sockets ready, want %d", n, len(sids))
		}
		return nil
	}, waitTimeout)
	for i := range 3 {
		if err := srv.Emit(ctxT(t), "n", i); err != nil {
			t.Fatal(err)
		}
	}
	for _, sid := range sids {
		if body := poll(t, srv, sid); body != "42[\"n\",0]\x1e42[\"n\",1]\x1e42[\"n\",2]" {
			t.Fatalf("session %s got %q", sid, body)
		}
	}
	if got := outgoing.Load(); got != int64(3*len(sids)) {
		t.Errorf("outgoing handlers saw %d events, want %d", got, 3*len(sids))
	}
}
