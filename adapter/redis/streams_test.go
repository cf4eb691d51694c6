package redis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/adapter/redis"
	sioclient "github.com/switchboard-io/switchboard/client"
	"github.com/switchboard-io/switchboard/internal/clusterwire"
	"github.com/switchboard-io/switchboard/parser"
	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

// streamsOpts returns streams-mode options on r with keys of the test's own.
func streamsOpts(t *testing.T, r *redisServer) redis.Options {
	key := "t-" + strings.ReplaceAll(t.Name(), "/", "-")
	return redis.Options{URL: r.url(), Key: key, RequestsTimeout: 2 * time.Second,
		Streams: &redis.StreamsOptions{StreamName: key, SessionKeyPrefix: key + ":session:"}}
}

// recoveryCluster starts count streams-mode nodes with connection state
// recovery; their sockets are kept in sockets (by id, latest first).
type recoveryCluster struct {
	nodes   []*node
	mu      sync.Mutex
	sockets map[string]*socketio.Socket
}

func newRecoveryCluster(t *testing.T, count int, opts redis.Options) *recoveryCluster {
	t.Helper()
	rc := &recoveryCluster{sockets: map[string]*socketio.Socket{}}
	for range count {
		rc.nodes = append(rc.nodes, newRecoveryNode(t, opts, rc))
	}
	for _, n := range rc.nodes {
		waitFor(t, 5*time.Second, func() bool {
			c, err := n.ns().ServerCount(context.Background())
			return err == nil && c == count
		})
	}
	return rc
}

func newRecoveryNode(t *testing.T, opts redis.Options, rc *recoveryCluster) *node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if opts.Logger == nil && !testing.Verbose() {
		opts.Logger = quietLogger
	}
	a, err := redis.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := socketio.NewServer(&socketio.Options{Adapter: a.Factory(), Logger: opts.Logger,
		ConnectionStateRecovery: &socketio.RecoveryOptions{MaxDisconnectionDuration: time.Minute}})
	srv.OnConnection(func(s *socketio.Socket) {
		rc.mu.Lock()
		rc.sockets[s.ID()] = s
		rc.mu.Unlock()
	})
	return serveNode(t, srv, a)
}

// kill stops a node abruptly: its adapter first (nothing is persisted any
// more, as after kill -9), then every client connection (hijacked
// WebSockets included).
func (n *node) kill() {
	_ = n.a.Close()
	n.http.CloseClientConnections()
	for _, c := range n.srv.Engine().Conns() {
		c.Close()
	}
}

// front is a WebSocket-capable reverse proxy that sends each new
// connection to the next of its targets (round robin).
type front struct {
	srv     *httptest.Server
	targets atomic.Pointer[[]*url.URL]
	next    atomic.Uint64
}

func newFront(t *testing.T, nodes ...*node) *front {
	f := &front{}
	f.route(nodes...)
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		ts := *f.targets.Load()
		r.SetURL(ts[f.next.Add(1)%uint64(len(ts))])
	}, ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }}
	f.srv = httptest.NewServer(rp)
	t.Cleanup(func() { f.srv.CloseClientConnections(); f.srv.Close() })
	return f
}

func (f *front) route(nodes ...*node) {
	ts := make([]*url.URL, len(nodes))
	for i, n := range nodes {
		ts[i], _ = url.Parse(n.http.URL)
	}
	f.targets.Store(&ts)
}

// seqClient is a Go client recording the events it receives.
type seqClient struct {
	s   *sioclient.Socket
	mu  sync.Mutex
	got []string // "<event>:<n>" in arrival order
}

