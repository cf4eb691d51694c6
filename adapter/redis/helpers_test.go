package redis_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/switchboard-io/switchboard/adapter/redis"
	"github.com/switchboard-io/switchboard/internal/freeport"
	"github.com/switchboard-io/switchboard/internal/leakcheck"
	"github.com/switchboard-io/switchboard/parser"
	"github.com/switchboard-io/switchboard/socketio"
)

const redisBin = "/usr/bin/redis-server"

// quietLogger keeps the adapters' outage warnings out of non-verbose runs.
var quietLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

// redisServer is a redis-server process on a free loopback port.
type redisServer struct {
	port     int
	cluster  bool          // cluster mode, with its bus on port bus
	bus      int           // set by launch
	extra    []string      // more arguments for redis-server
	password string        // sent with AUTH before each command, when set
	conf     func() string // when set, writes a Sentinel configuration and returns its path
	cmd      *exec.Cmd
	out      bytes.Buffer  // the process's output; read only after exited
	exited   chan struct{} // closed when the process has ended
}

func (r *redisServer) url() string { return "redis://127.0.0.1:" + strconv.Itoa(r.port) }

var (
	sharedOnce  sync.Once
	sharedRedis *redisServer
	sharedErr   error
)

func TestMain(m *testing.M) {
	if _, err := os.Stat(redisBin); err != nil {
		fmt.Printf("FAIL: redis-server not installed at %s: the Redis adapter tests need it (Debian package redis-server)\n", redisBin)
		os.Exit(1)
	}
	sharedOnce.Do(func() {
		sharedRedis = &redisServer{}
		sharedErr = sharedRedis.launch()
	})
	if sharedErr != nil {
		fmt.Println(sharedErr)
		os.Exit(1)
	}
	os.Setenv("SWITCHBOARD_EXAMPLE_REDIS", sharedRedis.url())
	// Every adapter must be closed by its test: a subscriber, reader or
	// ticker left behind fails the package.
	leakcheck.MainAfter(m, func() {
		if sharedRedis != nil {
			sharedRedis.stop()
		}
		stopSharedCluster()
	}, "switchboard-io/switchboard/", "rueidis")
}

// shared returns the package's Redis server, started on first use. Tests
// isolate themselves with a Key of their own.
func shared(t testing.TB) *redisServer {
	t.Helper()
	requireRedis(t)
	sharedOnce.Do(func() {
		sharedRedis = &redisServer{}
		sharedErr = sharedRedis.launch()
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedRedis
}

// requireRedis fails the test when redis-server is missing: a missing
// server must not pass for a working adapter.
func requireRedis(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(redisBin); err != nil {
		t.Fatalf("redis-server not installed at %s (Debian package redis-server): the Redis adapter tests need it", redisBin)
	}
}

// ownRedis starts a Redis server for one test (stopped at cleanup).
func ownRedis(t testing.TB) *redisServer {
	t.Helper()
	requireRedis(t)
	r := &redisServer{}
	if err := r.launch(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.stop)
	return r
}

func freePort() int {
	port, err := freeport.Pick()
	if err != nil {
		panic(err)
	}
	return port
}

// errExited is start's error when the process ended before it served, most
// often because another process bound one of its ports first.
var errExited = errors.New("redis-server exited before serving")

// launch starts r on ports chosen now (its port, and its cluster bus port
// in cluster mode), and again on new ones when the process ends before it
// serves: another process may bind a chosen port first (go test runs
// packages in parallel).
func (r *redisServer) launch() error {
	var err error
	for range 5 {
		r.port = freePort()
		if r.cluster {
			r.bus = freePort()
		}
		if err = r.start(); !errors.Is(err, errExited) {
			return err
		}
	}
	return err
}

// start runs redis-server on r's ports and waits until it answers PING.
// When the process ends first, the error carries the end of its output.
func (r *redisServer) start() error {
	args := []string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	if r.cluster {
		args = append(args, "--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(r.bus))
	}
	if r.conf != nil { // a configuration file comes first
		args = []string{r.conf(), "--sentinel"}
	}
	r.out.Reset()
	r.cmd = exec.Command(redisBin, append(args, r.extra...)...)
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	dieWithTest(r.cmd)
	if err := r.cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	r.exited = exited
	go func(cmd *exec.Cmd) { _ = cmd.Wait(); close(exited) }(r.cmd)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return r.exitError()
		default:
		}
		if reply, err := r.text("PING"); err == nil && reply == "PONG" {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.stop()
	return fmt.Errorf("redis-server on port %d did not answer PING within 10s:\n%s", r.port, r.tail())
}

// exitError is errExited with the port and the end of the process's output.
func (r *redisServer) exitError() error {
	r.cmd = nil
	return fmt.Errorf("%w (port %d, bus %d):\n%s", errExited, r.port, r.bus, r.tail())
}

// tail is the last lines of the process's output; call it only once the
// process has exited.
func (r *redisServer) tail() string {
	lines := strings.Split(strings.TrimSpace(r.out.String()), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], "\n")
}

// stop kills the server by pid and waits for it.
func (r *redisServer) stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	<-r.exited
	r.cmd = nil
}

// node is one Socket.IO server with its own Redis adapter and HTTP server.
type node struct {
	srv  *socketio.Server
	a    *redis.Adapter
	http *httptest.Server
}

func (n *node) ns() *socketio.Namespace { return n.srv.Of("/") }

// newNode starts a node; setup runs before it serves.
func newNode(t testing.TB, opts redis.Options, setup func(*socketio.Server)) *node {
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
	srv := socketio.NewServer(&socketio.Options{Adapter: a.Factory()})
	if setup != nil {
		setup(srv)
	}
	return serveNode(t, srv, a)
}

// serveNode serves srv over HTTP until the test ends, then shuts down the
// server and closes the adapter a.
func serveNode(t testing.TB, srv *socketio.Server, a *redis.Adapter) *node {
	n := &node{srv: srv, a: a, http: httptest.NewServer(srv)}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.http.CloseClientConnections()
		_ = srv.Shutdown(ctx)
		n.http.Close()
		_ = a.Close()
	})
	return n
}

