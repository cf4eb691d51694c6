package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/adapter/redis"
)

// TestRedisRestart restarts Redis (same port) under two nodes: publishes
// made meanwhile fail and are counted, then the adapters reconnect,
// resubscribe and broadcasts flow again. The loss is detected: the nodes'
// clients, which may have missed messages, are disconnected (a transport
// close) so that they reconnect.
func TestRedisRestart(t *testing.T) {
	for _, sharded := range []bool{false, true} {
		name := "classic"
		if sharded {
			name = "sharded"
		}
		t.Run(name, func(t *testing.T) {
			r := ownRedis(t)
			opts := redis.Options{URL: r.url(), Sharded: sharded, RequestsTimeout: time.Second}
			nodes := newCluster(t, 2, opts, nil)
			c := dial(t, nodes[1])
			if err := nodes[0].ns().Emit(context.Background(), "before", 1); err != nil {
				t.Fatal(err)
			}
			expectEvent(t, c, "before", "1")

			r.stop()
			waitFor(t, 5*time.Second, func() bool {
				return !nodes[0].a.Stats().Connected && !nodes[1].a.Stats().Connected
			})
			failedBefore := nodes[0].a.Stats().PublishErrors
			for i := range 3 {
				if err := nodes[0].ns().Emit(context.Background(), "lost", i); err == nil {
					t.Fatal("publish with Redis down reported no error")
				}
			}
			if got := nodes[0].a.Stats().PublishErrors - failedBefore; got != 3 {
				t.Fatalf("counted %d failed publishes, want 3", got)
			}

			if err := r.start(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 15*time.Second, func() bool {
				s0, s1 := nodes[0].a.Stats(), nodes[1].a.Stats()
				return s0.Connected && s1.Connected && s0.Resubscribes >= 1 && s1.Resubscribes >= 1
			})
			// Both nodes are counted again, and broadcasts flow.
			waitFor(t, 5*time.Second, func() bool {
				n, err := nodes[0].ns().ServerCount(context.Background())
				return err == nil && n == 2
			})
			select {
			case <-c.closed:
			case <-time.After(5 * time.Second):
				t.Fatal("the client that may have missed messages was not disconnected")
			}
			c = dial(t, nodes[1])
			waitFor(t, 5*time.Second, func() bool { return nodes[0].ns().Emit(context.Background(), "after", 2) == nil })
			expectEvent(t, c, "after", "2")
			if s := nodes[1].a.Stats(); s.Disconnects < 1 || s.LossesDetected < 1 || s.ClientsReconnected != 1 {
				t.Fatalf("stats %+v", s)
			}
		})
	}
}
