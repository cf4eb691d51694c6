package redis

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/parser"
)

// barrierRoom is a room no socket is in. Awaited operations follow their
// message with a fetch-style request targeting it: every node, Go or Node,
// handles its subscription's messages in order, so its (empty) answer
// proves that it applied the operation.
const barrierRoom = "\x00switchboard:barrier"

// emitterUID is the uid of messages published by Redis emitters.
const emitterUID = "emitter"

// base is what the classic and sharded adapters share: the local part,
// pending requests, broadcast-with-ack bookkeeping and known peers.
type base struct {
	*adapter.Memory
	a     *Adapter
	ns    adapter.Namespace
	nsp   string
	ready []<-chan struct{} // the namespace's subscriptions

	mu       sync.Mutex
	requests map[string]*request
	acks     map[string]*ackRequest
	peers    map[string]time.Time // uid → last message seen from it
	closed   bool

	seqs   *seqTracker   // other nodes' broadcast numbers (classic mode)
	pubSeq atomic.Uint64 // this node's broadcast numbers (classic mode)
}

// ackRequest is a broadcast with acks this node published.
type ackRequest struct {
	clientCount func(int)
	ack         func(parser.Arg)
}

func newBase(a *Adapter, ns adapter.Namespace) base {
	return base{Memory: adapter.NewMemoryAdapter(ns), a: a, ns: ns, nsp: ns.Name(),
		requests: make(map[string]*request), acks: make(map[string]*ackRequest),
		peers: make(map[string]time.Time)}
}

// waitReady waits until the namespace's subscriptions are in place, so
// that answers to a request are not missed.
func (b *base) waitReady(ctx context.Context) error {
	for _, ch := range b.ready {
		select {
		case <-ch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return nil
}

// fallbackAckIDs numbers remote broadcasts with acks when the namespace
// does not share its ack counter; they start far above any local id.
var fallbackAckIDs atomic.Uint64

// nextAckID returns a fresh ack id of the namespace.
func (b *base) nextAckID() uint64 {
	if n, ok := b.ns.(interface{ NextAckID() uint64 }); ok {
		return n.NextAckID()
	}
	return 1<<52 + fallbackAckIDs.Add(1)
}

// resubscribed reports the loss of whatever was published while the
// subscription connection was down.
func (b *base) resubscribed() {
	if b.seqs != nil {
		b.seqs.reset() // the gaps it would find are this loss
	}
	b.lost("the subscription connection was lost and restored", 0)
}

// sawPeer records a message from another node.
func (b *base) sawPeer(uid string) {
	if uid == "" || uid == emitterUID || uid == b.a.uid {
		return
	}
	now := time.Now()
	b.mu.Lock()
	b.peers[uid] = now
	if len(b.peers) > 1024 { // nodes come and go: forget the silent ones
		for id, seen := range b.peers {
			if now.Sub(seen) > peerMemory {
				delete(b.peers, id)
			}
		}
	}
	b.mu.Unlock()
}

// peerMemory is how long a silent peer is still named as missing.
const peerMemory = 10 * time.Minute

// registerAck keeps an ack request until ctx ends.
func (b *base) registerAck(ctx context.Context, id string, r *ackRequest) {
	b.mu.Lock()
	b.acks[id] = r
	b.mu.Unlock()
	var cancel context.CancelFunc
	if _, ok := ctx.Deadline(); ok {
		ctx, cancel = context.WithCancel(ctx)
	} else {
		ctx, cancel = context.WithTimeout(ctx, b.a.opts.RequestsTimeout)
	}
	context.AfterFunc(ctx, func() {
		cancel()
		b.mu.Lock()
		delete(b.acks, id)
		b.mu.Unlock()
	})
}

func (b *base) ackRequest(id string) *ackRequest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.acks[id]
}

func (b *base) isOwnRequest(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, own := b.requests[id]
	_, ownAck := b.acks[id]
	return own || ownAck
}

// request is a cluster request waiting for one answer per other node.
type request struct {
	mu       sync.Mutex
	kind     int
	expected int
	received int
	from     map[string]bool
	sockets  []adapter.SocketInfo
	rooms    []string
	args     []parser.Arg
	done     chan struct{}
	finished bool
}

// respond records one answer; merge, when not nil, runs under the
// request's lock.
func (r *request) respond(uid string, merge func(r *request)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return
	}
	if merge != nil {
		merge(r)
	}
	r.received++
	if uid != "" {
		r.from[uid] = true
	}
	r.check()
}

