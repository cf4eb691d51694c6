package redis

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/internal/clusterwire"
)

// sessionStore keeps the sessions of this node's sockets in Redis, as
// Node's streams adapter stores them (SET <prefix><pid>
// base64(msgpack({sid, pid, rooms, data})) PX <ttl>), but from the moment a
// socket connects: the sessions of connected sockets are rewritten on every
// change and refreshed periodically, so they outlive a crash of this node
// by the recovery window; the final write at disconnect expires after the
// window.
//
// Lock order: sessionStore.mu is taken last and never held during network
// calls.
type sessionStore struct {
	a      *Adapter
	prefix string
	kick   chan struct{}

	mu       sync.Mutex
	live     map[string]*liveSession // pid → session of a connected socket
	bySID    map[string]string       // socket id → pid
	ended    map[string]time.Time    // pid → when its socket left (later live writes are stale)
	interval time.Duration           // refresh period
	maxAge   time.Duration           // longest recovery window of the namespaces
	closed   bool
}

type liveSession struct {
	ns   *streamsNS
	pid  string
	sess adapter.Session // guarded by sessionStore.mu

	// wmu orders the writes of this session: each one reads the socket's
	// rooms while holding it, so the write that lands last is the newest
	// (two writes of one session, sent concurrently, could reach Redis in
	// either order).
	wmu sync.Mutex
}

func newSessionStore(a *Adapter, prefix string) *sessionStore {
	return &sessionStore{a: a, prefix: prefix, kick: make(chan struct{}, 1), live: map[string]*liveSession{},
		bySID: map[string]string{}, ended: map[string]time.Time{}, interval: 30 * time.Second}
}

// window registers a namespace's recovery window: the refresh period is a
// quarter of the shortest one (1 s to 30 s).
func (st *sessionStore) window(w time.Duration) {
	if w <= 0 {
		return
	}
	st.mu.Lock()
	st.interval = min(st.interval, max(w/4, time.Second))
	st.maxAge = max(st.maxAge, w)
	st.mu.Unlock()
}

func (st *sessionStore) key(pid string) string { return st.prefix + pid }

// liveTTL is the expiry of a connected socket's session: the window plus
// two refresh periods, so that it outlives a crash by the whole window.
func (st *sessionStore) liveTTL(ns *streamsNS) time.Duration {
	st.mu.Lock()
	defer st.mu.Unlock()
	return ns.windowOr(st.maxAge) + 2*st.interval
}

func (s *streamsNS) windowOr(def time.Duration) time.Duration {
	if w := s.window(); w > 0 {
		return w
	}
	if def > 0 {
		return def
	}
	return 2 * time.Minute
}

// persist writes a session: a connected socket's (kept and refreshed), or
// the final one of a socket that went away.
func (st *sessionStore) persist(ctx context.Context, ns *streamsNS, s *adapter.Session) error {
	live := s.DisconnectedAt.IsZero()
	sess := *s
	ttl := st.liveTTL(ns)
	if !live {
		ttl = ns.windowOr(0) - time.Since(s.DisconnectedAt)
		if ttl <= 0 {
			return st.drop(ctx, s.PID)
		}
	}
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return ErrClosed
	}
	ls := st.live[s.PID]
	if live {
		if _, gone := st.ended[s.PID]; gone {
			st.mu.Unlock()
			return nil // a late write for a socket that left already
		}
		if ls == nil {
			ls = &liveSession{ns: ns, pid: s.PID}
			st.live[s.PID] = ls
			st.bySID[s.SID] = s.PID
		}
		ls.sess = sess
	} else {
		st.forgetLocked(s.PID)
	}
	st.a.stats.liveSessions.Store(int64(len(st.live)))
	st.mu.Unlock()
	if ls == nil {
		return st.set(ctx, &sess, ttl, false)
	}
	ls.wmu.Lock()
	defer ls.wmu.Unlock()
	if !live {
		return st.set(ctx, &sess, ttl, false) // after the live writes in flight
	}
	cur, ok := st.current(ls)
	if !ok {
		return nil // the socket left while this write waited
	}
	return st.set(ctx, &cur, ttl, false)
}

// current returns what to write for a live session, with the socket's
// rooms as of now; ok is false when the session is no longer live.
// ls.wmu held.
func (st *sessionStore) current(ls *liveSession) (adapter.Session, bool) {
	st.mu.Lock()
	s := ls.sess
	ok := st.live[ls.pid] == ls
	st.mu.Unlock()
	if rooms := ls.ns.RoomsOf(s.SID); rooms != nil {
		s.Rooms = rooms
	}
	return s, ok
}

// forgetLocked stops refreshing pid and ignores its later live writes.
func (st *sessionStore) forgetLocked(pid string) {
	if ls := st.live[pid]; ls != nil {
		delete(st.bySID, ls.sess.SID)
		delete(st.live, pid)
	}
	st.ended[pid] = time.Now()
}

