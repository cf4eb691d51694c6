package adapter

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/switchboard-io/switchboard/parser"
)

// Memory is the in-memory adapter: room membership and broadcasts for the
// sockets of one node. It is the default adapter, and cluster adapters embed
// it for their local part.
type Memory struct {
	ns Namespace

	mu    sync.RWMutex
	rooms map[string]*idSet // room → socket ids
	sids  map[string]*idSet // socket id → rooms

	// OnRoomCreated and OnRoomDeleted, when set before use, are called
	// (without locks held) when a room gets its first member or loses its
	// last one. Cluster adapters use them for per-room subscriptions.
	OnRoomCreated func(room string)
	OnRoomDeleted func(room string)

	watch atomic.Pointer[func(room, id string, joined bool)] // see WatchRooms
}

// RoomWatcher is implemented by adapters that report the room changes of
// their local sockets: Memory, and the cluster adapters that embed it.
type RoomWatcher interface {
	// WatchRooms sets fn (nil removes it), called after a local socket
	// joined a room it was not in (joined true) or left a room it was in,
	// whether the change came from this node or from a cluster request.
	// As Node's adapter "join-room" and "leave-room" events, it includes
	// each socket's own room. fn runs without locks held, on the goroutine
	// that made the change: it must be fast and must not block.
	WatchRooms(fn func(room, id string, joined bool))
}

// WatchRooms sets the function told of room changes (see RoomWatcher).
// Unset, it costs Join and Leave one atomic load.
func (m *Memory) WatchRooms(fn func(room, id string, joined bool)) {
	if fn == nil {
		m.watch.Store(nil)
		return
	}
	m.watch.Store(&fn)
}

// NewMemory returns an in-memory adapter for ns. It is an adapter Factory.
func NewMemory(ns Namespace) Adapter { return NewMemoryAdapter(ns) }

// NewMemoryAdapter returns an in-memory adapter for ns, typed for embedding.
func NewMemoryAdapter(ns Namespace) *Memory {
	return &Memory{ns: ns, rooms: map[string]*idSet{}, sids: map[string]*idSet{}}
}

// Namespace returns the adapter's namespace.
func (m *Memory) Namespace() Namespace { return m.ns }

// Join adds socket id to rooms.
func (m *Memory) Join(id string, rooms ...string) {
	var created, joined []string
	watch := m.watch.Load()
	m.mu.Lock()
	own := m.sids[id]
	if own == nil {
		own = newIDSet(len(rooms))
		m.sids[id] = own
	}
	for _, r := range rooms {
		own.add(r)
		members := m.rooms[r]
		if members == nil {
			members = newIDSet(1)
			m.rooms[r] = members
			created = append(created, r)
		}
		if watch != nil && !members.has(id) {
			joined = append(joined, r)
		}
		members.add(id)
	}
	m.mu.Unlock()
	if m.OnRoomCreated != nil {
		for _, r := range created {
			m.OnRoomCreated(r)
		}
	}
	for _, r := range joined {
		(*watch)(r, id, true)
	}
}

// Leave removes socket id from room.
func (m *Memory) Leave(id string, room string) {
	m.mu.Lock()
	left, deleted := m.leaveLocked(id, room)
	m.mu.Unlock()
	if deleted && m.OnRoomDeleted != nil {
		m.OnRoomDeleted(room)
	}
	if watch := m.watch.Load(); left && watch != nil {
		(*watch)(room, id, false)
	}
}

// leaveLocked removes id from room: left reports it was a member, deleted
// that the room is now gone.
func (m *Memory) leaveLocked(id, room string) (left, deleted bool) {
	if own := m.sids[id]; own != nil {
		own.remove(room)
	}
	members := m.rooms[room]
	if members == nil || !members.has(id) {
		return false, false
	}
	members.remove(id)
	if members.len() == 0 {
		delete(m.rooms, room)
		return true, true
	}
	return true, false
}

