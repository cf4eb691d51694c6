package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/parser"
	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

func TestEventDecode(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("order", func(e *socketio.Event) {
				var item struct {
					Name string `json:"name"`
					Qty  int    `json:"qty"`
				}
				var tags []string
				var note string
				if err := e.Decode(&item, &tags, nil, &note); err != nil {
					_ = e.Ack("error", err.Error())
					return
				}
				_ = e.Ack(fmt.Sprintf("%s x%d %v %s", item.Name, item.Qty, tags, note))
			})
			s.On("bad", func(e *socketio.Event) {
				var n int
				err := e.Decode(&n)
				_ = e.Ack(err != nil)
			})
		})
		c := srv.Connect(t, transport, "/", nil)
		args, err := c.EmitWithAck(ctxT(t), "/", "order",
			map[string]any{"name": "tea", "qty": 2}, []string{"hot", "green"}, 99, "<&>")
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if err := args[0].Decode(&got); err != nil || got != "tea x2 [hot green] <&>" {
			t.Errorf("decoded %q (%v)", got, err)
		}
		args, err = c.EmitWithAck(ctxT(t), "/", "bad", "not a number")
		if err != nil || string(args[0].JSON()) != "true" {
			t.Errorf("Decode of a mismatched type did not fail: %s %v", args[0].JSON(), err)
		}
	})
}

func TestNumericEventNames(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		got := make(chan string, 4)
		srv.OnConnection(func(s *socketio.Socket) {
			for _, name := range []string{"42", "1.5", "-3"} {
				s.On(name, func(e *socketio.Event) {
					var arg string
					_ = e.Decode(&arg)
					got <- e.Name + ":" + arg
				})
			}
		})
		c := srv.Connect(t, transport, "/", nil)
		for _, raw := range []string{`42[42,"a"]`, `42[1.5,"b"]`, `42[-3,"c"]`} {
			if err := c.SendRaw(raw); err != nil {
				t.Fatal(err)
			}
		}
		for _, want := range []string{"42:a", "1.5:b", "-3:c"} {
			if g := recv(t, got); g != want {
				t.Errorf("handler got %q, want %q", g, want)
			}
		}
	})
}

// TestHandlerOrder checks that catch-all handlers run first, then socket
// middlewares, then the event's handler, and that events are handled one
// at a time in arrival order.
func TestHandlerOrder(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		var seen trail
		srv.OnConnection(func(s *socketio.Socket) {
			s.OnAny(func(e *socketio.Event) { seen.add("any1 %s", e.Name) })
			s.OnAny(func(e *socketio.Event) { seen.add("any2 %s", e.Name) })
			s.Use(func(e *socketio.Event) error { seen.add("mw1 %s", e.Name); return nil })
			s.Use(func(e *socketio.Event) error {
				seen.add("mw2 %s", e.Name)
				if e.Name == "blocked" {
					return errors.New("refused")
				}
				return nil
			})
			s.On("n", func(e *socketio.Event) {
				var i int
				_ = e.Decode(&i)
				seen.add("n %d", i)
			})
			s.On("blocked", func(e *socketio.Event) { seen.add("blocked handler ran") })
		})
		c := srv.Connect(t, transport, "/", nil)
		_ = c.Emit("/", "blocked")
		var want []string
		want = append(want, "any1 blocked", "any2 blocked", "mw1 blocked", "mw2 blocked")
		for i := range 20 {
			if err := c.Emit("/", "n", i); err != nil {
				t.Fatal(err)
			}
			want = append(want, "any1 n", "any2 n", "mw1 n", "mw2 n", fmt.Sprintf("n %d", i))
		}
		socketiotest.Eventually(t, seen.equals(want...), waitTimeout)
	})
}

