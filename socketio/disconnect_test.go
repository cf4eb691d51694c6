package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/parser"
	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

// closeReport is what a socket's disconnecting and disconnect handlers saw.
type closeReport struct {
	reason        string
	roomsBefore   []string // in OnDisconnecting
	roomsAfter    []string // in OnDisconnect
	connectedThen bool     // Connected() in OnDisconnecting
}

// watchClose records the close of every socket of ns.
func watchClose(ns *socketio.Namespace) <-chan closeReport {
	ch := make(chan closeReport, 16)
	ns.OnConnection(func(s *socketio.Socket) {
		s.Join("room1")
		var r closeReport
		s.OnDisconnecting(func(reason string) {
			r.roomsBefore = s.Rooms()
			r.connectedThen = s.Connected()
		})
		s.OnDisconnect(func(reason string) {
			r.reason = reason
			r.roomsAfter = s.Rooms()
			ch <- r
		})
	})
	return ch
}

func TestDisconnectReasons(t *testing.T) {
	type env struct {
		srv  *socketiotest.Server
		c    *socketiotest.Client
		sock *socketio.Socket
	}
	for _, tc := range []struct {
		name      string
		opts      socketio.Options
		dial      socketiotest.DialOptions
		act       func(t *testing.T, e env)
		reason    string
		connStays bool // the Engine.IO connection stays open
	}{
		{name: "client namespace disconnect", reason: socketio.ReasonClientNamespaceDisconnect, connStays: true,
			act: func(t *testing.T, e env) { _ = e.c.Disconnect("/") }},
		{name: "server namespace disconnect", reason: socketio.ReasonServerNamespaceDisconnect, connStays: true,
			act: func(t *testing.T, e env) {
				e.sock.Disconnect(false)
				expectDisconnectPacket(t, e.c, "/")
			}},
		{name: "transport close", reason: socketio.ReasonTransportClose,
			act: func(t *testing.T, e env) { _ = e.c.Close() }},
		{name: "ping timeout", reason: socketio.ReasonPingTimeout, dial: socketiotest.DialOptions{NoPong: true},
			opts: socketio.Options{Engine: engineio.Options{PingInterval: 20 * time.Millisecond, PingTimeout: 20 * time.Millisecond}},
			act:  func(t *testing.T, e env) {}},
		{name: "parse error", reason: socketio.ReasonParseError,
			act: func(t *testing.T, e env) { _ = e.c.SendRaw("x") }}, // not an Engine.IO packet
		{name: "forced close", reason: socketio.ReasonForcedClose,
			act: func(t *testing.T, e env) { _ = e.c.SendRaw("4x") }}, // not a Socket.IO packet
		{name: "server shutting down", reason: socketio.ReasonServerShuttingDown,
			act: func(t *testing.T, e env) {
				if err := e.srv.Shutdown(ctxT(t)); err != nil {
					t.Errorf("Shutdown: %v", err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run(t, func(t *testing.T, transport string) {
				srv := newServer(t, &tc.opts)
				closes := watchClose(srv.Of("/"))
				ch := sockets(srv)
				c := srv.Dial(t, transport, &tc.dial)
				if _, err := c.Connect(ctxT(t), "/", nil); err != nil {
					t.Fatal(err)
				}
				s := recv(t, ch)
				tc.act(t, env{srv, c, s})
				r := recv(t, closes)
				checkCloseReport(t, srv.Of("/"), s, r, tc.reason)
				if tc.connStays {
					if _, err := c.Connect(ctxT(t), "/", nil); err != nil {
						t.Errorf("connection unusable after the disconnect: %v", err)
					}
				} else {
					waitDone(t, c.Done(), "client connection")
				}
			})
		})
	}
}

func checkCloseReport(t *testing.T, ns *socketio.Namespace, s *socketio.Socket, r closeReport, reason string) {
	t.Helper()
	if r.reason != reason {
		t.Errorf("reason %q, want %q", r.reason, reason)
	}
	slices.Sort(r.roomsBefore)
	if want := slices.Sorted(slices.Values([]string{s.ID(), "room1"})); !slices.Equal(r.roomsBefore, want) {
		t.Errorf("rooms while disconnecting %q, want %q", r.roomsBefore, want)
	}
	if r.connectedThen || s.Connected() {
		t.Error("socket still connected in OnDisconnecting or after")
	}
	if len(r.roomsAfter) != 0 || ns.Adapter().Size("room1") != 0 || ns.Adapter().Size(s.ID()) != 0 {
		t.Errorf("rooms after disconnect %q, room1 size %d", r.roomsAfter, ns.Adapter().Size("room1"))
	}
	if ns.LocalSocket(s.ID()) != nil {
		t.Error("socket still in its namespace")
	}
}

func expectDisconnectPacket(t *testing.T, c *socketiotest.Client, nsp string) {
	t.Helper()
	p, err := c.Next(ctxT(t), func(p *parser.Packet) bool { return p.Type == parser.Disconnect && p.Namespace == nsp })
	if err != nil {
		t.Fatalf("DISCONNECT on %s: %v", nsp, err)
	}
	if p.Data != nil {
		t.Errorf("DISCONNECT with a payload %q", p.Encode())
	}
}

// TestDisconnectClose checks Disconnect(true): every namespace of the
// client gets a DISCONNECT, then the connection closes. As in Node, whose
// client disconnects each socket before closing, every socket's reason is
// "server namespace disconnect".
func TestDisconnectClose(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		main, other := watchClose(srv.Of("/")), watchClose(srv.Of("/other"))
		ch := sockets(srv)
		c := srv.Connect(t, transport, "/", nil)
		if _, err := c.Connect(ctxT(t), "/other", nil); err != nil {
			t.Fatal(err)
		}
		recv(t, ch).Disconnect(true)
		expectDisconnectPacket(t, c, "/")
		expectDisconnectPacket(t, c, "/other")
		waitDone(t, c.Done(), "client connection")
		for nsp, ch := range map[string]<-chan closeReport{"/": main, "/other": other} {
			if r := recv(t, ch); r.reason != socketio.ReasonServerNamespaceDisconnect {
				t.Errorf("%s: reason %q", nsp, r.reason)
			}
		}
	})
}

