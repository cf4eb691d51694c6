package redis_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/adapter/redis"
)

// BenchmarkCrossNodeBroadcast measures broadcasts published on node 0 and
// delivered through Redis to WebSocket clients of nodes 1 and 2 (and
// locally to node 0's): deliveries per second and the latency from Emit to
// a client reading the packet (p50, p99). "flood" emits back to back (a
// throughput test: latency includes queueing); "paced" emits every 2ms
// (latency of an unloaded cluster).
func BenchmarkCrossNodeBroadcast(b *testing.B) {
	for _, sharded := range []bool{false, true} {
		for _, pace := range []time.Duration{0, 2 * time.Millisecond} {
			name := fmt.Sprintf("sharded=%v/flood", sharded)
			if pace > 0 {
				name = fmt.Sprintf("sharded=%v/paced", sharded)
			}
			b.Run(name, func(b *testing.B) { benchBroadcast(b, sharded, pace) })
		}
	}
}

func benchBroadcast(b *testing.B, sharded bool, pace time.Duration) {
	const perNode = 20
	r := shared(b)
	opts := redis.Options{URL: r.url(), Key: fmt.Sprintf("bench-%v-%v", sharded, pace), Sharded: sharded}
	nodes := newCluster(b, 3, opts, nil)
	var clients []*client
	for _, n := range nodes {
		for range perNode {
			clients = append(clients, dial(b, n))
		}
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		delivered atomic.Int64
		wg        sync.WaitGroup
	)
	want := int64(b.N * len(clients))
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, b.N)
			for range b.N {
				p := c.next(30 * time.Second)
				_, args, _ := p.Event()
				var sent int64
				_ = args[0].Decode(&sent)
				local = append(local, time.Duration(time.Now().UnixNano()-sent))
				delivered.Add(1)
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		}()
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if err := nodes[0].ns().Emit(context.Background(), "tick", time.Now().UnixNano(), i); err != nil {
			b.Fatal(err)
		}
		if pace > 0 {
			time.Sleep(pace)
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if delivered.Load() != want {
		b.Fatalf("delivered %d of %d", delivered.Load(), want)
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(want)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
}
