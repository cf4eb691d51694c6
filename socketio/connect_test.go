package socketio_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/parser"
	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

var connectReplyRE = regexp.MustCompile(`^\{"sid":"[A-Za-z0-9_-]{20}"\}$`)

func TestConnectReply(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		main := sockets(srv.Of("/"))
		chat := sockets(srv.Of("/chat"))
		c := srv.Dial(t, transport, nil)
		for _, tc := range []struct {
			nsp    string
			prefix string
			ch     <-chan *socketio.Socket
		}{{"/", "0", main}, {"/chat", "0/chat,", chat}} {
			p, err := c.ConnectRaw(ctxT(t), tc.nsp, nil)
			if err != nil {
				t.Fatal(err)
			}
			text := string(p.Encode())
			if p.Type != parser.Connect || !strings.HasPrefix(text, tc.prefix+"{") ||
				!connectReplyRE.Match(p.Data) {
				t.Fatalf("CONNECT reply on %s = %q, want %s{\"sid\":...} only", tc.nsp, text, tc.prefix)
			}
			var reply struct{ SID string }
			_ = json.Unmarshal(p.Data, &reply)
			s := recv(t, tc.ch)
			if s.ID() != reply.SID {
				t.Errorf("socket id %q, reply sid %q", s.ID(), reply.SID)
			}
			if s.ID() == c.Handshake.SID || s.ID() == s.Conn().ID() {
				t.Errorf("socket id %q equals the engine sid", s.ID())
			}
			if got := string(s.Handshake().Auth); got != "{}" {
				t.Errorf("auth without payload = %s, want {}", got)
			}
			if !s.Connected() || s.Namespace().Name() != tc.nsp {
				t.Errorf("socket connected=%v namespace=%q", s.Connected(), s.Namespace().Name())
			}
		}
	})
}

func TestHandshakeFields(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		for _, secure := range []bool{false, true} {
			opts := &socketio.Options{Logger: quietLogger}
			srv := socketiotest.NewServer(t, opts)
			if secure {
				srv = socketiotest.NewTLSServer(t, opts)
			}
			ch := sockets(srv)
			before := time.Now()
			c := srv.Dial(t, transport, &socketiotest.DialOptions{
				Header: http.Header{"Origin": {"http://example.com"}, "X-Custom": {"v1"}},
				Query:  url.Values{"token": {"abc"}},
			})
			if _, err := c.Connect(ctxT(t), "/", json.RawMessage(`{"token":"x","n":1}`)); err != nil {
				t.Fatal(err)
			}
			h := recv(t, ch).Handshake()
			checkHandshake(t, h, transport, secure, before)
		}
	})
}

func checkHandshake(t *testing.T, h *socketio.Handshake, transport string, secure bool, before time.Time) {
	t.Helper()
	if h.Headers.Get("X-Custom") != "v1" || h.Headers.Get("Origin") != "http://example.com" {
		t.Errorf("headers %v", h.Headers)
	}
	if h.Query.Get("token") != "abc" || h.Query.Get("EIO") != "4" || h.Query.Get("transport") != transport {
		t.Errorf("query %v", h.Query)
	}
	if h.Address != "127.0.0.1" {
		t.Errorf("address %q, want 127.0.0.1", h.Address)
	}
	if !h.XDomain {
		t.Error("xdomain false with an Origin header")
	}
	if h.Secure != secure {
		t.Errorf("secure = %v, want %v", h.Secure, secure)
	}
	if !strings.HasPrefix(h.URL, "/socket.io/?") || !strings.Contains(h.URL, "token=abc") {
		t.Errorf("url %q", h.URL)
	}
	if h.Time.Before(before.Truncate(time.Millisecond)) || h.Time.After(time.Now()) {
		t.Errorf("time %v not between %v and now", h.Time, before)
	}
	if string(h.Auth) != `{"token":"x","n":1}` {
		t.Errorf("auth %s", h.Auth)
	}
	var auth struct{ Token string }
	if err := h.DecodeAuth(&auth); err != nil || auth.Token != "x" {
		t.Errorf("DecodeAuth: %+v, %v", auth, err)
	}
}

