package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"
)

// The scenarios run against every server (Switchboard in-process, Node
// socket.io 4.8.4) over every transport mode (polling, websocket, upgrade).
var sharedScenarios = []struct {
	name string
	run  func(t *testing.T, v env)
}{
	{"connect_auth", testConnectAuth},
	{"namespaces", testNamespaces},
	{"events", testEvents},
	{"acks", testAcks},
	{"binary", testBinary},
	{"broadcast", testBroadcast},
	{"server_disconnect", testServerDisconnect},
	{"client_disconnect", testClientDisconnect},
	{"transport_lost", testTransportLost},
	{"buffering", testBuffering},
	{"concurrent_emit", testConcurrentEmit},
	{"rejoin", testRejoin},
}

func TestCompat(t *testing.T) {
	for _, st := range starters {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			srv := st.sharedServer(t)
			for _, mode := range transportModes {
				t.Run(mode.name, func(t *testing.T) {
					t.Parallel()
					v := env{srv: srv, url: srv.url, transports: mode.transports}
					for _, sc := range sharedScenarios {
						t.Run(sc.name, func(t *testing.T) {
							t.Parallel()
							sc.run(t, v)
						})
					}
				})
			}
		})
	}
}

func testConnectAuth(t *testing.T, v env) {
	m := v.manager(t, &Options{Auth: map[string]any{"token": "abc", "n": 1},
		Query: url.Values{"x": {"y"}}, Headers: map[string][]string{"X-Test": {"1"}}})
	s := m.Socket("/", nil)
	auth := listen(s, "auth")
	v.connect(t, s)
	if got := argsJSON(next(t, auth, "auth event").Args); got != `{"n":1,"token":"abc"}` {
		t.Errorf("server saw auth %s", got)
	}
	if id := s.ID(); len(id) != 20 || id == m.SessionID() {
		t.Errorf("socket id %q (engine sid %q): want 20 chars, distinct", id, m.SessionID())
	}
	var hs struct {
		Auth  map[string]any    `json:"auth"`
		Query map[string]string `json:"query"`
		URL   string            `json:"url"`
	}
	if err := call(t, s, "handshake")[0].Decode(&hs); err != nil {
		t.Fatal(err)
	}
	if hs.Query["x"] != "y" || hs.Query["EIO"] != "4" || hs.Query["transport"] != v.transports[0] {
		t.Errorf("handshake query %v", hs.Query)
	}
	if _, ok := hs.Query["sid"]; ok {
		t.Errorf("handshake query has a sid: %v", hs.Query)
	}
	if hs.Auth["token"] != "abc" {
		t.Errorf("handshake auth %v", hs.Auth)
	}
	// Without auth the server sees {}.
	bare := v.manager(t, nil).Socket("/", nil)
	auth2 := listen(bare, "auth")
	v.connect(t, bare)
	if got := argsJSON(next(t, auth2, "auth event").Args); got != `{}` {
		t.Errorf("server saw auth %s without auth", got)
	}
}

