package socketio_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

// TestMain fails the run if a test leaks goroutines.
func TestMain(m *testing.M) { socketiotest.VerifyTestMain(m) }

// waitTimeout bounds every wait: an upper bound for what should happen much
// sooner, never a measure of speed.
const waitTimeout = socketiotest.DefaultTimeout

// run runs f as parallel subtests, once per transport, like net/http's
// run(t, f) runs tests in HTTP/1 and HTTP/2 modes.
func run(t *testing.T, f func(t *testing.T, transport string)) {
	t.Helper()
	for _, tr := range socketiotest.Transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			f(t, tr)
		})
	}
}

// quietLogger discards the server's logs; logRecorder keeps them.
var quietLogger = slog.New(slog.DiscardHandler)

// newServer starts a server (quiet unless opts sets a logger).
func newServer(t *testing.T, opts *socketio.Options) *socketiotest.Server {
	t.Helper()
	var o socketio.Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = quietLogger
	}
	return socketiotest.NewServer(t, &o)
}

// recv receives from ch, failing the test after waitTimeout.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("nothing received within %v", waitTimeout)
		var zero T
		return zero
	}
}

// sockets returns a connection handler that sends every new socket to the
// returned channel.
func sockets(ns interface{ OnConnection(func(*socketio.Socket)) }) <-chan *socketio.Socket {
	ch := make(chan *socketio.Socket, 64)
	ns.OnConnection(func(s *socketio.Socket) { ch <- s })
	return ch
}

// trail is a concurrency-safe list of strings, for recording what handlers
// saw and in which order.
type trail struct {
	mu    sync.Mutex
	items []string
}

func (l *trail) add(format string, args ...any) {
	l.mu.Lock()
	l.items = append(l.items, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

func (l *trail) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.items)
}

// equals is an Eventually condition: the log equals want.
func (l *trail) equals(want ...string) func() error {
	return func() error {
		if got := l.get(); !slices.Equal(got, want) {
			return fmt.Errorf("log = %q, want %q", got, want)
		}
		return nil
	}
}

// done reports whether ch is closed.
func done(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// waitDone waits for ch to close.
func waitDone(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatalf("%s: not done within %v", what, waitTimeout)
	}
}

// ctxT returns a context for the reads of a test.
func ctxT(t *testing.T) context.Context { return socketiotest.Context(t) }

// logCapture is a slog handler writing to a buffer, for checks on logs.
type logCapture struct {
	mu  sync.Mutex
	buf []byte
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.buf = append(c.buf, p...)
	c.mu.Unlock()
	return len(p), nil
}

func (c *logCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.buf)
}

func (c *logCapture) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Writer(c), &slog.HandlerOptions{Level: slog.LevelDebug}))
}
