package redis_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/adapter/redis"
	"github.com/switchboard-io/switchboard/socketio"
)

const wait = 3 * time.Second

// mode is an adapter mode under test.
type mode struct {
	name string
	opts redis.Options
}

// pubsubModes are the modes that use Redis pub/sub only.
var pubsubModes = []mode{
	{"classic", redis.Options{}},
	{"sharded-dynamic", redis.Options{Sharded: true}},
	{"sharded-static", redis.Options{Sharded: true, SubscriptionMode: redis.Static}},
	{"sharded-dynamic-private", redis.Options{Sharded: true, SubscriptionMode: redis.DynamicPrivate}},
}

// forModes runs f against the shared Redis server in classic mode, in
// each sharded subscription mode and in streams mode, each with a key of
// its own.
func forModes(t *testing.T, f func(t *testing.T, opts redis.Options)) {
	forModesOn(t, shared(t).url(), allModes(), f)
}

// forModesOn runs f in each of modes against the Redis at url, each with a
// key of its own.
func forModesOn(t *testing.T, url string, modes []mode, f func(t *testing.T, opts redis.Options)) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			o := m.opts
			o.URL = url
			o.Key = "t-" + strings.ReplaceAll(t.Name(), "/", "-")
			o.RequestsTimeout = 2 * time.Second
			if o.Streams != nil {
				o.Streams = &redis.StreamsOptions{StreamName: o.Key, SessionKeyPrefix: o.Key + ":session:"}
			}
			f(t, o)
		})
	}
}

// three starts three nodes with one client each.
func three(t *testing.T, opts redis.Options, setup func(i int, s *socketio.Server)) ([]*node, []*client) {
	nodes := newCluster(t, 3, opts, setup)
	clients := make([]*client, 3)
	for i, n := range nodes {
		clients[i] = dial(t, n)
	}
	return nodes, clients
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func expectEvent(t *testing.T, c *client, name, firstArgJSON string) {
	t.Helper()
	_, got, args := c.event(wait)
	if got != name || len(args) == 0 || string(args[0].JSON()) != firstArgJSON {
		t.Fatalf("client %s: got %s %v, want %s %s", c.sid, got, args, name, firstArgJSON)
	}
}

func TestBroadcast(t *testing.T) { forModes(t, testBroadcast) }

func testBroadcast(t *testing.T, opts redis.Options) {
	nodes, clients := three(t, opts, nil)
	ctx := ctxT(t)
	if err := nodes[0].ns().Emit(ctxT(t), "all", 1); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		expectEvent(t, c, "all", "1")
	}
	// Rooms: the client of node 1 joins "r" through node 2 (awaited).
	if err := nodes[2].ns().In(clients[1].sid).SocketsJoin(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	if err := nodes[0].ns().To("r").Emit(ctxT(t), "room", 2); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, clients[1], "room", "2")
	// Except: everyone but the client of node 2.
	if err := nodes[0].ns().Except(clients[2].sid).Emit(ctxT(t), "except", 3); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, clients[0], "except", "3")
	expectEvent(t, clients[1], "except", "3")
	// Several rooms: a socket in two target rooms gets it once.
	if err := nodes[1].ns().In(clients[1].sid).SocketsJoin(ctx, "r2"); err != nil {
		t.Fatal(err)
	}
	if err := nodes[2].ns().To("r", "r2", clients[0].sid).Emit(ctxT(t), "multi", 4); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, clients[0], "multi", "4")
	expectEvent(t, clients[1], "multi", "4")
	// Volatile reaches writable clients (idle ones here: a volatile
	// packet is dropped while a write is in flight); Local stays on its
	// node.
	time.Sleep(100 * time.Millisecond)
	if err := nodes[0].ns().Volatile().Emit(ctxT(t), "volatile", 5); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		expectEvent(t, c, "volatile", "5")
	}
	if err := nodes[1].ns().Local().Emit(ctxT(t), "local", 6); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, clients[1], "local", "6")
	for _, c := range clients {
		c.none(200 * time.Millisecond)
	}
}

func TestBinaryBroadcast(t *testing.T) { forModes(t, testBinaryBroadcast) }