// TestHandshakeBuiltOnFirstUse: a socket's handshake is built when first
// asked for, says when the socket was created (not when it was built), and
// is the same value for every caller, concurrent ones included.
func TestHandshakeBuiltOnFirstUse(t *testing.T) {
	srv := socketiotest.NewServer(t, &socketio.Options{Logger: quietLogger})
	ch := sockets(srv)
	c := srv.Dial(t, "websocket", &socketiotest.DialOptions{Query: url.Values{"token": {"abc"}}})
	if _, err := c.Connect(ctxT(t), "/", nil); err != nil {
		t.Fatal(err)
	}
	s := recv(t, ch)
	created := time.Now()
	if socketio.HandshakeBuilt(s) {
		t.Fatal("handshake built before anyone asked for it")
	}
	for !time.Now().After(created.Add(5 * time.Millisecond)) { // the clock must move on
		runtime.Gosched()
	}
	got := make(chan *socketio.Handshake, 8)
	for range cap(got) {
		go func() { got <- s.Handshake() }()
	}
	first := <-got
	for range cap(got) - 1 {
		if h := <-got; h != first {
			t.Fatal("concurrent calls returned different handshakes")
		}
	}
	if first.Time.After(created) {
		t.Errorf("time %v is when it was built, after the socket was created (%v)", first.Time, created)
	}
	if first.Query.Get("token") != "abc" || string(first.Auth) != "{}" {
		t.Errorf("query %v auth %s", first.Query, first.Auth)
	}
}

// TestHandshakeWire checks the handshake as FetchSockets returns it (Node's
// serialisation, issued in milliseconds) and without an Origin header.
func TestHandshakeWire(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	ch := sockets(srv)
	srv.Connect(t, socketiotest.WebSocket, "/", map[string]int{"n": 1})
	s := recv(t, ch)
	if s.Handshake().XDomain {
		t.Error("xdomain true without an Origin header")
	}
	remote, err := srv.Of("/").FetchSockets(ctxT(t))
	if err != nil || len(remote) != 1 {
		t.Fatalf("FetchSockets: %d sockets, %v", len(remote), err)
	}
	h := remote[0].Handshake
	if h.Time.UnixMilli() != s.Handshake().Time.UnixMilli() || string(h.Auth) != `{"n":1}` ||
		h.Address != "127.0.0.1" || h.URL != s.Handshake().URL || h.Query.Get("EIO") != "4" {
		t.Errorf("fetched handshake %+v, want %+v", h, s.Handshake())
	}
}

func TestUnknownNamespace(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		c := srv.Dial(t, transport, nil)
		p, err := c.ConnectRaw(ctxT(t), "/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(p.Encode()); got != `4/x,{"message":"Invalid namespace"}` {
			t.Errorf("reply %q, want 4/x,{\"message\":\"Invalid namespace\"}", got)
		}
		// The connection stays open and usable.
		if _, err := c.Connect(ctxT(t), "/", nil); err != nil {
			t.Fatalf("connect after refusal: %v", err)
		}
		if done(c.Done()) {
			t.Fatalf("connection closed: %v", c.Err())
		}
	})
}