// set writes one session (only if absent with nx).
func (st *sessionStore) set(ctx context.Context, s *adapter.Session, ttl time.Duration, nx bool) error {
	val, err := clusterwire.EncodeSession(s)
	if err != nil {
		return err
	}
	c := st.a.client
	var cmd rueidis.Completed
	if nx {
		cmd = c.B().Set().Key(st.key(s.PID)).Value(val).Nx().PxMilliseconds(max(ttl.Milliseconds(), 1)).Build()
	} else {
		cmd = c.B().Set().Key(st.key(s.PID)).Value(val).PxMilliseconds(max(ttl.Milliseconds(), 1)).Build()
	}
	if err := c.Do(ctx, cmd).Error(); err != nil && !rueidis.IsRedisNil(err) {
		st.a.stats.sessionWriteErrors.Add(1)
		return err
	}
	return nil
}

// drop forgets a session for good.
func (st *sessionStore) drop(ctx context.Context, pid string) error {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return ErrClosed
	}
	st.forgetLocked(pid)
	st.a.stats.liveSessions.Store(int64(len(st.live)))
	st.mu.Unlock()
	c := st.a.client
	if err := c.Do(ctx, c.B().Del().Key(st.key(pid)).Build()).Error(); err != nil {
		st.a.stats.sessionWriteErrors.Add(1)
		return err
	}
	return nil
}

// take reads and deletes a stored session (GETDEL, Redis ≥ 6.2); nil when
// there is none.
func (st *sessionStore) take(ctx context.Context, pid string) (*adapter.Session, error) {
	c := st.a.client
	v, err := c.Do(ctx, c.B().Getdel().Key(st.key(pid)).Build()).ToString()
	if rueidis.IsRedisNil(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return clusterwire.DecodeSession(v)
}

// putBack stores again a session taken by a restore that failed before
// attaching (unless another one was stored meanwhile).
func (st *sessionStore) putBack(ns *streamsNS, s *adapter.Session) {
	ctx, cancel := context.WithTimeout(st.a.ctx, 2*time.Second)
	defer cancel()
	_ = st.set(ctx, s, ns.windowOr(0), true)
}

// revive accepts live writes for pid again: its socket was recovered here.
func (st *sessionStore) revive(pid string) {
	st.mu.Lock()
	delete(st.ended, pid)
	st.mu.Unlock()
}

// roomsChanged rewrites the live sessions of sockets whose rooms another
// node changed (socketsJoin/Leave). The writes run on their own goroutine.
func (st *sessionStore) roomsChanged(sids []string) {
	st.mu.Lock()
	var todo []*liveSession
	for _, sid := range sids {
		if ls := st.live[st.bySID[sid]]; ls != nil {
			todo = append(todo, ls)
		}
	}
	st.mu.Unlock()
	if len(todo) == 0 {
		return
	}
	st.a.goTracked(func() {
		ctx, cancel := context.WithTimeout(st.a.ctx, 5*time.Second)
		defer cancel()
		st.write(ctx, todo)
	})
}

// rewrite refreshes every live session now (Redis may have lost them).
func (st *sessionStore) rewrite() {
	select {
	case st.kick <- struct{}{}:
	default:
	}
}

// run refreshes the live sessions until ctx ends.
func (st *sessionStore) run(ctx context.Context) {
	st.mu.Lock()
	every := st.interval
	st.mu.Unlock()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			st.mu.Lock()
			st.closed = true
			st.mu.Unlock()
			return
		case <-t.C:
		case <-st.kick:
		}
		st.mu.Lock()
		if st.interval != every {
			every = st.interval
			t.Reset(every)
		}
		all := make([]*liveSession, 0, len(st.live))
		for _, ls := range st.live {
			all = append(all, ls)
		}
		st.expireLocked()
		st.mu.Unlock()
		st.write(ctx, all)
	}
}

func (st *sessionStore) expireLocked() {
	now := time.Now()
	for pid, at := range st.ended {
		if now.Sub(at) > time.Minute { // late writes come within milliseconds
			delete(st.ended, pid)
		}
	}
}

// write stores sessions with their current rooms, pipelined. It holds the
// write locks of a batch, taken in PID order so that two writes never
// wait for each other.
func (st *sessionStore) write(ctx context.Context, todo []*liveSession) {
	slices.SortFunc(todo, func(a, b *liveSession) int { return strings.Compare(a.pid, b.pid) })
	todo = slices.Compact(todo)
	for len(todo) > 0 && ctx.Err() == nil {
		n := min(len(todo), 512)
		st.writeBatch(ctx, todo[:n])
		todo = todo[n:]
	}
}

func (st *sessionStore) writeBatch(ctx context.Context, batch []*liveSession) {
	c := st.a.client
	cmds := make(rueidis.Commands, 0, len(batch))
	for _, ls := range batch {
		ls.wmu.Lock()
		defer ls.wmu.Unlock()
		s, ok := st.current(ls)
		if !ok {
			continue
		}
		val, err := clusterwire.EncodeSession(&s)
		if err != nil {
			continue
		}
		ttl := st.liveTTL(ls.ns)
		cmds = append(cmds, c.B().Set().Key(st.key(s.PID)).Value(val).PxMilliseconds(ttl.Milliseconds()).Build())
	}
	for _, r := range c.DoMulti(ctx, cmds...) {
		if r.Error() != nil {
			st.a.stats.sessionWriteErrors.Add(1)
		}
	}
}

// close stops every write: a closed adapter persists nothing more.
func (st *sessionStore) close() {
	st.mu.Lock()
	st.closed = true
	st.mu.Unlock()
}
