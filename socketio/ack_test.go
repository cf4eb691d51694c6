package socketio_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/parser"
	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

func isAck(nsp string) func(*parser.Packet) bool {
	return func(p *parser.Packet) bool {
		return p.Namespace == nsp && (p.Type == parser.Ack || p.Type == parser.BinaryAck)
	}
}

// TestClientAck checks Event.Ack: sent once only, with the request's id and
// namespace, and nothing when no ack was requested.
func TestClientAck(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		wants := make(chan bool, 2)
		srv.Of("/n").OnConnection(func(s *socketio.Socket) {
			s.On("q", func(e *socketio.Event) {
				wants <- e.WantsAck()
				_ = e.Ack("first", 1)
				_ = e.Ack("second")
			})
		})
		c := srv.Connect(t, transport, "/n", nil)
		if err := c.SendRaw(`42/n,7["q"]`); err != nil {
			t.Fatal(err)
		}
		p, err := c.Next(ctxT(t), isAck("/n"))
		if err != nil {
			t.Fatal(err)
		}
		if got := string(p.Encode()); got != `3/n,7["first",1]` {
			t.Errorf("ack %q, want 3/n,7[\"first\",1]", got)
		}
		if !recv(t, wants) {
			t.Error("WantsAck false with an ack id")
		}
		_ = c.Emit("/n", "q") // no ack requested
		if recv(t, wants) {
			t.Error("WantsAck true without an ack id")
		}
		// A round trip after both: a second ack, or one for the event without
		// id, would have arrived before the answer to this one.
		if _, err := c.Connect(ctxT(t), "/", nil); err != nil {
			t.Fatal(err)
		}
		if extra := c.Pending(); len(extra) != 0 {
			t.Errorf("unexpected packets %q", extra[0].Encode())
		}
	})
}

func TestServerEmitWithAck(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		ch := sockets(srv)
		c := srv.Connect(t, transport, "/", nil)
		s := recv(t, ch)
		go func() {
			e, err := c.ReadEvent(ctxT(t), "/", "q")
			if err == nil {
				_ = e.Ack("answer", []byte{1, 2})
			}
		}()
		args, err := s.EmitWithAck(ctxT(t), "q", 1)
		if err != nil {
			t.Fatal(err)
		}
		var b []byte
		if len(args) != 2 || string(args[0].JSON()) != `"answer"` || args[1].Decode(&b) != nil || len(b) != 2 {
			t.Errorf("ack args %v", args)
		}
	})
}

func TestServerEmitWithAckTimeout(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		ch := sockets(srv)
		c := srv.Connect(t, transport, "/", nil)
		s := recv(t, ch)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := s.EmitWithAck(ctx, "q")
		if !errors.Is(err, socketio.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want ErrTimeout and DeadlineExceeded", err)
		}
		if n := socketio.PendingAcks(s); n != 0 {
			t.Errorf("%d acks still pending after the timeout", n)
		}
		// A late ack is ignored, and the socket goes on.
		e, err := c.ReadEvent(ctxT(t), "/", "q")
		if err != nil {
			t.Fatal(err)
		}
		_ = e.Ack("late")
		go func() {
			if e, err := c.ReadEvent(ctxT(t), "/", "q2"); err == nil {
				_ = e.Ack("ok")
			}
		}()
		if args, err := s.EmitWithAck(ctxT(t), "q2"); err != nil || string(args[0].JSON()) != `"ok"` {
			t.Errorf("after a late ack: %v %v", args, err)
		}
	})
}

func TestServerEmitWithAckDisconnect(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		ch := sockets(srv)
		c := srv.Connect(t, transport, "/", nil)
		s := recv(t, ch)
		go func() {
			if _, err := c.ReadEvent(ctxT(t), "/", "q"); err == nil {
				_ = c.Close()
			}
		}()
		if _, err := s.EmitWithAck(ctxT(t), "q"); !errors.Is(err, socketio.ErrDisconnected) {
			t.Errorf("err = %v, want ErrDisconnected", err)
		}
		if _, err := s.EmitWithAck(ctxT(t), "q"); !errors.Is(err, socketio.ErrDisconnected) {
			t.Errorf("on a disconnected socket: err = %v, want ErrDisconnected", err)
		}
		if err := s.Emit("x"); !errors.Is(err, socketio.ErrDisconnected) {
			t.Errorf("Emit on a disconnected socket: %v, want ErrDisconnected", err)
		}
	})
}

