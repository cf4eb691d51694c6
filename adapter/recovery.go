package adapter

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-io/switchboard/parser"
)

// Session is the state of a socket kept for connection state recovery: its
// ids, rooms and data.
type Session struct {
	SID   string          `json:"sid"`
	PID   string          `json:"pid"`
	Rooms []string        `json:"rooms"`
	Data  json.RawMessage `json:"data"`
	// DisconnectedAt is when the socket went away; zero for a socket that
	// is connected (stores that survive a node's death keep live sessions
	// too).
	DisconnectedAt time.Time `json:"disconnectedAt"`
	// Missed holds, on restore, the packets the socket missed, in order,
	// each with its offset as the last argument.
	Missed []*parser.Packet `json:"-"`
}

// ErrNotRecoverable is returned by RestoreSession when the session is
// unknown, too old, or its offset is no longer in the log.
var ErrNotRecoverable = errors.New("adapter: session not recoverable")

// SessionStore is the optional capability of adapters that support
// connection state recovery. Such an adapter also appends an offset to
// every eligible packet it broadcasts (an event without ack id that is not
// volatile): a string as the last argument, which the client sends back
// when it reconnects.
type SessionStore interface {
	// PersistSession keeps a socket's session: with DisconnectedAt set when
	// the socket went away for a recoverable reason, and with it zero when
	// the socket connects or its rooms or data change (a store that must
	// survive the death of the socket's node keeps those; others may
	// ignore them).
	PersistSession(ctx context.Context, s *Session) error
	// RestoreSession finds the session with private id pid and the packets
	// it missed after offset, then calls attach with them. The call to
	// attach is atomic with respect to the adapter's deliveries: every
	// packet after the missed ones is delivered to the socket live, none
	// twice and none lost. attach must make the socket reachable (Socket
	// returns it) and write the missed packets before returning. It returns
	// ErrNotRecoverable, without calling attach, when the session is
	// unknown or expired or the offset is no longer in the log.
	RestoreSession(ctx context.Context, pid, offset string, attach func(*Session) error) error
	// DropSession forgets the session pid (a socket that left for good).
	DropSession(ctx context.Context, pid string) error
}

// Eligible reports whether a packet broadcast with opts gets an offset.
func Eligible(p *parser.Packet, opts Options) bool {
	return (p.Type == parser.Event || p.Type == parser.BinaryEvent) && !p.HasID && !opts.Flags.Volatile
}

// WithOffset returns a copy of p whose data array ends with offset.
func WithOffset(p *parser.Packet, offset string) *parser.Packet {
	q := *p
	data := make([]byte, 0, len(p.Data)+len(offset)+3)
	data = append(data, p.Data[:len(p.Data)-1]...) // without the closing ']'
	data = append(data, ',')
	data = strconv.AppendQuote(data, offset)
	q.Data = append(data, ']')
	return &q
}

// Missed reports whether a packet broadcast with opts reached a socket in
// rooms: no target rooms or one of them, and none of the excluded ones.
func Missed(opts Options, rooms []string) bool {
	for _, r := range opts.Except {
		if slices.Contains(rooms, r) {
			return false
		}
	}
	if len(opts.Rooms) == 0 {
		return true
	}
	for _, r := range opts.Rooms {
		if slices.Contains(rooms, r) {
			return true
		}
	}
	return false
}

// RecoveringMemory is the in-memory adapter with connection state
// recovery: it keeps a log of the eligible packets it broadcast and the
// sessions of disconnected sockets, both for MaxDisconnectionDuration.
type RecoveringMemory struct {
	*Memory
	maxAge time.Duration

	mu       sync.Mutex
	log      []logEntry
	seq      uint64
	base     string // distinguishes this process's offsets from another's
	sessions map[string]*Session

	stop chan struct{} // closed by Close
	done chan struct{} // closed when the sweeper has returned
	once sync.Once
}

