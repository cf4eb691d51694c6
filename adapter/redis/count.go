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
// resubscribe elsewhere. A node the client does not know yet, or that
// refuses, makes the count an error rather than a silent undercount.
func (a *Adapter) clusterNumSub(ctx context.Context, channel string, sharded bool) (int, error) {
	addrs, err := clusterAddrs(ctx, a.client)
	if err != nil {
		return 0, fmt.Errorf("redis adapter: counting the nodes: %w", err)
	}
	nodes := a.client.Nodes()
	total, reached := 0, 0
	var errs []error
	for _, addr := range addrs {
		c, ok := nodes[addr]
		if !ok {
			errs = append(errs, fmt.Errorf("redis cluster node %s is not known to the client yet", addr))
			continue
		}
		n, err := numSubOn(ctx, c, channel, sharded)
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
