package adapter

import (
	"context"
	"sync"

	"github.com/switchboard-io/switchboard/parser"
)

// Memory is the in-memory adapter: room membership and broadcasts for the
// sockets of one node. It is the default adapter, and cluster adapters embed
// it for their local part.
type Memory struct {
	ns Namespace

	mu    sync.RWMutex
	rooms map[string]map[string]struct{} // room → socket ids
	sids  map[string]map[string]struct{} // socket id → rooms

	// OnRoomCreated and OnRoomDeleted, when set before use, are called
	// (without locks held) when a room gets its first member or loses its
	// last one. Cluster adapters use them for per-room subscriptions.
	OnRoomCreated func(room string)
	OnRoomDeleted func(room string)
}

// NewMemory returns an in-memory adapter for ns. It is an adapter Factory.
func NewMemory(ns Namespace) Adapter { return NewMemoryAdapter(ns) }

// NewMemoryAdapter returns an in-memory adapter for ns, typed for embedding.
func NewMemoryAdapter(ns Namespace) *Memory {
	return &Memory{ns: ns, rooms: map[string]map[string]struct{}{}, sids: map[string]map[string]struct{}{}}
}

// Namespace returns the adapter's namespace.
func (m *Memory) Namespace() Namespace { return m.ns }

// Join adds socket id to rooms.
func (m *Memory) Join(id string, rooms ...string) {
	var created []string
	m.mu.Lock()
	own := m.sids[id]
	if own == nil {
		own = make(map[string]struct{}, len(rooms))
		m.sids[id] = own
	}
	for _, r := range rooms {
		own[r] = struct{}{}
		members := m.rooms[r]
		if members == nil {
			members = make(map[string]struct{}, 1)
			m.rooms[r] = members
			created = append(created, r)
		}
		members[id] = struct{}{}
	}
	m.mu.Unlock()
	if m.OnRoomCreated != nil {
		for _, r := range created {
			m.OnRoomCreated(r)
		}
	}
}

// Leave removes socket id from room.
func (m *Memory) Leave(id string, room string) {
	m.mu.Lock()
	deleted := m.leaveLocked(id, room)
	m.mu.Unlock()
	if deleted && m.OnRoomDeleted != nil {
		m.OnRoomDeleted(room)
	}
}

func (m *Memory) leaveLocked(id, room string) (deleted bool) {
	if own := m.sids[id]; own != nil {
		delete(own, room)
	}
	members := m.rooms[room]
	if members == nil {
		return false
	}
	delete(members, id)
	if len(members) == 0 {
		delete(m.rooms, room)
		return true
	}
	return false
}

// LeaveAll removes socket id from every room.
func (m *Memory) LeaveAll(id string) {
	var deleted []string
	m.mu.Lock()
	for r := range m.sids[id] {
		if m.leaveLocked(id, r) {
			deleted = append(deleted, r)
		}
	}
	delete(m.sids, id)
	m.mu.Unlock()
	if m.OnRoomDeleted != nil {
		for _, r := range deleted {
			m.OnRoomDeleted(r)
		}
	}
}

// RoomsOf returns the rooms of socket id.
func (m *Memory) RoomsOf(id string) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	own := m.sids[id]
	if own == nil {
		return nil
	}
	out := make([]string, 0, len(own))
	for r := range own {
		out = append(out, r)
	}
	return out
}

// Size returns the number of local sockets in room.
func (m *Memory) Size(room string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.rooms[room])
}

// HasRoom reports whether room has local members.
func (m *Memory) HasRoom(room string) bool { return m.Size(room) > 0 }

// AllRooms returns every room with local members.
func (m *Memory) AllRooms() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]string, 0, len(m.rooms))
	for r := range m.rooms {
		out = append(out, r)
	}
	return out
}

// Match returns the ids of the local sockets selected by opts, each once,
// in a new slice (empty, not nil, when none match).
func (m *Memory) Match(opts Options) []string { return m.appendMatch([]string{}, nil, opts) }

// appendMatch appends the ids selected by opts to dst. seen, when not nil,
// is an empty map used (and left filled) to drop duplicates across rooms.
func (m *Memory) appendMatch(dst []string, seen map[string]struct{}, opts Options) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	switch len(opts.Rooms) {
	case 0:
		for id := range m.sids {
			if !m.excludedLocked(id, opts.Except) {
				dst = append(dst, id)
			}
		}
	case 1:
		for id := range m.rooms[opts.Rooms[0]] {
			if !m.excludedLocked(id, opts.Except) {
				dst = append(dst, id)
			}
		}
	default:
		if seen == nil {
			seen = make(map[string]struct{})
		}
		for _, r := range opts.Rooms {
			for id := range m.rooms[r] {
				if _, dup := seen[id]; dup {
					continue
				}
				seen[id] = struct{}{}
				if !m.excludedLocked(id, opts.Except) {
					dst = append(dst, id)
				}
			}
		}
	}
	return dst
}