type logEntry struct {
	seq    uint64
	at     time.Time
	packet *parser.Packet
	opts   Options
}

// NewRecoveringMemory returns a Factory of in-memory adapters that keep
// sessions and missed packets for maxAge (zero means 2 minutes).
func NewRecoveringMemory(maxAge time.Duration) Factory {
	if maxAge <= 0 {
		maxAge = 2 * time.Minute
	}
	return func(ns Namespace) Adapter {
		m := &RecoveringMemory{Memory: NewMemoryAdapter(ns), maxAge: maxAge,
			base: strconv.FormatInt(time.Now().UnixNano(), 36), sessions: map[string]*Session{},
			stop: make(chan struct{}), done: make(chan struct{})}
		go m.sweep()
		return m
	}
}

// Broadcast assigns an offset to an eligible packet, logs it, and delivers
// it to the matching local sockets. Eligible packets are logged and
// delivered under one lock, so that a restore sees each of them either in
// the log or live, never both.
func (m *RecoveringMemory) Broadcast(_ context.Context, p *parser.Packet, opts Options) error {
	if !Eligible(p, opts) {
		m.BroadcastLocal(p, opts)
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	p = WithOffset(p, m.base+"-"+strconv.FormatUint(m.seq, 36))
	m.log = append(m.log, logEntry{seq: m.seq, at: time.Now(), packet: p, opts: opts})
	m.BroadcastLocal(p, opts)
	return nil
}

// PersistSession implements SessionStore. Sessions of connected sockets are
// not kept: this store lives and dies with the node's sockets.
func (m *RecoveringMemory) PersistSession(_ context.Context, s *Session) error {
	if s.DisconnectedAt.IsZero() {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[s.PID] = s
	return nil
}

// DropSession implements SessionStore.
func (m *RecoveringMemory) DropSession(_ context.Context, pid string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, pid)
	return nil
}

// RestoreSession implements SessionStore.
func (m *RecoveringMemory) RestoreSession(_ context.Context, pid, offset string, attach func(*Session) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[pid]
	if !ok || time.Since(s.DisconnectedAt) > m.maxAge {
		return ErrNotRecoverable
	}
	seq, ok := m.parseOffset(offset)
	if !ok {
		return ErrNotRecoverable
	}
	i, found := slices.BinarySearchFunc(m.log, seq, func(e logEntry, t uint64) int { return cmpU64(e.seq, t) })
	if !found {
		return ErrNotRecoverable
	}
	restored := *s
	restored.Missed = nil
	for _, e := range m.log[i+1:] {
		if Missed(e.opts, s.Rooms) {
			restored.Missed = append(restored.Missed, e.packet)
		}
	}
	delete(m.sessions, pid)
	return attach(&restored)
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// parseOffset reads an offset of this process's log.
func (m *RecoveringMemory) parseOffset(offset string) (uint64, bool) {
	if len(offset) <= len(m.base)+1 || offset[:len(m.base)] != m.base || offset[len(m.base)] != '-' {
		return 0, false
	}
	n, err := strconv.ParseUint(offset[len(m.base)+1:], 36, 64)
	return n, err == nil
}

// sweep drops expired sessions and log entries every minute.
func (m *RecoveringMemory) sweep() {
	defer close(m.done)
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case now := <-t.C:
			m.expire(now)
		}
	}
}

func (m *RecoveringMemory) expire(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for pid, s := range m.sessions {
		if now.Sub(s.DisconnectedAt) > m.maxAge {
			delete(m.sessions, pid)
		}
	}
	cut := 0
	for cut < len(m.log) && now.Sub(m.log[cut].at) > m.maxAge {
		cut++
	}
	m.log = slices.Delete(m.log, 0, cut)
}

// Close stops the sweeper and waits for it to return. It is safe to call
// more than once.
func (m *RecoveringMemory) Close() error {
	m.once.Do(func() { close(m.stop) })
	<-m.done
	return nil
}
