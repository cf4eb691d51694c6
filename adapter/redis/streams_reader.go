package redis

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"
)

// entryID is a stream entry id <ms>-<seq>.
type entryID struct{ ms, seq uint64 }

func parseID(s string) (entryID, bool) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return entryID{}, false
	}
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	return entryID{ms, seq}, err1 == nil && err2 == nil
}

func (e entryID) String() string {
	return strconv.FormatUint(e.ms, 10) + "-" + strconv.FormatUint(e.seq, 10)
}

func (e entryID) less(o entryID) bool { return e.ms < o.ms || e.ms == o.ms && e.seq < o.seq }

// next is the smallest id after e (XRANGE's exclusive start, for Redis
// before 6.2).
func (e entryID) next() entryID {
	if e.seq == ^uint64(0) {
		return entryID{e.ms + 1, 0}
	}
	return entryID{e.ms, e.seq + 1}
}

// stream is one Redis stream: its reader, which delivers every entry to the
// namespaces on this node in stream order, and its appender.
//
// Lock order: stream.mu, then the namespace adapters' locks (the rooms of
// adapter.Memory, the socketio namespace), then sessionStore.mu. stream.mu
// is never held during a network call.
type stream struct {
	h   *streamsHub
	key string
	app *appender

	mu       sync.Mutex
	last     entryID       // the last entry delivered (or the stream's end at start)
	progress chan struct{} // closed and replaced whenever last moves
	nsps     map[string]*streamsNS
	skipped  map[entryID]time.Time // entries skipped as duplicates, for restores
	pubs     *seqTracker

	started chan struct{} // closed once last is known
	done    chan struct{}
}

func newStream(h *streamsHub, key string) *stream {
	st := &stream{h: h, key: key, progress: make(chan struct{}), nsps: map[string]*streamsNS{},
		skipped: map[entryID]time.Time{}, pubs: newSeqTracker(true),
		started: make(chan struct{}), done: make(chan struct{})}
	st.app = newAppender(st)
	return st
}

func (st *stream) add(ns *streamsNS) {
	st.mu.Lock()
	st.nsps[ns.nsp] = ns
	st.mu.Unlock()
}

func (st *stream) remove(ns *streamsNS) {
	st.mu.Lock()
	if st.nsps[ns.nsp] == ns {
		delete(st.nsps, ns.nsp)
	}
	st.mu.Unlock()
}

// run reads the stream until ctx ends: from its end when the node starts,
// then from the last entry delivered, across Redis failures and restarts.
func (st *stream) run(ctx context.Context) {
	defer close(st.done)
	a := st.h.a
	backoff := newBackoff()
	for ctx.Err() == nil {
		tip, _, err := st.info(ctx)
		if err == nil {
			st.mu.Lock()
			st.last = tip
			st.mu.Unlock()
			close(st.started)
			break
		}
		backoff.wait(ctx)
	}
	failing := false
	for ctx.Err() == nil {
		entries, err := st.read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failing {
				a.log.Warn("redis adapter: reading the stream failed; retrying", "stream", st.key, "err", err)
			}
			failing = true
			st.recover(ctx, backoff)
			continue
		}
		if failing {
			a.log.Warn("redis adapter: reading the stream again", "stream", st.key)
			failing = false
		}
		backoff.reset()
		st.deliver(entries)
		if int64(len(entries)) >= st.h.o.ReadCount {
			st.checkTrimmed(ctx) // behind: did entries go before we read them?
		}
	}
}