// lower reduces the number of expected answers (a node left).
func (r *request) lower(expected int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if expected < r.expected {
		r.expected = expected
		r.check()
	}
}

func (r *request) check() {
	if !r.finished && r.received >= r.expected {
		r.finished = true
		close(r.done)
	}
}

// newRequest registers a request expecting n answers.
func (b *base) newRequest(id string, kind, n int) *request {
	r := &request{kind: kind, expected: n, from: map[string]bool{}, done: make(chan struct{})}
	b.mu.Lock()
	b.requests[id] = r
	b.mu.Unlock()
	return r
}

func (b *base) pending(id string) *request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.requests[id]
}

// wait waits for the answers of request id until ctx or the requests
// timeout ends. Meanwhile it recounts the nodes (count) now and then, so a
// node that is gone stops being waited for. It returns a *PartialError
// when answers are missing.
func (b *base) wait(ctx context.Context, id string, r *request, count func(context.Context) (int, error)) error {
	defer func() {
		b.mu.Lock()
		delete(b.requests, id)
		b.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(ctx, b.a.opts.RequestsTimeout)
	defer cancel()
	tick := time.NewTicker(recountInterval(b.a.opts.RequestsTimeout))
	defer tick.Stop()
	for {
		select {
		case <-r.done:
			if b.isClosedNS() {
				return ErrClosed
			}
			return nil
		case <-tick.C:
			if n, err := count(ctx); err == nil {
				r.lower(n - 1)
			}
		case <-ctx.Done():
			return b.partial(r)
		}
	}
}

func recountInterval(timeout time.Duration) time.Duration {
	return min(max(timeout/10, 100*time.Millisecond), time.Second)
}

// partial finishes r and describes what is missing: the peers known to
// this node that did not answer, then unnamed ones.
func (b *base) partial(r *request) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished && r.received >= r.expected {
		return nil
	}
	r.finished = true
	b.a.stats.partialRequests.Add(1)
	missing := r.expected - r.received
	var names []string
	b.mu.Lock()
	for uid, seen := range b.peers {
		if !r.from[uid] && time.Since(seen) < peerMemory {
			names = append(names, uid)
		}
	}
	b.mu.Unlock()
	slices.Sort(names)
	if len(names) > missing {
		names = names[:missing]
	}
	for len(names) < missing {
		names = append(names, "(unnamed node)")
	}
	return &adapter.PartialError{Missing: names, Expected: r.expected, Received: r.received}
}

// results returns what r gathered.
func (r *request) results() ([]adapter.SocketInfo, []string, []parser.Arg) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sockets, r.rooms, r.args
}

// closeBase fails every pending request.
func (b *base) closeBase() {
	b.mu.Lock()
	b.closed = true
	reqs := make([]*request, 0, len(b.requests))
	for _, r := range b.requests {
		reqs = append(reqs, r)
	}
	b.mu.Unlock()
	for _, r := range reqs {
		r.lower(-1 << 30)
	}
}

// isClosed reports whether the namespace adapter was closed.
func (b *base) isClosedNS() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

var errNotEvent = errors.New("redis adapter: server-side event without a name")

// eventName returns the name of a server-side event: its first argument.
func eventName(args []parser.Arg) (string, []parser.Arg, error) {
	if len(args) == 0 {
		return "", nil, errNotEvent
	}
	if s, ok := args[0].String(); ok {
		return s, args[1:], nil
	}
	return string(args[0].JSON()), args[1:], nil
}

// replyOnce wraps a reply so that only its first call sends anything.
func replyOnce(send func(arg any)) func(arg any) {
	var once sync.Once
	return func(arg any) { once.Do(func() { send(arg) }) }
}
