package cluster

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws/wsutil"
	"github.com/switchboard-io/switchboard/eio"
	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

// recorder is an Engine.IO handler that echoes messages and records which
// sessions this node's application saw.
type recorder struct {
	mu     sync.Mutex
	opened []string
}

func (h *recorder) OnOpen(c *engineio.Conn) {
	h.mu.Lock()
	h.opened = append(h.opened, c.ID())
	h.mu.Unlock()
}

func (h *recorder) OnMessage(c *engineio.Conn, data []byte, binary bool) {
	_ = c.Send(eio.NewMessage(append([]byte("echo:"), data...)))
}

func (h *recorder) OnClose(*engineio.Conn, string) {}

func (h *recorder) saw(sid string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range h.opened {
		if id == sid {
			return true
		}
	}
	return false
}

type testNode struct {
	node     *Node
	engine   *engineio.Server
	app      *recorder
	public   *httptest.Server
	internal *httptest.Server
}

// startNodes starts n nodes sharing reg and secret, each with a public and
// an internal listener on loopback.
func startNodes(t *testing.T, n int, reg Registry, secret string) []*testNode {
	t.Helper()
	var nodes []*testNode
	for range n {
		nodes = append(nodes, startNode(t, reg, secret, nil))
	}
	return nodes
}

// startNode starts one node; wrap, when not nil, wraps the handler of its
// internal listener.
func startNode(t *testing.T, reg Registry, secret string, wrap func(http.Handler) http.Handler) *testNode {
	return startNodeWith(t, reg, secret, wrap, nil)
}

// startNodeWith is startNode with edit, when not nil, changing the node's
// options.
func startNodeWith(t *testing.T, reg Registry, secret string, wrap func(http.Handler) http.Handler,
	edit func(*Options)) *testNode {
	t.Helper()
	tn := &testNode{app: &recorder{}}
	tn.internal = httptest.NewUnstartedServer(nil)
	addr := tn.internal.Listener.Addr().String()
	opts := Options{AdvertiseAddr: addr, Secret: []byte(secret), Registry: reg, TTL: 3 * time.Second}
	if edit != nil {
		edit(&opts)
	}
	node, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	tn.node = node
	tn.engine = engineio.NewServer(tn.app, &engineio.Options{Router: node, GenerateID: node.GenerateID,
		OpenDelay: 500 * time.Millisecond})
	node.Attach(tn.engine)
	tn.internal.Config.Handler = node.Handler()
	if wrap != nil {
		tn.internal.Config.Handler = wrap(tn.internal.Config.Handler)
	}
	tn.internal.Start()
	tn.public = httptest.NewServer(tn.engine)
	if err := node.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tn.engine.Shutdown(ctx)
		tn.public.Close()
		tn.internal.Close()
		_ = node.Close(ctx)
	})
	return tn
}

func handshake(t *testing.T, base string) string {
	t.Helper()
	body, _ := get(t, base+"/?EIO=4&transport=polling")
	var open struct {
		SID string `json:"sid"`
	}
	if !strings.HasPrefix(body, "0") || json.Unmarshal([]byte(body[1:]), &open) != nil {
		t.Fatalf("handshake body %q", body)
	}
	return open.SID
}

func get(t *testing.T, url string) (string, int) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}

