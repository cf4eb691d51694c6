package redis

import (
	"sync"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/engineio"
)

// seqTracker follows the sequence numbers of other nodes' messages (one
// sequence per publisher) to notice the ones this node never got.
//
// In ordered mode (a stream) a number below the next expected one is a
// duplicate and a jump is a loss. Unordered mode (pub/sub, where a node's
// concurrent publishes may reach Redis out of order) tolerates holes for
// reorderWait; holes still open after it, or too many numbers ahead, are
// losses. Unordered mode never reports duplicates: pub/sub does not repeat
// messages.
type seqTracker struct {
	ordered bool

	mu   sync.Mutex
	pubs map[string]*pubSeq
}

type pubSeq struct {
	next     uint64              // lowest number not seen yet
	ahead    map[uint64]struct{} // numbers seen above next (unordered mode)
	holeFrom time.Time           // when the oldest open hole appeared
	seen     time.Time
}

const (
	reorderWait  = 2 * time.Second
	maxAhead     = 4096
	forgetSilent = 10 * time.Minute
)

func newSeqTracker(ordered bool) *seqTracker {
	return &seqTracker{ordered: ordered, pubs: map[string]*pubSeq{}}
}

// observe records number seq from publisher uid. It reports whether the
// message repeats one seen before (ordered mode) and how many messages of
// that publisher are known lost.
func (t *seqTracker) observe(uid string, seq uint64, now time.Time) (dup bool, lost uint64) {
	if seq == 0 || uid == "" {
		return false, 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.pubs[uid]
	if p == nil {
		if len(t.pubs) > 1024 {
			t.forgetLocked(now)
		}
		t.pubs[uid] = &pubSeq{next: seq + 1, seen: now}
		return false, 0
	}
	p.seen = now
	if t.ordered {
		switch {
		case seq < p.next:
			return true, 0
		case seq > p.next:
			lost = seq - p.next
		}
		p.next = seq + 1
		return false, lost
	}
	return false, p.unordered(seq, now)
}

// unordered records seq in unordered mode and returns the messages now
// known lost.
func (p *pubSeq) unordered(seq uint64, now time.Time) uint64 {
	if seq < p.next {
		return 0
	}
	if seq == p.next {
		p.next++
		p.advance()
	} else {
		if p.ahead == nil {
			p.ahead = map[uint64]struct{}{}
		}
		if len(p.ahead) == 0 {
			p.holeFrom = now
		}
		p.ahead[seq] = struct{}{}
	}
	return p.expire(now)
}

// advance moves next over the numbers already seen.
func (p *pubSeq) advance() {
	for {
		if _, ok := p.ahead[p.next]; !ok {
			break
		}
		delete(p.ahead, p.next)
		p.next++
	}
	if len(p.ahead) > 0 {
		p.holeFrom = time.Now()
	}
}

// expire gives up on holes older than reorderWait (or when too many
// numbers wait behind them) and returns how many messages they held.
func (p *pubSeq) expire(now time.Time) uint64 {
	if len(p.ahead) == 0 || now.Sub(p.holeFrom) < reorderWait && len(p.ahead) < maxAhead {
		return 0
	}
	var top uint64
	for s := range p.ahead {
		top = max(top, s)
	}
	lost := top + 1 - p.next - uint64(len(p.ahead))
	p.next = top + 1
	clear(p.ahead)
	return lost
}

// sweep expires old holes of every publisher (unordered mode) and returns
// the messages now known lost.
func (t *seqTracker) sweep(now time.Time) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var lost uint64
	for _, p := range t.pubs {
		lost += p.expire(now)
	}
	t.forgetLocked(now)
	return lost
}

func (t *seqTracker) forgetLocked(now time.Time) {
	for uid, p := range t.pubs {
		if now.Sub(p.seen) > forgetSilent {
			delete(t.pubs, uid)
		}
	}
}

// reset forgets every publisher (after a loss handled otherwise).
func (t *seqTracker) reset() {
	t.mu.Lock()
	clear(t.pubs)
	t.mu.Unlock()
}

// lost counts a loss of messages in namespace nsp and, unless
// KeepClientsOnLoss, closes the transport of every local socket of the
// namespace, so that the clients reconnect (and, with connection state
// recovery, get what they missed) rather than silently missing events.
// The closes run on their own goroutine.
func (b *base) lost(why string, lost uint64) {
	b.a.stats.lossesDetected.Add(1)
	b.a.log.Warn("redis adapter: this node missed messages", "nsp", b.nsp, "why", why, "messages", lost,
		"reconnectClients", !b.a.opts.KeepClientsOnLoss)
	if b.a.opts.KeepClientsOnLoss {
		return
	}
	ids := b.Match(adapter.Options{})
	b.a.goTracked(func() {
		for _, id := range ids {
			s, ok := b.ns.Socket(id).(interface{ Conn() *engineio.Conn })
			if !ok {
				continue
			}
			if c := s.Conn(); c != nil {
				c.Close()
				b.a.stats.clientsReconnected.Add(1)
			}
		}
	})
}