func testNamespaces(t *testing.T, v env) {
	m := v.manager(t, nil)
	root, custom, dyn := m.Socket("/", nil), m.Socket("custom", nil), m.Socket("/dyn-42", nil)
	nsp := listen(dyn, "nsp")
	for _, s := range []*Socket{root, custom, dyn} {
		v.connect(t, s)
	}
	sid := m.SessionID()
	if got := argsJSON(next(t, nsp, "nsp event").Args); got != `"/dyn-42"` {
		t.Errorf("dynamic namespace event %s", got)
	}
	if custom.Namespace() != "/custom" || custom.ID() == root.ID() {
		t.Errorf("custom socket %q id %q, root id %q", custom.Namespace(), custom.ID(), root.ID())
	}

	bad := m.Socket("/restricted", &SocketOptions{Auth: map[string]string{"token": "nope"}})
	var ce *ConnectError
	if err := bad.Connect(ackCtx(t)); !errors.As(err, &ce) || ce.Message != "not authorized" {
		t.Fatalf("restricted with a bad token: %v", err)
	}
	var data struct{ Reason string }
	if err := ce.DecodeData(&data); err != nil || data.Reason != "bad token" {
		t.Errorf("connect error data %s (%v)", ce.Data, err)
	}
	if err := m.Socket("/nope", nil).Connect(ackCtx(t)); !errors.As(err, &ce) ||
		ce.Message != "Invalid namespace" || ce.Namespace != "/nope" {
		t.Errorf("unknown namespace: %v", err)
	}
	if bad.Connected() || m.SessionID() != sid || !root.Connected() {
		t.Errorf("after refusals: bad connected %v, session %q→%q, root connected %v",
			bad.Connected(), sid, m.SessionID(), root.Connected())
	}

	// AuthFunc supplies the token on another connection.
	good := v.manager(t, nil).Socket("/restricted", &SocketOptions{
		AuthFunc: func(context.Context) (any, error) { return map[string]string{"token": "secret"}, nil }})
	gAuth := listen(good, "auth")
	v.connect(t, good)
	if got := argsJSON(next(t, gAuth, "auth").Args); got != `{"token":"secret"}` {
		t.Errorf("restricted auth %s", got)
	}

	// Leaving one namespace keeps the others on the same connection.
	custom.Disconnect()
	back := listen(root, "message-back")
	if err := root.Emit("message", "still here"); err != nil {
		t.Fatal(err)
	}
	if got := argsJSON(next(t, back, "message-back").Args); got != `"still here"` {
		t.Errorf("message-back %s", got)
	}
	if m.SessionID() != sid || custom.Connected() {
		t.Errorf("after leaving /custom: session %q→%q, custom connected %v", sid, m.SessionID(), custom.Connected())
	}
}