func dialSeq(t *testing.T, url string, events ...string) *seqClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := sioclient.Dial(ctx, url, &sioclient.Options{Transports: []string{"websocket"},
		ReconnectionDelay: 20 * time.Millisecond, ReconnectionDelayMax: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	c := &seqClient{s: s}
	for _, ev := range events {
		s.On(ev, func(e *sioclient.Event) {
			var n int
			_ = e.Decode(&n)
			c.mu.Lock()
			c.got = append(c.got, fmt.Sprintf("%s:%d", ev, n))
			c.mu.Unlock()
		})
	}
	return c
}

func (c *seqClient) events() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

func (c *seqClient) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

// checkExact fails unless got is exactly event:0 … event:n-1 for each event
// (in order per event, no gap, no duplicate).
func checkExact(t *testing.T, who string, got []string, n int, events ...string) {
	t.Helper()
	for _, ev := range events {
		next := 0
		for _, g := range got {
			name, num, _ := strings.Cut(g, ":")
			if name != ev {
				continue
			}
			if num != fmt.Sprint(next) {
				t.Fatalf("%s: %s:%s where %s:%d was due (%d events)", who, ev, num, ev, next, len(got))
			}
			next++
		}
		if next != n {
			t.Fatalf("%s: %d %s events, want %d", who, next, ev, n)
		}
	}
}

// waitAll waits until every client got n events, then a little more (for
// duplicates to show), and reports those that did not.
func waitAll(t *testing.T, cs []*seqClient, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		done := true
		for _, c := range cs {
			done = done && c.count() >= n
		}
		if done {
			time.Sleep(50 * time.Millisecond)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i, c := range cs {
		if got := c.count(); got < n {
			t.Errorf("client %d: %d events of %d (recovered %v, connected %v)", i, got, n, c.s.Recovered(), c.s.Connected())
		}
	}
	t.FailNow()
}

// publish emits event with 0…n-1 from srv, one every gap; at calls f(i)
// before event i.
func publish(t *testing.T, srv *socketio.Server, event string, n int, gap time.Duration, at func(i int)) {
	for i := range n {
		if at != nil {
			at(i)
		}
		if err := srv.Of("/").Emit(context.Background(), event, i); err != nil {
			t.Errorf("emit %d: %v", i, err)
			return
		}
		time.Sleep(gap)
	}
}

// TestStreamsRecoveryAfterNodeDeath: clients on node 1, which dies
// abruptly (no session written at disconnect) while node 3 broadcasts,
// reconnect to nodes 2 and 3, recover their sessions (written while they
// were connected) and end with every event exactly once, in order.
func TestStreamsRecoveryAfterNodeDeath(t *testing.T) {
	r := ownRedis(t)
	rc := newRecoveryCluster(t, 3, streamsOpts(t, r))
	nodes := rc.nodes
	fr := newFront(t, nodes[0])
	const clients, total = 20, 600
	cs := make([]*seqClient, clients)
	for i := range cs {
		cs[i] = dialSeq(t, fr.srv.URL, "seq")
	}
	waitFor(t, 5*time.Second, func() bool { return nodes[0].a.Stats().LiveSessions == clients })
	publish(t, nodes[2].srv, "seq", total, 2*time.Millisecond, func(i int) {
		if i == total*3/10 {
			fr.route(nodes[1], nodes[2])
			nodes[0].kill()
		}
	})
	waitAll(t, cs, total)
	for i, c := range cs {
		checkExact(t, fmt.Sprintf("client %d", i), c.events(), total, "seq")
		if !c.s.Recovered() {
			t.Errorf("client %d not recovered", i)
		}
	}
	var recovered, failed int64
	for _, n := range nodes[1:] {
		s := n.srv.Stats()
		recovered, failed = recovered+s.Recovered, failed+s.RecoveryFailed
	}
	if recovered != clients || failed != 0 {
		t.Fatalf("recovered %d, failed %d; want %d, 0", recovered, failed, clients)
	}
}

// TestStreamsExactUnderConcurrentBroadcasts: two nodes broadcast at once
// while clients are disconnected again and again (transport closes) and
// recover on other nodes: every client ends with both sequences exactly,
// and all clients saw the events in the same order (the stream's).
func TestStreamsExactUnderConcurrentBroadcasts(t *testing.T) {
	r := ownRedis(t)
	rc := newRecoveryCluster(t, 3, streamsOpts(t, r))
	nodes := rc.nodes
	fr := newFront(t, nodes...)
	const clients, total = 15, 400
	cs := make([]*seqClient, clients)
	for i := range cs {
		cs[i] = dialSeq(t, fr.srv.URL, "a", "b")
	}
	var wg sync.WaitGroup
	for i, ev := range []string{"a", "b"} {
		wg.Go(func() { publish(t, nodes[i+1].srv, ev, total, 2*time.Millisecond, nil) })
	}
	closes := 0
	for range 12 {
		time.Sleep(60 * time.Millisecond)
		if closeRandomSocket(rc, cs) {
			closes++
		}
	}
	wg.Wait()
	waitAll(t, cs, 2*total)
	ref := cs[0].events()
	for i, c := range cs {
		got := c.events()
		checkExact(t, fmt.Sprintf("client %d", i), got, total, "a", "b")
		if !slices.Equal(got, ref) {
			t.Fatalf("client %d saw another order than client 0", i)
		}
	}
	var recovered, failed int64
	for _, n := range nodes {
		s := n.srv.Stats()
		recovered, failed = recovered+s.Recovered, failed+s.RecoveryFailed
	}
	if recovered < int64(closes) || failed != 0 {
		t.Fatalf("recovered %d, failed %d after %d transport closes", recovered, failed, closes)
	}
}

// closeRandomSocket closes the transport of a connected client's socket.
func closeRandomSocket(rc *recoveryCluster, cs []*seqClient) bool {
	c := cs[rand.N(len(cs))]
	id := c.s.ID()
	rc.mu.Lock()
	s := rc.sockets[id]
	rc.mu.Unlock()
	if s == nil || !s.Connected() {
		return false
	}
	s.Conn().Close()
	return true
}

// TestStreamsRedisRestart restarts Redis (no persistence) in the middle of
// a broadcast stream: connected clients stay connected and get every event
// exactly once, in order; the nodes count the reset and rewrite their live
// sessions.
func TestStreamsRedisRestart(t *testing.T) {
	r := ownRedis(t)
	rc := newRecoveryCluster(t, 3, streamsOpts(t, r))
	nodes := rc.nodes
	fr := newFront(t, nodes...)
	const clients, total = 9, 500
	cs := make([]*seqClient, clients)
	for i := range cs {
		cs[i] = dialSeq(t, fr.srv.URL, "seq")
	}
	publish(t, nodes[1].srv, "seq", total, 2*time.Millisecond, func(i int) {
		if i == total*3/10 {
			r.stop()
			time.Sleep(300 * time.Millisecond)
			if err := r.start(); err != nil {
				t.Error(err)
			}
		}
	})
	waitAll(t, cs, total)
	for i, c := range cs {
		checkExact(t, fmt.Sprintf("client %d", i), c.events(), total, "seq")
	}
	for _, n := range nodes {
		if s := n.srv.Stats(); s.Disconnects != 0 {
			t.Fatalf("clients disconnected: %+v", s)
		}
	}
	s := nodes[1].a.Stats()
	if s.StreamResets == 0 || s.AppendsDropped != 0 || s.LossesDetected != 0 {
		t.Fatalf("publisher stats %+v", s)
	}
	// The live sessions are back in Redis.
	waitFor(t, 5*time.Second, func() bool {
		var live int64
		for _, n := range nodes {
			live += n.a.Stats().LiveSessions
		}
		return live == clients
	})
}

// TestStreamsRecoveryReplacesAStaleSocket: in streams mode the session of
// a connected socket is in Redis, so a client can reconnect with it while
// this node still holds its previous socket (the client gave that
// connection up before the node noticed). The client gets its socket back,
// with what it missed, and keeps receiving: the stale socket is closed
// first and its leaving never takes the recovered one out of its rooms.
func TestStreamsRecoveryReplacesAStaleSocket(t *testing.T) {
	opts := streamsOpts(t, shared(t))
	rc := newRecoveryCluster(t, 1, opts)
	n := rc.nodes[0]
	joined := make(chan struct{}, 2)
	n.srv.OnConnection(func(s *socketio.Socket) { s.Join("board"); joined <- struct{}{} })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	old, err := socketiotest.Dial(ctx, n.http.URL+"/socket.io/", "websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	reply, err := old.ConnectRaw(ctx, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids struct{ SID, PID string }
	_ = json.Unmarshal(reply.Data, &ids)
	waitFor(t, 5*time.Second, func() bool { return n.a.Stats().LiveSessions == 1 })
	select {
	case <-joined:
	case <-ctx.Done():
		t.Fatal("the connection handler did not run")
	}
	// The room joined by the handler reaches the stored session (its
	// write follows the one of the connection, which has no room yet).
	waitFor(t, 5*time.Second, func() bool {
		return slices.Contains(storedRooms(t, shared(t), opts.Streams.SessionKeyPrefix+ids.PID), "board")
	})
	seq := func(i int) { _ = n.srv.To("board").Emit(context.Background(), "seq", i) }
	seq(1)
	offset := nextSeq(t, ctx, old)[1]
	seq(2) // reaches the stale socket only: the client has given it up
	c, err := socketiotest.Dial(ctx, n.http.URL+"/socket.io/", "websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p, err := c.ConnectRaw(ctx, "/", map[string]string{"pid": ids.PID, "offset": offset})
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ SID string }
	if _ = json.Unmarshal(p.Data, &got); got.SID != ids.SID {
		t.Fatalf("CONNECT reply %s, want the recovered socket %s", p.Data, ids.SID)
	}
	seq(3)
	for _, want := range []string{"2", "3"} {
		if args := nextSeq(t, ctx, c); args[0] != want {
			t.Fatalf("got seq %s, want %s", args[0], want)
		}
	}
	if st := n.srv.Stats(); st.Recovered != 1 || st.RecoveryFailed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// storedRooms returns the rooms of the session stored under key (none
// when there is no such key).
func storedRooms(t *testing.T, r *redisServer, key string) []string {
	t.Helper()
	v, err := r.text("GET " + key)
	if err != nil {
		return nil
	}
	sess, err := clusterwire.DecodeSession(v)
	if err != nil {
		t.Fatalf("stored session %q: %v", v, err)
	}
	return sess.Rooms
}

// nextSeq reads the next "seq" event of c: its argument and its offset.
func nextSeq(t *testing.T, ctx context.Context, c *socketiotest.Client) [2]string {
	t.Helper()
	p, err := c.Next(ctx, func(p *parser.Packet) bool { return p.Type == parser.Event })
	if err != nil {
		t.Fatal(err)
	}
	var args []json.RawMessage
	if err := json.Unmarshal(p.Data, &args); err != nil || len(args) != 3 || string(args[0]) != `"seq"` {
		t.Fatalf("event %s: want [\"seq\", n, offset]", p.Data)
	}
	var offset string
	_ = json.Unmarshal(args[2], &offset)
	return [2]string{string(args[1]), offset}
}
