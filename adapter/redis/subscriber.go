package redis

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
	"unsafe"

	"github.com/redis/rueidis"
)

// kind is a kind of subscription.
type kind int

const (
	channelSub kind = iota // SUBSCRIBE
	patternSub             // PSUBSCRIBE
	shardSub               // SSUBSCRIBE
)

// handler receives the messages of one subscription, in order, on the
// subscriber's dispatch goroutine. payload must not be modified.
type handler func(channel string, payload []byte)

type subKey struct {
	kind kind
	name string
}

type subOp struct {
	key subKey
	add bool
}

// subscriber owns the subscription connections: it keeps the set of
// subscriptions, (re)connects with backoff, resubscribes everything after a
// loss, and dispatches messages in arrival order (one queue for all the
// connections, so each channel's messages stay in order).
//
// subscriber.mu is never held during network calls.
type subscriber struct {
	a     *Adapter
	queue chan rueidis.PubSubMessage
	kick  chan struct{}
	done  chan struct{}

	mu       sync.Mutex
	subs     map[subKey]handler
	ready    map[subKey]chan struct{} // closed once subscribed
	ops      []subOp                  // changes not yet sent
	everConn bool                     // used by the session goroutine only
}

func newSubscriber(a *Adapter) *subscriber {
	return &subscriber{a: a, queue: make(chan rueidis.PubSubMessage, 4096), kick: make(chan struct{}, 1),
		done: make(chan struct{}), subs: make(map[subKey]handler), ready: make(map[subKey]chan struct{})}
}

// add registers a subscription; the returned channel is closed once Redis
// has confirmed it.
func (s *subscriber) add(k kind, name string, h handler) <-chan struct{} {
	key := subKey{k, name}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs[key] = h
	ch := s.ready[key]
	if ch == nil {
		ch = make(chan struct{})
		s.ready[key] = ch
	}
	s.ops = append(s.ops, subOp{key, true})
	s.signal()
	return ch
}

func (s *subscriber) remove(k kind, name string) {
	key := subKey{k, name}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.subs[key]; !ok {
		return
	}
	delete(s.subs, key)
	delete(s.ready, key)
	s.ops = append(s.ops, subOp{key, false})
	s.signal()
}

func (s *subscriber) signal() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *subscriber) close() { <-s.done }

// run connects and serves until ctx ends.
func (s *subscriber) run(ctx context.Context) {
	defer close(s.done)
	s.a.goTracked(func() { s.dispatch(ctx) })
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		err := s.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > 10*time.Second {
			backoff = 50 * time.Millisecond
		}
		s.a.log.Warn("redis subscription connection lost; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff + rand.N(backoff/2+1)):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// session runs one connection (one per master of a Redis Cluster, see
// clusterConn): subscribe everything, then apply changes until a
// connection fails.
func (s *subscriber) session(ctx context.Context) error {
	conn := s.newSubConn()
	defer conn.close()
	if err := s.subscribeAll(ctx, conn); err != nil {
		return err
	}
	defer func() {
		s.a.stats.connected.Store(false)
		s.a.stats.disconnects.Add(1)
	}()
	partial := false // some subscriptions lost, the session going on
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-conn.failed():
			return err
		case <-s.kick:
			if err := s.applyOps(ctx, conn); err != nil {
				return err
			}
		case <-conn.repairs():
			partial = s.repair(ctx, conn, partial)
		}
	}
}

// repair subscribes again what conn lost (one master of a Redis Cluster)
// and returns whether subscriptions are still missing. Once all are back,
// the loss is handled as a resubscription's.
func (s *subscriber) repair(ctx context.Context, conn subConn, partial bool) bool {
	lost, whole, cause := conn.repair(ctx)
	if lost {
		s.a.stats.disconnects.Add(1)
		s.a.log.Warn("redis subscriptions lost on a cluster node; subscribing them again", "err", cause)
	}
	if lost || !whole {
		s.a.stats.connected.Store(false)
		partial = true
	}
	if whole && partial {
		s.a.stats.connected.Store(true)
		s.a.stats.resubscribes.Add(1)
		s.a.log.Warn("redis subscriptions restored on the cluster's current masters")
		s.a.onResubscribed()
		return false
	}
	return partial
}

// subscribeAll subscribes to every registered subscription on a new
// connection. Network calls run on the session goroutine only, without
// locks held.
func (s *subscriber) subscribeAll(ctx context.Context, conn subConn) error {
	s.mu.Lock()
	s.ops = s.ops[:0]
	keys := make([]subKey, 0, len(s.subs))
	for k := range s.subs {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	if err := s.send(ctx, conn, keys, true); err != nil {
		return err
	}
	s.a.stats.connected.Store(true)
	if s.everConn {
		s.a.stats.resubscribes.Add(1)
		s.a.log.Warn("redis subscription connection restored; resubscribed", "subscriptions", len(keys))
		s.a.onResubscribed()
	}
	s.everConn = true
	return nil
}

// applyOps sends the subscription changes made since the last call.
func (s *subscriber) applyOps(ctx context.Context, conn subConn) error {
	s.mu.Lock()
	ops := append([]subOp(nil), s.ops...)
	s.ops = s.ops[:0]
	s.mu.Unlock()
	for _, op := range ops {
		if err := s.send(ctx, conn, []subKey{op.key}, op.add); err != nil {
			return err
		}
	}
	return nil
}

// send (un)subscribes keys, then marks added ones ready.
func (s *subscriber) send(ctx context.Context, conn subConn, keys []subKey, add bool) error {
	if len(keys) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := conn.do(ctx, keys, add); err != nil {
		return err
	}
	if add {
		s.mu.Lock()
		for _, k := range keys {
			if ch := s.ready[k]; ch != nil && !isClosed(ch) {
				close(ch)
			}
		}
		s.mu.Unlock()
	}
	return nil
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// onMessage runs on the connection's reader: it queues the message (and
// blocks when the queue is full, which pushes back on Redis rather than
// dropping anything).
func (s *subscriber) onMessage(m rueidis.PubSubMessage) {
	select {
	case s.queue <- m:
	case <-s.a.ctx.Done():
	}
}

// dispatch hands queued messages to their handlers, in order.
func (s *subscriber) dispatch(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-s.queue:
			s.a.stats.received.Add(1)
			key := subKey{channelSub, m.Channel}
			if m.Pattern != "" {
				key = subKey{patternSub, m.Pattern}
			}
			s.mu.Lock()
			h := s.subs[key]
			if h == nil && m.Pattern == "" {
				h = s.subs[subKey{shardSub, m.Channel}]
			}
			s.mu.Unlock()
			if h != nil {
				h(m.Channel, unsafe.Slice(unsafe.StringData(m.Message), len(m.Message)))
			}
		}
	}
}
