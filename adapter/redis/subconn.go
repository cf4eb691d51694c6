package redis

import (
	"context"

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
	// close closes the connections (Redis drops their subscriptions).
	close()
}

// newSubConn returns the connections of a new session of s.
func (s *subscriber) newSubConn() subConn {
	hooks := rueidis.PubSubHooks{OnMessage: s.onMessage}
	if s.a.client.Mode() == rueidis.ClientModeCluster {
		return newClusterConn(s.a.client, hooks)
	}
	return newDedicatedConn(s.a.client, hooks)
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
