package socketio_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/client"
	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

// TestConnectionStateRecovery: a client whose connection drops gets its
// socket back on reconnection (same id, rooms, data) and every event it
// missed meanwhile, in order, exactly once; then live events flow again.
func TestConnectionStateRecovery(t *testing.T) {
	for _, transport := range []string{"websocket", "polling"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			testRecovery(t, transport)
		})
	}
}

func testRecovery(t *testing.T, transport string) {
	sockets := make(chan *socketio.Socket, 4)
	srv := newServer(t, &socketio.Options{ConnectionStateRecovery: &socketio.RecoveryOptions{}})
	srv.Server.OnConnection(func(s *socketio.Socket) {
		if !s.Recovered() {
			s.Join("room-a")
			s.SetData(map[string]string{"user": "ada"})
		}
		sockets <- s
	})
	c, err := client.Dial(context.Background(), srv.HTTP.URL, &client.Options{Transports: []string{transport},
		ReconnectionDelay: 50 * time.Millisecond, ReconnectionDelayMax: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := make(chan string, 64)
	c.On("seq", func(e *client.Event) {
		var v string
		_ = e.Decode(&v)
		got <- v
	})
	first := recv(t, sockets)
	if first.Recovered() {
		t.Fatal("a new socket must not be recovered")
	}
	emit := func(from, to int) {
		for i := from; i < to; i++ {
			if err := srv.Server.To("room-a").Emit("seq", fmt.Sprint(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	emit(0, 3)
	for i := range 3 {
		if v := recv(t, got); v != fmt.Sprint(i) {
			t.Fatalf("live event %d = %q", i, v)
		}
	}
	first.Conn().Close() // the connection drops (a transport close)
	deadline := time.Now().Add(waitTimeout)
	for first.Connected() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	emit(3, 6) // missed while disconnected
	second := recv(t, sockets)
	if !second.Recovered() || second.ID() != first.ID() {
		t.Fatalf("recovered=%v id %s, want the recovered socket %s", second.Recovered(), second.ID(), first.ID())
	}
	data, _ := json.Marshal(second.Data())
	if !slices.Contains(second.Rooms(), "room-a") || string(data) != `{"user":"ada"}` {
		t.Fatalf("rooms %v data %v not restored", second.Rooms(), second.Data())
	}
	emit(6, 8)
	for i := 3; i < 8; i++ {
		if v := recv(t, got); v != fmt.Sprint(i) {
			t.Fatalf("event %d after recovery = %q", i, v)
		}
	}
	if !c.Recovered() {
		t.Fatal("the client must see Recovered() true")
	}
	select {
	case v := <-got:
		t.Fatalf("duplicate or extra event %q", v)
	case <-time.After(100 * time.Millisecond):
	}
	if st := srv.Server.Stats(); st.Recovered != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestRecoveryPIDInConnectReply: the CONNECT reply carries a pid only with
// recovery on; an unknown pid gives a fresh socket.
func TestRecoveryPIDInConnectReply(t *testing.T) {
	t.Parallel()
	on := newServer(t, &socketio.Options{ConnectionStateRecovery: &socketio.RecoveryOptions{}})
	off := newServer(t, nil)
	for _, tc := range []struct {
		srv     *socketiotest.Server
		wantPID bool
	}{{on, true}, {off, false}} {
		cl := tc.srv.Dial(t, "websocket", nil)
		p, err := cl.ConnectRaw(socketiotest.Context(t), "/", map[string]string{"pid": "nope", "offset": "nope"})
		if err != nil {
			t.Fatal(err)
		}
		var reply map[string]string
		if err := json.Unmarshal(p.Data, &reply); err != nil || len(reply["sid"]) != 20 {
			t.Fatalf("CONNECT reply %s: %v", p.Data, err)
		}
		if _, hasPID := reply["pid"]; hasPID != tc.wantPID {
			t.Fatalf("CONNECT reply %s, want pid: %v", p.Data, tc.wantPID)
		}
	}
	if on.Server.Stats().RecoveryFailed != 1 {
		t.Fatalf("the unknown pid must count as a failed recovery: %+v", on.Server.Stats())
	}
}
