package socketiotest_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/parser"
	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

var quiet = slog.New(slog.DiscardHandler)

func run(t *testing.T, f func(t *testing.T, transport string)) {
	for _, tr := range socketiotest.Transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			f(t, tr)
		})
	}
}

// echoServer answers "echo" with its arguments and emits "welcome" on
// connection.
func echoServer(t *testing.T, opts socketio.Options, tls bool) *socketiotest.Server {
	opts.Logger = quiet
	srv := socketiotest.NewServer(t, &opts)
	if tls {
		srv = socketiotest.NewTLSServer(t, &opts)
	}
	srv.OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("welcome", s.ID())
		s.On("echo", func(e *socketio.Event) {
			args := make([]any, len(e.Args))
			for i, a := range e.Args {
				args[i] = a
			}
			_ = e.Ack(args...)
		})
	})
	return srv
}

func TestClient(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		for _, tls := range []bool{false, true} {
			srv := echoServer(t, socketio.Options{}, tls)
			c := srv.Dial(t, transport, nil)
			if len(c.Handshake.SID) != 20 || c.Handshake.PingInterval != 25000 || c.Transport != transport {
				t.Errorf("handshake %+v", c.Handshake)
			}
			ctx := socketiotest.Context(t)
			sid, err := c.Connect(ctx, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			e, err := c.ReadEvent(ctx, "/", "welcome")
			var got string
			if err != nil || e.Decode(&got) != nil || got != sid {
				t.Errorf("welcome %v %v, want the socket id %s", e, err, sid)
			}
			args, err := c.EmitWithAck(ctx, "/", "echo", "a", []byte{0, 1})
			if b, ok := args[1].Bytes(); err != nil || len(args) != 2 || !ok || len(b) != 2 {
				t.Errorf("binary echo %v %v", args, err)
			}
			var ce *socketiotest.ConnectError
			if _, err := c.Connect(ctx, "/nope", nil); !errors.As(err, &ce) || ce.Message != "Invalid namespace" {
				t.Errorf("unknown namespace: %v", err)
			}
		}
	})
}

func TestReadDeadlineAndClose(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := echoServer(t, socketio.Options{}, false)
		c := srv.Connect(t, transport, "/", nil)
		short, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		if _, err := c.ReadEvent(short, "/", "never"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("read past its deadline: %v", err)
		}
		if p := c.NoPacket(10*time.Millisecond, func(p *parser.Packet) bool { return p.Type == parser.Disconnect }); p != nil {
			t.Errorf("unexpected %q", p.Encode())
		}
		_ = c.Close()
		_ = c.Close()
		<-c.Done()
		if _, err := c.Next(socketiotest.Context(t), func(*parser.Packet) bool { return false }); !errors.Is(err, socketiotest.ErrClosed) {
			t.Errorf("read on a closed client: %v", err)
		}
		if err := c.Emit("/", "x"); err == nil {
			t.Error("emit on a closed client succeeded")
		}
	})
}

func TestPings(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		opts := socketio.Options{Engine: engineio.Options{PingInterval: 10 * time.Millisecond, PingTimeout: 200 * time.Millisecond}}
		srv := echoServer(t, opts, false)
		answering := srv.Connect(t, transport, "/", nil)
		silent := srv.Dial(t, transport, &socketiotest.DialOptions{NoPong: true})
		<-silent.Done()
		if silent.Pings() == 0 {
			t.Error("no ping counted")
		}
		socketiotest.Eventually(t, func() error {
			if answering.Pings() < 3 {
				return errors.New("fewer than 3 pings")
			}
			return nil
		}, socketiotest.DefaultTimeout)
		select {
		case <-answering.Done():
			t.Errorf("client answering pings closed: %v", answering.Err())
		default:
		}
	})
}

func TestManualPoll(t *testing.T) {
	t.Parallel()
	srv := echoServer(t, socketio.Options{}, false)
	c := srv.Dial(t, socketiotest.Polling, &socketiotest.DialOptions{ManualPoll: true})
	if err := c.SendRaw("40"); err != nil {
		t.Fatal(err)
	}
	if n := len(c.Pending()); n != 0 {
		t.Fatalf("%d packets before any poll", n)
	}
	// The CONNECT reply and the handler's event may come in separate
	// polls: the handler runs after the reply is queued.
	ctx := socketiotest.Context(t)
	for !pendingEvent(c, "welcome") {
		if err := c.Poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.ReadEvent(ctx, "/", "welcome"); err != nil {
		t.Error(err)
	}
}

// pendingEvent reports whether c has received the event name and not read it yet.
func pendingEvent(c *socketiotest.Client, name string) bool {
	for _, p := range c.Pending() {
		if n, _, err := p.Event(); err == nil && n == name {
			return true
		}
	}
	return false
}

// fakeTB records a failure instead of failing the test.
type fakeTB struct {
	testing.TB
	failed atomic.Bool
	msg    string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed.Store(true)
	f.msg = format
}

func TestEventually(t *testing.T) {
	t.Parallel()
	n := 0
	socketiotest.Eventually(t, func() error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	}, time.Second)
	if n != 3 {
		t.Errorf("condition called %d times, want 3", n)
	}
	tb := &fakeTB{}
	socketiotest.Eventually(tb, func() error { return errors.New("never") }, 10*time.Millisecond)
	if !tb.failed.Load() || !strings.Contains(tb.msg, "condition not met") {
		t.Errorf("Eventually did not fail: %q", tb.msg)
	}
}
