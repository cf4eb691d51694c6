package cluster

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-io/switchboard/engineio"
)

// Options configure a Node.
type Options struct {
	// Tag is this node's tag (8 hex digits). Empty means NewTag().
	Tag string
	// AdvertiseAddr is the host:port at which other nodes reach this node's
	// internal listener (where Handler is mounted). Required.
	AdvertiseAddr string
	// Secret authenticates requests between nodes. Required; every node of
	// a cluster uses the same secret.
	Secret []byte
	// Registry maps tags to addresses. Required.
	Registry Registry
	// Prefix is where Handler is mounted on the internal listener. Zero
	// means "/cluster/".
	Prefix string
	// TTL is how long a registration lives without renewal. Zero means 15s;
	// it is renewed every TTL/3.
	TTL time.Duration
	// DialTimeout bounds connecting to another node. Zero means 2s.
	DialTimeout time.Duration
	// Rehome: when a WebSocket upgrade for a session of this node reaches
	// another node after the application has seen the session (too late
	// for a takeover), this node closes the session, so that its client
	// reconnects, instead of letting the other node proxy the WebSocket
	// (which would tie the client to two nodes: the death of either would
	// cut it). Set it with connection state recovery, under which the
	// client gets its sockets back with every event it missed; without,
	// the reconnection gives the client new sockets, and a proxied
	// WebSocket may be the lesser harm.
	Rehome bool
	// Logger receives diagnostic logs. Nil means slog.Default().
	Logger *slog.Logger
}

// Node is this process's member of a stickiness-free cluster. It is an
// engineio.Router; mount Handler on the internal listener.
type Node struct {
	opts   Options
	tag    []byte
	secret []byte
	log    *slog.Logger
	client *http.Client

	engine atomic.Pointer[engineio.Server]

	mu    sync.Mutex
	cache map[string]cachedAddr // tag → address
	moved map[string]movedTo    // sid → node that adopted it
	// adopting holds the sessions being taken over here; the channel
	// closes once the session is registered (or the takeover failed).
	adopting map[string]chan struct{}

	nonces *replayCache // of the requests accepted from other nodes

	// ctx is canceled by Close; it stops the renewal and aborts a
	// renewal in flight.
	ctx     context.Context
	cancel  context.CancelFunc
	started atomic.Bool
	done    chan struct{} // closed when the renewal has returned

	closeOnce sync.Once
	closed    chan struct{} // closed when the first Close has returned
	closeErr  error         // its result, set before closed is closed

	stats counters
}

type cachedAddr struct {
	addr    string
	expires time.Time
}

type movedTo struct {
	addr    string
	expires time.Time
}

// How long lookups and moved-session records are kept.
const (
	cacheTTL      = 5 * time.Second
	movedTTL      = 2 * time.Minute
	maxHops       = 2
	defaultPrefix = "/cluster/"
)

// New returns a Node; call Start to register it and Attach to give it the
// engine it serves.
func New(opts Options) (*Node, error) {
	if opts.AdvertiseAddr == "" || len(opts.Secret) == 0 || opts.Registry == nil {
		return nil, errors.New("cluster: AdvertiseAddr, Secret and Registry are required")
	}
	if _, _, err := net.SplitHostPort(opts.AdvertiseAddr); err != nil {
		return nil, errors.New("cluster: AdvertiseAddr must be host:port: " + err.Error())
	}
	if opts.Tag == "" {
		opts.Tag = NewTag()
	}
	tag, err := hex.DecodeString(opts.Tag)
	if err != nil || len(tag) != tagLen {
		return nil, errors.New("cluster: Tag must be 8 hex digits")
	}
	if opts.Prefix == "" {
		opts.Prefix = defaultPrefix
	}
	if opts.TTL == 0 {
		opts.TTL = 15 * time.Second
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: opts.DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Node{opts: opts, tag: tag, secret: opts.Secret, log: opts.Logger, nonces: newReplayCache(maxNonces),
		client: &http.Client{Transport: transport},
		cache:  map[string]cachedAddr{}, moved: map[string]movedTo{}, adopting: map[string]chan struct{}{},
		ctx: ctx, cancel: cancel, done: make(chan struct{}), closed: make(chan struct{})}, nil
}

// Tag returns this node's tag.
func (n *Node) Tag() string { return n.opts.Tag }

// Attach gives the node the engine whose sessions it serves to other nodes.
func (n *Node) Attach(e *engineio.Server) { n.engine.Store(e) }

// ErrClosed is returned by Start after Close.
var ErrClosed = errors.New("cluster: node closed")

// Start registers the node and keeps the registration alive until Close.
// Call it at most once.
func (n *Node) Start(ctx context.Context) error {
	if n.ctx.Err() != nil {
		return ErrClosed
	}
	if err := n.opts.Registry.Register(ctx, n.opts.Tag, n.opts.AdvertiseAddr, n.opts.TTL); err != nil {
		return err
	}
	n.started.Store(true)
	go n.renew()
	return nil
}

func (n *Node) renew() {
	defer close(n.done)
	t := time.NewTicker(n.opts.TTL / 3)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(n.ctx, n.opts.TTL/3)
			if err := n.opts.Registry.Register(ctx, n.opts.Tag, n.opts.AdvertiseAddr, n.opts.TTL); err != nil {
				n.stats.registryErrors.Add(1)
				n.log.Warn("cluster registration failed", "err", err)
			}
			cancel()
			n.expire()
		}
	}
}

