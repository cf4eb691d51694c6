package redis

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/rueidis"
)

// numSub returns the number of subscribers of channel, summed over every
// node of the Redis deployment, as Node's serverCount does.
func (a *Adapter) numSub(ctx context.Context, channel string, sharded bool) (int, error) {
	if a.client.Mode() == rueidis.ClientModeCluster {
		return a.clusterNumSub(ctx, channel, sharded)
	}
	total := 0
	for _, c := range a.client.Nodes() {
		n, err := numSubOn(ctx, c, channel, sharded)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

func numSubOn(ctx context.Context, c rueidis.Client, channel string, sharded bool) (int, error) {
	cmd := c.B().PubsubNumsub().Channel(channel).Build()
	if sharded {
		cmd = c.B().PubsubShardnumsub().Channel(channel).Build()
	}
	m, err := c.Do(ctx, cmd).AsIntMap()
	if err != nil {
		return 0, fmt.Errorf("redis adapter: PUBSUB NUMSUB: %w", err)
	}
	return int(m[channel]), nil
}

// clusterNumSub counts on a Redis Cluster, where a subscriber may sit on
// any node: it asks every node that serves slots now (CLUSTER SLOTS, not
// the client's topology, which may be older) and sums their counts. A node
// that cannot be reached (a master that died, before its failover) is
// skipped: the subscriptions it held are gone with it, their nodes
// resubscribe elsewhere. A node the client does not know yet (a replica
// promoted a moment ago) is asked over a connection of its own; one that
// refuses makes the count an error rather than a silent undercount.
func (a *Adapter) clusterNumSub(ctx context.Context, channel string, sharded bool) (int, error) {
	addrs, err := clusterAddrs(ctx, a.client)
	if err != nil {
		return 0, fmt.Errorf("redis adapter: counting the nodes: %w", err)
	}
	nodes := a.client.Nodes()
	total, reached := 0, 0
	var errs []error
	for _, addr := range addrs {
		var n int
		var err error
		if c, ok := nodes[addr]; ok {
			n, err = numSubOn(ctx, c, channel, sharded)
		} else {
			n, err = a.numSubUnknown(ctx, addr, channel, sharded)
		}
		switch {
		case err == nil:
			total += n
			reached++
		case !retryable(err) || ctx.Err() != nil:
			errs = append(errs, fmt.Errorf("redis cluster node %s: %w", addr, err))
		}
	}
	if reached == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no redis cluster node answered"))
	}
	if err := errors.Join(errs...); err != nil {
		return total, fmt.Errorf("redis adapter: counting the nodes: %w", err)
	}
	return total, nil
}

// numSubUnknown counts on a cluster node the client has not learnt yet,
// over a connection of its own, made as the client's are. Without a URL
// (Options.Client given) there is no way to make one: an error.
func (a *Adapter) numSubUnknown(ctx context.Context, addr, channel string, sharded bool) (int, error) {
	if !a.ownClient {
		return 0, fmt.Errorf("redis cluster node %s is not known to the client yet", addr)
	}
	co, _, err := clientOption(a.opts)
	if err != nil {
		return 0, err
	}
	co.InitAddress, co.ForceSingleClient = []string{addr}, true
	co.ClusterOption = rueidis.ClusterOption{}
	c, err := rueidis.NewClient(co)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	a.stats.countDirect.Add(1)
	return numSubOn(ctx, c, channel, sharded)
}