// newCluster starts count nodes on one key and waits until each sees all.
func newCluster(t testing.TB, count int, opts redis.Options, setup func(i int, s *socketio.Server)) []*node {
	t.Helper()
	nodes := make([]*node, count)
	for i := range nodes {
		nodes[i] = newNode(t, opts, func(s *socketio.Server) {
			if setup != nil {
				setup(i, s)
			}
		})
	}
	for _, n := range nodes {
		waitFor(t, 5*time.Second, func() bool {
			c, err := n.ns().ServerCount(context.Background())
			return err == nil && c == count
		})
	}
	return nodes
}

func waitFor(t testing.TB, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// client is a minimal raw Socket.IO client over WebSocket (EIO=4).
type client struct {
	t       testing.TB
	conn    net.Conn
	r       io.Reader
	wmu     sync.Mutex
	sid     string
	packets chan *parser.Packet
	closed  chan struct{}
}

// dial connects to the main namespace of n.
func dial(t testing.TB, n *node) *client {
	t.Helper()
	url := "ws" + strings.TrimPrefix(n.http.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, br, _, err := ws.Dial(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, conn: conn, r: conn, packets: make(chan *parser.Packet, 256), closed: make(chan struct{})}
	if br != nil {
		c.r = br
	}
	t.Cleanup(func() { conn.Close() })
	if msg, err := c.read(); err != nil || msg[0] != '0' {
		t.Fatalf("open packet: %q %v", msg, err)
	}
	c.send("40")
	msg, err := c.read()
	if err != nil || !strings.HasPrefix(string(msg), "40{") {
		t.Fatalf("connect reply: %q %v", msg, err)
	}
	var reply struct{ SID string }
	_ = json.Unmarshal(msg[2:], &reply)
	c.sid = reply.SID
	go c.readLoop()
	return c
}

func (c *client) read() ([]byte, error) {
	data, _, err := wsutil.ReadServerData(struct {
		io.Reader
		io.Writer
	}{c.r, c.conn})
	return data, err
}

func (c *client) send(s string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = wsutil.WriteClientMessage(c.conn, ws.OpText, []byte(s))
}

func (c *client) readLoop() {
	defer close(c.closed)
	var dec parser.Decoder
	for {
		data, op, err := wsutil.ReadServerData(struct {
			io.Reader
			io.Writer
		}{c.r, c.conn})
		if err != nil {
			return
		}
		var p *parser.Packet
		if op == ws.OpBinary {
			p, err = dec.DecodeBinary(data)
		} else if len(data) > 0 && data[0] == '2' {
			c.send("3")
			continue
		} else if len(data) > 0 && data[0] == '4' {
			p, err = dec.DecodeText(data[1:])
		}
		if err != nil {
			c.t.Errorf("client decode %q: %v", data, err)
			return
		}
		if p != nil {
			c.packets <- p
		}
	}
}

// next returns the next packet, failing after d.
func (c *client) next(d time.Duration) *parser.Packet {
	c.t.Helper()
	select {
	case p := <-c.packets:
		return p
	case <-time.After(d):
		c.t.Fatalf("client %s: no packet within %v", c.sid, d)
		return nil
	}
}

// event returns the next event's name and arguments.
func (c *client) event(d time.Duration) (*parser.Packet, string, []parser.Arg) {
	c.t.Helper()
	p := c.next(d)
	name, args, err := p.Event()
	if err != nil {
		c.t.Fatalf("client %s: not an event: %+v (%v)", c.sid, p, err)
	}
	return p, name, args
}

// none checks that no packet arrives within d.
func (c *client) none(d time.Duration) {
	c.t.Helper()
	select {
	case p := <-c.packets:
		c.t.Fatalf("client %s: unexpected packet %s", c.sid, p.Encode())
	case <-time.After(d):
	}
}

// ack answers an event's ack with a JSON argument list.
func (c *client) ack(id uint64, argsJSON string) {
	c.send("43" + strconv.FormatUint(id, 10) + argsJSON)
}

// TestStartSeesPortTaken: a server whose port another process holds ends
// at once, and start says why in the error launch retries on.
func TestStartSeesPortTaken(t *testing.T) {
	requireRedis(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := &redisServer{port: l.Addr().(*net.TCPAddr).Port}
	if err := r.start(); !errors.Is(err, errExited) || !strings.Contains(err.Error(), "Address already in use") {
		r.stop()
		t.Fatalf("start on a taken port: %v, want errExited with the reason", err)
	}
}
