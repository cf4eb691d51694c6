package cluster

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws/wsutil"
)

// hop is a request as a node's internal listener received it.
type hop struct {
	method, uri string
	header      http.Header
	body        []byte
}

// wiretap records the requests that reach a node's internal listener, as
// someone on the network between nodes could.
type wiretap struct {
	mu   sync.Mutex
	hops []hop
}

func (tap *wiretap) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		tap.mu.Lock()
		tap.hops = append(tap.hops, hop{r.Method, r.URL.RequestURI(), r.Header.Clone(), body})
		tap.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// last returns the last request recorded.
func (tap *wiretap) last(t *testing.T) hop {
	t.Helper()
	tap.mu.Lock()
	defer tap.mu.Unlock()
	if len(tap.hops) == 0 {
		t.Fatal("no request reached the internal listener")
	}
	return tap.hops[len(tap.hops)-1]
}

// send sends h, with body, to the internal listener at base and returns
// the status.
func (h hop) send(t *testing.T, base string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(h.method, base+h.uri, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h.header {
		if k != "Content-Length" {
			req.Header[k] = v
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// tappedNodes starts two nodes; the first one's internal listener is
// tapped.
func tappedNodes(t *testing.T) (owner, other *testNode, tap *wiretap) {
	t.Helper()
	reg := NewMemoryRegistry()
	tap = &wiretap{}
	return startNode(t, reg, "s3cret", tap.wrap), startNode(t, reg, "s3cret", nil), tap
}

// v2Signature matches headerSignature: v2.<unix seconds>.<boot id>.<sequence>.<mac>.
var v2Signature = regexp.MustCompile(`^v2\.[0-9]+\.[0-9a-f]{32}\.[1-9][0-9]*\.[0-9a-f]{64}$`)

// TestHopReplayRefused: a forwarded POST captured on the wire and sent
// again, as is or with another body, is refused and counted; the session
// gets the real packets once and the forged ones never.
func TestHopReplayRefused(t *testing.T) {
	t.Parallel()
	owner, other, tap := tappedNodes(t)
	sid := handshake(t, owner.public.URL)
	q := "/?EIO=4&transport=polling&sid=" + sid
	if body, code := post(t, other.public.URL+q, "4hello"); code != 200 || body != "ok" {
		t.Fatalf("forwarded POST: %d %q", code, body)
	}
	h := tap.last(t)
	sum := sha256.Sum256([]byte("4hello"))
	if string(h.body) != "4hello" || !v2Signature.MatchString(h.header.Get(headerSignature)) ||
		h.header.Get(headerBodyDigest) != hex.EncodeToString(sum[:]) {
		t.Fatalf("the hop carries %q, signature %q, digest %q", h.body, h.header.Get(headerSignature), h.header.Get(headerBodyDigest))
	}
	base := owner.internal.URL
	if code := h.send(t, base, h.body); code != http.StatusForbidden {
		t.Fatalf("replayed as is: %d", code)
	}
	if code := h.send(t, base, []byte("4evil")); code != http.StatusForbidden {
		t.Fatalf("replayed with another body: %d", code)
	}
	evil := sha256.Sum256([]byte("4evil"))
	h.header.Set(headerBodyDigest, hex.EncodeToString(evil[:]))
	if code := h.send(t, base, []byte("4evil")); code != http.StatusForbidden {
		t.Fatalf("replayed with another body and its digest: %d", code)
	}
	if s := owner.node.Stats(); s.RefusedReplays != 1 || s.RefusedDigests != 1 || s.RefusedUnsigned != 1 {
		t.Fatalf("owner stats %+v, want 1 replay, 1 bad digest, 1 bad signature", s)
	}
	if body, code := post(t, other.public.URL+q, "4again"); code != 200 || body != "ok" {
		t.Fatalf("a fresh forwarded POST: %d %q", code, body)
	}
	var got string
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(got, "echo:again") && time.Now().Before(deadline); {
		body, _ := get(t, owner.public.URL+q)
		got += body
	}
	if strings.Count(got, "echo:hello") != 1 || !strings.Contains(got, "echo:again") || strings.Contains(got, "evil") {
		t.Fatalf("the session got %q; want hello and again once each, no evil", got)
	}
}

// TestUpgradeHopReplayRefused: a proxied WebSocket upgrade carries a
// sequence number too; sent again, it is refused.
func TestUpgradeHopReplayRefused(t *testing.T) {
	t.Parallel()
	owner, other, tap := tappedNodes(t)
	sid := handshake(t, owner.public.URL)
	for deadline := time.Now().Add(5 * time.Second); !owner.app.saw(sid) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond) // OpenDelay passes: the upgrade is proxied
	}
	conn, err := dialWS("ws" + strings.TrimPrefix(other.public.URL, "http") + "/?EIO=4&transport=websocket&sid=" + sid)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	h := tap.last(t)
	if h.header.Get("Upgrade") == "" || !v2Signature.MatchString(h.header.Get(headerSignature)) {
		t.Fatalf("the upgrade hop: Upgrade %q, signature %q", h.header.Get("Upgrade"), h.header.Get(headerSignature))
	}
	if code := h.send(t, owner.internal.URL, nil); code != http.StatusForbidden {
		t.Fatalf("upgrade replayed: %d", code)
	}
	if s := owner.node.Stats(); s.RefusedReplays != 1 {
		t.Fatalf("owner stats %+v", s)
	}
	// The real upgrade goes on through the hop.
	_ = wsutil.WriteClientText(conn, []byte("2probe"))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := wsutil.ReadServerText(conn); err != nil || string(b) != "3probe" {
		t.Fatalf("probe through the proxy: %q %v", b, err)
	}
	_ = wsutil.WriteClientText(conn, []byte("5"))
}

// signedRelease is a release request signed by from for the node that
// advertises target, stamped at.
func signedRelease(from *Node, target string, body []byte, at time.Time) *http.Request {
	uri := "/cluster/release"
	r := httptest.NewRequest(http.MethodPost, "http://"+target+uri, bytes.NewReader(body))
	r.Header.Set(headerNode, "127.0.0.1:2")
	from.signAt(r, target, uri, body, at)
	return r
}

// serve passes r to n's Handler and returns the status. n (from
// newTestNode, at 127.0.0.1:1) has no engine: a request that passes
// verification gets 404 (no such session).
func serve(n *Node, r *http.Request) int {
	w := httptest.NewRecorder()
	n.Handler().ServeHTTP(w, r)
	return w.Code
}

// TestHopTimestampAndTarget: a signature stamped beyond the skew, either
// way, or made for another node is refused.
func TestHopTimestampAndTarget(t *testing.T) {
	t.Parallel()
	n := newTestNode(t, NewMemoryRegistry())
	now := time.Now()
	for _, c := range []struct {
		name   string
		target string
		at     time.Time
		want   int
	}{
		{"fresh", "127.0.0.1:1", now, http.StatusNotFound},
		{"within the skew", "127.0.0.1:1", now.Add(-maxSkew + 5*time.Second), http.StatusNotFound},
		{"expired", "127.0.0.1:1", now.Add(-maxSkew - 2*time.Second), http.StatusForbidden},
		{"from the future", "127.0.0.1:1", now.Add(maxSkew + 2*time.Second), http.StatusForbidden},
		{"for another node", "127.0.0.1:3", now, http.StatusForbidden},
	} {
		if code := serve(n, signedRelease(n, c.target, nil, c.at)); code != c.want {
			t.Errorf("%s: %d, want %d", c.name, code, c.want)
		}
	}
	if s := n.Stats(); s.RefusedUnsigned != 3 {
		t.Fatalf("stats %+v, want 3 refused", s)
	}
}

// TestHopReplayCacheFull: a node whose replay cache tracks as many
// senders as it can refuses hops from a new sender, and counts them, while
// the senders it tracks go on.
func TestHopReplayCacheFull(t *testing.T) {
	t.Parallel()
	reg := NewMemoryRegistry()
	n := newTestNode(t, reg)
	n.nonces = newReplayCache(2)
	a, b, c := newTestNode(t, reg), newTestNode(t, reg), newTestNode(t, reg)
	first := signedRelease(a, "127.0.0.1:1", nil, time.Now())
	again := first.Clone(first.Context())
	for _, h := range []struct {
		name string
		r    *http.Request
		want int
	}{
		{"a's first hop", first, http.StatusNotFound},
		{"b's first hop", signedRelease(b, "127.0.0.1:1", nil, time.Now()), http.StatusNotFound},
		{"a third sender", signedRelease(c, "127.0.0.1:1", nil, time.Now()), http.StatusForbidden},
		{"a's next hop", signedRelease(a, "127.0.0.1:1", nil, time.Now()), http.StatusNotFound},
		{"a's first hop again", again, http.StatusForbidden},
	} {
		if code := serve(n, h.r); code != h.want {
			t.Errorf("%s: %d, want %d", h.name, code, h.want)
		}
	}
	if s := n.Stats(); s.ReplayCacheFull != 1 || s.RefusedReplays != 1 || s.RefusedTooOld != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestHopSequence: a node signs each hop, whatever its target, with its
// boot id and the next sequence number; another node has another boot id.
func TestHopSequence(t *testing.T) {
	t.Parallel()
	reg := NewMemoryRegistry()
	a, b := newTestNode(t, reg), newTestNode(t, reg)
	var got []string
	for _, h := range []struct {
		from   *Node
		target string
	}{{a, "127.0.0.1:1"}, {a, "127.0.0.1:3"}, {b, "127.0.0.1:1"}, {a, "127.0.0.1:1"}} {
		sig := signedRelease(h.from, h.target, nil, time.Now()).Header.Get(headerSignature)
		if !v2Signature.MatchString(sig) {
			t.Fatalf("signature %q", sig)
		}
		parts := strings.Split(sig, ".")
		got = append(got, parts[2][:4]+"."+parts[3])
	}
	want := []string{a.nonces.bootID[:4] + ".1", a.nonces.bootID[:4] + ".2", b.nonces.bootID[:4] + ".1",
		a.nonces.bootID[:4] + ".3"}
	if strings.Join(got, " ") != strings.Join(want, " ") || a.nonces.bootID == b.nonces.bootID {
		t.Fatalf("boot ids and numbers %v, want %v", got, want)
	}
}

// TestHopOutOfOrder: hops from one sender that arrive out of order are
// served once each, down to windowSize-1 numbers behind the newest; a copy
// of a late one is refused, and so is a hop below the window, counted as
// too old.
func TestHopOutOfOrder(t *testing.T) {
	t.Parallel()
	reg := NewMemoryRegistry()
	n, from := newTestNode(t, reg), newTestNode(t, reg)
	release := func() *http.Request { return signedRelease(from, "127.0.0.1:1", nil, time.Now()) }
	var hops []*http.Request // numbered 1 to 4
	for range 4 {
		hops = append(hops, release())
	}
	late := release() // number 5
	copyOfLate := late.Clone(late.Context())
	from.nonces.seq.Add(windowSize - 2)
	for _, h := range []struct {
		name string
		r    *http.Request
		want int
	}{
		{"hop 4", hops[3], http.StatusNotFound},
		{"hop 2", hops[1], http.StatusNotFound},
		{"hop 1", hops[0], http.StatusNotFound},
		{"hop 3", hops[2], http.StatusNotFound},
		{"hop windowSize+4", release(), http.StatusNotFound},
		{"hop 5, windowSize-1 behind", late, http.StatusNotFound},
		{"a copy of hop 5", copyOfLate, http.StatusForbidden},
		{"hop windowSize+5", release(), http.StatusNotFound},
		{"a copy of hop 4, below the window", hops[3].Clone(hops[3].Context()), http.StatusForbidden},
	} {
		if code := serve(n, h.r); code != h.want {
			t.Errorf("%s: %d, want %d", h.name, code, h.want)
		}
	}
	if s := n.Stats(); s.RefusedReplays != 2 || s.RefusedTooOld != 1 {
		t.Fatalf("stats %+v, want 2 replays, 1 of them too old", s)
	}
}

// TestHopStaleOnceBodyRead: a hop whose timestamp passed the skew check
// when it arrived but is older than the skew by the time its body was read
// is refused: a slow copy cannot outlast its sender's state.
func TestHopStaleOnceBodyRead(t *testing.T) {
	t.Parallel()
	n := newTestNode(t, NewMemoryRegistry())
	n.nonces.now = func() time.Time { return time.Now().Add(maxSkew) } // as after a body read for 30 s
	if code := serve(n, signedRelease(n, "127.0.0.1:1", nil, time.Now().Add(-2*time.Second))); code != http.StatusForbidden {
		t.Fatalf("stale once its body was read: %d", code)
	}
	if s := n.Stats(); s.RefusedUnsigned != 1 {
		t.Fatalf("stats %+v, want 1 refused for its signature", s)
	}
}

// TestHopSignatureVersion: a hop signed by the v1 scheme (with a nonce),
// or whose v2 signature is malformed, is refused for its signature.
func TestHopSignatureVersion(t *testing.T) {
	t.Parallel()
	n := newTestNode(t, NewMemoryRegistry())
	v1 := signedRelease(n, "127.0.0.1:1", nil, time.Now())
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	nonce := strings.Repeat("5a", 16)
	h := hmac.New(sha256.New, n.secret)
	for _, part := range []string{"v1", http.MethodPost, "/cluster/release", "127.0.0.1:1", "127.0.0.1:2", "", ts, nonce,
		v1.Header.Get(headerBodyDigest)} {
		h.Write([]byte(part + "\n"))
	}
	v1.Header.Set(headerSignature, "v1."+ts+"."+nonce+"."+hex.EncodeToString(h.Sum(nil)))
	if code := serve(n, v1); code != http.StatusForbidden {
		t.Fatalf("a v1 hop: %d", code)
	}
	valid := signedRelease(n, "127.0.0.1:1", nil, time.Now()).Header.Get(headerSignature)
	p := strings.Split(valid, ".")
	for _, sig := range []string{
		strings.Join(p[:4], "."), // no mac
		strings.Join([]string{p[0], p[1], p[2][2:], p[3], p[4]}, "."), // short boot id
		strings.Join([]string{p[0], p[1], "zz" + p[2][2:], p[3], p[4]}, "."),
		strings.Join([]string{p[0], p[1], p[2], "-" + p[3], p[4]}, "."),
		strings.Join([]string{p[0], p[1], p[2], p[3] + "0", p[4]}, "."),
	} {
		r := signedRelease(n, "127.0.0.1:1", nil, time.Now())
		r.Header.Set(headerSignature, sig)
		if code := serve(n, r); code != http.StatusForbidden {
			t.Errorf("signature %q: %d", sig, code)
		}
	}
	if s := n.Stats(); s.RefusedUnsigned != 6 || s.RefusedReplays != 0 {
		t.Fatalf("stats %+v, want 6 refused for their signature", s)
	}
}

// TestHopBodyBound: a hop's body is read up to the engine's largest POST;
// a larger one gets the engine's answer, 413, on either side of the hop.
func TestHopBodyBound(t *testing.T) {
	t.Parallel()
	n := newTestNode(t, NewMemoryRegistry())
	for _, c := range []struct {
		size int
		want int
	}{{defaultMaxBody, http.StatusNotFound}, {defaultMaxBody + 1, http.StatusRequestEntityTooLarge}} {
		body := bytes.Repeat([]byte("x"), c.size)
		if code := serve(n, signedRelease(n, "127.0.0.1:1", body, time.Now())); code != c.want {
			t.Errorf("a body of %d bytes: %d, want %d", c.size, code, c.want)
		}
	}
	nodes := startNodes(t, 2, NewMemoryRegistry(), "s3cret")
	sid := handshake(t, nodes[0].public.URL)
	big := strings.Repeat("x", defaultMaxBody+1)
	if _, code := post(t, nodes[1].public.URL+"/?EIO=4&transport=polling&sid="+sid, big); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("forwarding a POST over the limit: %d", code)
	}
	if s := nodes[0].node.Stats(); s.Served != 0 {
		t.Fatalf("the owner served it: %+v", s)
	}
}
