package main

import (
	"math/bits"
	"sync/atomic"
)

// Latency histogram in microseconds, log-linear: exact below 64 µs, then 32
// buckets per power of two (about 3% wide), up to about 10^11 µs.
const (
	histBuckets = 64 + 40*32
	histShards  = 32 // recorders spread over shards to avoid contention
)

func bucketOf(v int64) int {
	if v < 0 {
		v = 0
	}
	if v < 64 {
		return int(v)
	}
	e := bits.Len64(uint64(v)) - 6 // ≥ 1
	i := 64 + (e-1)*32 + int(v>>e) - 32
	return min(i, histBuckets-1)
}

// bucketValue returns the middle of bucket i, in µs.
func bucketValue(i int) float64 {
	if i < 64 {
		return float64(i)
	}
	e := (i-64)/32 + 1
	sub := (i-64)%32 + 32
	lo := int64(sub) << e
	return float64(lo) + float64(int64(1)<<e)/2
}

// shardedHist is a concurrent histogram.
type shardedHist struct {
	shards [histShards][histBuckets]atomic.Uint64
}

func (h *shardedHist) record(shard int, v int64) {
	h.shards[shard%histShards][bucketOf(v)].Add(1)
}

func (h *shardedHist) reset() {
	for s := range h.shards {
		for b := range h.shards[s] {
			h.shards[s][b].Store(0)
		}
	}
}

// snapshot returns the merged counts as a sparse list of [bucket, count].
func (h *shardedHist) snapshot() [][2]uint64 {
	var out [][2]uint64
	for b := 0; b < histBuckets; b++ {
		var n uint64
		for s := range h.shards {
			n += h.shards[s][b].Load()
		}
		if n > 0 {
			out = append(out, [2]uint64{uint64(b), n})
		}
	}
	return out
}

// hist is a plain histogram merged from snapshots.
type hist [histBuckets]uint64

func (h *hist) add(sparse [][2]uint64) {
	for _, p := range sparse {
		h[p[0]] += p[1]
	}
}

func (h *hist) count() uint64 {
	var n uint64
	for _, c := range h {
		n += c
	}
	return n
}

// quantile returns the q-quantile in µs (0 when empty).
func (h *hist) quantile(q float64) float64 {
	n := h.count()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n-1)) + 1
	var acc uint64
	for i, c := range h {
		acc += c
		if acc >= rank {
			return bucketValue(i)
		}
	}
	return bucketValue(histBuckets - 1)
}