// TestOnAndOff checks that On adds handlers, which run in order, that the
// remover On returns removes its handler only, and that Off removes every
// handler of an event, among more handlers than a socket usually has.
func TestOnAndOff(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		var seen trail
		srv.OnConnection(func(s *socketio.Socket) {
			for i := range 20 {
				name := fmt.Sprintf("e%d", i)
				s.On(name, func(*socketio.Event) { seen.add("first %s", name) })
			}
			s.On("e3", func(*socketio.Event) { seen.add("second e3") })
			off := s.On("e3", func(*socketio.Event) { seen.add("third e3") })
			off()
			off() // twice is harmless
			s.On("e3", func(*socketio.Event) { seen.add("fourth e3") })
			s.Off("e5")
			s.Off("unknown")
		})
		c := srv.Connect(t, transport, "/", nil)
		for _, name := range []string{"e3", "e5", "nothing", "e19", "e0"} {
			if err := c.Emit("/", name); err != nil {
				t.Fatal(err)
			}
		}
		socketiotest.Eventually(t, seen.equals("first e3", "second e3", "fourth e3", "first e19", "first e0"), waitTimeout)
	})
}

// TestHandlersShareTheAck: two handlers of one event both run; the first
// to ack answers the client, the second's ack is ignored.
func TestHandlersShareTheAck(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		var seen trail
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("q", func(e *socketio.Event) { seen.add("one"); _ = e.Ack("from one") })
			s.On("q", func(e *socketio.Event) { seen.add("two"); _ = e.Ack("from two") })
		})
		c := srv.Connect(t, transport, "/", nil)
		args, err := c.EmitWithAck(ctxT(t), "/", "q")
		if err != nil {
			t.Fatal(err)
		}
		if len(args) != 1 || string(args[0].JSON()) != `"from one"` {
			t.Fatalf("ack %v, want the first handler's", args)
		}
		socketiotest.Eventually(t, seen.equals("one", "two"), waitTimeout)
	})
}

func TestOnAnyOutgoing(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		var out trail
		ch := sockets(srv)
		srv.OnConnection(func(s *socketio.Socket) {
			s.OnAnyOutgoing(func(event string, args []socketio.Arg) {
				parts := []string{event}
				for _, a := range args {
					parts = append(parts, string(a.JSON()))
				}
				out.add("%s", strings.Join(parts, " "))
			})
			s.On("ping", func(e *socketio.Event) { _ = e.Ack("pong") })
		})
		c := srv.Connect(t, transport, "/", nil)
		s := recv(t, ch)
		if _, err := c.EmitWithAck(ctxT(t), "/", "ping"); err != nil { // acks are not events
			t.Fatal(err)
		}
		_ = s.Emit("direct", 1, "x")
		_ = srv.Emit(ctxT(t), "broadcast", true)
		for _, name := range []string{"direct", "broadcast"} {
			if _, err := c.ReadEvent(ctxT(t), "/", name); err != nil {
				t.Fatal(err)
			}
		}
		socketiotest.Eventually(t, out.equals(`direct 1 "x"`, "broadcast true"), waitTimeout)
	})
}

// TestHandlerMayBlock checks that a handler blocked in EmitWithAck stalls
// neither its connection's reader nor the socket's other namespaces.
func TestHandlerMayBlock(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("ask", func(e *socketio.Event) {
				ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
				defer cancel()
				answer, err := s.EmitWithAck(ctx, "question", "name?")
				if err != nil {
					_ = e.Ack("error: " + err.Error())
					return
				}
				_ = e.Ack(answer[0])
			})
		})
		srv.Of("/other").OnConnection(func(s *socketio.Socket) {
			s.On("echo", func(e *socketio.Event) { _ = e.Ack(e.Args[0]) })
		})
		c := srv.Connect(t, transport, "/", nil)
		if _, err := c.Connect(ctxT(t), "/other", nil); err != nil {
			t.Fatal(err)
		}
		askDone := make(chan []parser.Arg, 1)
		go func() {
			args, _ := c.EmitWithAck(ctxT(t), "/", "ask")
			askDone <- args
		}()
		q, err := c.ReadEvent(ctxT(t), "/", "question")
		if err != nil {
			t.Fatal(err)
		}
		// The "/" handler is blocked: the other namespace still answers.
		if args, err := c.EmitWithAck(ctxT(t), "/other", "echo", "still here"); err != nil ||
			string(args[0].JSON()) != `"still here"` {
			t.Fatalf("other namespace while a handler blocks: %v", err)
		}
		if err := q.Ack("Ada"); err != nil {
			t.Fatal(err)
		}
		if args := recv(t, askDone); len(args) != 1 || string(args[0].JSON()) != `"Ada"` {
			t.Errorf("ask answered %v", args)
		}
	})
}

