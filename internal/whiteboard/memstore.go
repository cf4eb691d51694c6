package whiteboard

import (
	"context"
	"sort"
	"sync"
)

// Defaults of the stores' bounds.
const (
	// DefaultMaxEntries is the number of entries a board keeps by default.
	DefaultMaxEntries = 20_000
	// DefaultMaxBoards is the number of boards a MemoryStore keeps by
	// default.
	DefaultMaxBoards = 100
)

// MemoryOptions configures a MemoryStore.
type MemoryOptions struct {
	// MaxEntries is the number of entries a board keeps; the oldest are
	// dropped beyond it. Zero means DefaultMaxEntries.
	MaxEntries int
	// MaxBoards is the number of boards kept; the board written least
	// recently is dropped to make room for a new one. Zero means
	// DefaultMaxBoards.
	MaxBoards int
}

// MemoryStore is a Store in the process's memory, for a single node. An
// entry takes about 64 bytes, plus its annotations (a page sends none; at
// most MaxStrokeBytes), and a board holds up to 1.5 x MaxEntries of them
// before it compacts: a board drawn on by pages holds 1.3 to 2 MB by
// default, and the store at most MaxBoards of them.
type MemoryStore struct {
	maxEntries, maxBoards int

	mu     sync.Mutex
	seq    uint64 // last ID's Seq (Ms is always 0)
	tick   uint64 // write clock, for least-recently-written eviction
	boards map[string]*memBoard
}

type memBoard struct {
	entries []Entry // entries[start:] are the board's, in ID order
	start   int
	written uint64
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore(opts MemoryOptions) *MemoryStore {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.MaxBoards <= 0 {
		opts.MaxBoards = DefaultMaxBoards
	}
	return &MemoryStore{maxEntries: opts.MaxEntries, maxBoards: opts.MaxBoards, boards: map[string]*memBoard{}}
}

// Append implements Store.
func (m *MemoryStore) Append(_ context.Context, board string, s Stroke) (ID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.boardLocked(board)
	e := Entry{ID: m.nextLocked(), Stroke: s}
	b.entries = append(b.entries, e)
	if len(b.entries)-b.start > m.maxEntries {
		b.entries[b.start] = Entry{}
		b.start++
		if b.start >= m.maxEntries/2 {
			n := copy(b.entries, b.entries[b.start:])
			clear(b.entries[n:])
			b.entries, b.start = b.entries[:n], 0
		}
	}
	return e.ID, nil
}

// Clear implements Store.
func (m *MemoryStore) Clear(_ context.Context, board string) (ID, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.boardLocked(board)
	e := Entry{ID: m.nextLocked(), Clear: true}
	b.entries, b.start = []Entry{e}, 0
	return e.ID, nil
}

// Range implements Store.
func (m *MemoryStore) Range(_ context.Context, board string, after ID, limit int) ([]Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.boards[board]
	if b == nil || limit <= 0 {
		return nil, nil
	}
	es := b.entries[b.start:]
	i := sort.Search(len(es), func(i int) bool { return after.Less(es[i].ID) })
	es = es[i:]
	return append([]Entry(nil), es[:min(limit, len(es))]...), nil
}

// Len returns the number of entries board holds.
func (m *MemoryStore) Len(board string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if b := m.boards[board]; b != nil {
		return len(b.entries) - b.start
	}
	return 0
}

// Boards returns the number of boards held.
func (m *MemoryStore) Boards() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.boards)
}

// nextLocked returns the next ID. m.mu must be held.
func (m *MemoryStore) nextLocked() ID {
	m.seq++
	return ID{Seq: m.seq}
}

// boardLocked returns board, created (and another evicted if needed), and
// marks it written. m.mu must be held.
func (m *MemoryStore) boardLocked(name string) *memBoard {
	m.tick++
	if b := m.boards[name]; b != nil {
		b.written = m.tick
		return b
	}
	if len(m.boards) >= m.maxBoards {
		var oldest string
		var at uint64
		for n, b := range m.boards {
			if oldest == "" || b.written < at {
				oldest, at = n, b.written
			}
		}
		delete(m.boards, oldest)
	}
	b := &memBoard{written: m.tick}
	m.boards[name] = b
	return b
}
