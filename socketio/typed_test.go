package socketio_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

type pair struct {
	A int `json:"a"`
	B int `json:"b"`
}

func TestTypedHandlers(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		got := make(chan pair, 4)
		srv.OnConnection(func(s *socketio.Socket) {
			socketio.On(s, "pair", func(e *socketio.Event, p pair) { got <- p })
			socketio.OnAck(s, "add", func(e *socketio.Event, p pair) int { return p.A + p.B })
		})
		c := srv.Connect(t, transport, "/", nil)
		_ = c.Emit("/", "pair", "not a pair") // dropped: the handler never sees it
		_ = c.Emit("/", "pair", map[string]int{"a": 1, "b": 2})
		if p := recv(t, got); p != (pair{1, 2}) {
			t.Errorf("typed argument %+v", p)
		}
		res, err := c.EmitWithAck(ctxT(t), "/", "add", map[string]int{"a": 40, "b": 2})
		if err != nil || len(res) != 1 || string(res[0].JSON()) != "42" {
			t.Fatalf("typed ack %v %v", res, err)
		}
		select {
		case p := <-got:
			t.Errorf("an undecodable event reached the typed handler: %+v", p)
		default:
		}
	})
}

func TestDecodeAck(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		socks := sockets(srv.Of("/"))
		c := srv.Connect(t, transport, "/", nil)
		s := recv(t, socks) // c's socket: the connection handlers of two sockets run in either order
		c2 := srv.Connect(t, transport, "/", nil)
		recv(t, socks)
		answer := func(v any, clients ...*socketiotest.Client) {
			for _, cl := range clients {
				go func() {
					if e, err := cl.ReadEvent(ctxT(t), "/", "q"); err == nil {
						_ = e.Ack(v)
					}
				}()
			}
		}
		answer(pair{3, 4}, c)
		p, err := socketio.DecodeAck[pair](s.EmitWithAck(ctxT(t), "q"))
		if err != nil || p != (pair{3, 4}) {
			t.Fatalf("DecodeAck = %+v, %v", p, err)
		}
		if _, err := socketio.DecodeAck[int](nil, socketio.ErrDisconnected); !errors.Is(err, socketio.ErrDisconnected) {
			t.Errorf("DecodeAck kept no error: %v", err)
		}
		answer(7, c, c2)
		sums, err := socketio.DecodeAcks[int](srv.Timeout(waitTimeout).EmitWithAck(ctxT(t), "q"))
		if err != nil || !slices.Equal(sums, []int{7, 7}) {
			t.Fatalf("DecodeAcks = %v, %v", sums, err)
		}
		answer("seven", c, c2)
		if _, err := socketio.DecodeAcks[int](srv.Timeout(waitTimeout).EmitWithAck(ctxT(t), "q")); err == nil {
			t.Error("DecodeAcks decoded a string into an int")
		}
	})
}

// TestSocketGo checks that Socket.Go's goroutine ends with the socket's
// context and that Shutdown waits for it.
func TestSocketGo(t *testing.T) {
	srv := newServer(t, nil)
	socks := sockets(srv.Of("/"))
	srv.Connect(t, "websocket", "/", nil)
	s := recv(t, socks)
	finished := make(chan struct{})
	s.Go(func(ctx context.Context) {
		<-ctx.Done()
		time.Sleep(10 * time.Millisecond) // work after the end: Shutdown must wait
		close(finished)
	})
	if err := srv.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-finished:
	default:
		t.Fatal("Shutdown returned before the socket's goroutine ended")
	}
}