func TestReservedEventsRefusedOnEmit(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	ch := sockets(srv)
	srv.Connect(t, socketiotest.WebSocket, "/", nil)
	s := recv(t, ch)
	ns := srv.Of("/")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, name := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		_, ackErr := s.EmitWithAck(ctx, name)
		_, bAckErr := ns.Timeout(time.Second).EmitWithAck(ctx, name)
		for what, err := range map[string]error{
			"Socket.Emit": s.Emit(name), "Socket.EmitWithAck": ackErr,
			"Socket.Volatile().Emit": s.Volatile().Emit(name), "Socket.Broadcast().Emit": s.Broadcast().Emit(ctx, name),
			"Namespace.Emit": ns.Emit(ctx, name), "Server.Emit": srv.Emit(ctx, name),
			"BroadcastOperator.EmitWithAck": bAckErr,
		} {
			if !errors.Is(err, socketio.ErrReservedEvent) {
				t.Errorf("%s(%q) = %v, want ErrReservedEvent", what, name, err)
			}
		}
	}
	for _, name := range []string{"connect", "connection", "new_namespace"} {
		if err := ns.ServerSideEmit(ctx, name); !errors.Is(err, socketio.ErrReservedEvent) {
			t.Errorf("ServerSideEmit(%q) = %v, want ErrReservedEvent", name, err)
		}
	}
}

// TestClientProtocolErrors checks that a packet the decoder refuses closes
// the connection; as in Node, whose client closes its engine connection on
// a decoding error, the sockets get "forced close".
func TestClientProtocolErrors(t *testing.T) {
	for _, tc := range []struct{ name, packet string }{
		{"reserved event name", `42["disconnect"]`},
		{"unknown packet type", `49`},
		{"event without array", `42{"a":1}`},
		{"DISCONNECT with a payload", `41["x"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run(t, func(t *testing.T, transport string) {
				srv := newServer(t, nil)
				reasons := make(chan string, 1)
				srv.OnConnection(func(s *socketio.Socket) { s.OnDisconnect(func(r string) { reasons <- r }) })
				c := srv.Connect(t, transport, "/", nil)
				_ = c.SendRaw(tc.packet)
				waitDone(t, c.Done(), "connection")
				if r := recv(t, reasons); r != socketio.ReasonForcedClose {
					t.Errorf("reason %q, want %q", r, socketio.ReasonForcedClose)
				}
				if srv.Stats().DecodeErrors != 1 {
					t.Errorf("DecodeErrors = %d, want 1", srv.Stats().DecodeErrors)
				}
			})
		})
	}
}

func TestPanickingHandlers(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		logs := &logCapture{}
		srv := newServer(t, &socketio.Options{Logger: logs.logger()})
		disconnected := make(chan string, 1)
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("boom", func(*socketio.Event) { panic("handler boom") })
			s.On("ok", func(e *socketio.Event) { _ = e.Ack("fine") })
			s.OnAnyOutgoing(func(event string, _ []socketio.Arg) {
				if event == "bad-out" {
					panic("outgoing boom")
				}
			})
			s.OnDisconnect(func(r string) {
				disconnected <- r
				panic("disconnect boom")
			})
			panic("connection boom")
		})
		c := srv.Connect(t, transport, "/", nil)
		_ = c.Emit("/", "boom")
		if args, err := c.EmitWithAck(ctxT(t), "/", "ok"); err != nil || string(args[0].JSON()) != `"fine"` {
			t.Fatalf("socket unusable after panics: %v", err)
		}
		if err := srv.Emit(ctxT(t), "bad-out"); err != nil {
			t.Errorf("broadcast with a panicking outgoing handler: %v", err)
		}
		_ = c.Close()
		if r := recv(t, disconnected); r != socketio.ReasonTransportClose {
			t.Errorf("reason %q", r)
		}
		socketiotest.Eventually(t, func() error {
			for _, p := range []string{"connection boom", "handler boom", "outgoing boom", "disconnect boom"} {
				if !strings.Contains(logs.String(), p) {
					return fmt.Errorf("panic %q not logged", p)
				}
			}
			return nil
		}, waitTimeout)
	})
}
