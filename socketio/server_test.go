package socketio_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-io/switchboard/parser"
	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

func TestNamespaceNames(t *testing.T) {
	t.Parallel()
	srv := socketio.NewServer(&socketio.Options{Logger: quietLogger})
	defer srv.Shutdown(context.Background())
	if srv.Of("chat") != srv.Of("/chat") || srv.Of("chat").Name() != "/chat" {
		t.Error(`Of("chat") is not Of("/chat")`)
	}
	if srv.Of("/").Server() != srv || srv.Path() != "/socket.io/" {
		t.Error("Server or Path")
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/elsewhere/?EIO=4&transport=polling", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("outside the path: %d, want 404", rec.Code)
	}
	custom := socketio.NewServer(&socketio.Options{Path: "/rt", Logger: quietLogger})
	defer custom.Shutdown(context.Background())
	if custom.Path() != "/rt/" {
		t.Errorf("Path %q, want /rt/", custom.Path())
	}
}

func TestServerUseAndOff(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		srv.Use(func(_ context.Context, s *socketio.Socket) error {
			if string(s.Handshake().Auth) == `{"deny":true}` {
				return errors.New("denied")
			}
			return nil
		})
		ch := sockets(srv)
		var ce *socketiotest.ConnectError
		if _, err := srv.Dial(t, transport, nil).Connect(ctxT(t), "/", map[string]bool{"deny": true}); !errors.As(err, &ce) {
			t.Errorf("Server.Use middleware did not refuse: %v", err)
		}
		c := srv.Connect(t, transport, "/", nil)
		s := recv(t, ch)
		s.On("x", func(e *socketio.Event) { _ = e.Ack("on") })
		if a, err := c.EmitWithAck(ctxT(t), "/", "x"); err != nil || string(a[0].JSON()) != `"on"` {
			t.Fatalf("handler: %v", err)
		}
		s.Off("x")
		s.On("y", func(e *socketio.Event) { _ = e.Ack("y") })
		_ = c.SendRaw(`420["x"]`) // would be acked with id 0 by a handler
		if _, err := c.EmitWithAck(ctxT(t), "/", "y"); err != nil {
			t.Fatal(err)
		}
		if p := c.Pending(); len(p) != 0 {
			t.Errorf("removed handler answered: %q", p[0].Encode())
		}
	})
}

// TestMaxPendingEvents checks that a client flooding a blocked handler is
// disconnected once its queued events reach the limit.
func TestMaxPendingEvents(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, &socketio.Options{MaxPendingEvents: 3})
		release := make(chan struct{})
		reasons := make(chan string, 1)
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("slow", func(*socketio.Event) { <-release })
			s.OnDisconnect(func(r string) { reasons <- r })
		})
		c := srv.Connect(t, transport, "/", nil)
		for range 6 {
			if c.Emit("/", "slow") != nil {
				break
			}
		}
		waitDone(t, c.Done(), "flooding client")
		close(release)
		if r := recv(t, reasons); r != socketio.ReasonForcedServerClose {
			t.Errorf("reason %q", r)
		}
	})
}