func TestDynamicNamespaces(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, &socketio.Options{CleanupEmptyChildNamespaces: true})
		re := srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
		var mw trail
		re.Use(func(_ context.Context, s *socketio.Socket) error { mw.add("re %s", s.Namespace().Name()); return nil })
		reSockets := sockets(re)
		fn := srv.OfFunc(func(name string, auth json.RawMessage) bool {
			var a struct{ Token string }
			return strings.HasPrefix(name, "/f") && json.Unmarshal(auth, &a) == nil && a.Token == "ok"
		})
		fnSockets := sockets(fn)
		c := srv.Dial(t, transport, nil)

		if _, err := c.Connect(ctxT(t), "/dyn-1", nil); err != nil {
			t.Fatalf("/dyn-1: %v", err)
		}
		if s := recv(t, reSockets); s.Namespace().Name() != "/dyn-1" {
			t.Errorf("child name %q", s.Namespace().Name())
		}
		if got := mw.get(); !slices.Equal(got, []string{"re /dyn-1"}) {
			t.Errorf("parent middleware ran %q", got)
		}
		var ce *socketiotest.ConnectError
		if _, err := c.Connect(ctxT(t), "/dyn-x", nil); !errors.As(err, &ce) || ce.Message != "Invalid namespace" {
			t.Errorf("/dyn-x: %v, want Invalid namespace", err)
		}
		if _, err := c.Connect(ctxT(t), "/f1", map[string]string{"token": "no"}); !errors.As(err, &ce) {
			t.Errorf("/f1 with a bad token: %v, want Invalid namespace", err)
		}
		if _, err := c.Connect(ctxT(t), "/f1", map[string]string{"token": "ok"}); err != nil {
			t.Fatalf("/f1 with a good token: %v", err)
		}
		if s := recv(t, fnSockets); string(s.Handshake().Auth) != `{"token":"ok"}` {
			t.Errorf("auth %s", s.Handshake().Auth)
		}
		// CleanupEmptyChildNamespaces: the child goes with its last socket.
		if _, ok := srv.SocketCounts()["/dyn-1"]; !ok {
			t.Fatalf("counts %v lack /dyn-1", srv.SocketCounts())
		}
		_ = c.Disconnect("/dyn-1")
		socketiotest.Eventually(t, func() error {
			if n, ok := srv.SocketCounts()["/dyn-1"]; ok {
				return fmt.Errorf("child /dyn-1 still there with %d sockets", n)
			}
			return nil
		}, waitTimeout)
	})
}

func TestSeveralNamespaces(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		names := []string{"/", "/a", "/b"}
		chans := map[string]<-chan *socketio.Socket{}
		for _, n := range names {
			ns := srv.Of(n)
			chans[n] = sockets(ns)
			ns.OnConnection(func(s *socketio.Socket) {
				s.On("who", func(e *socketio.Event) { _ = e.Ack(s.Namespace().Name(), s.ID()) })
			})
		}
		c := srv.Dial(t, transport, nil)
		ids := map[string]string{}
		for _, n := range names {
			id, err := c.Connect(ctxT(t), n, nil)
			if err != nil {
				t.Fatal(err)
			}
			ids[n] = id
		}
		if ids["/"] == ids["/a"] || ids["/a"] == ids["/b"] {
			t.Errorf("socket ids not distinct: %v", ids)
		}
		conn := recv(t, chans["/"]).Conn()
		for _, n := range names[1:] {
			if recv(t, chans[n]).Conn() != conn {
				t.Errorf("socket of %s on another connection", n)
			}
		}
		for _, n := range []string{"/b", "/", "/a"} {
			args, err := c.EmitWithAck(ctxT(t), n, "who")
			if err != nil {
				t.Fatal(err)
			}
			var nsp, id string
			_ = args[0].Decode(&nsp)
			_ = args[1].Decode(&id)
			if nsp != n || id != ids[n] {
				t.Errorf("event on %s answered by %s (%s)", n, nsp, id)
			}
		}
	})
}

func TestConnectMiddleware(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		var seen trail
		ns := srv.Of("/guarded")
		ns.Use(func(_ context.Context, s *socketio.Socket) error { seen.add("mw1"); return nil })
		ns.Use(func(_ context.Context, s *socketio.Socket) error {
			seen.add("mw2")
			var auth struct{ Token string }
			_ = s.Handshake().DecodeAuth(&auth)
			switch auth.Token {
			case "ok":
				return nil
			case "plain":
				return errors.New("nope")
			case "binary":
				return &socketio.ConnectError{Message: "binary", Data: []byte{1, 2}}
			}
			return &socketio.ConnectError{Message: "not authorized", Data: map[string]any{"code": 42}}
		})
		ns.Use(func(_ context.Context, s *socketio.Socket) error { seen.add("mw3"); return nil })
		ns.OnConnection(func(s *socketio.Socket) { seen.add("connection") })
		c := srv.Dial(t, transport, nil)

		p, err := c.ConnectRaw(ctxT(t), "/guarded", map[string]string{"token": "bad"})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(p.Encode()), `4/guarded,{"message":"not authorized","data":{"code":42}}`; got != want {
			t.Errorf("refusal %q, want %q", got, want)
		}
		var ce *socketiotest.ConnectError
		if _, err := c.Connect(ctxT(t), "/guarded", map[string]string{"token": "plain"}); !errors.As(err, &ce) ||
			string(ce.Raw) != `{"message":"nope"}` {
			t.Errorf("plain error refusal: %v", err)
		}
		// A CONNECT_ERROR has no attachments: binary data goes as JSON (it
		// used to panic the server).
		if _, err := c.Connect(ctxT(t), "/guarded", map[string]string{"token": "binary"}); !errors.As(err, &ce) ||
			string(ce.Raw) != `{"message":"binary","data":"AQI="}` {
			t.Errorf("binary data refusal: %v", err)
		}
		if _, err := c.Connect(ctxT(t), "/guarded", map[string]string{"token": "ok"}); err != nil {
			t.Fatalf("accepted token: %v", err)
		}
		socketiotest.Eventually(t, seen.equals("mw1", "mw2", "mw1", "mw2", "mw1", "mw2", "mw1", "mw2", "mw3", "connection"), waitTimeout)
		if done(c.Done()) {
			t.Errorf("connection closed after refusals: %v", c.Err())
		}
	})
}

