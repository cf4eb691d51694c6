package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// mending is what a clusterConn has lost and must subscribe again: the
// masters whose connection failed (reported by their watchers and readers)
// and the shard channels waiting for a master that answers.
type mending struct {
	signal chan struct{} // something to repair

	mu      sync.Mutex
	nodes   []*nodeConn // lost, not dropped yet
	cause   error       // the first reason since the last repair
	pending map[string]error
	backoff time.Duration
	timer   *time.Timer
	dueAt   time.Time // of the next retry of the queued channels
	stopped bool
}

const (
	repairBackoffMin = 50 * time.Millisecond
	repairBackoffMax = time.Second
)

func newMending() mending {
	return mending{signal: make(chan struct{}, 1), pending: map[string]error{}, backoff: repairBackoffMin}
}

func (m *mending) kick() {
	select {
	case m.signal <- struct{}{}:
	default:
	}
}

// lost records that n's connection can no longer be trusted.
func (m *mending) lost(n *nodeConn, err error) {
	m.mu.Lock()
	if !slices.Contains(m.nodes, n) {
		m.nodes = append(m.nodes, n)
	}
	if m.cause == nil {
		m.cause = err
	}
	m.mu.Unlock()
	m.kick()
}

// later queues channel to be subscribed at the next repair.
func (m *mending) later(channel string, err error) {
	m.mu.Lock()
	m.pending[channel] = err
	m.mu.Unlock()
	m.kick()
}

// forget drops channel from the queue (it is being (un)subscribed anew).
func (m *mending) forget(channel string) {
	m.mu.Lock()
	delete(m.pending, channel)
	m.mu.Unlock()
}

// takeNodes returns the lost masters and why, forgetting them.
func (m *mending) takeNodes() ([]*nodeConn, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	nodes, cause := m.nodes, m.cause
	m.nodes, m.cause = nil, nil
	return nodes, cause
}

// takeChannels returns the queued channels, sorted, and the reason of one
// of them, emptying the queue.
func (m *mending) takeChannels() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var cause error
	channels := make([]string, 0, len(m.pending))
	for ch, err := range m.pending {
		channels = append(channels, ch)
		if cause == nil {
			cause = err
		}
	}
	clear(m.pending)
	slices.Sort(channels)
	return channels, cause
}

// idle reports whether nothing waits to be repaired.
func (m *mending) idle() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pending) == 0 && len(m.nodes) == 0
}

// retry schedules another repair, with backoff, while channels wait.
func (m *mending) retry() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped || len(m.pending) == 0 {
		m.backoff, m.dueAt = repairBackoffMin, time.Time{}
		return
	}
	if m.timer != nil {
		m.timer.Stop()
	}
	m.timer = time.AfterFunc(m.backoff, m.kick)
	m.dueAt = time.Now().Add(m.backoff)
	m.backoff = min(2*m.backoff, repairBackoffMax)
}

// due reports whether the queued channels may be tried again: the
// backoff since the last try is over.
func (m *mending) due() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !time.Now().Before(m.dueAt)
}

func (m *mending) stop() {
	m.mu.Lock()
	m.stopped = true
	if m.timer != nil {
		m.timer.Stop()
	}
	m.mu.Unlock()
}

// watchNode reports the loss of n's connection.
func (c *clusterConn) watchNode(n *nodeConn) {
	go func() {
		select {
		case err := <-n.wait:
			if err == nil {
				err = errors.New("connection closed")
			}
			c.mend.lost(n, fmt.Errorf("redis cluster node %s: %w", n.addr, err))
		case <-c.done:
		}
	}()
}

// drop closes the connection to a master that failed, if it is still the
// session's, and queues its channels for the next repair.
func (c *clusterConn) drop(n *nodeConn, err error) bool {
	if c.nodes[n.addr] != n {
		return false
	}
	delete(c.nodes, n.addr)
	n.close()
	n.mu.Lock()
	for ch := range n.wanted {
		c.mend.later(ch, err)
	}
	n.mu.Unlock()
	c.owners = nil // the slots' owners are asked again
	return true
}

func (c *clusterConn) repairs() <-chan struct{} { return c.mend.signal }

// repair drops the masters whose connection failed and subscribes their
// channels, and those that waited, to the slots' owners now. It reports
// whether it dropped a master (subscriptions were lost), whether every
// channel is subscribed again (if not, it tries again later by itself),
// and a reason.
func (c *clusterConn) repair(ctx context.Context) (lost, whole bool, cause error) {
	nodes, cause := c.mend.takeNodes()
	for _, n := range nodes {
		if c.drop(n, cause) {
			lost = true
		}
	}
	if !lost && !c.mend.due() {
		// A connection that failed as it was made, or a channel queued
		// meanwhile: the retry's timer is on its way.
		return false, c.mend.idle(), cause
	}
	channels, err := c.mend.takeChannels()
	if cause == nil {
		cause = err
	}
	if len(channels) > 0 {
		keys := make([]subKey, len(channels))
		for i, ch := range channels {
			keys[i] = subKey{shardSub, ch}
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = c.do(ctx, keys, true) // what fails is queued again
	}
	c.mend.retry()
	return lost, c.mend.idle(), cause
}