// LeaveAll removes socket id from every room.
func (m *Memory) LeaveAll(id string) {
	var deleted, left []string
	watch := m.watch.Load()
	m.mu.Lock()
	if own := m.sids[id]; own != nil {
		delete(m.sids, id) // before leaving: leaveLocked must not change own meanwhile
		for r := range own.all {
			was, gone := m.leaveLocked(id, r)
			if gone {
				deleted = append(deleted, r)
			}
			if was && watch != nil {
				left = append(left, r)
			}
		}
	}
	m.mu.Unlock()
	if m.OnRoomDeleted != nil {
		for _, r := range deleted {
			m.OnRoomDeleted(r)
		}
	}
	for _, r := range left {
		(*watch)(r, id, false)
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
	return own.appendTo(make([]string, 0, own.len()))
}

// Size returns the number of local sockets in room.
func (m *Memory) Size(room string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.rooms[room].len()
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
		for id := range m.rooms[opts.Rooms[0]].all {
			if !m.excludedLocked(id, opts.Except) {
				dst = append(dst, id)
			}
		}
	default:
		if seen == nil {
			seen = make(map[string]struct{})
		}
		for _, r := range opts.Rooms {
			for id := range m.rooms[r].all {
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
		if m.rooms[r].has(id) {
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
	big  bool // too large to keep for reuse
}

// maxScratch bounds the scratch memory kept for reuse.
const maxScratch = 1 << 16

var scratchPool = sync.Pool{New: func() any { return &matchScratch{seen: map[string]struct{}{}} }}

// match returns the ids selected by opts in a scratch from the pool; the
// caller gives it back with release.
func (m *Memory) match(opts Options) *matchScratch {
	sc := scratchPool.Get().(*matchScratch)
	sc.ids = m.appendMatch(sc.ids[:0], sc.seen, opts)
	sc.big = cap(sc.ids) > maxScratch || len(sc.seen) > maxScratch
	clear(sc.seen)
	return sc
}

// release gives sc back to the pool, holding no socket ids.
func (sc *matchScratch) release() {
	clear(sc.ids)
	if !sc.big {
		scratchPool.Put(sc)
	}
}

// Apply calls fn for every local socket selected by opts, one at a time,
// on the caller's goroutine. fn runs without the adapter's lock held: it
// may join or leave rooms.
func (m *Memory) Apply(opts Options, fn func(Socket)) {
	sc := m.match(opts)
	m.visit(sc.ids, fn)
	sc.release()
}

// visit calls fn for the local sockets among ids and returns their number.
func (m *Memory) visit(ids []string, fn func(Socket)) int {
	n := 0
	for _, id := range ids {
		if s := m.ns.Socket(id); s != nil {
			fn(s)
			n++
		}
	}
	return n
}

// ParallelDelivery is the number of recipients from which a broadcast is
// delivered by several goroutines: the recipients are split into
// GOMAXPROCS contiguous shares, the caller delivers the first and one
// goroutine each of the others, and the broadcast returns once all are
// done. A delivery may write to the network (a system call of a few
// microseconds), which this spreads over every processor; for smaller
// broadcasts starting the goroutines would cost more than it saves.
const ParallelDelivery = 1024

// delivery is what a broadcast gives each recipient: msg, after expecting
// an ack for ackID when onAck is set.
type delivery struct {
	msg   *Message
	ackID uint64
	onAck func([]parser.Arg)
}

func (d *delivery) to(s Socket) {
	if d.onAck != nil {
		s.ExpectAck(d.ackID, d.onAck)
	}
	s.Deliver(d.msg)
}

// deliver makes d to the local sockets selected by opts and returns how
// many it reached, on the caller's goroutine or, for ParallelDelivery
// sockets or more, on GOMAXPROCS goroutines.
func (m *Memory) deliver(opts Options, d delivery) int {
	sc := m.match(opts)
	d.msg.Fanout = len(sc.ids)
	var n int
	if procs := runtime.GOMAXPROCS(0); procs > 1 && len(sc.ids) >= ParallelDelivery {
		n = m.deliverSpread(sc.ids, procs, d)
	} else {
		n = m.visit(sc.ids, d.to)
	}
	sc.release()
	return n
}

// share is one goroutine's part of a spread delivery.
type share struct {
	ids      []string
	reached  int
	panicked bool
	panicVal any
}

// deliverSpread makes d to the local sockets among ids, split into procs
// contiguous shares delivered in parallel (the caller takes the first).
// It returns once every share is done, then raises a panic of any of them
// again.
func (m *Memory) deliverSpread(ids []string, procs int, d delivery) int {
	shares := make([]share, procs)
	size := (len(ids) + procs - 1) / procs
	for i := range shares {
		lo := min(i*size, len(ids))
		shares[i].ids = ids[lo:min(lo+size, len(ids))]
	}
	var wg sync.WaitGroup
	for i := 1; i < procs; i++ {
		wg.Go(func() { m.deliverShare(&shares[i], &d) })
	}
	m.deliverShare(&shares[0], &d)
	wg.Wait()
	n := 0
	for i := range shares {
		if shares[i].panicked {
			panic(shares[i].panicVal)
		}
		n += shares[i].reached
	}
	return n
}

// deliverShare delivers one share, recording a panic instead of raising
// it.
func (m *Memory) deliverShare(sh *share, d *delivery) {
	sh.panicked = true
	defer func() {
		if sh.panicked {
			sh.panicVal = recover()
		}
	}()
	sh.reached = m.visit(sh.ids, d.to)
	sh.panicked = false
}

// Broadcast encodes p once and delivers it to the matching local sockets.
func (m *Memory) Broadcast(_ context.Context, p *parser.Packet, opts Options) error {
	m.BroadcastLocal(p, opts)
	return nil
}

// BroadcastLocal encodes p once and delivers it to the matching local
// sockets; it returns how many sockets it reached.
//
// Large broadcasts are delivered by several goroutines (see
// ParallelDelivery); each socket still gets the broadcasts of one caller
// in the order they were made, since BroadcastLocal returns only once
// every socket has been given its packet.
func (m *Memory) BroadcastLocal(p *parser.Packet, opts Options) int {
	return m.deliver(opts, delivery{msg: Encode(p, opts.Flags)})
}

// BroadcastWithAck delivers p (which carries an ack id) to the matching
// local sockets and reports each client's first ack argument.
func (m *Memory) BroadcastWithAck(_ context.Context, p *parser.Packet, opts Options,
	clientCount func(int), ack func(parser.Arg)) error {
	clientCount(m.BroadcastLocalWithAck(p, opts, ack))
	return nil
}

// BroadcastLocalWithAck is the local part of BroadcastWithAck; it returns
// the number of sockets targeted. Like BroadcastLocal, it spreads large
// broadcasts over several goroutines.
func (m *Memory) BroadcastLocalWithAck(p *parser.Packet, opts Options, ack func(parser.Arg)) int {
	onAck := func(args []parser.Arg) { ack(firstArg(args)) } // one for every recipient
	return m.deliver(opts, delivery{msg: Encode(p, opts.Flags), ackID: p.ID, onAck: onAck})
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

// idSet is a set of strings: the members of a room, or the rooms of a
// socket. Most sets are small (a socket's own room has one member, and a
// socket is in few rooms), and a Go map costs about 250 bytes even for one
// element: a set keeps up to maxFew elements in a slice, in the order
// added, and moves to a map beyond. The methods accept a nil set as empty.
type idSet struct {
	few  []string            // the elements, while many is nil
	many map[string]struct{} // the elements, once there are more than maxFew
}

// maxFew is the largest set kept in a slice: a linear search of a few
// strings is as fast as a map lookup.
const maxFew = 8

// newIDSet returns an empty set with room for n elements in its slice.
func newIDSet(n int) *idSet { return &idSet{few: make([]string, 0, min(n, maxFew))} }

func (s *idSet) len() int {
	if s == nil {
		return 0
	}
	if s.many != nil {
		return len(s.many)
	}
	return len(s.few)
}

func (s *idSet) has(x string) bool {
	if s == nil {
		return false
	}
	if s.many != nil {
		_, ok := s.many[x]
		return ok
	}
	return slices.Contains(s.few, x)
}

func (s *idSet) add(x string) {
	switch {
	case s.many != nil:
		s.many[x] = struct{}{}
	case slices.Contains(s.few, x):
	case len(s.few) < maxFew:
		s.few = append(s.few, x)
	default:
		s.many = make(map[string]struct{}, 2*maxFew)
		for _, y := range s.few {
			s.many[y] = struct{}{}
		}
		s.many[x] = struct{}{}
		s.few = nil
	}
}

func (s *idSet) remove(x string) {
	if s.many != nil {
		delete(s.many, x)
	} else if i := slices.Index(s.few, x); i >= 0 {
		s.few = slices.Delete(s.few, i, i+1)
	}
}

// all yields the elements of s; s must not change meanwhile.
func (s *idSet) all(yield func(string) bool) {
	if s == nil {
		return
	}
	for _, x := range s.few {
		if !yield(x) {
			return
		}
	}
	for x := range s.many {
		if !yield(x) {
			return
		}
	}
}

// appendTo appends the elements of s to dst.
func (s *idSet) appendTo(dst []string) []string {
	for x := range s.all {
		dst = append(dst, x)
	}
	return dst
}
