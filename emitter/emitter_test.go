package emitter_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/switchboard-io/switchboard/adapter/redis"
	"github.com/switchboard-io/switchboard/client"
	"github.com/switchboard-io/switchboard/emitter"
	"github.com/switchboard-io/switchboard/internal/redistest"
	"github.com/switchboard-io/switchboard/socketio"
)

// startNode runs a Go node on the cluster; events received by its handlers
// go to serverSide.
func startNode(t *testing.T, addr string, serverSide chan<- string) string {
	t.Helper()
	ad, err := redis.New(context.Background(), redis.Options{URL: "redis://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	io := socketio.NewServer(&socketio.Options{Adapter: ad.Factory()})
	for deadline := time.Now().Add(5 * time.Second); !ad.Stats().Connected; {
		if time.Now().After(deadline) {
			t.Fatal("the adapter did not subscribe")
		}
		time.Sleep(10 * time.Millisecond)
	}
	io.Of("/").OnServerSideEmit("tick", func(args []socketio.Arg, _ func(any)) {
		var s string
		_ = args[0].Decode(&s)
		serverSide <- s
	})
	hs := httptest.NewServer(io)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = io.Shutdown(ctx)
		hs.Close()
		_ = ad.Close()
	})
	return hs.URL
}

type recorder struct {
	sock   *client.Socket
	events chan string
}

func connect(t *testing.T, url string) *recorder {
	t.Helper()
	s, err := client.Dial(context.Background(), url, &client.Options{Transports: []string{"websocket"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := &recorder{sock: s, events: make(chan string, 16)}
	s.On("news", func(e *client.Event) {
		var title string
		if b, ok := e.Args[0].Bytes(); ok {
			title = "binary:" + string(b)
		} else {
			_ = e.Decode(&title)
		}
		r.events <- title
	})
	s.OnDisconnect(func(client.DisconnectReason, error) { r.events <- "disconnected" })
	return r
}

func (r *recorder) expect(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-r.events:
		if got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("nothing received, want %q", want)
	}
}

func (r *recorder) nothing(t *testing.T) {
	t.Helper()
	select {
	case got := <-r.events:
		t.Fatalf("unexpected %q", got)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestEmitterReachesEveryNode drives two Go nodes from an emitter: emits to
// all, to a room, except a room, binary, room joins and leaves,
// disconnections and server-side events.
func TestEmitterReachesEveryNode(t *testing.T) {
	addr := redistest.Start(t).Addr
	serverSide := make(chan string, 4)
	a := connect(t, startNode(t, addr, serverSide))
	b := connect(t, startNode(t, addr, serverSide))
	rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	e := emitter.New(rc, nil)
	ctx := context.Background()

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.Emit(ctx, "news", "to all"))
	a.expect(t, "to all")
	b.expect(t, "to all")
	must(e.In(a.sock.ID()).SocketsJoin(ctx, "room-a"))
	time.Sleep(300 * time.Millisecond) // the join is a request: let it land
	must(e.To("room-a").Emit(ctx, "news", "room only"))
	a.expect(t, "room only")
	b.nothing(t)
	must(e.Except("room-a").Emit(ctx, "news", "not room-a"))
	b.expect(t, "not room-a")
	a.nothing(t)
	must(e.Emit(ctx, "news", []byte("raw")))
	a.expect(t, "binary:raw")
	b.expect(t, "binary:raw")
	must(e.In(a.sock.ID()).SocketsLeave(ctx, "room-a"))
	time.Sleep(300 * time.Millisecond)
	must(e.To("room-a").Emit(ctx, "news", "nobody"))
	a.nothing(t)
	must(e.ServerSideEmit(ctx, "tick", "hello nodes"))
	got := []string{<-serverSide, <-serverSide}
	if !slices.Equal(got, []string{"hello nodes", "hello nodes"}) {
		t.Fatalf("server-side events %v", got)
	}
	must(e.In(b.sock.ID()).DisconnectSockets(ctx, false))
	b.expect(t, "disconnected")
	if e.Emit(ctx, "disconnect") != emitter.ErrReservedEvent {
		t.Fatal("reserved names must be refused")
	}
}
