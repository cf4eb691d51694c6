package redis

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
)

// publishRetryWindow bounds how long after the start of an outage failed
// publishes are retried: long enough for a Sentinel failover or, on a
// Redis Cluster, for another node to take the message, and shorter than
// reorderWait, so that a message that gets through late is not counted
// lost by the other nodes. Once an outage is older, publishes fail at
// once (and are counted) until Redis takes one again.
const publishRetryWindow = 1500 * time.Millisecond

// message is one message to publish.
type message struct {
	channel string
	payload []byte
	sharded bool
}

func (a *Adapter) command(b rueidis.Builder, m message) rueidis.Completed {
	if m.sharded {
		return b.Spublish().Channel(m.channel).Message(rueidis.BinaryString(m.payload)).Build()
	}
	return b.Publish().Channel(m.channel).Message(rueidis.BinaryString(m.payload)).Build()
}

// publish publishes messages in order on one connection and waits for
// Redis to take them, retrying a failure that a failover may cure (see
// publishRetryWindow). Failures are counted and logged, never silent.
func (a *Adapter) publish(ctx context.Context, msgs ...message) error {
	if a.ctx.Err() != nil {
		a.failed(len(msgs), ErrClosed, msgs[0].channel)
		return ErrClosed
	}
	backoff := 20 * time.Millisecond
	for {
		err := a.publishOnce(ctx, msgs)
		if err == nil {
			break
		}
		wait := backoff + rand.N(backoff/2+1)
		if !retryable(err) || !a.stats.outage.retry(time.Now().Add(wait)) || ctx.Err() != nil || a.ctx.Err() != nil {
			a.failed(len(msgs), err, msgs[0].channel)
			return fmt.Errorf("redis adapter: publish to %s: %w", msgs[0].channel, err)
		}
		a.stats.publishRetries.Add(1)
		select {
		case <-ctx.Done():
		case <-a.ctx.Done():
		case <-time.After(wait):
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
	a.stats.published.Add(uint64(len(msgs)))
	a.stats.outage.end()
	if n := a.stats.failStreak.Swap(0); n > 0 {
		a.log.Warn("redis publishes work again", "failedMeanwhile", n)
	}
	return nil
}

// publishOnce makes one attempt: on a Redis Cluster, classic messages go
// to one node of the cluster (see pubRoute), trying each node in turn
// when one fails.
func (a *Adapter) publishOnce(ctx context.Context, msgs []message) error {
	if a.client.Mode() != rueidis.ClientModeCluster || msgs[0].sharded {
		return doAll(ctx, a.client, a, msgs)
	}
	return a.route.publish(ctx, a, msgs)
}

// doAll sends msgs to c, pipelined, and returns the first error.
func doAll(ctx context.Context, c rueidis.Client, a *Adapter, msgs []message) error {
	if len(msgs) == 1 {
		return c.Do(ctx, a.command(c.B(), msgs[0])).Error()
	}
	cmds := make(rueidis.Commands, len(msgs))
	for i, m := range msgs {
		cmds[i] = a.command(c.B(), m)
	}
	var err error
	for _, r := range c.DoMulti(ctx, cmds...) {
		if e := r.Error(); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// retryable reports whether err may pass with a failover: a network error,
// or Redis saying that the cluster or the master is changing.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	re, ok := rueidis.IsRedisErr(err)
	if !ok {
		return true
	}
	msg := re.Error()
	for _, p := range []string{"CLUSTERDOWN", "TRYAGAIN", "LOADING", "READONLY", "MASTERDOWN"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// outage remembers when publishes started failing.
type outage struct {
	since atomic.Int64 // unix nanoseconds of the first failure; 0: none
}

// retry reports whether a retry at time at is still within the window of
// the current outage, which starts now if none is going on.
func (o *outage) retry(at time.Time) bool {
	o.since.CompareAndSwap(0, time.Now().UnixNano())
	return at.Sub(time.Unix(0, o.since.Load())) < publishRetryWindow
}

func (o *outage) end() {
	if o.since.Load() != 0 {
		o.since.Store(0)
	}
}

// pubRoute is where classic messages are published on a Redis Cluster.
// A keyless command of rueidis's cluster client goes to any connection it
// holds, seeds included, even a seed that is down; PUBLISH reaches every
// node of a Redis Cluster whichever node takes it. So messages go to one
// node of the topology (chosen by the node's id, to spread the nodes),
// which stays the same while it works (so they stay in order), and on a
// failure to the next node that takes them.
type pubRoute struct {
	mu   sync.Mutex
	addr string
	node rueidis.Client
}

func (r *pubRoute) current() (string, rueidis.Client) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addr, r.node
}

func (r *pubRoute) set(addr string, n rueidis.Client) {
	r.mu.Lock()
	r.addr, r.node = addr, n
	r.mu.Unlock()
}

// publish sends msgs to the current node, then to every other node of the
// topology in turn until one takes them.
func (r *pubRoute) publish(ctx context.Context, a *Adapter, msgs []message) error {
	addr, node := r.current()
	if node != nil {
		if err := doAll(ctx, node, a, msgs); err == nil || !retryable(err) {
			return err
		}
	}
	nodes := a.client.Nodes()
	addrs := make([]string, 0, len(nodes))
	for k := range nodes {
		if k != addr {
			addrs = append(addrs, k)
		}
	}
	if len(addrs) == 0 {
		return errors.New("redis cluster: no node to publish to")
	}
	slices.Sort(addrs)
	h := fnv.New32a()
	h.Write([]byte(a.uid))
	start := int(h.Sum32() % uint32(len(addrs)))
	var err error
	for i := range addrs {
		k := addrs[(start+i)%len(addrs)]
		if err = doAll(ctx, nodes[k], a, msgs); err == nil {
			r.set(k, nodes[k])
			return nil
		}
		if !retryable(err) {
			return err
		}
	}
	return err
}
func (a *Adapter) failed(n int, err error, channel string) {
	a.stats.publishErrors.Add(uint64(n))
	if a.stats.failStreak.Add(uint64(n)) == uint64(n) {
		a.log.Warn("redis publish failed; counting failures until Redis is back",
			"channel", channel, "err", err)
		return
	}
	a.log.Debug("redis publish failed", "channel", channel, "err", err)
}

// publishAsync publishes in a tracked goroutine (responses and acks, whose
// order does not matter), bounded by the requests timeout.
func (a *Adapter) publishAsync(m message) {
	a.goTracked(func() {
		ctx, cancel := context.WithTimeout(a.ctx, a.opts.RequestsTimeout)
		defer cancel()
		_ = a.publish(ctx, m)
	})
}
