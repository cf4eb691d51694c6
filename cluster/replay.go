package cluster

import (
	"container/list"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// bootIDLen is the number of random bytes in a boot id.
	bootIDLen = 16

	// windowWords is the size, in 64-bit words, of a sender's bitmap, and
	// windowSize the number of sequence numbers its window spans (one word
	// is spare: the window slides a word at a time).
	//
	// The window must span every number a sender signs while one of its
	// hops is on its way (signed, sent, its body read here): a hop that
	// falls windowSize numbers or more behind the newest one accepted
	// from its sender is refused, that hop only (its client retries or
	// reconnects, as for any failed request). A sender numbers the hops
	// it signs for every node, so for a sender signing R hops a second
	// the window spans windowSize/R seconds: about 1.5 s for each node of
	// a 3-node cluster serving 10,000 polling clients that get 10
	// broadcasts a second (some 22,000 hops a second each), longer than
	// a hop takes even when its connection waits for a retransmitted SYN
	// (1 s). No window needs to span more than maxSkew: older hops are
	// refused for their timestamp anyway. Each tracked sender costs
	// windowWords×8 bytes, about 4 KiB.
	windowWords = 513
	windowSize  = (windowWords - 1) * 64

	// senderTTL is how long a sender's state outlives its last accepted
	// hop; see replayCache.
	senderTTL = 2 * maxSkew
	// maxSenders bounds the senders tracked: the nodes of the cluster and
	// those restarted within senderTTL (each start is a new sender). At
	// most 16 MiB of windows.
	maxSenders = 4096
)

var (
	errReplay      = errors.New("cluster: replayed request")
	errSeen        = fmt.Errorf("%w: its sequence number was accepted already", errReplay)
	errTooOld      = fmt.Errorf("%w (or late): its sequence number is below its sender's window", errReplay)
	errStale       = fmt.Errorf("%w: stamped more than the skew ago once its body was read", errBadSignature)
	errSendersFull = errors.New("cluster: replay cache full (too many senders)")
)

// maxNonces and errNoncesFull are maxSenders and errSendersFull under the
// names node.go and handler.go still use, from the nonce cache this one
// replaced; they go once those files use the new names.
const maxNonces = maxSenders

var errNoncesFull = errSendersFull

// replayCache is a node's defense against replayed hops, as IPsec and
// DTLS do it: every hop a node signs carries the node's boot id, picked at
// random when the node is made, and a sequence number one above that of
// the previous hop it signed; a receiver accepts each (boot id, number)
// once.
//
// For each sender (boot id) the receiver keeps the highest number it
// accepted and a window of the windowSize numbers up to it, in which it
// marks those accepted: a number above the window is accepted and slides
// the window up; one in the window is accepted once; one below it is
// refused. Its cost does not depend on the rate of hops, only on the
// number of senders.
//
// A sender's state is forgotten senderTTL after the last hop accepted
// from it, and that is safe: a hop accepted at time a was stamped a+maxSkew
// at the latest, so once a+2×maxSkew has passed the timestamp check refuses
// a copy of it. check makes that check with the same clock reading with
// which it forgets, so that a copy whose body is sent slowly cannot pass
// the check before its sender is forgotten and reach the state after.
// (Like any timestamp check, this one trusts the clock not to step back
// by more than maxSkew.) A restarted sender has a new boot id: its numbers
// start over in a new state.
//
// At most max senders are tracked; a hop from a new sender beyond that is
// refused rather than a sender forgotten early, which would let copies of
// its recent hops in. Only hops signed with the cluster secret reach the
// cache, so only cluster members can add senders.
type replayCache struct {
	// The sending side: the boot id (hex) and the last number used.
	bootID string
	seq    atomic.Uint64

	mu      sync.Mutex
	max     int
	now     func() time.Time
	senders map[[bootIDLen]byte]*sender
	// recent lists the senders, most recently accepted first: expire
	// forgets from its back.
	recent list.List
}

// sender is the state of one sender (boot id) on the receiving side.
type sender struct {
	bootID [bootIDLen]byte
	// lastSeen is when a hop from it was last accepted; it never goes
	// back, even if the clock does.
	lastSeen time.Time
	elem     *list.Element // in replayCache.recent
	window
}

// newReplayCache returns a cache tracking at most max senders, with a new
// boot id for the hops its node signs.
func newReplayCache(max int) *replayCache {
	var b [bootIDLen]byte
	_, _ = rand.Read(b[:]) // never fails
	return &replayCache{bootID: hex.EncodeToString(b[:]), max: max, now: wallClock,
		senders: map[[bootIDLen]byte]*sender{}}
}

// wallClock is time.Now without its monotonic reading: the timestamps that
// senderTTL guards against are read on the wall clock.
func wallClock() time.Time { return time.Now().Round(0) }

// next returns the boot id and a new sequence number for a hop to sign.
func (c *replayCache) next() (bootID string, seq uint64) {
	return c.bootID, c.seq.Add(1)
}

// check accepts the hop numbered seq by the sender bootID, stamped at. It
// fails with errSeen when that number was accepted already and errTooOld
// when it is below the sender's window (both are errReplay), with
// errStale when at is more than maxSkew ago, and with errSendersFull for a
// new sender when the cache is full.
func (c *replayCache) check(bootID [bootIDLen]byte, seq uint64, at time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	c.expire(now)
	if now.Sub(at) > maxSkew {
		return errStale
	}
	s := c.senders[bootID]
	if s == nil {
		if len(c.senders) >= c.max {
			return errSendersFull
		}
		s = &sender{bootID: bootID, lastSeen: now}
		s.elem = c.recent.PushFront(s)
		c.senders[bootID] = s
	}
	if err := s.accept(seq); err != nil {
		return err
	}
	if now.After(s.lastSeen) {
		s.lastSeen = now
	}
	c.recent.MoveToFront(s.elem)
	return nil
}

// expire forgets the senders last seen more than senderTTL before now.
// c.mu is held.
//
// recent is in the order of the clock, which may step back: a sender
// behind one seen later by an earlier clock is then forgotten late, which
// is safe.
func (c *replayCache) expire(now time.Time) {
	for e := c.recent.Back(); e != nil; e = c.recent.Back() {
		s := e.Value.(*sender)
		if now.Sub(s.lastSeen) <= senderTTL {
			return
		}
		c.recent.Remove(e)
		delete(c.senders, s.bootID)
	}
}

// window is an anti-replay window: the highest sequence number accepted
// and a bitmap of the windowSize numbers up to it, bit n%64 of word
// (n/64)%windowWords marking number n. The numbers in the window span at
// most windowWords words, so no two share a bit.
type window struct {
	top  uint64
	bits [windowWords]uint64
}

// accept marks seq, failing with errSeen when it was marked already and
// with errTooOld when it is below the window.
func (w *window) accept(seq uint64) error {
	switch {
	case seq > w.top:
		w.slide(seq)
	case w.top-seq >= windowSize:
		return errTooOld
	}
	word, bit := &w.bits[seq/64%windowWords], uint64(1)<<(seq%64)
	if *word&bit != 0 {
		return errSeen
	}
	*word |= bit
	return nil
}

// slide moves the top of the window up to seq, clearing the words that
// enter it (they held numbers now below it).
func (w *window) slide(seq uint64) {
	from, to := w.top/64, seq/64
	if to-from > windowWords {
		from = to - windowWords
	}
	for i := from + 1; i <= to; i++ {
		w.bits[i%windowWords] = 0
	}
	w.top = seq
}