// expire forgets old moved-session records and cached addresses.
func (n *Node) expire() {
	now := time.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	for sid, m := range n.moved {
		if now.After(m.expires) {
			delete(n.moved, sid)
		}
	}
	for tag, c := range n.cache {
		if now.After(c.expires) {
			delete(n.cache, tag)
		}
	}
}

// Close stops the renewal and removes the registration, within ctx. The
// node keeps serving Handler requests for the sessions it still holds.
//
// Close is safe to call more than once and concurrently: the first call
// does the work, and the others wait for it (or for their own ctx) and
// return its result.
func (n *Node) Close(ctx context.Context) error {
	first := false
	n.closeOnce.Do(func() { first = true })
	if !first {
		select {
		case <-n.closed:
			return n.closeErr
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer close(n.closed)
	n.cancel()
	if n.started.Load() {
		select {
		case <-n.done:
		case <-ctx.Done():
		}
	}
	n.closeErr = n.opts.Registry.Deregister(ctx, n.opts.Tag)
	return n.closeErr
}

// lookup finds the internal address of the node with tag.
func (n *Node) lookup(ctx context.Context, tag string) (string, error) {
	now := time.Now()
	n.mu.Lock()
	c, ok := n.cache[tag]
	n.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.addr, nil
	}
	addr, err := n.opts.Registry.Lookup(ctx, tag)
	if err != nil {
		return "", err
	}
	n.mu.Lock()
	n.cache[tag] = cachedAddr{addr: addr, expires: now.Add(cacheTTL)}
	n.mu.Unlock()
	return addr, nil
}

func (n *Node) movedAddr(sid string) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	m, ok := n.moved[sid]
	if !ok || time.Now().After(m.expires) {
		return "", false
	}
	return m.addr, true
}

func (n *Node) recordMoved(sid, addr string) {
	n.mu.Lock()
	n.moved[sid] = movedTo{addr: addr, expires: time.Now().Add(movedTTL)}
	n.mu.Unlock()
}

func (n *Node) forgetMoved(sid string) {
	n.mu.Lock()
	delete(n.moved, sid)
	n.mu.Unlock()
}

// beginAdopt marks sid as being taken over here; end must be called once
// the session is registered or the takeover failed.
func (n *Node) beginAdopt(sid string) (end func()) {
	ch := make(chan struct{})
	n.mu.Lock()
	n.adopting[sid] = ch
	n.mu.Unlock()
	return func() {
		n.mu.Lock()
		delete(n.adopting, sid)
		n.mu.Unlock()
		close(ch)
	}
}

// waitAdopted waits, briefly, for a takeover of sid in progress here. It
// reports whether one was in progress.
func (n *Node) waitAdopted(sid string) bool {
	n.mu.Lock()
	ch, ok := n.adopting[sid]
	n.mu.Unlock()
	if !ok {
		return false
	}
	select {
	case <-ch:
	case <-time.After(2 * n.opts.DialTimeout):
	}
	return true
}
