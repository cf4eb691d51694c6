package engineio

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// upgradeDelays sizes the hold of new polling sessions (Options.OpenDelay
// up to Options.MaxOpenDelay) from how long after their handshake recent
// WebSocket upgrades arrived: twice their 90th percentile. When a burst of
// connections or a busy machine makes upgrades late, the hold grows with
// them, so that they still reach their session before the handler sees
// it and can take it over; when upgrades are quick again, it shrinks back.
// Upgrades that came too late count too, so a miss widens the window for
// the sessions after it.
type upgradeDelays struct {
	min, max time.Duration
	hold     atomic.Int64 // nanoseconds

	mu      sync.Mutex
	ring    [128]time.Duration
	n       int // samples recorded; the latest is ring[(n-1)%len(ring)]
	scratch []time.Duration
}

func newUpgradeDelays(min, max time.Duration) *upgradeDelays {
	u := &upgradeDelays{min: min, max: max}
	u.hold.Store(int64(min))
	return u
}

// record adds the delay of one upgrade after its handshake.
func (u *upgradeDelays) record(d time.Duration) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.ring[u.n%len(u.ring)] = d
	u.n++
	if u.n > 16 && u.n%8 != 0 {
		return // recomputed every 8 samples once warm
	}
	u.scratch = append(u.scratch[:0], u.ring[:min(u.n, len(u.ring))]...)
	slices.Sort(u.scratch)
	p90 := u.scratch[(len(u.scratch)*9)/10]
	u.hold.Store(int64(max(u.min, min(u.max, 2*p90))))
}

// window returns the current hold.
func (u *upgradeDelays) window() time.Duration { return time.Duration(u.hold.Load()) }

// openDelay is how long a new polling session is held back.
func (s *Server) openDelay() time.Duration {
	if s.delays != nil {
		return s.delays.window()
	}
	return s.opts.OpenDelay
}

// upgradeArrived records how late, after its handshake, an upgrade for c
// arrived (here, or at the node that asks for the session).
func (s *Server) upgradeArrived(c *Conn) {
	if s.delays != nil {
		s.delays.record(time.Since(c.created))
	}
}