func testEvents(t *testing.T, v env) {
	var anyCount int
	anyCh := make(chan string, 100)
	s := v.socket(t, "/", nil, func(s *Socket) {
		s.OnAny(func(e *Event) { anyCh <- e.Name })
	})
	back := listen(s, "message-back")
	raw := json.RawMessage(`{"b":1,"a":"<&>"}`)
	if err := s.Emit("message", "héllo", 42, 1.5, true, nil, raw, []any{"x", map[string]any{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	e := next(t, back, "message-back")
	want := `"héllo",42,1.5,true,null,{"b":1,"a":"<&>"},["x",{"k":"v"}]`
	if got := argsJSON(e.Args); got != want {
		t.Errorf("message-back\n got %s\nwant %s", got, want)
	}
	var str string
	var n int
	if err := e.Decode(&str, &n); err != nil || str != "héllo" || n != 42 {
		t.Errorf("Decode: %q %d %v", str, n, err)
	}
	for name := range anyCh {
		if name == "message-back" {
			break
		}
		anyCount++
		if anyCount > 10 {
			t.Fatal("OnAny never saw message-back")
		}
	}
	// Order is kept.
	for i := range 30 {
		if err := s.Emit("message", i); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 30 {
		if got := argsJSON(next(t, back, "message-back").Args); got != fmt.Sprint(i) {
			t.Fatalf("event %d: got %s", i, got)
		}
	}
	// A volatile event goes out when the transport is idle (retry if it
	// happened to be busy).
	for i := 0; ; i++ {
		err := s.Volatile().Emit("message", "volatile")
		if err == nil {
			break
		}
		if !errors.Is(err, ErrDropped) || i == 50 {
			t.Fatalf("volatile emit on a connected socket: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := argsJSON(next(t, back, "volatile message-back").Args); got != `"volatile"` {
		t.Errorf("volatile message-back %s", got)
	}
	if err := s.Emit("disconnect"); !errors.Is(err, ErrReservedEvent) {
		t.Errorf("reserved event: %v", err)
	}
}

func testAcks(t *testing.T, v env) {
	s := v.socket(t, "/", nil, func(s *Socket) {
		s.OnAck("double", func(e *Event) []any {
			var n int
			_ = e.Decode(&n)
			return []any{n * 2}
		})
		s.On("callback", func(e *Event) { _ = e.Ack("cb", e.WantsAck()) })
		s.On("ignore", func(*Event) {})
	})
	// Client → server.
	if got := argsJSON(call(t, s, "message-with-ack", 1, "two", map[string]int{"three": 3})); got != `1,"two",{"three":3}` {
		t.Errorf("ack %s", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := s.EmitWithAck(ctx, "message", "never acked"); !errors.Is(err, ErrAckTimeout) ||
		!errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("unacknowledged EmitWithAck: %v", err)
	}
	// Server → client, acked by a handler's result, by Event.Ack, or never.
	type result struct {
		OK    bool            `json:"ok"`
		Value json.RawMessage `json:"value"`
		Error string          `json:"error"`
	}
	for _, c := range []struct {
		event, timeout, want string
	}{
		{"double", "5000", `{"ok":true,"value":42}`},
		{"callback", "5000", `{"ok":true,"value":"cb"}`},
		{"ignore", "200", `{"ok":false,"error":"operation has timed out"}`},
	} {
		res := call(t, s, "server-ack", json.RawMessage(`{"event":"`+c.event+`","args":[21],"timeout":`+c.timeout+`}`))
		var got, want result
		_ = json.Unmarshal([]byte(c.want), &want)
		if err := res[0].Decode(&got); err != nil || got.OK != want.OK || got.Error != want.Error ||
			!bytes.Equal(got.Value, want.Value) {
			t.Errorf("server-ack %s: %s (%v), want %s", c.event, res[0].JSON(), err, c.want)
		}
	}
}

func testBinary(t *testing.T, v env) {
	s := v.socket(t, "/", nil, func(s *Socket) {
		s.OnAck("bin", func(e *Event) []any {
			if b, ok := e.Args[0].Bytes(); !ok || !bytes.Equal(b, []byte{4, 5}) {
				return []any{"bad argument " + argsJSON(e.Args)}
			}
			return []any{[]byte{9, 8, 7}}
		})
	})
	back := listen(s, "message-back")
	payload := []byte{0, 1, 2, 0x1e, 255}
	if err := s.Emit("message", payload, map[string]any{"nested": []byte("xyz"), "n": 1}, "after"); err != nil {
		t.Fatal(err)
	}
	e := next(t, back, "message-back")
	var nested struct {
		Nested []byte
		N      int
	}
	got, ok := e.Args[0].Bytes()
	if !ok || !bytes.Equal(got, payload) || e.Decode(nil, &nested) != nil || string(nested.Nested) != "xyz" ||
		nested.N != 1 || len(e.Args) != 3 {
		t.Errorf("binary message-back %s / %q", argsJSON(e.Args), got)
	}
	res := call(t, s, "message-with-ack", []byte("ack-bin"))
	if b, ok := res[0].Bytes(); !ok || string(b) != "ack-bin" {
		t.Errorf("binary ack %s", argsJSON(res))
	}
	res = call(t, s, "server-ack", map[string]any{"event": "bin", "args": []any{[]byte{4, 5}}, "timeout": 5000})
	var r struct {
		OK    bool
		Value []byte
	}
	if err := res[0].Decode(&r); err != nil || !r.OK || !bytes.Equal(r.Value, []byte{9, 8, 7}) {
		t.Errorf("binary ack to the server: %s (%v)", res[0].JSON(), err)
	}
}

func testBroadcast(t *testing.T, v env) {
	room := uniqueName(t)
	news, others, fence, q := "news-"+room, "others-"+room, "fence-"+room, "q-"+room
	inc := func(e *Event) []any {
		var n int
		_ = e.Decode(&n)
		return []any{n + 1}
	}
	a := v.socket(t, "/", nil, func(s *Socket) { s.OnAck(q, inc) })
	b := v.socket(t, "/", nil, func(s *Socket) { s.OnAck(q, inc) })
	aNews, bNews, aOthers, bOthers, aFence := listen(a, news), listen(b, news), listen(a, others), listen(b, others), listen(a, fence)
	call(t, a, "join", room)
	call(t, b, "join", room)

	call(t, a, "broadcast", map[string]any{"to": []string{room}, "event": news, "args": []any{"hi", []byte{1, 2}}})
	for _, ch := range []chan *Event{aNews, bNews} {
		e := next(t, ch, news)
		if bin, ok := e.Args[1].Bytes(); argsJSON(e.Args[:1]) != `"hi"` || !ok || !bytes.Equal(bin, []byte{1, 2}) {
			t.Errorf("broadcast %s", argsJSON(e.Args))
		}
	}
	call(t, a, "broadcast-others", map[string]any{"event": others, "args": []any{"x"}})
	if got := argsJSON(next(t, bOthers, others).Args); got != `"x"` {
		t.Errorf("broadcast-others %s", got)
	}
	call(t, a, "broadcast", map[string]any{"to": []string{room}, "event": fence})
	next(t, aFence, fence)
	select {
	case e := <-aOthers:
		t.Errorf("the sender got its own broadcast-others %s", argsJSON(e.Args))
	default:
	}
	res := call(t, a, "broadcast-ack", map[string]any{"to": []string{room}, "event": q, "args": []any{5}, "timeout": 5000})
	if got := argsJSON(res); got != `{"ok":true,"responses":[6,6]}` {
		t.Errorf("broadcast-ack %s", got)
	}
}

// reasonRecorder collects a socket's disconnect reasons and connects.
type reasonRecorder struct {
	reasons  chan DisconnectReason
	connects chan struct{}
}

func recordReasons(s *Socket) reasonRecorder {
	r := reasonRecorder{reasons: make(chan DisconnectReason, 10), connects: make(chan struct{}, 10)}
	s.OnDisconnect(func(reason DisconnectReason, _ error) { r.reasons <- reason })
	s.OnConnect(func() { r.connects <- struct{}{} })
	return r
}

// serverReason asks the server, through another socket, why a socket
// disconnected.
func serverReason(t *testing.T, v env, id string) string {
	other := v.socket(t, "/", nil, nil)
	var reason string
	waitUntil(t, "the server's disconnect reason", func() bool {
		res := call(t, other, "last-reason", id)
		return res[0].Decode(&reason) == nil && reason != ""
	})
	return reason
}

func testServerDisconnect(t *testing.T, v env) {
	for _, closeConn := range []bool{false, true} {
		var rec reasonRecorder
		s := v.socket(t, "/", nil, func(s *Socket) { rec = recordReasons(s) })
		next(t, rec.connects, "connect")
		id := s.ID()
		pending := make(chan error, 1)
		go func() {
			_, err := s.EmitWithAck(ackCtx(t), "message", "never acked")
			pending <- err
		}()
		waitUntil(t, "the ack to be pending", func() bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return len(s.acks) == 1
		})
		if err := s.Emit("disconnect-me", closeConn); err != nil {
			t.Fatal(err)
		}
		if r := next(t, rec.reasons, "disconnect"); r != ReasonServerDisconnect {
			t.Errorf("disconnect-me(%v): reason %q", closeConn, r)
		}
		if err := next(t, pending, "pending ack"); !errors.Is(err, ErrDisconnected) {
			t.Errorf("pending EmitWithAck: %v", err)
		}
		// The only socket stopped, so the connection closes and stays closed.
		waitUntil(t, "the connection to close", func() bool { return s.Manager().Transport() == "" })
		if s.Connected() {
			t.Error("still connected")
		}
		if r := serverReason(t, v, id); r != "server namespace disconnect" {
			t.Errorf("server-side reason %q", r)
		}
	}
}

func testClientDisconnect(t *testing.T, v env) {
	var rec reasonRecorder
	s := v.socket(t, "/", nil, func(s *Socket) { rec = recordReasons(s) })
	id := s.ID()
	s.Disconnect()
	if r := next(t, rec.reasons, "disconnect"); r != ReasonClientDisconnect {
		t.Errorf("reason %q", r)
	}
	if r := serverReason(t, v, id); r != "client namespace disconnect" {
		t.Errorf("server-side reason %q", r)
	}
	// Connect again on the same Manager.
	back := listen(s, "message-back")
	v.connect(t, s)
	if err := s.Emit("message", 1); err != nil {
		t.Fatal(err)
	}
	next(t, back, "message-back after reconnecting")
}

// testTransportLost cuts the TCP connections: the socket disconnects with
// "transport close" (WebSocket) or "transport error" (polling, a failed
// request) and reconnects by itself.
func testTransportLost(t *testing.T, v env) {
	p := newProxy(t, v.srv.url)
	v.url = p.url()
	var rec reasonRecorder
	s := v.socket(t, "/", nil, func(s *Socket) { rec = recordReasons(s) })
	next(t, rec.connects, "connect")
	id := s.ID()
	want := ReasonTransportClose
	if len(v.transports) == 1 && v.transports[0] == TransportPolling {
		want = ReasonTransportError
	}
	// A cut between two polling requests goes unnoticed: cut until it shows.
	var r DisconnectReason
	for deadline := time.Now().Add(waitTime); r == ""; {
		p.cut()
		select {
		case r = <-rec.reasons:
		case <-time.After(100 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("no disconnect after cutting the connections")
			}
		}
	}
	if r != want {
		t.Errorf("reason %q, want %q", r, want)
	}
	next(t, rec.connects, "reconnect")
	if s.ID() == id || !s.Connected() {
		t.Errorf("after reconnecting: id %q (was %q), connected %v", s.ID(), id, s.Connected())
	}
}

func testBuffering(t *testing.T, v env) {
	m := v.manager(t, &Options{SendBuffer: 3})
	s := m.Socket("/", nil)
	back := listen(s, "message-back")
	if err := s.Volatile().Emit("message", "volatile"); !errors.Is(err, ErrDropped) {
		t.Errorf("volatile emit while disconnected: %v", err)
	}
	for i := range 2 {
		if err := s.Emit("message", i); err != nil {
			t.Fatalf("buffered emit %d: %v", i, err)
		}
	}
	acked := make(chan string, 1)
	go func() {
		res, err := s.EmitWithAck(ackCtx(t), "message-with-ack", "late")
		if err != nil {
			acked <- err.Error()
			return
		}
		acked <- argsJSON(res)
	}()
	waitUntil(t, "the ack emit to be buffered", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.sendBuf) == 3
	})
	if err := s.Emit("message", 2); !errors.Is(err, ErrBufferFull) {
		t.Errorf("fourth buffered emit: %v", err)
	}
	v.connect(t, s)
	for i := range 2 {
		if got := argsJSON(next(t, back, "buffered message-back").Args); got != fmt.Sprint(i) {
			t.Errorf("buffered event %d: %s", i, got)
		}
	}
	if got := next(t, acked, "ack"); got != `"late"` {
		t.Errorf("buffered EmitWithAck: %s", got)
	}
	_ = m.Close()
	if err := s.Emit("message", "closed"); !errors.Is(err, ErrClosed) {
		t.Errorf("emit after Close: %v", err)
	}
}

// testConcurrentEmit emits from several goroutines from the moment the
// socket connects (in upgrade mode, across the upgrade): every event
// arrives, in order per goroutine.
func testConcurrentEmit(t *testing.T, v env) {
	const writers, each = 6, 40
	s := v.manager(t, nil).Socket("/", nil)
	back := listen(s, "message-back")
	if err := s.Connect(ackCtx(t)); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, writers)
	for g := range writers {
		go func() {
			for i := range each {
				if err := s.Emit("message", g, i); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := next(t, errs, "writer"); err != nil {
			t.Fatal(err)
		}
	}
	seen := make([]int, writers)
	for range writers * each {
		var g, i int
		if err := next(t, back, "message-back").Decode(&g, &i); err != nil {
			t.Fatal(err)
		}
		if g < 0 || g >= writers || seen[g] != i {
			t.Fatalf("writer %d: got event %d, want %d", g, i, seen[g])
		}
		seen[g]++
	}
}

// testRejoin leaves and joins namespaces again on the same connection,
// after a client and after a server disconnect.
func testRejoin(t *testing.T, v env) {
	m := v.manager(t, nil)
	root, custom := m.Socket("/", nil), m.Socket("/custom", nil)
	rootRec, customRec := recordReasons(root), recordReasons(custom)
	v.connect(t, root)
	v.connect(t, custom)
	sid, customID := m.SessionID(), custom.ID()
	custom.Disconnect()
	if r := next(t, customRec.reasons, "custom disconnect"); r != ReasonClientDisconnect {
		t.Errorf("custom reason %q", r)
	}
	// Rejoin once the server handled the DISCONNECT (Node handles it on the
	// next tick: a CONNECT in the same request would find the old socket).
	var reason string
	waitUntil(t, "the server to drop /custom", func() bool {
		res := call(t, root, "last-reason", customID)
		return res[0].Decode(&reason) == nil && reason != ""
	})
	v.connect(t, custom)
	if err := root.Emit("disconnect-me", false); err != nil {
		t.Fatal(err)
	}
	if r := next(t, rootRec.reasons, "root disconnect"); r != ReasonServerDisconnect {
		t.Errorf("root reason %q", r)
	}
	v.connect(t, root)
	back := listen(root, "message-back")
	if err := root.Emit("message", "back"); err != nil {
		t.Fatal(err)
	}
	next(t, back, "message-back")
	if m.SessionID() != sid || !custom.Connected() || reason != "client namespace disconnect" {
		t.Errorf("session %q→%q, custom connected %v, server reason %q", sid, m.SessionID(), custom.Connected(), reason)
	}
}