// read waits (XREAD BLOCK) for the entries after the last one delivered.
func (st *stream) read(ctx context.Context) ([]rueidis.XRangeEntry, error) {
	st.mu.Lock()
	from := st.last.String()
	st.mu.Unlock()
	c := st.h.a.client
	cmd := c.B().Xread().Count(st.h.o.ReadCount).Block(st.h.o.BlockTime.Milliseconds()).
		Streams().Key(st.key).Id(from).Build()
	res, err := c.Do(ctx, cmd).AsXRead()
	if rueidis.IsRedisNil(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return res[st.key], nil
}

// info returns the id of the stream's last entry (zero when there is no
// stream) and the largest id ever trimmed (Redis ≥ 7; zero otherwise).
func (st *stream) info(ctx context.Context) (last, maxDeleted entryID, err error) {
	c := st.h.a.client
	m, err := c.Do(ctx, c.B().XinfoStream().Key(st.key).Build()).AsMap()
	if err != nil {
		if strings.Contains(err.Error(), "no such key") {
			return entryID{}, entryID{}, nil
		}
		return entryID{}, entryID{}, err
	}
	if v, ok := m["last-generated-id"]; ok {
		s, _ := v.ToString()
		last, _ = parseID(s)
	}
	if v, ok := m["max-deleted-entry-id"]; ok {
		s, _ := v.ToString()
		maxDeleted, _ = parseID(s)
	}
	return last, maxDeleted, nil
}

// recover waits for Redis after a failed read, then checks what became of
// the stream: gone or rolled back (Redis restarted without the data), or
// trimmed past the last entry read. Sessions of local sockets are written
// again and the appender re-checks its state, since Redis may have lost
// both.
func (st *stream) recover(ctx context.Context, b *backoff) {
	for ctx.Err() == nil {
		b.wait(ctx)
		last, maxDeleted, err := st.info(ctx)
		if err != nil {
			continue
		}
		st.mu.Lock()
		behind := last.less(st.last)
		if behind {
			// The stream restarted below us: read it from its new end
			// (or start), relying on publishers' replays and dedup.
			st.last = last
			close(st.progress)
			st.progress = make(chan struct{})
		}
		trimmed := !behind && st.last.less(maxDeleted)
		st.mu.Unlock()
		if behind {
			st.h.a.stats.streamResets.Add(1)
			st.h.a.log.Warn("redis adapter: the stream was reset (Redis lost it); reading it anew", "stream", st.key)
		}
		if trimmed {
			st.lost("stream entries trimmed before they were read", 0)
		}
		st.app.verifyState()
		st.h.store.rewrite()
		return
	}
}

// checkTrimmed reports a loss when entries after the last one delivered
// were trimmed before this node read them.
func (st *stream) checkTrimmed(ctx context.Context) {
	_, maxDeleted, err := st.info(ctx)
	if err != nil {
		return
	}
	st.mu.Lock()
	trimmed := st.last.less(maxDeleted)
	st.mu.Unlock()
	if trimmed {
		st.lost("stream entries trimmed before they were read", 0)
	}
}

// deliver hands entries to their namespaces in order, under st.mu, so that
// a restore sees every entry either in its replay or live.
func (st *stream) deliver(entries []rueidis.XRangeEntry) {
	if len(entries) == 0 {
		return
	}
	a := st.h.a
	a.stats.entriesRead.Add(uint64(len(entries)))
	now := time.Now()
	var lost uint64
	st.mu.Lock()
	for _, e := range entries {
		id, ok := parseID(e.ID)
		if !ok || !st.last.less(id) {
			continue
		}
		st.last = id
		uid, seq := e.FieldValues["uid"], parseSeq(e.FieldValues)
		dup, gap := st.pubs.observe(uid, seq, now)
		lost += gap
		if dup {
			a.stats.duplicatesSkipped.Add(1)
			st.skipped[id] = now
			continue
		}
		if ns := st.nsps[e.FieldValues["nsp"]]; ns != nil {
			ns.onEntry(id, e.FieldValues)
		}
	}
	close(st.progress)
	st.progress = make(chan struct{})
	if len(st.skipped) > 0 {
		st.expireSkipped(now)
	}
	st.mu.Unlock()
	if lost > 0 {
		st.lost("a gap in another node's sequence", lost)
	}
}

// expireSkipped forgets old duplicate marks. st.mu held.
func (st *stream) expireSkipped(now time.Time) {
	for id, at := range st.skipped {
		if now.Sub(at) > 10*time.Minute {
			delete(st.skipped, id)
		}
	}
}

// lost reports a loss to every namespace of the stream.
func (st *stream) lost(why string, n uint64) {
	st.mu.Lock()
	nsps := make([]*streamsNS, 0, len(st.nsps))
	for _, ns := range st.nsps {
		nsps = append(nsps, ns)
	}
	st.mu.Unlock()
	for _, ns := range nsps {
		ns.lost(why, n)
	}
}

// position returns the last entry delivered and a channel closed when it
// moves.
func (st *stream) position() (entryID, <-chan struct{}) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.last, st.progress
}

// waitDelivered waits until the reader delivered entry id.
func (st *stream) waitDelivered(ctx context.Context, id entryID) error {
	for {
		last, moved := st.position()
		if !last.less(id) {
			return nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

func parseSeq(f map[string]string) uint64 {
	v := f["sbseq"]
	if v == "" {
		return 0
	}
	n, _ := strconv.ParseUint(v, 10, 64)
	return n
}

// backoff is an exponential backoff with jitter, 50 ms to 2 s.
type backoff struct{ d time.Duration }

func newBackoff() *backoff { return &backoff{d: 50 * time.Millisecond} }

func (b *backoff) reset() { b.d = 50 * time.Millisecond }

func (b *backoff) wait(ctx context.Context) {
	t := time.NewTimer(b.d + rand.N(b.d/2+1))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	b.d = min(2*b.d, 2*time.Second)
}