func post(t *testing.T, url, body string) (string, int) {
	t.Helper()
	resp, err := http.Post(url, "text/plain;charset=UTF-8", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}

// TestPollingAcrossNodes: every request of a polling session lands on a
// different node; the owner serves them all.
func TestPollingAcrossNodes(t *testing.T) {
	t.Parallel()
	nodes := startNodes(t, 3, NewMemoryRegistry(), "s3cret")
	sid := handshake(t, nodes[0].public.URL)
	if TagOf(sid) != nodes[0].node.Tag() {
		t.Fatalf("sid %q carries tag %q, want %q", sid, TagOf(sid), nodes[0].node.Tag())
	}
	q := "/?EIO=4&transport=polling&sid=" + sid
	if body, code := post(t, nodes[1].public.URL+q, "4hello"); code != 200 || body != "ok" {
		t.Fatalf("forwarded POST: %d %q", code, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	var got string
	for !strings.Contains(got, "echo:hello") && time.Now().Before(deadline) {
		body, code := get(t, nodes[2].public.URL+q)
		if code != 200 {
			t.Fatalf("forwarded GET: %d %q", code, body)
		}
		got += body
	}
	if !strings.Contains(got, "4echo:hello") {
		t.Fatalf("never got the echo through node 3: %q", got)
	}
	if !nodes[0].app.saw(sid) || nodes[1].app.saw(sid) || nodes[2].app.saw(sid) {
		t.Fatal("the session must open on its owner only")
	}
	if s := nodes[1].node.Stats(); s.Forwarded == 0 || s.ForwardedPosts != 1 {
		t.Fatalf("node 2 stats: %+v", s)
	}
	if s := nodes[0].node.Stats(); s.Served < 2 {
		t.Fatalf("owner stats: %+v", s)
	}
}

// TestUpgradeTakesOver: the WebSocket upgrade lands on another node before
// the application saw the session; the session moves there, and the
// messages posted before the move are delivered there.
func TestUpgradeTakesOver(t *testing.T) {
	t.Parallel()
	nodes := startNodes(t, 2, NewMemoryRegistry(), "s3cret")
	sid := handshake(t, nodes[0].public.URL)
	q := "/?EIO=4&transport=polling&sid=" + sid
	if _, code := post(t, nodes[0].public.URL+q, "4early"); code != 200 {
		t.Fatalf("POST: %d", code)
	}
	wsURL := "ws" + strings.TrimPrefix(nodes[1].public.URL, "http") + "/?EIO=4&transport=websocket&sid=" + sid
	conn, err := dialWS(wsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	send := func(s string) {
		if err := wsutil.WriteClientText(conn, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	read := func() string {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := wsutil.ReadServerText(conn)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	send("2probe")
	if m := read(); m != "3probe" {
		t.Fatalf("probe answer %q", m)
	}
	send("5")
	if m := read(); m != "4echo:early" {
		t.Fatalf("first message after the move = %q, want the echo of the early POST", m)
	}
	send("4late")
	if m := read(); m != "4echo:late" {
		t.Fatalf("got %q", m)
	}
	if nodes[0].app.saw(sid) || !nodes[1].app.saw(sid) {
		t.Fatal("the application must see the session on the node that took it over only")
	}
	if nodes[1].node.Stats().Takeovers != 1 || nodes[0].node.Stats().Released != 1 {
		t.Fatalf("stats: taker %+v owner %+v", nodes[1].node.Stats(), nodes[0].node.Stats())
	}
	// A polling request that still reaches the old owner is sent on to the
	// new one, which rejects polling after the upgrade, as Node does.
	if body, code := get(t, nodes[0].public.URL+q); code != 400 || !strings.Contains(body, `"code":3`) {
		t.Fatalf("polling after the move: %d %q", code, body)
	}
}

// TestUpgradeProxiedWhenOpened: once the application saw the session, the
// upgrade cannot move it; the WebSocket is proxied to the owner.
func TestUpgradeProxiedWhenOpened(t *testing.T) {
	t.Parallel()
	nodes := startNodes(t, 2, NewMemoryRegistry(), "s3cret")
	sid := handshake(t, nodes[0].public.URL)
	deadline := time.Now().Add(5 * time.Second)
	for !nodes[0].app.saw(sid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // OpenDelay passes
	}
	wsURL := "ws" + strings.TrimPrefix(nodes[1].public.URL, "http") + "/?EIO=4&transport=websocket&sid=" + sid
	conn, err := dialWS(wsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = wsutil.WriteClientText(conn, []byte("2probe"))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := wsutil.ReadServerText(conn); err != nil || string(b) != "3probe" {
		t.Fatalf("probe through the proxy: %q %v", b, err)
	}
	_ = wsutil.WriteClientText(conn, []byte("5"))
	_ = wsutil.WriteClientText(conn, []byte("4x"))
	if b, err := wsutil.ReadServerText(conn); err != nil || string(b) != "4echo:x" {
		t.Fatalf("echo through the proxy: %q %v", b, err)
	}
	if s := nodes[1].node.Stats(); s.TakeoversRefused != 1 || s.ProxiedWebSockets != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestUpgradeRehomedWhenOpened: with Options.Rehome, an upgrade that
// reaches another node after the application saw the session is refused
// there and the owner closes the session (its client reconnects): no
// WebSocket is proxied. A draining node asks for the same.
func TestUpgradeRehomedWhenOpened(t *testing.T) {
	t.Parallel()
	reg := NewMemoryRegistry()
	rehome := func(o *Options) { o.Rehome = true }
	owner := startNodeWith(t, reg, "s3cret", nil, rehome)
	other := startNodeWith(t, reg, "s3cret", nil, rehome)
	for i, draining := range []bool{false, true} {
		if draining {
			other.engine.StopAccepting()
		}
		sid := handshake(t, owner.public.URL)
		deadline := time.Now().Add(5 * time.Second)
		for !owner.app.saw(sid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond) // OpenDelay passes
		}
		poll := make(chan string, 1)
		go func() { body, _ := get(t, owner.public.URL+"/?EIO=4&transport=polling&sid="+sid); poll <- body }()
		wsURL := "ws" + strings.TrimPrefix(other.public.URL, "http") + "/?EIO=4&transport=websocket&sid=" + sid
		if conn, err := dialWS(wsURL); err == nil {
			conn.Close()
			t.Fatalf("draining %v: the late upgrade was served (proxied)", draining)
		}
		select {
		case body := <-poll:
			// "1" answers a pending GET; a GET that came after the close
			// gets it behind a noop, as in Node.
			if body != "1" && body != "6\x1e1" {
				t.Fatalf("draining %v: the client's poll got %q, want the close packet", draining, body)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("draining %v: the session was not closed", draining)
		}
		if s := other.node.Stats(); s.RehomedUpgrades != int64(i+1) || s.ProxiedWebSockets != 0 || s.Takeovers != 0 {
			t.Fatalf("draining %v: stats %+v", draining, s)
		}
		if s := owner.engine.Stats(); s.Rehomed != int64(i+1) {
			t.Fatalf("draining %v: owner's engine stats %+v", draining, s)
		}
	}
}

// TestOwnerGone: the owner's registration is gone; the client gets Node's
// unknown-session error.
func TestOwnerGone(t *testing.T) {
	t.Parallel()
	reg := NewMemoryRegistry()
	nodes := startNodes(t, 2, reg, "s3cret")
	sid := handshake(t, nodes[0].public.URL)
	_ = reg.Deregister(context.Background(), nodes[0].node.Tag())
	body, code := get(t, nodes[1].public.URL+"/?EIO=4&transport=polling&sid="+sid)
	if code != 400 || body != `{"code":1,"message":"Session ID unknown"}` {
		t.Fatalf("got %d %q", code, body)
	}
}

// TestForgedHop: a request to the internal endpoints without the secret,
// or signed with another secret, is refused.
func TestForgedHop(t *testing.T) {
	t.Parallel()
	nodes := startNodes(t, 1, NewMemoryRegistry(), "s3cret")
	sid := handshake(t, nodes[0].public.URL)
	base := nodes[0].internal.URL + "/cluster/"
	if _, code := post(t, base+"release?sid="+sid, ""); code != http.StatusForbidden {
		t.Fatalf("unsigned release: %d", code)
	}
	if _, code := get(t, base+"forward/?EIO=4&transport=polling&sid="+sid); code != http.StatusForbidden {
		t.Fatalf("unsigned forward: %d", code)
	}
	forger, _ := New(Options{AdvertiseAddr: "127.0.0.1:1", Secret: []byte("wrong"), Registry: NewMemoryRegistry()})
	uri := "/cluster/release?sid=" + sid
	req, _ := http.NewRequest(http.MethodPost, nodes[0].internal.URL+uri, nil)
	forger.sign(req, nodes[0].node.opts.AdvertiseAddr, uri, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("wrongly signed release: %d", resp.StatusCode)
	}
	if nodes[0].node.Stats().RefusedUnsigned != 3 || nodes[0].engine.Conn(sid) == nil {
		t.Fatal("forged requests must be counted and must not touch the session")
	}
}

func TestTagOf(t *testing.T) {
	t.Parallel()
	tag := NewTag()
	n, err := New(Options{Tag: tag, AdvertiseAddr: "127.0.0.1:1", Secret: []byte("x"), Registry: NewMemoryRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		id, _ := n.GenerateID(nil)
		if len(id) != 20 || TagOf(id) != tag {
			t.Fatalf("id %q tag %q", id, TagOf(id))
		}
	}
	for _, bad := range []string{"", "short", "!!!!!!!!!!!!!!!!!!!!"} {
		if TagOf(bad) != "" {
			t.Fatalf("TagOf(%q) should be empty", bad)
		}
	}
}

// dialWS dials a WebSocket speaking raw frames.
func dialWS(url string) (net.Conn, error) {
	return socketiotest.DialRawWebSocket(context.Background(), url)
}
