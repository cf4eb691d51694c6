package cluster

import (
	"errors"
	"sync"
	"time"
)

const (
	// nonceLen is the number of random bytes in a nonce.
	nonceLen = 16
	// nonceTTL is how long a nonce is remembered. A signature stamped ts
	// is accepted until ts+maxSkew, and its nonce was seen at ts-maxSkew
	// at the earliest, so 2×maxSkew after it was seen it cannot be
	// accepted again anyway.
	nonceTTL = 2 * maxSkew
	// maxNonces bounds the replay cache: about 4,400 hops a second, over
	// nonceTTL, into one node. A node receiving more refuses the excess.
	maxNonces = 1 << 18
)

var (
	errReplay     = errors.New("cluster: replayed request (nonce already seen)")
	errNoncesFull = errors.New("cluster: replay cache full")
)

// replayCache remembers the nonces of the requests a node accepted from
// other nodes for nonceTTL, so that each signed request is served once.
//
// It holds at most max nonces and, when full, refuses new ones rather than
// forget a nonce early: a forgotten nonce whose timestamp is still within
// maxSkew would let a captured copy of its request through, while a
// refusal only fails one hop (the client retries or reconnects, as for any
// failed request). Only requests signed with the cluster secret reach the
// cache, so nobody outside the cluster can fill it.
type replayCache struct {
	mu   sync.Mutex
	max  int
	now  func() time.Time
	seen map[[nonceLen]byte]struct{}
	// queue lists the nonces in seen in the order they were added, which
	// is the order they expire in; queue[head:] is live.
	queue []seenNonce
	head  int
}

type seenNonce struct {
	nonce   [nonceLen]byte
	expires time.Time
}

func newReplayCache(max int) *replayCache {
	return &replayCache{max: max, now: time.Now, seen: map[[nonceLen]byte]struct{}{}}
}

// add records nonce. It fails with errReplay when nonce was recorded less
// than nonceTTL ago, and with errNoncesFull when the cache is full.
func (c *replayCache) add(nonce [nonceLen]byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	c.expire(now)
	if _, ok := c.seen[nonce]; ok {
		return errReplay
	}
	if len(c.seen) >= c.max {
		return errNoncesFull
	}
	c.seen[nonce] = struct{}{}
	c.queue = append(c.queue, seenNonce{nonce: nonce, expires: now.Add(nonceTTL)})
	return nil
}

// expire forgets the nonces expired at now. c.mu is held.
func (c *replayCache) expire(now time.Time) {
	for c.head < len(c.queue) && !now.Before(c.queue[c.head].expires) {
		delete(c.seen, c.queue[c.head].nonce)
		c.head++
	}
	switch {
	case c.head == len(c.queue):
		c.queue, c.head = c.queue[:0], 0
	case c.head > len(c.queue)/2:
		// Reuse the dead half rather than let the slice grow forever.
		live := copy(c.queue, c.queue[c.head:])
		c.queue, c.head = c.queue[:live], 0
	}
}
