package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/rueidis"
)

// subConn holds the subscriptions of one subscriber session: one dedicated
// connection (dedicatedConn), or on a Redis Cluster one per master for the
// shard channels (clusterConn). Its methods run on the session goroutine.
type subConn interface {
	// do (un)subscribes keys, in order, and returns once Redis confirmed
	// them all.
	do(ctx context.Context, keys []subKey, add bool) error
	// failed receives why the session's connections can no longer be
	// trusted: a connection was lost, or Redis dropped a subscription.
	failed() <-chan error
	// repairs fires when some subscriptions were lost while the session
	// goes on (on a Redis Cluster, one master's), nil if that never
	// happens; repair then subscribes them again as far as it can, and
	// reports whether it found subscriptions lost, whether all are back,
	// and why they were lost.
	repairs() <-chan struct{}
	repair(ctx context.Context) (lost, whole bool, cause error)
	// close closes the connections (Redis drops their subscriptions).
	close()
}

// newSubConn returns the connections of a new session of s.
func (s *subscriber) newSubConn() subConn {
	hooks := rueidis.PubSubHooks{OnMessage: s.onMessage}
	switch s.a.client.Mode() {
	case rueidis.ClientModeCluster:
		return newClusterConn(s.a.client, hooks)
	case rueidis.ClientModeSentinel:
		return newSentinelConn(s.a.client, hooks)
	}
	return newDedicatedConn(s.a.client, hooks)
}

// masterCheckInterval is how often a sentinelConn looks for a new master.
const masterCheckInterval = 100 * time.Millisecond

// sentinelConn is the dedicated connection of a client behind Sentinel.
// rueidis follows +switch-master (and its periodic checks) for its own
// connections, but a dedicated connection stays on the old master, whose
// subscribers hear nothing the new master publishes until the old one is
// demoted (10 s or more after a SENTINEL FAILOVER). So the session fails
// as soon as the client's master changes, and the subscriber resubscribes
// on the new one.
type sentinelConn struct {
	*dedicatedConn
	fail chan error
	done chan struct{}
}

func newSentinelConn(c rueidis.Client, hooks rueidis.PubSubHooks) *sentinelConn {
	was := masterAddr(c) // before Dedicate: a switch in between only costs a resubscription
	s := &sentinelConn{dedicatedConn: newDedicatedConn(c, hooks), fail: make(chan error, 1), done: make(chan struct{})}
	go s.watch(c, was)
	return s
}

// watch reports the loss of the connection, or the new master.
func (s *sentinelConn) watch(c rueidis.Client, was string) {
	t := time.NewTicker(masterCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case err := <-s.wait:
			if err == nil {
				err = errors.New("connection closed")
			}
			s.fail <- err
			return
		case <-t.C:
			if now := masterAddr(c); now != "" && now != was {
				s.fail <- fmt.Errorf("the master moved from %s to %s (Sentinel switch-master)", was, now)
				return
			}
		}
	}
}

func (s *sentinelConn) failed() <-chan error { return s.fail }

func (s *sentinelConn) close() {
	close(s.done)
	s.dedicatedConn.close()
}

// masterAddr returns the address of the master of a client behind
// Sentinel, the only node it lists.
func masterAddr(c rueidis.Client) string {
	for addr := range c.Nodes() {
		return addr
	}
	return ""
}

// dedicatedConn is one dedicated connection holding every subscription:
// on a standalone Redis (or one behind Sentinel) all of them; on a
// Redis Cluster those without a slot (SUBSCRIBE, PSUBSCRIBE), or the shard
// channels of one master.
type dedicatedConn struct {
	dc   rueidis.DedicatedClient
	wait <-chan error
}

func newDedicatedConn(c rueidis.Client, hooks rueidis.PubSubHooks) *dedicatedConn {
	dc, _ := c.Dedicate() // dc.Close releases it
	return &dedicatedConn{dc: dc, wait: dc.SetPubSubHooks(hooks)}
}

func (d *dedicatedConn) do(ctx context.Context, keys []subKey, add bool) error {
	cmds := make(rueidis.Commands, 0, len(keys))
	for _, k := range keys {
		cmds = append(cmds, subCommand(d.dc.B(), k, add))
	}
	return d.doCommands(ctx, cmds)
}

// doCommands sends cmds in one round trip and returns the first error.
func (d *dedicatedConn) doCommands(ctx context.Context, cmds rueidis.Commands) error {
	for _, r := range d.dc.DoMulti(ctx, cmds...) {
		if err := r.Error(); err != nil {
			return err
		}
	}
	return nil
}

func (d *dedicatedConn) failed() <-chan error { return d.wait }

func (d *dedicatedConn) close() { d.dc.Close() }

// repairs is nil: any loss fails the session.
func (d *dedicatedConn) repairs() <-chan struct{} { return nil }

func (d *dedicatedConn) repair(context.Context) (bool, bool, error) { return false, true, nil }

// subCommand is the (un)subscribe command of k.
func subCommand(b rueidis.Builder, k subKey, add bool) rueidis.Completed {
	switch {
	case k.kind == channelSub && add:
		return b.Subscribe().Channel(k.name).Build()
	case k.kind == channelSub:
		return b.Unsubscribe().Channel(k.name).Build()
	case k.kind == patternSub && add:
		return b.Psubscribe().Pattern(k.name).Build()
	case k.kind == patternSub:
		return b.Punsubscribe().Pattern(k.name).Build()
	case add:
		return b.Ssubscribe().Channel(k.name).Build()
	}
	return b.Sunsubscribe().Channel(k.name).Build()
}
