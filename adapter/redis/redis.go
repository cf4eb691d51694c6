package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/switchboard-io/switchboard/adapter"
)

// ErrClosed is returned by operations on a closed Adapter.
var ErrClosed = errors.New("redis adapter: closed")

// Adapter connects the namespaces of one Socket.IO server to a Redis
// pub/sub cluster. Create it with New, pass Factory to
// socketio.Options.Adapter, and Close it after the server's Shutdown.
// Its methods are safe for concurrent use.
type Adapter struct {
	opts      Options
	uid       string
	client    rueidis.Client
	ownClient bool
	log       *slog.Logger
	sub       *subscriber
	streams   *streamsHub // streams mode only
	stats     counters
	route     pubRoute // classic publishes on a Redis Cluster

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	nsps   map[nsAdapter]struct{}
	closed bool
}

// nsAdapter is the adapter of one namespace, classic or sharded.
type nsAdapter interface {
	adapter.Adapter
}

// New connects to Redis and returns an adapter. ctx bounds the initial
// connection; the adapter then lives until Close, reconnecting (with
// backoff) and resubscribing whenever the connection is lost.
func New(ctx context.Context, opts Options) (*Adapter, error) {
	o := opts.withDefaults()
	a := &Adapter{opts: o, uid: randomHex(8), log: o.Logger.With("component", "redis-adapter"),
		nsps: make(map[nsAdapter]struct{})}
	a.client = o.Client
	if a.client == nil {
		var err error
		if a.client, err = NewClient(ctx, o); err != nil {
			return nil, err
		}
		a.ownClient = true
	} else if err := pingAny(ctx, a.client); err != nil {
		return nil, fmt.Errorf("redis adapter: ping: %w", err)
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.sub = newSubscriber(a)
	a.goTracked(func() { a.sub.run(a.ctx) })
	if o.Streams != nil {
		a.streams = newStreamsHub(a)
	} else {
		a.goTracked(a.sweepSequences)
	}
	return a, nil
}

// UID returns the node's id in the cluster: 16 hexadecimal characters,
// sent as "uid" in every message it publishes.
func (a *Adapter) UID() string { return a.uid }

// Stats returns the adapter's counters.
func (a *Adapter) Stats() Stats { return a.stats.snapshot() }

// Factory returns the adapter factory to set as socketio.Options.Adapter.
// Each namespace gets its own adapter sharing this connection.
func (a *Adapter) Factory() adapter.Factory {
	return func(ns adapter.Namespace) adapter.Adapter {
		var na nsAdapter
		switch {
		case a.streams != nil:
			na = newStreamsNS(a, ns)
		case a.opts.Sharded:
			na = newSharded(a, ns)
		default:
			na = newClassic(a, ns)
		}
		a.mu.Lock()
		a.nsps[na] = struct{}{}
		a.mu.Unlock()
		return na
	}
}

func (a *Adapter) forget(na nsAdapter) {
	a.mu.Lock()
	delete(a.nsps, na)
	a.mu.Unlock()
}

// Close closes every namespace adapter, stops the subscription
// connection and waits for the adapter's goroutines. A client given in
// Options is not closed. In streams mode it stops writing sessions, and
// gives the messages still waiting for Redis up to 2 s to be appended
// (those left are counted in Stats.AppendsDropped).
func (a *Adapter) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	nsps := make([]nsAdapter, 0, len(a.nsps))
	for na := range a.nsps {
		nsps = append(nsps, na)
	}
	a.mu.Unlock()
	if a.streams != nil {
		a.streams.store.close()
		a.streams.close(2 * time.Second)
	}
	for _, na := range nsps {
		_ = na.Close()
	}
	a.cancel()
	a.sub.close()
	a.wg.Wait()
	if a.streams != nil {
		a.streams.dropUnappended()
	}
	if a.ownClient {
		a.client.Close()
	}
	return nil
}

// namespaces returns the namespace adapters.
func (a *Adapter) namespaces() []nsAdapter {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]nsAdapter, 0, len(a.nsps))
	for na := range a.nsps {
		out = append(out, na)
	}
	return out
}

// onResubscribed runs after the subscription connection came back: in
// pub/sub modes, whatever was published meanwhile is lost for this node.
func (a *Adapter) onResubscribed() {
	if a.streams != nil {
		return // ephemeral messages only: their requesters time out
	}
	for _, na := range a.namespaces() {
		if l, ok := na.(interface{ resubscribed() }); ok {
			l.resubscribed()
		}
	}
}

// sweepSequences expires the holes of classic mode's sequence trackers.
func (a *Adapter) sweepSequences() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-a.ctx.Done():
			return
		case now := <-t.C:
			for _, na := range a.namespaces() {
				if c, ok := na.(*classic); ok {
					if n := c.seqs.sweep(now); n > 0 {
						c.lost("a gap in another node's sequence", n)
					}
				}
			}
		}
	}
}

func (a *Adapter) goTracked(f func()) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
