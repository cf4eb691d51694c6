package client

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestCompatRestart restarts the server on the same port: the socket
// disconnects, reconnects by itself (calling AuthFunc again), and sends
// what was emitted meanwhile.
func TestCompatRestart(t *testing.T) {
	for _, st := range starters {
		for _, mode := range transportModes {
			t.Run(st.name+"/"+mode.name, func(t *testing.T) {
				t.Parallel()
				st.skipIfUnavailable(t)
				srv := st.start(t, pingOpts{})
				testRestart(t, env{srv: srv, url: srv.url, transports: mode.transports})
			})
		}
	}
}

func testRestart(t *testing.T, v env) {
	var authN atomic.Int32
	m := v.manager(t, &Options{AuthFunc: func(context.Context) (any, error) {
		return map[string]int32{"n": authN.Add(1)}, nil
	}})
	reconnected := make(chan int, 10)
	m.OnReconnect(func(attempt int) { reconnected <- attempt })
	s := m.Socket("/", nil)
	rec := recordReasons(s)
	auth, back := listen(s, "auth"), listen(s, "message-back")
	v.connect(t, s)
	next(t, rec.connects, "connect")
	if got := argsJSON(next(t, auth, "auth").Args); got != `{"n":1}` {
		t.Errorf("first auth %s", got)
	}
	id := s.ID()

	v.srv.restart(t)
	if r := next(t, rec.reasons, "disconnect"); r != ReasonTransportClose && r != ReasonTransportError {
		t.Errorf("reason %q", r)
	}
	if err := s.Emit("message", "emitted while reconnecting"); err != nil {
		t.Fatal(err)
	}
	next(t, rec.connects, "reconnect")
	if a := next(t, reconnected, "OnReconnect"); a < 1 {
		t.Errorf("OnReconnect attempt %d", a)
	}
	if got := argsJSON(next(t, auth, "auth").Args); got != `{"n":2}` {
		t.Errorf("auth after reconnecting %s (no pid without connection state recovery)", got)
	}
	if got := argsJSON(next(t, back, "message-back").Args); got != `"emitted while reconnecting"` {
		t.Errorf("message-back %s", got)
	}
	if s.ID() == id || s.Recovered() {
		t.Errorf("after reconnecting: id %q (was %q), recovered %v", s.ID(), id, s.Recovered())
	}
}

// TestCompatPingTimeout freezes the network: no ping arrives within
// pingInterval + pingTimeout, so the client gives up with "ping timeout",
// then reconnects once the network is back.
func TestCompatPingTimeout(t *testing.T) {
	for _, st := range starters {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			st.skipIfUnavailable(t)
			srv := st.start(t, pingOpts{interval: 500 * time.Millisecond, timeout: 500 * time.Millisecond})
			for _, mode := range transportModes {
				t.Run(mode.name, func(t *testing.T) {
					t.Parallel()
					p := newProxy(t, srv.url)
					v := env{srv: srv, url: p.url(), transports: mode.transports}
					var rec reasonRecorder
					s := v.socket(t, "/", nil, func(s *Socket) { rec = recordReasons(s) })
					next(t, rec.connects, "connect")
					// The client answers the server's pings: nothing happens
					// for several ping intervals.
					select {
					case r := <-rec.reasons:
						t.Fatalf("disconnected (%q) before the network froze", r)
					case <-time.After(2 * time.Second):
					}
					p.freeze(true)
					if r := next(t, rec.reasons, "disconnect"); r != ReasonPingTimeout {
						t.Errorf("reason %q", r)
					}
					p.freeze(false)
					next(t, rec.connects, "reconnect")
					if !s.Connected() {
						t.Error("not connected after the network came back")
					}
				})
			}
		})
	}
}

// TestParseError: a packet the client cannot decode closes the connection
// with "parse error"; the client reconnects.
func TestParseError(t *testing.T) {
	servers := map[string]func(t *testing.T) *testServer{
		"switchboard": func(t *testing.T) *testServer { return starters[0].sharedServer(t) },
		"node":        startClientNode,
	}
	for name, start := range servers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := start(t)
			for _, mode := range transportModes {
				t.Run(mode.name, func(t *testing.T) {
					t.Parallel()
					v := env{srv: srv, url: srv.url, transports: mode.transports}
					var rec reasonRecorder
					s := v.socket(t, "/", nil, func(s *Socket) { rec = recordReasons(s) })
					next(t, rec.connects, "connect")
					if err := s.Emit("garbage"); err != nil {
						t.Fatal(err)
					}
					if r := next(t, rec.reasons, "disconnect"); r != ReasonParseError {
						t.Errorf("reason %q", r)
					}
					next(t, rec.connects, "reconnect")
				})
			}
		})
	}
}

