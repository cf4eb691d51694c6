package client

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/parser"
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, st := range starters {
		if st.shared != nil {
			st.shared.stop()
		}
	}
	if code == 0 {
		if leaked := clientGoroutines(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "client goroutines left after every Manager was closed:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// clientGoroutines waits up to d for the package's goroutines to end and
// returns the stacks of those still running.
func clientGoroutines(d time.Duration) string {
	deadline := time.Now().Add(d)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var left []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if isClientGoroutine(g) {
				left = append(left, g)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return strings.Join(left, "\n\n")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func isClientGoroutine(stack string) bool {
	for _, fn := range []string{"client.(*engine).", "client.(*polling).", "client.(*wsConn).",
		"client.(*Socket).drain", "client.(*Manager).connectLoop", "client.(*Socket).engineOpened"} {
		if strings.Contains(stack, fn) {
			return true
		}
	}
	return false
}

// Test helpers shared by the test files.

const waitTime = 15 * time.Second

// transportModes are the three ways the client connects.
var transportModes = []struct {
	name       string
	transports []string
}{
	{"polling", []string{TransportPolling}},
	{"websocket", []string{TransportWebSocket}},
	{"upgrade", []string{TransportPolling, TransportWebSocket}},
}

// env is a server and a transport mode.
type env struct {
	srv        *testServer
	url        string // where the client connects (the server or a proxy)
	transports []string
}

func (v env) upgrade() bool { return len(v.transports) == 2 }

// options returns client options for the env, with fast reconnection.
func (v env) options(o *Options) *Options {
	var c Options
	if o != nil {
		c = *o
	}
	c.Transports = v.transports
	if c.ReconnectionDelay == 0 {
		c.ReconnectionDelay = 50 * time.Millisecond
	}
	if c.ReconnectionDelayMax == 0 {
		c.ReconnectionDelayMax = 300 * time.Millisecond
	}
	return &c
}

// manager returns a Manager closed at the end of the test.
func (v env) manager(t *testing.T, o *Options) *Manager {
	t.Helper()
	m, err := NewManager(v.url, v.options(o))
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// connect connects s, and in upgrade mode waits for the upgrade.
func (v env) connect(t *testing.T, s *Socket) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	defer cancel()
	if err := s.Connect(ctx); err != nil {
		t.Fatalf("Connect %s: %v", s.Namespace(), err)
	}
	if v.upgrade() {
		waitUntil(t, "upgrade to websocket", func() bool { return s.Manager().Transport() == TransportWebSocket })
	} else if got := s.Manager().Transport(); got != v.transports[0] {
		t.Fatalf("transport %q, want %q", got, v.transports[0])
	}
}

// socket returns a connected socket of nsp on a new Manager.
func (v env) socket(t *testing.T, nsp string, o *Options, setup func(*Socket)) *Socket {
	t.Helper()
	s := v.manager(t, o).Socket(nsp, nil)
	if setup != nil {
		setup(s)
	}
	v.connect(t, s)
	return s
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTime)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// listen returns a channel receiving the socket's events of that name.
func listen(s *Socket, event string) chan *Event {
	ch := make(chan *Event, 100)
	s.On(event, func(e *Event) { ch <- e })
	return ch
}

func next[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTime):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func ackCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTime)
	t.Cleanup(cancel)
	return ctx
}

// call emits with an ack and fails the test on error.
func call(t *testing.T, s *Socket, event string, args ...any) []parser.Arg {
	t.Helper()
	res, err := s.EmitWithAck(ackCtx(t), event, args...)
	if err != nil {
		t.Fatalf("EmitWithAck %s: %v", event, err)
	}
	return res
}

// argsJSON returns the raw JSON of args, comma-separated.
func argsJSON(args []parser.Arg) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = string(a.JSON())
	}
	return strings.Join(parts, ",")
}

func uniqueName(t *testing.T) string {
	return strings.NewReplacer("/", "-", " ", "_").Replace(t.Name()) + fmt.Sprint(time.Now().UnixNano())
}
