package socketio_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/client"
	"github.com/switchboard-io/switchboard/parser"
	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

// TestConnectionStateRecovery: a client whose connection drops gets its
// socket back on reconnection (same id, rooms, data) and every event it
// missed meanwhile, in order, exactly once; then live events flow again.
func TestConnectionStateRecovery(t *testing.T) {
	for _, transport := range []string{"websocket", "polling"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			testRecovery(t, transport)
		})
	}
}

func testRecovery(t *testing.T, transport string) {
	sockets := make(chan *socketio.Socket, 4)
	srv := newServer(t, &socketio.Options{ConnectionStateRecovery: &socketio.RecoveryOptions{}})
	srv.Server.OnConnection(func(s *socketio.Socket) {
		if !s.Recovered() {
			s.Join("room-a")
			s.SetData(map[string]string{"user": "ada"})
		}
		sockets <- s
	})
	c, err := client.Dial(context.Background(), srv.HTTP.URL, &client.Options{Transports: []string{transport},
		ReconnectionDelay: 50 * time.Millisecond, ReconnectionDelayMax: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := make(chan string, 64)
	c.On("seq", func(e *client.Event) {
		var v string
		_ = e.Decode(&v)
		got <- v
	})
	first := recv(t, sockets)
	if first.Recovered() {
		t.Fatal("a new socket must not be recovered")
	}
	emit := func(from, to int) {
		for i := from; i < to; i++ {
			if err := srv.Server.To("room-a").Emit(context.Background(), "seq", fmt.Sprint(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	emit(0, 3)
	for i := range 3 {
		if v := recv(t, got); v != fmt.Sprint(i) {
			t.Fatalf("live event %d = %q", i, v)
		}
	}
	first.Conn().Close() // the connection drops (a transport close)
	deadline := time.Now().Add(waitTimeout)
	for first.Connected() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	emit(3, 6) // missed while disconnected
	second := recv(t, sockets)
	if !second.Recovered() || second.ID() != first.ID() {
		t.Fatalf("recovered=%v id %s, want the recovered socket %s", second.Recovered(), second.ID(), first.ID())
	}
	data, _ := json.Marshal(second.Data())
	if !slices.Contains(second.Rooms(), "room-a") || string(data) != `{"user":"ada"}` {
		t.Fatalf("rooms %v data %v not restored", second.Rooms(), second.Data())
	}
	emit(6, 8)
	for i := 3; i < 8; i++ {
		if v := recv(t, got); v != fmt.Sprint(i) {
			t.Fatalf("event %d after recovery = %q", i, v)
		}
	}
	if !c.Recovered() {
		t.Fatal("the client must see Recovered() true")
	}
	select {
	case v := <-got:
		t.Fatalf("duplicate or extra event %q", v)
	case <-time.After(100 * time.Millisecond):
	}
	if st := srv.Server.Stats(); st.Recovered != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestRecoveryPIDInConnectReply: the CONNECT reply carries a pid only with
// recovery on; an unknown pid gives a fresh socket.
func TestRecoveryPIDInConnectReply(t *testing.T) {
	t.Parallel()
	on := newServer(t, &socketio.Options{ConnectionStateRecovery: &socketio.RecoveryOptions{}})
	off := newServer(t, nil)
	for _, tc := range []struct {
		srv     *socketiotest.Server
		wantPID bool
	}{{on, true}, {off, false}} {
		cl := tc.srv.Dial(t, "websocket", nil)
		p, err := cl.ConnectRaw(socketiotest.Context(t), "/", map[string]string{"pid": "nope", "offset": "nope"})
		if err != nil {
			t.Fatal(err)
		}
		var reply map[string]string
		if err := json.Unmarshal(p.Data, &reply); err != nil || len(reply["sid"]) != 20 {
			t.Fatalf("CONNECT reply %s: %v", p.Data, err)
		}
		if _, hasPID := reply["pid"]; hasPID != tc.wantPID {
			t.Fatalf("CONNECT reply %s, want pid: %v", p.Data, tc.wantPID)
		}
	}
	if on.Server.Stats().RecoveryFailed != 1 {
		t.Fatalf("the unknown pid must count as a failed recovery: %+v", on.Server.Stats())
	}
}

// TestRecoveryWaitsForThePreviousSocket: a client that reconnects while
// its previous socket is still leaving on this node (its disconnecting
// handlers are still running) is recovered once that socket has left its
// rooms and persisted its session, and then receives broadcasts: the old
// socket's leaving must not take the recovered one out of its rooms.
func TestRecoveryWaitsForThePreviousSocket(t *testing.T) {
	srv := newServer(t, &socketio.Options{ConnectionStateRecovery: &socketio.RecoveryOptions{}})
	release, blocked := make(chan struct{}), make(chan struct{})
	sockets := make(chan *socketio.Socket, 2)
	srv.Server.OnConnection(func(s *socketio.Socket) {
		if !s.Recovered() {
			s.Join("room-a")
			s.OnDisconnecting(func(string) { close(blocked); <-release })
		}
		sockets <- s
	})
	waiting := make(chan struct{}, 1)
	socketio.SetRestoreWaitHook(srv.Server, func() {
		select {
		case waiting <- struct{}{}:
		default:
		}
	})
	ctx := socketiotest.Context(t)
	c1 := srv.Dial(t, "websocket", nil)
	reply, err := c1.ConnectRaw(ctx, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids struct{ SID, PID string }
	if err := json.Unmarshal(reply.Data, &ids); err != nil || ids.PID == "" {
		t.Fatalf("CONNECT reply %s: %v", reply.Data, err)
	}
	first := recv(t, sockets)
	if err := srv.Server.To("room-a").Emit(context.Background(), "seq", "1"); err != nil {
		t.Fatal(err)
	}
	offset := lastStringArg(t, c1, ctx)
	c1.Close()
	recv(t, blocked) // the old socket is leaving, its cleanup held back

	c2 := srv.Dial(t, "websocket", nil)
	connected := make(chan *parser.Packet, 1)
	go func() {
		p, _ := c2.ConnectRaw(ctx, "/", map[string]string{"pid": ids.PID, "offset": offset})
		connected <- p
	}()
	// Release the old socket once the restore waits for it (or, if it does
	// not wait, once it is done: the test then fails below).
	var early *parser.Packet
	select {
	case <-waiting:
	case early = <-connected:
	case <-ctx.Done():
		t.Fatal("the reconnection neither waited nor completed")
	}
	close(release)
	if early == nil {
		early = recv(t, connected)
	}
	second := recv(t, sockets)
	if !second.Recovered() || second.ID() != first.ID() {
		t.Fatalf("recovered=%v id %s, want the recovered socket %s (reply %s)", second.Recovered(), second.ID(), first.ID(), early.Data)
	}
	if err := srv.Server.To("room-a").Emit(context.Background(), "seq", "2"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Server.Emit(context.Background(), "seq", "3"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2", "3"} {
		p, err := c2.Next(ctx, isEvent("seq"))
		if err != nil {
			t.Fatalf("the recovered socket got no event %s: %v (rooms %v)", want, err, second.Rooms())
		}
		var args []string
		if err := json.Unmarshal(p.Data, &args); err != nil || len(args) < 2 || args[1] != want {
			t.Fatalf("event %s, want %s", p.Data, want)
		}
	}
}

// TestRecoveryClosesAStaleSocket: a client that reconnects with its
// session while this node still holds its previous socket connected (the
// client gave that connection up first) gets the session back; the stale
// socket is closed with a transport close.
func TestRecoveryClosesAStaleSocket(t *testing.T) {
	t.Parallel()
	srv := newServer(t, &socketio.Options{ConnectionStateRecovery: &socketio.RecoveryOptions{}})
	reasons := make(chan string, 2)
	joined := make(chan struct{}, 2)
	srv.Server.OnConnection(func(s *socketio.Socket) {
		s.Join("room-a")
		s.OnDisconnect(func(r string) { reasons <- r })
		joined <- struct{}{}
	})
	ctx := socketiotest.Context(t)
	c1 := srv.Dial(t, "websocket", nil)
	defer c1.Close()
	reply, err := c1.ConnectRaw(ctx, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	recv(t, joined)
	var ids struct{ SID, PID string }
	_ = json.Unmarshal(reply.Data, &ids)
	if err := srv.Server.To("room-a").Emit(context.Background(), "seq", "1"); err != nil {
		t.Fatal(err)
	}
	offset := lastStringArg(t, c1, ctx)
	c2 := srv.Dial(t, "websocket", nil) // c1 stays open: the server cannot know it is abandoned
	p, err := c2.ConnectRaw(ctx, "/", map[string]string{"pid": ids.PID, "offset": offset})
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ SID string }
	if err := json.Unmarshal(p.Data, &got); err != nil || got.SID != ids.SID {
		t.Fatalf("CONNECT reply %s, want the recovered sid %s", p.Data, ids.SID)
	}
	if r := recv(t, reasons); r != socketio.ReasonTransportClose {
		t.Fatalf("the stale socket closed with %q", r)
	}
	if err := srv.Server.To("room-a").Emit(context.Background(), "seq", "2"); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Next(ctx, isEvent("seq")); err != nil {
		t.Fatalf("the recovered socket got no event: %v", err)
	}
	if st := srv.Server.Stats(); st.Recovered != 1 || st.RecoveryFailed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// lastStringArg reads the next "seq" event and returns its last argument,
// the offset recovery appends.
func lastStringArg(t *testing.T, c *socketiotest.Client, ctx context.Context) string {
	t.Helper()
	p, err := c.Next(ctx, isEvent("seq"))
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	if err := json.Unmarshal(p.Data, &args); err != nil || len(args) < 3 {
		t.Fatalf("event %s: want [name, value, offset]", p.Data)
	}
	return args[len(args)-1]
}

// isEvent matches the EVENT packets named name.
func isEvent(name string) func(*parser.Packet) bool {
	return func(p *parser.Packet) bool {
		var args []json.RawMessage
		return p.Type == parser.Event && json.Unmarshal(p.Data, &args) == nil && len(args) > 0 &&
			string(args[0]) == strconv.Quote(name)
	}
}

// slowStore is the in-memory recovering adapter whose restores hang until
// their context ends, recording how long they were given.
type slowStore struct {
	*adapter.RecoveringMemory
	budget chan time.Duration
}

func (s *slowStore) RestoreSession(ctx context.Context, _, _ string, _ func(*adapter.Session) error) error {
	d, _ := ctx.Deadline()
	s.budget <- time.Until(d)
	<-ctx.Done()
	return ctx.Err()
}

// TestRecoveryStoreTimeout: RecoveryOptions.StoreTimeout bounds a restore
// (default 5 s); a store that does not answer in time gives the client a
// new socket, counted as a failed recovery.
func TestRecoveryStoreTimeout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		timeout, want time.Duration
	}{{0, 5 * time.Second}, {50 * time.Millisecond, 50 * time.Millisecond}} {
		budget := make(chan time.Duration, 1)
		mem := adapter.NewRecoveringMemory(time.Minute)
		srv := newServer(t, &socketio.Options{
			ConnectionStateRecovery: &socketio.RecoveryOptions{StoreTimeout: tc.timeout},
			Adapter: func(ns adapter.Namespace) adapter.Adapter {
				return &slowStore{RecoveringMemory: mem(ns).(*adapter.RecoveringMemory), budget: budget}
			}})
		c := srv.Dial(t, "websocket", nil)
		done := make(chan error, 1)
		go func() {
			_, err := c.ConnectRaw(socketiotest.Context(t), "/", map[string]string{"pid": "p", "offset": "o"})
			done <- err
		}()
		if b := recv(t, budget); b > tc.want || b < tc.want-time.Second {
			t.Fatalf("StoreTimeout %v: the restore was given %v, want %v", tc.timeout, b, tc.want)
		}
		if tc.timeout == 0 {
			continue // not waiting 5 s: the budget is what is tested
		}
		if err := recv(t, done); err != nil {
			t.Fatal(err)
		}
		if st := srv.Server.Stats(); st.RecoveryFailed != 1 {
			t.Fatalf("stats %+v", st)
		}
	}
}

// TestRecoveryConnectBeforeMissed: a recovered client gets its CONNECT
// reply first, then the events it missed (see restore: the official client
// would emit missed events buffered before a reply that never came twice).
func TestRecoveryConnectBeforeMissed(t *testing.T) {
	t.Parallel()
	srv := newServer(t, &socketio.Options{ConnectionStateRecovery: &socketio.RecoveryOptions{}})
	joined := make(chan struct{}, 2)
	srv.Server.OnConnection(func(s *socketio.Socket) { s.Join("room-a"); joined <- struct{}{} })
	ctx := socketiotest.Context(t)
	c1 := srv.Dial(t, "websocket", nil)
	reply, err := c1.ConnectRaw(ctx, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	recv(t, joined)
	var ids struct{ SID, PID string }
	_ = json.Unmarshal(reply.Data, &ids)
	_ = srv.Server.To("room-a").Emit(context.Background(), "seq", "1")
	offset := lastStringArg(t, c1, ctx)
	c1.Close()
	waitNoSocket(t, srv)
	_ = srv.Server.To("room-a").Emit(context.Background(), "seq", "2") // missed
	c2 := srv.Dial(t, "websocket", nil)
	defer c2.Close()
	if err := c2.Send(&parser.Packet{Type: parser.Connect, Namespace: "/",
		Data: json.RawMessage(`{"pid":"` + ids.PID + `","offset":"` + offset + `"}`)}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []parser.Type{parser.Connect, parser.Event} {
		p, err := c2.ReadPacket(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p.Type != want {
			t.Fatalf("packet %d after reconnecting: %v %s, want type %v", i, p.Type, p.Data, want)
		}
	}
}

// TestDataAsAcrossRecovery: DataAs returns the socket's data as its Go
// type, on the recovered socket too (whose data came back as JSON), and
// RemoteSocket.DecodeData decodes fetched data.
func TestDataAsAcrossRecovery(t *testing.T) {
	t.Parallel()
	type user struct{ Name string }
	srv := newServer(t, &socketio.Options{ConnectionStateRecovery: &socketio.RecoveryOptions{}})
	ch := make(chan *socketio.Socket, 2)
	srv.Server.OnConnection(func(s *socketio.Socket) {
		if !s.Recovered() {
			if _, err := socketio.DataAs[user](s); err == nil {
				t.Error("DataAs succeeded on a socket without data")
			}
			s.SetData(user{"ada"})
		}
		ch <- s
	})
	ctx := socketiotest.Context(t)
	c1 := srv.Dial(t, "websocket", nil)
	reply, err := c1.ConnectRaw(ctx, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids struct{ SID, PID string }
	_ = json.Unmarshal(reply.Data, &ids)
	first := recv(t, ch)
	if u, err := socketio.DataAs[user](first); err != nil || u.Name != "ada" {
		t.Fatalf("DataAs = %+v, %v", u, err)
	}
	if _, err := socketio.DataAs[string](first); err == nil {
		t.Fatal("DataAs of the wrong type succeeded")
	}
	_ = srv.Server.Emit(context.Background(), "seq", "1")
	offset := lastStringArg(t, c1, ctx)
	c1.Close()
	waitNoSocket(t, srv)
	c2 := srv.Dial(t, "websocket", nil)
	defer c2.Close()
	if _, err := c2.ConnectRaw(ctx, "/", map[string]string{"pid": ids.PID, "offset": offset}); err != nil {
		t.Fatal(err)
	}
	second := recv(t, ch)
	if !second.Recovered() {
		t.Fatal("not recovered")
	}
	if _, isJSON := second.Data().(json.RawMessage); !isJSON {
		t.Fatalf("recovered data is a %T, want its JSON until decoded", second.Data())
	}
	if u, err := socketio.DataAs[user](second); err != nil || u.Name != "ada" {
		t.Fatalf("DataAs on the recovered socket = %+v, %v", u, err)
	}
	if u, ok := second.Data().(user); !ok || u.Name != "ada" {
		t.Fatalf("Data after DataAs = %#v, want the decoded value", second.Data())
	}
	remote, err := srv.Server.FetchSockets(ctx)
	if err != nil || len(remote) != 1 {
		t.Fatalf("FetchSockets: %d, %v", len(remote), err)
	}
	var u user
	if err := remote[0].DecodeData(&u); err != nil || u.Name != "ada" {
		t.Fatalf("DecodeData = %+v, %v", u, err)
	}
}

// waitNoSocket waits until srv's main namespace has no socket left.
func waitNoSocket(t *testing.T, srv *socketiotest.Server) {
	t.Helper()
	socketiotest.Eventually(t, func() error {
		if n := srv.Server.SocketCounts()["/"]; n != 0 {
			return fmt.Errorf("%d sockets still connected", n)
		}
		return nil
	}, waitTimeout)
}