// TestMiddlewarePanic checks that a panicking connection middleware
// refuses the connection instead of crashing the server.
func TestMiddlewarePanic(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		srv.Of("/p").Use(func(context.Context, *socketio.Socket) error { panic("boom") })
		c := srv.Dial(t, transport, nil)
		var ce *socketiotest.ConnectError
		if _, err := c.Connect(ctxT(t), "/p", nil); !errors.As(err, &ce) {
			t.Fatalf("connect through a panicking middleware: %v, want a refusal", err)
		}
		if _, err := c.Connect(ctxT(t), "/", nil); err != nil {
			t.Fatalf("connection unusable after the panic: %v", err)
		}
	})
}

func TestConnectTimeout(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, &socketio.Options{ConnectTimeout: 50 * time.Millisecond})
		idle := srv.Dial(t, transport, nil)
		joined := srv.Connect(t, transport, "/", nil)
		waitDone(t, idle.Done(), "idle connection")
		// The connection that joined a namespace stays open.
		time.Sleep(100 * time.Millisecond)
		if done(joined.Done()) {
			t.Fatalf("connection with a namespace closed: %v", joined.Err())
		}
	})
}

func TestInvalidStateClosesConnection(t *testing.T) {
	for _, tc := range []struct{ name, packet string }{
		{"event for a namespace not joined", `42/nope,["x"]`},
		{"second CONNECT", `40`},
		{"CONNECT_ERROR from the client", `44{"message":"x"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run(t, func(t *testing.T, transport string) {
				srv := newServer(t, nil)
				ch := sockets(srv)
				reasons := make(chan string, 1)
				srv.OnConnection(func(s *socketio.Socket) { s.OnDisconnect(func(r string) { reasons <- r }) })
				c := srv.Connect(t, transport, "/", nil)
				s := recv(t, ch)
				if err := c.SendRaw(tc.packet); err != nil {
					t.Fatal(err)
				}
				waitDone(t, c.Done(), "connection")
				// Node: the invalid state closes the client with "forced server close".
				if r := recv(t, reasons); r != socketio.ReasonForcedServerClose {
					t.Errorf("reason %q, want %q", r, socketio.ReasonForcedServerClose)
				}
				if s.Connected() {
					t.Error("socket still connected")
				}
			})
		})
	}
}

// TestConnectionClosedDuringMiddleware checks that a connection gone while
// a middleware runs is dropped silently: no socket, no room, no handler.
func TestConnectionClosedDuringMiddleware(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		ns := srv.Of("/")
		ids := make(chan string, 1)
		ns.Use(func(_ context.Context, s *socketio.Socket) error {
			ids <- s.ID()
			s.Conn().Close()
			<-s.Conn().Done()
			return nil
		})
		connected := sockets(ns)
		c := srv.Dial(t, transport, nil)
		_ = c.SendRaw("40")
		waitDone(t, c.Done(), "client connection")
		id := recv(t, ids)
		socketiotest.Eventually(t, func() error {
			if ns.Len() != 0 || ns.Adapter().Size(id) != 0 || len(ns.Adapter().RoomsOf(id)) != 0 {
				return errors.New("socket left behind")
			}
			return nil
		}, waitTimeout)
		select {
		case s := <-connected:
			t.Errorf("connection handler ran for %s", s.ID())
		default:
		}
	})
}

// TestEventsWaitForConnectionHandlers checks that events sent right after
// CONNECT reach the handlers the connection handler registers.
func TestEventsWaitForConnectionHandlers(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		srv.OnConnection(func(s *socketio.Socket) {
			time.Sleep(20 * time.Millisecond) // a slow connection handler
			s.On("early", func(e *socketio.Event) { _ = e.Ack("seen") })
		})
		c := srv.Dial(t, transport, nil)
		if err := c.SendRaw("40", `420["early"]`); err != nil { // one POST on polling
			t.Fatal(err)
		}
		ack, err := c.Next(ctxT(t), isAck("/"))
		if err != nil || string(ack.Data) != `["seen"]` {
			t.Fatalf("ack %v %v", ack, err)
		}
	})
}

// TestMiddlewareOffTheReader checks that a blocking middleware stalls
// neither the client's other namespaces nor its heartbeat, that its context
// ends when the client goes away, and that a second CONNECT meanwhile is
// ignored.
func TestMiddlewareOffTheReader(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		entered := make(chan struct{}, 2)
		ended := make(chan error, 1)
		srv.Of("/slow").Use(func(ctx context.Context, s *socketio.Socket) error {
			entered <- struct{}{}
			<-ctx.Done()
			ended <- context.Cause(ctx)
			return ctx.Err()
		})
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("ping", func(e *socketio.Event) { _ = e.Ack("pong") })
		})
		c := srv.Dial(t, transport, nil)
		_ = c.SendRaw("40/slow,", "40/slow,")
		recv(t, entered)
		if _, err := c.Connect(ctxT(t), "/", nil); err != nil {
			t.Fatalf("connect to / while /slow's middleware blocks: %v", err)
		}
		if res, err := c.EmitWithAck(ctxT(t), "/", "ping"); err != nil || string(res[0].JSON()) != `"pong"` {
			t.Fatalf("ack while /slow's middleware blocks: %v %v", res, err)
		}
		select {
		case <-entered:
			t.Error("the second CONNECT to /slow ran the middleware again")
		default:
		}
		_ = c.Close()
		if err := recv(t, ended); !errors.Is(err, socketio.ErrDisconnected) {
			t.Errorf("middleware context cause %v, want ErrDisconnected", err)
		}
	})
}

// TestSocketContext checks that Socket.Context ends at disconnect, whether
// it was asked for before or after.
func TestSocketContext(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		socks := sockets(srv.Of("/"))
		c := srv.Connect(t, transport, "/", nil)
		s := recv(t, socks)
		ctx := s.Context()
		if ctx.Err() != nil {
			t.Fatalf("context of a connected socket ended: %v", ctx.Err())
		}
		_ = c.Close()
		waitDone(t, ctx.Done(), "socket context")
		if cause := context.Cause(ctx); !errors.Is(cause, socketio.ErrDisconnected) {
			t.Errorf("cause %v", cause)
		}
		if late := s.Context(); late.Err() == nil {
			t.Error("context asked for after disconnect has not ended")
		}
	})
}

// A broadcast running while sockets connect reaches each socket after its
// CONNECT reply, never before (a client drops, or is confused by, an event
// of a namespace it is not connected to yet). Before, the whiteboard
// benchmark's clients saw its count event first on 1 to 4 of 200 connections.
func TestNoDeliveryBeforeConnectReply(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		main := srv.Of("/")
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_ = main.Emit(context.Background(), "tick", i)
			}
		}()
		defer func() { close(stop); <-done }()
		const n = 60
		for i := range n {
			c := srv.Dial(t, transport, nil)
			if err := c.Send(&parser.Packet{Type: parser.Connect, Namespace: "/"}); err != nil {
				t.Fatal(err)
			}
			first, err := c.Next(ctxT(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			if first.Type != parser.Connect {
				t.Fatalf("connection %d: first packet %q, want the CONNECT reply", i, first.Encode())
			}
			// The broadcast does reach the socket once it is connected.
			if _, err := c.Next(ctxT(t), func(p *parser.Packet) bool { return p.Type == parser.Event }); err != nil {
				t.Fatal(err)
			}
			c.Close()
		}
	})
}