func testBinaryBroadcast(t *testing.T, opts redis.Options) {
	nodes, clients := three(t, opts, nil)
	blob := []byte{0, 1, 2, 255}
	if err := nodes[0].ns().Emit(ctxT(t), "bin", blob, map[string]any{"inner": []byte("x")}); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		p, name, args := c.event(wait)
		if name != "bin" || len(p.Attachments) != 2 {
			t.Fatalf("got %s with %d attachments", name, len(p.Attachments))
		}
		var got []byte
		var inner struct{ Inner []byte }
		if err := args[0].Decode(&got); err != nil || !bytes.Equal(got, blob) {
			t.Fatalf("binary arg %v %v", got, err)
		}
		if err := args[1].Decode(&inner); err != nil || string(inner.Inner) != "x" {
			t.Fatalf("nested binary %v %v", inner, err)
		}
	}
}

func TestBroadcastWithAcks(t *testing.T) { forModes(t, testBroadcastWithAcks) }

func testBroadcastWithAcks(t *testing.T, opts redis.Options) {
	nodes, clients := three(t, opts, nil)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, _, _ := c.event(wait)
			c.ack(p.ID, `["`+string(rune('a'+i))+`"]`)
		}()
	}
	res, err := nodes[1].ns().Timeout(wait).EmitWithAck(ctxT(t), "ask", 1)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range res {
		s, _ := a.String()
		got = append(got, s)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("responses %v", got)
	}
}

func TestSocketsLeaveAndDisconnect(t *testing.T) { forModes(t, testSocketsLeaveAndDisconnect) }

func testSocketsLeaveAndDisconnect(t *testing.T, opts redis.Options) {
	nodes, clients := three(t, opts, nil)
	ctx := ctxT(t)
	if err := nodes[0].ns().SocketsJoin(ctx, "all"); err != nil {
		t.Fatal(err)
	}
	if err := nodes[0].ns().In("all").Except(clients[0].sid).SocketsLeave(ctx, "all"); err != nil {
		t.Fatal(err)
	}
	if err := nodes[2].ns().To("all").Emit(ctxT(t), "left", 1); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, clients[0], "left", "1")
	clients[1].none(200 * time.Millisecond)
	// Disconnect the client of node 2 from node 0, closing its connection.
	if err := nodes[0].ns().In(clients[2].sid).DisconnectSockets(ctx, true); err != nil {
		t.Fatal(err)
	}
	if p := clients[2].next(wait); p.Type.String() != "DISCONNECT" {
		t.Fatalf("got %v", p.Type)
	}
	select {
	case <-clients[2].closed:
	case <-time.After(wait):
		t.Fatal("connection not closed")
	}
	infos, err := nodes[1].ns().FetchSockets(ctx)
	if err != nil || len(infos) != 2 {
		t.Fatalf("after disconnect: %d sockets, %v", len(infos), err)
	}
}

func TestFetchSockets(t *testing.T) { forModes(t, testFetchSockets) }

func testFetchSockets(t *testing.T, opts redis.Options) {
	nodes, clients := three(t, opts, func(i int, s *socketio.Server) {
		s.OnConnection(func(sock *socketio.Socket) {
			sock.SetData(map[string]any{"node": i})
			sock.Join("joined")
		})
	})
	ctx := ctxT(t)
	// Connection handlers run after the client is connected: wait for
	// every socket to be in "joined".
	var socks []*socketio.RemoteSocket
	waitFor(t, wait, func() bool {
		var err error
		socks, err = nodes[0].ns().In("joined").FetchSockets(ctx)
		return err == nil && len(socks) == 3
	})
	for _, s := range socks {
		if !slices.Contains(s.Rooms, "joined") || !slices.Contains(s.Rooms, s.ID) ||
			!bytes.Contains(s.Data, []byte(`"node"`)) || s.Handshake == nil || s.Handshake.Address == "" {
			t.Errorf("socket %+v", s)
		}
		if s.Local != (s.ID == clients[0].sid) {
			t.Errorf("socket %s local=%v", s.ID, s.Local)
		}
	}
	// RemoteSocket acts where the socket lives.
	for _, s := range socks {
		if s.ID == clients[2].sid {
			if err := s.Emit(ctxT(t), "direct", 7); err != nil {
				t.Fatal(err)
			}
		}
	}
	expectEvent(t, clients[2], "direct", "7")
	socks, err := nodes[1].ns().In(clients[0].sid).FetchSockets(ctx)
	if err != nil || len(socks) != 1 || socks[0].ID != clients[0].sid {
		t.Fatalf("targeted fetch: %v %v", socks, err)
	}
}

func TestServerSideEmit(t *testing.T) { forModes(t, testServerSideEmit) }

