package cluster

import (
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a replayCache clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// clockedCache is a replayCache on a fake clock.
type clockedCache struct {
	*replayCache
	clock *fakeClock
}

func newClockedCache(max int) clockedCache {
	c := clockedCache{newReplayCache(max), &fakeClock{t: time.Unix(1_700_000_000, 0)}}
	c.now = c.clock.now
	return c
}

// hop checks the hop seq of the sender bootOf(from), stamped now.
func (c clockedCache) hop(from byte, seq uint64) error {
	return c.check(bootOf(from), seq, c.clock.t)
}

// want checks the hops seqs of bootOf(from) and fails unless each check
// returns an error that is want (nil: accepted).
func (c clockedCache) want(t *testing.T, from byte, want error, seqs ...uint64) {
	t.Helper()
	for _, seq := range seqs {
		if err := c.hop(from, seq); !errors.Is(err, want) || (want == nil && err != nil) {
			t.Errorf("sender %d, number %d: %v, want %v", from, seq, err, want)
		}
	}
}

func bootOf(b byte) (id [bootIDLen]byte) {
	id[0] = b
	return id
}

// TestReplayWindowOutOfOrder: numbers arriving out of order within the
// window are accepted once each, and a copy of any of them refused.
func TestReplayWindowOutOfOrder(t *testing.T) {
	t.Parallel()
	c := newClockedCache(maxSenders)
	c.want(t, 1, nil, 3, 1, 2, 7, 5, 4, 6)
	c.want(t, 1, errSeen, 1, 2, 3, 4, 5, 6, 7)
	// Number 1000 slides the window; the gap below it fills in any order.
	c.want(t, 1, nil, 1000, 900, 8, 999, 500)
	c.want(t, 1, errSeen, 900, 8, 999, 500, 1000)
	if err := c.hop(1, 500); !errors.Is(err, errReplay) {
		t.Errorf("a replay of an out-of-order number: %v, want an errReplay", err)
	}
}

// TestReplayWindowEdge: the window spans windowSize numbers up to the
// highest accepted; below it numbers are refused, and a bit reused as the
// window slides holds no stale mark.
func TestReplayWindowEdge(t *testing.T) {
	t.Parallel()
	c := newClockedCache(maxSenders)
	top := uint64(windowSize + 1000)
	c.want(t, 1, nil, 5, top, top-windowSize+1)
	c.want(t, 1, errTooOld, top-windowSize, 5, 0)
	c.want(t, 1, errSeen, top-windowSize+1)
	// 5 and 5+windowWords×64 share a bit: the mark of 5 is gone.
	c.want(t, 2, nil, 5, 5+windowWords*64)
	c.want(t, 2, errTooOld, 5)
	// A jump of more than the window clears it all.
	far := top + 3*windowSize
	c.want(t, 1, nil, far, far-1, far-windowSize+1)
	c.want(t, 1, errTooOld, far-windowSize, top)
	if errors.Is(errTooOld, errSeen) || !errors.Is(errTooOld, errReplay) {
		t.Fatal("errTooOld must be an errReplay other than errSeen")
	}
}

// TestReplayWindowModel checks the window against a set of the numbers
// accepted, with numbers around a moving top, repeats and jumps.
func TestReplayWindowModel(t *testing.T) {
	t.Parallel()
	var w window
	seen := map[uint64]bool{}
	var top uint64
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200_000 {
		seq := top + 64 - min(top+64, r.Uint64N(windowSize*3/2))
		if r.IntN(1000) == 0 {
			seq = top + r.Uint64N(3*windowSize) // a jump
		}
		var want error
		switch {
		case seq > top:
		case top-seq >= windowSize:
			want = errTooOld
		case seen[seq]:
			want = errSeen
		}
		if err := w.accept(seq); err != want {
			t.Fatalf("hop %d, number %d (top %d): %v, want %v", i, seq, top, err, want)
		}
		if want == nil {
			seen[seq], top = true, max(top, seq)
		}
	}
}

// TestReplaySendersIndependent: the same numbers from two senders are
// accepted from each, and one sender's window does not move the other's.
func TestReplaySendersIndependent(t *testing.T) {
	t.Parallel()
	c := newClockedCache(maxSenders)
	c.want(t, 1, nil, 1, 2, 3)
	c.want(t, 2, nil, 1, 2, 3)
	c.want(t, 1, nil, 10*windowSize)
	c.want(t, 2, nil, 4)
	c.want(t, 1, errTooOld, 4)
	c.want(t, 2, errSeen, 1, 2, 3, 4)
}

// TestReplayRestartedSender: a sender that restarts has a new boot id, and
// its numbers, starting over, are accepted; the old boot id's are still
// refused.
func TestReplayRestartedSender(t *testing.T) {
	t.Parallel()
	c := newClockedCache(maxSenders)
	c.want(t, 1, nil, 1, 2, 3, 100_000)
	c.want(t, 9, nil, 1, 2, 3)
	c.want(t, 1, errReplay, 3, 100_000)
	a, b := newReplayCache(1), newReplayCache(1)
	if a.bootID == b.bootID || len(a.bootID) != 2*bootIDLen {
		t.Fatalf("boot ids %q and %q", a.bootID, b.bootID)
	}
}

// TestReplaySenderForgotten: a sender's state lasts senderTTL after its
// last accepted hop, then is forgotten; a copy of its old hops is refused
// by then for its timestamp.
func TestReplaySenderForgotten(t *testing.T) {
	t.Parallel()
	c := newClockedCache(maxSenders)
	t0 := c.clock.t
	c.want(t, 1, nil, 7)
	c.clock.t = t0.Add(senderTTL)
	c.want(t, 1, errSeen, 7) // the copy stamped now: only the window refuses it
	if err := c.check(bootOf(1), 7, t0); !errors.Is(err, errStale) || !errors.Is(err, errBadSignature) {
		t.Fatalf("the copy stamped t0: %v, want errStale", err)
	}
	c.clock.t = c.clock.t.Add(time.Nanosecond)
	c.want(t, 2, nil, 1)
	if _, ok := c.senders[bootOf(1)]; ok || len(c.senders) != 1 || c.recent.Len() != 1 {
		t.Fatalf("sender 1 is still known: %d senders, %d listed", len(c.senders), c.recent.Len())
	}
	if err := c.check(bootOf(1), 7, t0); !errors.Is(err, errStale) {
		t.Fatalf("the copy stamped t0, once sender 1 is forgotten: %v, want errStale", err)
	}
	// Each accepted hop makes the state last senderTTL longer.
	for seq := range uint64(10) {
		c.clock.t = c.clock.t.Add(senderTTL / 2)
		c.want(t, 2, nil, 2+seq)
	}
	c.want(t, 2, errSeen, 1)
}

// TestReplayClockBack: a clock that steps back does not make a sender
// forgotten early.
func TestReplayClockBack(t *testing.T) {
	t.Parallel()
	c := newClockedCache(maxSenders)
	t0 := c.clock.t
	c.want(t, 1, nil, 1)
	c.clock.t = t0.Add(-time.Minute)
	c.want(t, 1, nil, 2) // seen "before" 1
	c.clock.t = t0.Add(senderTTL)
	c.want(t, 1, errSeen, 1, 2)
}

// TestReplayMemoryBounded: the state grows with the senders alive, not
// with the hops: 200,000 hops from one sender hold one state, and
// thousands of senders one after the other no more than those within
// senderTTL.
func TestReplayMemoryBounded(t *testing.T) {
	t.Parallel()
	c := newClockedCache(maxSenders)
	for seq := range uint64(200_000) {
		if err := c.hop(1, seq^1); err != nil { // pairs swapped
			t.Fatalf("number %d: %v", seq^1, err)
		}
	}
	if len(c.senders) != 1 || c.recent.Len() != 1 {
		t.Fatalf("%d senders after 200,000 hops from one", len(c.senders))
	}
	const senders = 20_000 // a new one each second
	for i := range senders {
		var id [bootIDLen]byte
		id[0], id[1], id[2] = byte(i), byte(i>>8), 1
		if err := c.check(id, 1, c.clock.t); err != nil {
			t.Fatalf("sender %d: %v", i, err)
		}
		c.clock.t = c.clock.t.Add(time.Second)
		if max := int(senderTTL/time.Second) + 2; len(c.senders) > max || c.recent.Len() != len(c.senders) {
			t.Fatalf("after %d senders, %d tracked (%d listed), want at most %d", i, len(c.senders), c.recent.Len(), max)
		}
	}
}

// TestReplaySenderCap: a cache of max senders refuses a new sender, never
// forgetting one early to make room, while the senders it tracks go on;
// once one is forgotten, a new one fits.
func TestReplaySenderCap(t *testing.T) {
	t.Parallel()
	c := newClockedCache(3)
	for from := range byte(3) {
		c.want(t, from, nil, 1)
	}
	c.want(t, 3, errSendersFull, 1)
	c.want(t, 0, nil, 2)
	c.want(t, 1, nil, 2)
	c.want(t, 2, nil, 2)
	c.clock.t = c.clock.t.Add(senderTTL)
	c.want(t, 0, nil, 3)
	c.want(t, 1, nil, 3)
	c.want(t, 3, errSendersFull, 1) // sender 2 was seen senderTTL ago: not forgotten yet
	c.clock.t = c.clock.t.Add(time.Nanosecond)
	c.want(t, 3, nil, 1)
	c.want(t, 4, errSendersFull, 1)
	c.want(t, 0, errSeen, 1, 2, 3)
	if len(c.senders) != 3 {
		t.Fatalf("%d senders, want 3", len(c.senders))
	}
}

// TestReplayStale: a hop stamped more than maxSkew ago by the cache's
// clock is refused, whatever its number.
func TestReplayStale(t *testing.T) {
	t.Parallel()
	c := newClockedCache(maxSenders)
	if err := c.check(bootOf(1), 1, c.clock.t.Add(-maxSkew)); err != nil {
		t.Fatalf("stamped maxSkew ago: %v", err)
	}
	if err := c.check(bootOf(1), 2, c.clock.t.Add(-maxSkew-time.Second)); !errors.Is(err, errStale) {
		t.Fatalf("stamped more than maxSkew ago: %v, want errStale", err)
	}
	c.want(t, 1, nil, 2)
}

// BenchmarkReplayWindow measures check, the per-hop cost of the replay
// cache, for 8 senders whose numbers arrive slightly out of order, from one
// goroutine and from many.
func BenchmarkReplayWindow(b *testing.B) {
	const senders = 8
	// order delivers each block of 16 numbers out of order.
	order := [16]uint64{1, 0, 3, 2, 7, 4, 5, 6, 9, 8, 15, 10, 11, 13, 12, 14}
	b.Run("serial", func(b *testing.B) {
		c := newReplayCache(maxSenders)
		at := time.Now()
		b.ReportAllocs()
		for i := range uint64(b.N) {
			if i%4096 == 0 {
				at = time.Now()
			}
			seq := i / senders
			if err := c.check(bootOf(byte(i%senders)), seq&^15|order[seq&15], at); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		c := newReplayCache(maxSenders)
		var from atomic.Uint32
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			id := bootOf(byte(from.Add(1)))
			at := time.Now()
			for seq := uint64(0); pb.Next(); seq++ {
				if seq%4096 == 0 {
					at = time.Now()
				}
				if err := c.check(id, seq&^15|order[seq&15], at); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// TestReplayDocumentedNumbers: doc.go and docs/load-balancing.md give the
// window, its memory, the TTL and the cap; change them there too.
func TestReplayDocumentedNumbers(t *testing.T) {
	t.Parallel()
	if windowSize != 32_768 || windowWords*8 > 4200 || senderTTL != time.Minute || maxSenders != 4096 {
		t.Fatalf("window %d (%d bytes), TTL %v, %d senders: update the docs", windowSize, windowWords*8, senderTTL, maxSenders)
	}
}
