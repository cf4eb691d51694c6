package redis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/adapter/redis"
)

// numSubAll sums PUBSUB NUMSUB of channel over every node of the Redis
// Cluster: what the nodes' subscriptions are, asked of Redis directly.
func (c *redisCluster) numSubAll(t *testing.T, channel string) int64 {
	t.Helper()
	var total int64
	for _, n := range c.nodes {
		v, err := n.command("PUBSUB NUMSUB " + channel)
		if a, ok := v.([]any); err == nil && ok && len(a) == 2 {
			k, _ := a[1].(int64)
			total += k
		}
	}
	return total
}

// TestRedisClusterCountFresh starts three classic nodes, ten times over,
// on the Redis Cluster: once Redis holds the three nodes' subscriptions,
// each node counts exactly three servers at its first try, and
// fetchSockets from each returns the three sockets without error (a node
// used to count 2, when a subscription sat on a replica its client did not
// know, and fetchSockets returned [] silently).
func TestRedisClusterCountFresh(t *testing.T) {
	c := sharedRedisCluster(t)
	for round := range 10 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			opts := redis.Options{URL: c.url(), Key: fmt.Sprintf("t-count-fresh-%d", round), RequestsTimeout: 2 * time.Second}
			nodes := make([]*node, 3)
			for i := range nodes {
				nodes[i] = newNode(t, opts, nil)
				dial(t, nodes[i])
			}
			channel := opts.Key + "-request#/#"
			waitFor(t, 10*time.Second, func() bool { return c.numSubAll(t, channel) == 3 })
			for i, n := range nodes {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				got, err := n.ns().ServerCount(ctx)
				socks, ferr := n.ns().FetchSockets(ctx)
				cancel()
				if err != nil || got != 3 || ferr != nil || len(socks) != 3 {
					t.Fatalf("node %d: count %d (%v), fetchSockets %d sockets (%v); want 3 and 3", i, got, err, len(socks), ferr)
				}
			}
		})
	}
}
