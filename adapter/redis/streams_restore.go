package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/rueidis"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/internal/clusterwire"
	"github.com/switchboard-io/switchboard/parser"
)

const (
	restorePage   = 500
	restoreRounds = 100 // pages at most, as Node bounds its XRANGE calls
)

// RestoreSession implements adapter.SessionStore. Any node restores any
// session: it takes the session from Redis, reads the stream from the
// client's offset (XRANGE, outside any lock), then, holding the lock of
// its stream reader, hands over exactly the entries up to the one the
// reader delivered last and attaches the socket: the following entries
// reach it live. Room changes made meanwhile by socketsJoin/Leave are
// applied to the session; a socket that disconnectSockets targeted
// meanwhile is not recovered.
func (s *streamsNS) RestoreSession(ctx context.Context, pid, offset string, attach func(*adapter.Session) error) error {
	from, ok := parseID(offset)
	if !ok || s.window() <= 0 {
		return fmt.Errorf("%w: offset %q", adapter.ErrNotRecoverable, offset)
	}
	sess, err := s.h.store.take(ctx, pid)
	if err != nil {
		return fmt.Errorf("%w: %w", adapter.ErrNotRecoverable, err)
	}
	if sess == nil {
		return fmt.Errorf("%w: no session", adapter.ErrNotRecoverable)
	}
	err = s.st.restore(ctx, s, sess, from, attach)
	switch {
	case err == nil:
		s.h.store.revive(pid)
	case !errors.Is(err, adapter.ErrNotRecoverable):
		s.h.store.putBack(s, sess) // the client may try again
	}
	return err
}

// restore replays the entries of namespace ns after from and attaches the
// socket, atomically with the reader's deliveries.
func (st *stream) restore(ctx context.Context, ns *streamsNS, sess *adapter.Session, from entryID,
	attach func(*adapter.Session) error) error {
	select {
	case <-st.started:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	page, err := st.xrange(ctx, from.String())
	if err != nil {
		return err
	}
	if len(page) == 0 || page[0].ID != from.String() {
		// trimmed, or from a stream Redis lost
		return fmt.Errorf("%w: offset %s not in the stream", adapter.ErrNotRecoverable, from)
	}
	rp := newReplay(ns.nsp, sess)
	rp.add(page[1:])
	tip, _ := parseID(page[len(page)-1].ID)
	var none entryID // no entry exists in (tip, none]
	for round := 0; round < restoreRounds; {
		last, moved := st.position()
		if last.less(from) { // this node is behind the client: wait
			select {
			case <-moved:
				continue
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		if done, err := st.tryAttach(rp, tip, none, attach); done {
			return err
		}
		round++
		if page, err = st.xrange(ctx, tip.next().String()); err != nil {
			return err
		}
		if len(page) == 0 {
			none = last
			continue
		}
		rp.add(page)
		tip, _ = parseID(page[len(page)-1].ID)
	}
	return fmt.Errorf("%w: more than %d pages to replay", adapter.ErrNotRecoverable, restoreRounds)
}

// tryAttach attaches the socket if the replay covers every entry up to the
// reader's position. It holds st.mu, so the reader cannot move meanwhile.
func (st *stream) tryAttach(rp *replay, tip, none entryID, attach func(*adapter.Session) error) (bool, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if tip.less(st.last) && none.less(st.last) {
		return false, nil
	}
	restored, ok := rp.upTo(st.last, st.skipped)
	if !ok {
		return true, fmt.Errorf("%w: disconnected meanwhile", adapter.ErrNotRecoverable)
	}
	return true, attach(restored)
}

func (st *stream) xrange(ctx context.Context, start string) ([]rueidis.XRangeEntry, error) {
	c := st.h.a.client
	return c.Do(ctx, c.B().Xrange().Key(st.key).Start(start).End("+").Count(restorePage).Build()).AsXRange()
}

// replay is what a restoring socket missed: the namespace's entries after
// its offset, decoded.
type replay struct {
	nsp     string
	sess    *adapter.Session
	entries []replayEntry
}

type replayEntry struct {
	id     entryID
	uid    string
	seq    uint64
	typ    clusterwire.MessageType
	opts   adapter.Options
	packet *parser.Packet
	rooms  []string
}

func newReplay(nsp string, sess *adapter.Session) *replay { return &replay{nsp: nsp, sess: sess} }

// add decodes the namespace's entries that matter to a restore.
func (rp *replay) add(page []rueidis.XRangeEntry) {
	for _, e := range page {
		if e.FieldValues[clusterwire.NspField] != rp.nsp {
			continue
		}
		id, ok := parseID(e.ID)
		m, d, atts, seq, err := clusterwire.DecodeStreamEntry(e.FieldValues)
		if !ok || err != nil {
			continue
		}
		re := replayEntry{id: id, uid: m.UID, seq: seq, typ: m.Type, rooms: d.Rooms}
		if d.Opts != nil {
			re.opts = d.Opts.ToAdapter()
		}
		switch m.Type {
		case clusterwire.BroadcastMsg:
			if d.RequestID != "" {
				continue
			}
			if re.packet, err = decodePacket(rp.nsp, d.Packet, atts); err != nil || !adapter.Eligible(re.packet, re.opts) {
				continue
			}
		case clusterwire.SocketsJoin, clusterwire.SocketsLeave, clusterwire.DisconnectSockets:
		default:
			continue
		}
		rp.entries = append(rp.entries, re)
	}
}

// upTo returns the session as of entry last: its rooms changed by
// socketsJoin/Leave, and the events it missed with their offsets, skipping
// the entries the reader skipped as duplicates (and, before the reader
// started, repeated publisher numbers). ok is false when the socket was
// disconnected meanwhile.
func (rp *replay) upTo(last entryID, skipped map[entryID]time.Time) (*adapter.Session, bool) {
	out := *rp.sess
	out.Rooms = slices.Clone(rp.sess.Rooms)
	out.Missed = nil
	seen := map[string]uint64{}
	for _, e := range rp.entries {
		if last.less(e.id) {
			break
		}
		if _, dup := skipped[e.id]; dup {
			continue
		}
		if e.seq > 0 {
			if e.seq <= seen[e.uid] {
				continue
			}
			seen[e.uid] = e.seq
		}
		if !adapter.Missed(e.opts, out.Rooms) {
			continue
		}
		switch e.typ {
		case clusterwire.BroadcastMsg:
			out.Missed = append(out.Missed, adapter.WithOffset(e.packet, e.id.String()))
		case clusterwire.SocketsJoin:
			for _, r := range e.rooms {
				if !slices.Contains(out.Rooms, r) {
					out.Rooms = append(out.Rooms, r)
				}
			}
		case clusterwire.SocketsLeave:
			out.Rooms = slices.DeleteFunc(out.Rooms, func(r string) bool { return slices.Contains(e.rooms, r) })
		case clusterwire.DisconnectSockets:
			return nil, false
		}
	}
	return &out, true
}