// excludedLocked reports whether socket id is in one of the except rooms.
// m.mu must be held.
func (m *Memory) excludedLocked(id string, except []string) bool {
	for _, r := range except {
		if _, ok := m.rooms[r][id]; ok {
			return true
		}
	}
	return false
}

// matchScratch is the reusable memory of one Apply: a broadcast allocates
// nothing per recipient.
type matchScratch struct {
	ids  []string
	seen map[string]struct{}
}

// maxScratch bounds the scratch memory kept for reuse.
const maxScratch = 1 << 16

var scratchPool = sync.Pool{New: func() any { return &matchScratch{seen: map[string]struct{}{}} }}

// Apply calls fn for every local socket selected by opts. fn runs without
// the adapter's lock held: it may join or leave rooms.
func (m *Memory) Apply(opts Options, fn func(Socket)) {
	sc := scratchPool.Get().(*matchScratch)
	sc.ids = m.appendMatch(sc.ids[:0], sc.seen, opts)
	seen := len(sc.seen)
	clear(sc.seen)
	for _, id := range sc.ids {
		if s := m.ns.Socket(id); s != nil {
			fn(s)
		}
	}
	clear(sc.ids) // keep no socket ids alive
	if cap(sc.ids) <= maxScratch && seen <= maxScratch {
		scratchPool.Put(sc)
	}
}

// Broadcast encodes p once and delivers it to the matching local sockets.
func (m *Memory) Broadcast(_ context.Context, p *parser.Packet, opts Options) error {
	m.BroadcastLocal(p, opts)
	return nil
}

// BroadcastLocal encodes p once and delivers it to the matching local
// sockets; it returns how many sockets it reached.
func (m *Memory) BroadcastLocal(p *parser.Packet, opts Options) int {
	msg := Encode(p, opts.Flags)
	n := 0
	m.Apply(opts, func(s Socket) {
		s.Deliver(msg)
		n++
	})
	return n
}

// BroadcastWithAck delivers p (which carries an ack id) to the matching
// local sockets and reports each client's first ack argument.
func (m *Memory) BroadcastWithAck(_ context.Context, p *parser.Packet, opts Options,
	clientCount func(int), ack func(parser.Arg)) error {
	clientCount(m.BroadcastLocalWithAck(p, opts, ack))
	return nil
}

// BroadcastLocalWithAck is the local part of BroadcastWithAck; it returns
// the number of sockets targeted.
func (m *Memory) BroadcastLocalWithAck(p *parser.Packet, opts Options, ack func(parser.Arg)) int {
	msg := Encode(p, opts.Flags)
	onAck := func(args []parser.Arg) { ack(firstArg(args)) } // one for every recipient
	n := 0
	m.Apply(opts, func(s Socket) {
		s.ExpectAck(p.ID, onAck)
		s.Deliver(msg)
		n++
	})
	return n
}

func firstArg(args []parser.Arg) parser.Arg {
	if len(args) == 0 {
		return parser.Arg{}
	}
	return args[0]
}

// AddSockets makes the matching local sockets join rooms.
func (m *Memory) AddSockets(_ context.Context, opts Options, rooms []string) error {
	for _, id := range m.Match(opts) {
		m.Join(id, rooms...)
	}
	return nil
}

// DelSockets makes the matching local sockets leave rooms.
func (m *Memory) DelSockets(_ context.Context, opts Options, rooms []string) error {
	for _, id := range m.Match(opts) {
		for _, r := range rooms {
			m.Leave(id, r)
		}
	}
	return nil
}

// DisconnectSockets disconnects the matching local sockets.
func (m *Memory) DisconnectSockets(_ context.Context, opts Options, close bool) error {
	m.Apply(opts, func(s Socket) { s.Disconnect(close) })
	return nil
}

// FetchSockets describes the matching local sockets.
func (m *Memory) FetchSockets(_ context.Context, opts Options) ([]SocketInfo, error) {
	return m.FetchLocal(opts), nil
}

// FetchLocal describes the matching local sockets.
func (m *Memory) FetchLocal(opts Options) []SocketInfo {
	var out []SocketInfo
	m.Apply(opts, func(s Socket) {
		info := s.Info()
		info.Local = true
		out = append(out, info)
	})
	return out
}

// ServerSideEmit has no other node to reach: it returns no replies.
func (m *Memory) ServerSideEmit(context.Context, []any, bool) ([]parser.Arg, error) {
	return nil, nil
}

// ServerCount is 1: this node.
func (m *Memory) ServerCount(context.Context) (int, error) { return 1, nil }

// Close does nothing for the in-memory adapter.
func (m *Memory) Close() error { return nil }