// TestAckIDsPerNamespace checks that ack ids count per namespace, shared by
// its sockets and its broadcasts, from 0.
func TestAckIDsPerNamespace(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	main, other := sockets(srv), sockets(srv.Of("/other"))
	c1 := srv.Connect(t, socketiotest.WebSocket, "/", nil)
	c2 := srv.Connect(t, socketiotest.Polling, "/", nil)
	if _, err := c1.Connect(ctxT(t), "/other", nil); err != nil {
		t.Fatal(err)
	}
	s1, s2, s3 := recv(t, main), recv(t, main), recv(t, other)
	if s1.Conn().Transport() != socketiotest.WebSocket {
		s1, s2 = s2, s1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, _ = s1.EmitWithAck(ctx, "a")                                                     // id 0
	_, _ = s2.EmitWithAck(ctx, "b")                                                     // id 1
	_, _ = srv.Of("/").Timeout(time.Millisecond).EmitWithAck(context.Background(), "c") // id 2 for both
	_, _ = s3.EmitWithAck(ctx, "d")                                                     // id 0 on /other
	for _, tc := range []struct {
		c         *socketiotest.Client
		nsp, name string
		id        uint64
	}{{c1, "/", "a", 0}, {c2, "/", "b", 1}, {c1, "/", "c", 2}, {c2, "/", "c", 2}, {c1, "/other", "d", 0}} {
		e, err := tc.c.ReadEvent(ctxT(t), tc.nsp, tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if !e.WantsAck() || e.AckID() != tc.id {
			t.Errorf("%s on %s: ack id %d (requested %v), want %d", tc.name, tc.nsp, e.AckID(), e.WantsAck(), tc.id)
		}
	}
}

// TestSocketTimeout: Socket.Timeout bounds EmitWithAck, and without a
// deadline or a Timeout the wait ends after Options.AckTimeout.
func TestSocketTimeout(t *testing.T) {
	t.Parallel()
	srv := newServer(t, &socketio.Options{AckTimeout: 50 * time.Millisecond})
	ch := sockets(srv)
	c := srv.Connect(t, "websocket", "/", nil)
	s := recv(t, ch)
	for name, emit := range map[string]func() ([]socketio.Arg, error){
		"Timeout":    func() ([]socketio.Arg, error) { return s.Timeout(20*time.Millisecond).EmitWithAck(ctxT(t), "q") },
		"AckTimeout": func() ([]socketio.Arg, error) { return s.EmitWithAck(context.Background(), "q") },
	} {
		if _, err := emit(); !errors.Is(err, socketio.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: err = %v, want ErrTimeout and DeadlineExceeded", name, err)
		}
		if _, err := c.ReadEvent(ctxT(t), "/", "q"); err != nil { // the event was sent
			t.Fatal(err)
		}
	}
	// An ack within the timeout is returned.
	go func() {
		if e, err := c.ReadEvent(ctxT(t), "/", "q2"); err == nil {
			_ = e.Ack("ok")
		}
	}()
	if args, err := s.Timeout(time.Minute).Volatile().EmitWithAck(context.Background(), "q2"); err != nil ||
		string(args[0].JSON()) != `"ok"` {
		t.Fatalf("ack %v, %v", args, err)
	}
}

// observer records what an Options.Observer is told.
type observer struct {
	mu               sync.Mutex
	broadcasts, acks []time.Duration
}

func (o *observer) Broadcast(d time.Duration) {
	o.mu.Lock()
	o.broadcasts = append(o.broadcasts, d)
	o.mu.Unlock()
}

func (o *observer) AckRoundTrip(d time.Duration) {
	o.mu.Lock()
	o.acks = append(o.acks, d)
	o.mu.Unlock()
}

// TestObserver: Options.Observer is told of each broadcast and of each
// client ack's round trip, with their durations; an emit without an ack
// and an ack that never comes report nothing.
func TestObserver(t *testing.T) {
	obs := &observer{}
	srv := newServer(t, &socketio.Options{Observer: obs})
	ch := sockets(srv)
	c := srv.Connect(t, "websocket", "/", nil)
	s := recv(t, ch)
	go func() {
		if e, err := c.ReadEvent(ctxT(t), "/", "q"); err == nil {
			_ = e.Ack("answer")
		}
	}()
	if _, err := s.EmitWithAck(ctxT(t), "q", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Emit("plain"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Emit(ctxT(t), "news", 1); err != nil {
		t.Fatal(err)
	}
	if err := srv.To("nobody").Emit(ctxT(t), "news", 2); err != nil {
		t.Fatal(err)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.acks) != 1 || obs.acks[0] <= 0 {
		t.Errorf("ack round trips %v, want one", obs.acks)
	}
	if len(obs.broadcasts) != 2 || obs.broadcasts[0] <= 0 {
		t.Errorf("broadcasts %v, want two", obs.broadcasts)
	}
}

// A handler may wait for the same client: for its ack of an event the
// handler emits, or for an event on another namespace of the connection.
// Handlers run on the goroutine that read their event, but the connection
// is read on meanwhile.
func TestHandlerWaitsForItsClient(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		other := make(chan struct{})
		running := make(chan struct{}, 1)
		srv.Of("/").OnConnection(func(s *socketio.Socket) {
			s.On("ask", func(e *socketio.Event) {
				args, err := s.EmitWithAck(ctxT(t), "question")
				if err != nil || len(args) != 1 {
					_ = e.Ack("no answer")
					return
				}
				_ = e.Ack(args[0])
			})
			s.On("wait", func(e *socketio.Event) {
				running <- struct{}{}
				select {
				case <-other:
					_ = e.Ack("released")
				case <-time.After(waitTimeout):
				}
			})
		})
		srv.Of("/b").OnConnection(func(s *socketio.Socket) {
			s.On("release", func(*socketio.Event) { close(other) })
		})
		c := srv.Connect(t, transport, "/", nil)
		if _, err := c.Connect(ctxT(t), "/b", nil); err != nil {
			t.Fatal(err)
		}
		if err := c.SendRaw(`421["ask"]`); err != nil {
			t.Fatal(err)
		}
		q, err := c.ReadEvent(ctxT(t), "/", "question")
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Ack(42); err != nil {
			t.Fatal(err)
		}
		p, err := c.Next(ctxT(t), isAck("/"))
		if err != nil {
			t.Fatal(err)
		}
		if got := string(p.Encode()); got != `31[42]` {
			t.Errorf("ack %q, want 31[42]", got)
		}

		if err := c.SendRaw(`422["wait"]`); err != nil {
			t.Fatal(err)
		}
		recv(t, running) // the release comes while the handler waits for it
		if err := c.Emit("/b", "release"); err != nil {
			t.Fatal(err)
		}
		if p, err = c.Next(ctxT(t), isAck("/")); err != nil {
			t.Fatal(err)
		}
		if got := string(p.Encode()); got != `32["released"]` {
			t.Errorf("ack %q, want 32[\"released\"]", got)
		}
	})
}