func TestParentNamespaceEmit(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	parent := srv.OfFunc(func(name string, _ json.RawMessage) bool { return len(name) == 2 })
	c := srv.Dial(t, socketiotest.WebSocket, nil)
	for _, n := range []string{"/a", "/b"} {
		if _, err := c.Connect(ctxT(t), n, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := parent.Emit(ctxT(t), "all", 1); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"/a", "/b"} {
		if _, err := c.ReadEvent(ctxT(t), n, "all"); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	counts := srv.SocketCounts()
	if counts["/a"] != 1 || counts["/b"] != 1 || counts["/"] != 0 {
		t.Errorf("SocketCounts %v", counts)
	}
}

// TestSingleNodeCluster checks the cluster operations of a lone node.
func TestSingleNodeCluster(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil, socketiotest.WebSocket, nil, nil)
	ns := w.srv.Of("/")
	ctx := ctxT(t)
	if n, err := ns.ServerCount(ctx); n != 1 || err != nil {
		t.Errorf("ServerCount %d, %v", n, err)
	}
	if err := ns.ServerSideEmit(ctx, "hello", 1); err != nil {
		t.Errorf("ServerSideEmit: %v", err)
	}
	if res, err := ns.ServerSideEmitWithAck(ctx, "hello"); err != nil || len(res) != 0 {
		t.Errorf("ServerSideEmitWithAck: %v %v", res, err)
	}
	if _, err := ns.ServerSideEmitWithAck(ctx, "connection"); !errors.Is(err, socketio.ErrReservedEvent) {
		t.Errorf("reserved: %v", err)
	}
	// Another node's event, as an adapter hands it over.
	got := make(chan string, 1)
	ns.OnServerSideEmit("hello", func(args []socketio.Arg, reply func(any)) {
		reply("hi " + string(args[0].JSON()))
	})
	ns.OnServerSideEmit("panics", func([]socketio.Arg, func(any)) { panic("server-side boom") })
	args := argsOf(t, `["x"]`)
	socketio.AdapterView(ns).HandleServerSideEmit("panics", args, nil)
	socketio.AdapterView(ns).HandleServerSideEmit("unknown", args, func(any) { got <- "unknown answered" })
	socketio.AdapterView(ns).HandleServerSideEmit("hello", args, func(a any) { got <- fmt.Sprint(a) })
	if g := recv(t, got); g != `hi "x"` {
		t.Errorf("reply %q", g)
	}
	// Namespace-wide cluster operations.
	if err := ns.SocketsJoin(ctx, "all"); err != nil || ns.Adapter().Size("all") != 2 {
		t.Errorf("SocketsJoin: %v, size %d", err, ns.Adapter().Size("all"))
	}
	if err := ns.SocketsLeave(ctx, "all"); err != nil || ns.Adapter().Size("all") != 0 {
		t.Errorf("SocketsLeave: %v, size %d", err, ns.Adapter().Size("all"))
	}
	if err := ns.DisconnectSockets(ctx, false); err != nil {
		t.Fatal(err)
	}
	socketiotest.Eventually(t, func() error {
		if n := ns.Len(); n != 0 {
			return fmt.Errorf("%d sockets left", n)
		}
		return nil
	}, waitTimeout)
}

func argsOf(t *testing.T, data string) []socketio.Arg {
	t.Helper()
	p := &parser.Packet{Type: parser.Event, Data: json.RawMessage(data)}
	args, err := p.Args()
	if err != nil {
		t.Fatal(err)
	}
	return args
}

func TestStats(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	srv.OnConnection(func(s *socketio.Socket) {
		s.On("e", func(e *socketio.Event) { _ = e.Ack() })
	})
	c := srv.Connect(t, socketiotest.WebSocket, "/", nil)
	other := srv.Connect(t, socketiotest.Polling, "/", nil)
	for range 3 {
		if _, err := c.EmitWithAck(ctxT(t), "/", "e"); err != nil {
			t.Fatal(err)
		}
	}
	_ = srv.Emit(ctxT(t), "b")
	_ = other.Close()
	socketiotest.Eventually(t, func() error {
		got := srv.Stats()
		// Out: 2 CONNECT replies, 3 acks, the broadcast to 2 clients.
		want := socketio.Stats{Connects: 2, Disconnects: 1, EventsIn: 3, PacketsOut: 7, Broadcasts: 1}
		if got != want {
			return fmt.Errorf("stats %+v, want %+v", got, want)
		}
		return nil
	}, waitTimeout)
	if got := srv.SocketCounts(); !slices.Equal([]int{got["/"]}, []int{1}) {
		t.Errorf("SocketCounts %v", got)
	}
}

// TestNamespaceLookup: Namespace finds what exists (static, or a child a
// connection created) and never creates anything.
func TestNamespaceLookup(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	chat := srv.Server.Of("/chat")
	srv.Server.OfFunc(func(name string, _ json.RawMessage) bool { return strings.HasPrefix(name, "/room-") })
	if srv.Server.Namespace("chat") != chat || srv.Server.Namespace("/") == nil {
		t.Fatal("Namespace does not find the namespaces created by Of")
	}
	for _, name := range []string{"/nope", "/room-1"} {
		if srv.Server.Namespace(name) != nil {
			t.Fatalf("Namespace(%q) found a namespace that does not exist", name)
		}
	}
	if _, ok := srv.Server.SocketCounts()["/nope"]; ok {
		t.Fatal("Namespace created a namespace")
	}
	srv.Connect(t, "websocket", "/room-1", nil)
	if ns := srv.Server.Namespace("/room-1"); ns == nil || ns.Len() != 1 {
		t.Fatal("Namespace does not find the child a connection created")
	}
}

// TestServerShortcuts: the Server's shortcuts act on the main namespace,
// as Node's io does.
func TestServerShortcuts(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	ch := sockets(srv)
	a := srv.Connect(t, "websocket", "/", nil)
	sa := recv(t, ch)
	b := srv.Connect(t, "websocket", "/", nil)
	sb := recv(t, ch)
	ctx := ctxT(t)
	if err := srv.Server.SocketsJoin(ctx, "all"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Server.In("all").Except(sb.ID()).Emit(ctxT(t), "only-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ReadEvent(ctx, "/", "only-a"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Server.Local().Except(sa.ID()).Emit(ctxT(t), "only-b"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ReadEvent(ctx, "/", "only-b"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Server.SocketsLeave(ctx, "all"); err != nil {
		t.Fatal(err)
	}
	remote, err := srv.Server.FetchSockets(ctx)
	if err != nil || len(remote) != 2 {
		t.Fatalf("FetchSockets: %d sockets, %v", len(remote), err)
	}
	for _, r := range remote {
		if slices.Contains(r.Rooms, "all") {
			t.Fatalf("socket %s still in the room SocketsLeave left: %v", r.ID, r.Rooms)
		}
	}
	if err := srv.Server.DisconnectSockets(ctx, false); err != nil {
		t.Fatal(err)
	}
	socketiotest.Eventually(t, func() error {
		if n := srv.Server.Namespace("/").Len(); n != 0 {
			return fmt.Errorf("%d sockets left", n)
		}
		return nil
	}, waitTimeout)
}

func TestHandshakeJSON(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	socks := sockets(srv.Of("/"))
	srv.Connect(t, socketiotest.WebSocket, "/", map[string]string{"token": "t"})
	s := recv(t, socks)
	b, err := json.Marshal(s.Handshake())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Headers map[string]any  `json:"headers"`
		Time    string          `json:"time"`
		Issued  int64           `json:"issued"`
		Query   map[string]any  `json:"query"`
		Auth    json.RawMessage `json:"auth"`
		Address string          `json:"address"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	h := s.Handshake()
	if got.Issued != h.Time.UnixMilli() || !strings.Contains(got.Time, "GMT") || got.Query["EIO"] != "4" ||
		string(got.Auth) != `{"token":"t"}` || got.Address != "127.0.0.1" {
		t.Errorf("handshake JSON %s", b)
	}
	for k := range got.Headers {
		if k != strings.ToLower(k) {
			t.Errorf("header %q not lower-case", k)
		}
	}
}