func testServerSideEmit(t *testing.T, opts redis.Options) {
	var mu sync.Mutex
	got := map[int][]string{}
	nodes := newCluster(t, 3, opts, func(i int, s *socketio.Server) {
		s.Of("/").OnServerSideEmit("hello", func(args []socketio.Arg, reply func(any)) {
			var v string
			_ = args[0].Decode(&v)
			mu.Lock()
			got[i] = append(got[i], v)
			mu.Unlock()
			if reply != nil {
				reply(map[string]any{"from": i, "bin": []byte{byte(i)}})
			}
		})
	})
	ctx := ctxT(t)
	if err := nodes[0].ns().ServerSideEmit(ctx, "hello", "no-ack"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, wait, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got[1]) == 1 && len(got[2]) == 1
	})
	res, err := nodes[0].ns().ServerSideEmitWithAck(ctx, "hello", "ack")
	if err != nil || len(res) != 2 {
		t.Fatalf("%v %v", res, err)
	}
	for _, r := range res {
		var v struct {
			From int
			Bin  []byte
		}
		if err := r.Decode(&v); err != nil || len(v.Bin) != 1 || int(v.Bin[0]) != v.From {
			t.Fatalf("reply %s: %+v %v", r.JSON(), v, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got[0]) != 0 {
		t.Fatalf("sender handled its own event: %v", got[0])
	}
}

// TestPartialResults checks that a node that never answers yields partial
// results and a PartialError, and that a node that goes away stops being
// waited for.
func TestPartialResults(t *testing.T) { forModes(t, testPartialResults) }

func testPartialResults(t *testing.T, opts redis.Options) {
	opts.RequestsTimeout = 700 * time.Millisecond
	nodes, _ := three(t, opts, nil)
	// A fourth node that is subscribed but stuck: its adapter's
	// handler for server-side events never replies.
	stuck := newNode(t, opts, nil)
	waitFor(t, wait, func() bool { n, _ := nodes[0].ns().ServerCount(context.Background()); return n == 4 })
	for _, n := range append(nodes, stuck) {
		n.ns().OnServerSideEmit("q", func(args []socketio.Arg, reply func(any)) {
			if n != stuck {
				reply("ok")
			}
		})
	}
	start := time.Now()
	res, err := nodes[0].ns().ServerSideEmitWithAck(ctxT(t), "q")
	var pe *adapter.PartialError
	if !errors.As(err, &pe) || len(res) != 2 || pe.Expected != 3 || pe.Received != 2 || len(pe.Missing) != 1 {
		t.Fatalf("res %v err %v", res, err)
	}
	if d := time.Since(start); d < 600*time.Millisecond || d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
	// The stuck node goes away during the request: the wait ends early.
	go func() {
		time.Sleep(150 * time.Millisecond)
		_ = stuck.a.Close()
	}()
	start = time.Now()
	res, err = nodes[0].ns().ServerSideEmitWithAck(ctxT(t), "q")
	if err != nil || len(res) != 2 {
		t.Fatalf("after leave: %v %v", res, err)
	}
	if d := time.Since(start); d > 600*time.Millisecond {
		t.Fatalf("waited %v for a node that left", d)
	}
	if nodes[0].a.Stats().PartialRequests == 0 {
		t.Fatal("partial request not counted")
	}
}

// TestSpecificResponseChannel runs requests between nodes that answer on
// the requester's own response channel, and one that does not.
func TestSpecificResponseChannel(t *testing.T) {
	r := shared(t)
	opts := redis.Options{URL: r.url(), Key: "t-specific", PublishOnSpecificResponseChannel: true}
	nodes := newCluster(t, 2, opts, nil)
	opts.PublishOnSpecificResponseChannel = false
	plain := newNode(t, opts, nil)
	waitFor(t, wait, func() bool { n, _ := plain.ns().ServerCount(context.Background()); return n == 3 })
	clients := []*client{dial(t, nodes[0]), dial(t, nodes[1]), dial(t, plain)}
	for _, n := range append(nodes, plain) {
		socks, err := n.ns().FetchSockets(ctxT(t))
		if err != nil || len(socks) != 3 {
			t.Fatalf("%d sockets, %v", len(socks), err)
		}
	}
	if err := nodes[0].ns().In(clients[2].sid).SocketsJoin(ctxT(t), "x"); err != nil {
		t.Fatal(err)
	}
	_ = plain.ns().To("x").Emit(ctxT(t), "x", 1)
	expectEvent(t, clients[2], "x", "1")
}