// startClientNode runs test/clientcompat/server.mjs (Node with connection
// state recovery).
func startClientNode(t *testing.T) *testServer {
	return startNodeScript(t, filepath.Join(repoRoot(), "test/clientcompat/server.mjs"), pingOpts{})
}

// TestRecovery runs connection state recovery against Node: after the
// connection drops, the socket presents its pid and last offset, the
// server restores the session (same id, rooms) and replays what was
// missed.
func TestRecovery(t *testing.T) {
	srv := startClientNode(t)
	for _, mode := range transportModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			testRecovery(t, env{srv: srv, url: srv.url, transports: mode.transports})
		})
	}
}

type helloMsg struct {
	Recovered bool `json:"recovered"`
	Auth      struct {
		Token  string  `json:"token"`
		PID    *string `json:"pid"`
		Offset *string `json:"offset"`
	} `json:"auth"`
}

func testRecovery(t *testing.T, v env) {
	room := uniqueName(t)
	m := v.manager(t, &Options{Auth: map[string]string{"token": "t1"},
		ReconnectionDelay: 300 * time.Millisecond, RandomizationFactor: -1})
	s := m.Socket("/", nil)
	rec := recordReasons(s)
	hello, missed := listen(s, "hello"), listen(s, "missed")
	v.connect(t, s)
	next(t, rec.connects, "connect")
	var h helloMsg
	e := next(t, hello, "hello")
	if err := e.Decode(&h); err != nil || h.Recovered || h.Auth.Token != "t1" || h.Auth.PID != nil {
		t.Fatalf("first hello %s (%v)", argsJSON(e.Args), err)
	}
	call(t, s, "join", room)
	id := s.ID()
	s.mu.Lock()
	pid, offset := s.pid, s.offset
	s.mu.Unlock()
	if pid == "" || offset == "" {
		t.Fatalf("pid %q offset %q after the first event", pid, offset)
	}

	if err := s.Emit("drop", room); err != nil {
		t.Fatal(err)
	}
	if r := next(t, rec.reasons, "disconnect"); r != ReasonTransportClose {
		t.Errorf("reason %q", r)
	}
	next(t, rec.connects, "reconnect")
	for _, want := range []string{"m1", "m2"} {
		var got string
		if err := next(t, missed, "missed event").Decode(&got); err != nil || got != want {
			t.Errorf("missed event %q, want %q (%v)", got, want, err)
		}
	}
	if !s.Recovered() || s.ID() != id {
		t.Errorf("recovered %v, id %q (was %q)", s.Recovered(), s.ID(), id)
	}
	e = next(t, hello, "hello after recovery")
	if err := e.Decode(&h); err != nil || !h.Recovered || h.Auth.Token != "t1" ||
		h.Auth.PID == nil || *h.Auth.PID != pid || h.Auth.Offset == nil || *h.Auth.Offset != offset {
		t.Errorf("hello after recovery %s (%v); pid %q offset %q", argsJSON(e.Args), err, pid, offset)
	}
}

// TestLocalAddr connects from another loopback address, as a load
// generator does to get past the limit of source ports.
func TestLocalAddr(t *testing.T) {
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
	if ln, err := net.ListenTCP("tcp", local); err != nil {
		t.Skipf("127.0.0.2 not usable: %v", err)
	} else {
		ln.Close()
	}
	for _, st := range starters {
		for _, mode := range transportModes {
			t.Run(st.name+"/"+mode.name, func(t *testing.T) {
				t.Parallel()
				srv := st.sharedServer(t)
				v := env{srv: srv, url: srv.url, transports: mode.transports}
				s := v.socket(t, "/", &Options{LocalAddr: local}, nil)
				var hs struct{ Address string }
				if err := call(t, s, "handshake")[0].Decode(&hs); err != nil {
					t.Fatal(err)
				}
				if strings.TrimPrefix(hs.Address, "::ffff:") != "127.0.0.2" {
					t.Errorf("server saw address %q", hs.Address)
				}
			})
		}
	}
}
