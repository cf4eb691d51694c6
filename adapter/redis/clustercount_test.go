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

// TestRedisClusterCountUnknownNode: a node that the client has not learnt
// yet (as a replica promoted a moment ago) is counted over a connection of
// its own: each node's count that way is what Redis says, and their sum is
// the servers'.
func TestRedisClusterCountUnknownNode(t *testing.T) {
	c := sharedRedisCluster(t)
	opts := redis.Options{URL: c.url(), Key: "t-count-unknown", RequestsTimeout: 2 * time.Second}
	nodes := []*node{newNode(t, opts, nil), newNode(t, opts, nil)}
	channel := opts.Key + "-request#/#"
	waitFor(t, 10*time.Second, func() bool { return c.numSubAll(t, channel) == 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	total := 0
	for _, rn := range c.nodes {
		got, err := redis.NumSubUnknown(nodes[0].a, ctx, rn.addr(), channel, false)
		if err != nil {
			t.Fatalf("node %s: %v", rn.addr(), err)
		}
		v, err := rn.command("PUBSUB NUMSUB " + channel)
		a, _ := v.([]any)
		if err != nil || len(a) != 2 || a[1] != int64(got) {
			t.Fatalf("node %s: counted %d, Redis says %v (%v)", rn.addr(), got, v, err)
		}
		total += got
	}
	if total != 2 {
		t.Fatalf("counted %d servers, want 2", total)
	}
	if s := nodes[0].a.Stats(); s.CountDirect != uint64(len(c.nodes)) {
		t.Fatalf("CountDirect %d, want %d", s.CountDirect, len(c.nodes))
	}
}