// TestSlowClient checks that a WebSocket client that never reads is
// disconnected with "slow client" and counted, while broadcasts go on
// without blocking and reach a normal client.
func TestSlowClient(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, &socketio.Options{Engine: engineio.Options{MaxQueueBytes: 64 << 10}})
		closes := watchClose(srv.Of("/"))
		ch := sockets(srv)
		slow := srv.Dial(t, socketiotest.WebSocket, &socketiotest.DialOptions{NoRead: true})
		if err := slow.SendRaw("40"); err != nil {
			t.Fatal(err)
		}
		slowSock := recv(t, ch)
		normal := srv.Connect(t, transport, "/", nil)
		chunk := strings.Repeat("x", 16<<10)
		// The kernel's socket buffers take a few megabytes before the
		// server's writes block and its queue fills; 64 MiB is far more.
		for i := 0; slowSock.Connected(); i++ {
			if i == 4096 {
				t.Fatal("slow client still connected after 64 MiB")
			}
			if err := srv.Emit(ctxT(t), "chunk", i, chunk); err != nil {
				t.Fatal(err)
			}
			// Pace on the normal client, whose queue then never grows.
			if _, err := normal.ReadEvent(ctxT(t), "/", "chunk"); err != nil {
				t.Fatal(err)
			}
		}
		if r := recv(t, closes); r.reason != socketio.ReasonSlowClient {
			t.Errorf("reason %q, want %q", r.reason, socketio.ReasonSlowClient)
		}
		if n := srv.Engine().Stats().SlowClients; n != 1 {
			t.Errorf("SlowClients = %d, want 1", n)
		}
		if err := srv.Emit(ctxT(t), "after"); err != nil {
			t.Fatal(err)
		}
		if _, err := normal.ReadEvent(ctxT(t), "/", "after"); err != nil {
			t.Errorf("normal client after the slow one left: %v", err)
		}
	})
}

func TestShutdown(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		closes := watchClose(srv.Of("/"))
		blocked := make(chan struct{})
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("block", func(e *socketio.Event) {
				// A handler waiting for an ack that never comes: Shutdown
				// ends the wait with ErrDisconnected.
				_, err := s.EmitWithAck(context.Background(), "never")
				if errors.Is(err, socketio.ErrDisconnected) {
					close(blocked)
				}
			})
		})
		var clients []*socketiotest.Client
		for range 3 {
			clients = append(clients, srv.Connect(t, transport, "/", nil))
		}
		_ = clients[0].Emit("/", "block")
		if _, err := clients[0].ReadEvent(ctxT(t), "/", "never"); err != nil {
			t.Fatal(err)
		}
		if err := srv.Shutdown(ctxT(t)); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		for i, c := range clients {
			waitDone(t, c.Done(), fmt.Sprintf("client %d", i))
			if r := recv(t, closes); r.reason != socketio.ReasonServerShuttingDown {
				t.Errorf("reason %q", r.reason)
			}
		}
		waitDone(t, blocked, "handler blocked in EmitWithAck")
		if n := srv.Of("/").Len(); n != 0 {
			t.Errorf("%d sockets left", n)
		}
		// New connections are refused.
		if c, err := socketiotest.Dial(ctxT(t), srv.URL, transport, nil); err == nil {
			_ = c.Close()
			t.Error("dial after Shutdown succeeded")
		}
	})
}

// TestDisconnectThenReconnectAtOnce checks that a client may connect to a
// namespace again as soon as it reads the server's DISCONNECT: the socket
// has left its connection by then, so the CONNECT is not taken for a second
// socket on the namespace (which closes the whole connection).
func TestDisconnectThenReconnectAtOnce(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		srv.Of("/").OnConnection(func(s *socketio.Socket) {
			s.On("leave", func(*socketio.Event) { s.Disconnect(false) })
		})
		c := srv.Dial(t, transport, nil)
		for i := range 30 {
			if _, err := c.Connect(ctxT(t), "/", nil); err != nil {
				t.Fatalf("connect %d: %v", i, err)
			}
			if err := c.Emit("/", "leave"); err != nil {
				t.Fatal(err)
			}
			expectDisconnectPacket(t, c, "/")
		}
		select {
		case <-c.Done():
			t.Fatalf("connection closed: %v", c.Err())
		default:
		}
	})
}
