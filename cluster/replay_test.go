package cluster

import (
	"errors"
	"testing"
	"time"
)

// fakeClock is a replayCache clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func nonceOf(b byte) (n [nonceLen]byte) {
	n[0] = b
	return n
}

// TestReplayCacheBound: the cache holds max nonces; when full it refuses
// new ones, and it never forgets one before nonceTTL, even to make room.
func TestReplayCacheBound(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c := newReplayCache(3)
	c.now = clock.now
	for i := range byte(3) {
		if err := c.add(nonceOf(i)); err != nil {
			t.Fatalf("nonce %d: %v", i, err)
		}
		clock.t = clock.t.Add(time.Second)
	}
	if err := c.add(nonceOf(0)); !errors.Is(err, errReplay) {
		t.Fatalf("a nonce seen again = %v, want errReplay", err)
	}
	if err := c.add(nonceOf(3)); !errors.Is(err, errNoncesFull) {
		t.Fatalf("a fourth nonce in a cache of 3 = %v, want errNoncesFull", err)
	}
	// Nonce 0 was added at t0 and expires at t0+nonceTTL; the clock is at
	// t0+3s.
	clock.t = clock.t.Add(nonceTTL - 3*time.Second - time.Nanosecond)
	if err := c.add(nonceOf(3)); !errors.Is(err, errNoncesFull) {
		t.Fatalf("just before the first nonce expires = %v, want errNoncesFull", err)
	}
	if err := c.add(nonceOf(0)); !errors.Is(err, errReplay) {
		t.Fatalf("nonce 0 just before it expires = %v, want errReplay", err)
	}
	clock.t = clock.t.Add(time.Nanosecond)
	if err := c.add(nonceOf(3)); err != nil {
		t.Fatalf("once the first nonce expired, one more fits: %v", err)
	}
	if err := c.add(nonceOf(4)); !errors.Is(err, errNoncesFull) {
		t.Fatalf("only one expired: %v, want errNoncesFull", err)
	}
	if err := c.add(nonceOf(1)); !errors.Is(err, errReplay) {
		t.Fatalf("nonce 1 has not expired: %v, want errReplay", err)
	}
	clock.t = clock.t.Add(nonceTTL)
	for i := range byte(3) {
		if err := c.add(nonceOf(10 + i)); err != nil {
			t.Fatalf("after every nonce expired, nonce %d: %v", 10+i, err)
		}
	}
	if len(c.seen) != 3 || len(c.queue)-c.head != 3 {
		t.Fatalf("%d nonces seen, %d queued; want 3 and 3", len(c.seen), len(c.queue)-c.head)
	}
}

// TestReplayCacheQueueReused: a steady flow of nonces keeps the queue as
// long as the nonces alive, not as long as all the nonces ever seen.
func TestReplayCacheQueueReused(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c := newReplayCache(100)
	c.now = clock.now
	for i := range 10_000 {
		var n [nonceLen]byte
		n[0], n[1] = byte(i), byte(i>>8)
		if err := c.add(n); err != nil {
			t.Fatalf("nonce %d: %v", i, err)
		}
		clock.t = clock.t.Add(nonceTTL / 50)
	}
	if len(c.seen) > 50 || cap(c.queue) > 200 {
		t.Fatalf("%d nonces seen, queue capacity %d", len(c.seen), cap(c.queue))
	}
}
