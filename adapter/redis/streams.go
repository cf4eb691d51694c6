package redis

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/internal/clusterwire"
	"github.com/switchboard-io/switchboard/parser"
)

// streamsHub is the streams mode of an Adapter: its streams (one reader and
// one appender each, shared by the namespaces mapped to the stream) and
// its session store.
type streamsHub struct {
	a     *Adapter
	o     *StreamsOptions
	store *sessionStore

	appendCtx  context.Context // outlives a.ctx a little: Close flushes
	stopAppend context.CancelFunc

	mu      sync.Mutex
	streams map[string]*stream
}

func newStreamsHub(a *Adapter) *streamsHub {
	h := &streamsHub{a: a, o: a.opts.Streams, streams: map[string]*stream{}}
	h.appendCtx, h.stopAppend = context.WithCancel(context.Background())
	h.store = newSessionStore(a, h.o.SessionKeyPrefix)
	a.goTracked(func() { h.store.run(a.ctx) })
	return h
}

// streamKey is Node's computeStreamName, negative remainders included so
// that Go and Node nodes agree (Node's readers never poll those streams).
func (h *streamsHub) streamKey(nsp string) string {
	if h.o.StreamCount == 1 {
		return h.o.StreamName
	}
	var hash int32
	for _, c := range utf16Units(nsp) {
		hash = hash*31 + int32(c)
	}
	return h.o.StreamName + "-" + strconv.Itoa(int(hash%int32(h.o.StreamCount)))
}

func utf16Units(s string) []uint16 {
	out := make([]uint16, 0, len(s))
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			out = append(out, uint16(0xd800+(r>>10)), uint16(0xdc00+(r&0x3ff)))
			continue
		}
		out = append(out, uint16(r))
	}
	return out
}

// stream returns the stream of namespace nsp, starting its reader and
// appender on first use.
func (h *streamsHub) stream(nsp string) *stream {
	key := h.streamKey(nsp)
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.streams[key]
	if st == nil {
		st = newStream(h, key)
		h.streams[key] = st
		h.a.goTracked(func() { st.run(h.a.ctx) })
		h.a.goTracked(func() { st.app.run(h.appendCtx) })
	}
	return st
}

// close flushes the appenders (for up to flush), then stops them.
func (h *streamsHub) close(flush time.Duration) {
	h.mu.Lock()
	all := make([]*stream, 0, len(h.streams))
	for _, st := range h.streams {
		all = append(all, st)
	}
	h.mu.Unlock()
	deadline := time.Now().Add(flush)
	for _, st := range all {
		st.app.close(deadline, func() {})
	}
	h.stopAppend()
}

// dropUnappended counts what the appenders never appended (after their
// goroutines ended).
func (h *streamsHub) dropUnappended() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, st := range h.streams {
		st.app.drop()
	}
}

// streamsNS is the adapter of one namespace in streams mode, wire-compatible
// with Node's @socket.io/redis-streams-adapter 0.3: durable messages
// (broadcasts without acks, socketsJoin/Leave, disconnectSockets) go
// through the stream and every node, this one included, applies them only
// from its reader, in stream order; the rest goes through pub/sub in the
// ClusterAdapter format (the embedded sharded adapter in its plain
// configuration). It implements adapter.SessionStore.
type streamsNS struct {
	*sharded
	h  *streamsHub
	st *stream
}

func newStreamsNS(a *Adapter, ns adapter.Namespace) *streamsNS {
	ps := newClusterPubSub(a, ns, pubsubConfig{sharded: a.opts.Streams.UseShardedPubSub, mode: Static, packed: true})
	s := &streamsNS{sharded: ps, h: a.streams, st: a.streams.stream(ns.Name())}
	s.st.add(s)
	a.streams.store.window(s.window())
	return s
}

// window is the namespace's recovery window; zero when recovery is off.
func (s *streamsNS) window() time.Duration {
	if w, ok := s.ns.(interface{ RecoveryWindow() time.Duration }); ok {
		return w.RecoveryWindow()
	}
	return 0
}

// Close unsubscribes the namespace and detaches it from its stream.
func (s *streamsNS) Close() error {
	s.st.remove(s)
	s.closeChannels()
	s.a.forget(s)
	return nil
}

func (s *streamsNS) message(t clusterwire.MessageType) clusterwire.Message {
	return clusterwire.Message{UID: s.a.uid, Nsp: s.nsp, Type: t}
}

// appendMsg queues a durable message; with wait, it returns once this
// node's reader has applied it (or ctx ends).
func (s *streamsNS) appendMsg(ctx context.Context, t clusterwire.MessageType, d *clusterwire.MessageData,
	atts [][]byte, wait bool) error {
	fields, err := clusterwire.EncodeStreamEntry(s.message(t), d, atts, 0)
	if err != nil {
		return err
	}
	done, err := s.st.app.enqueue(fields, wait)
	if err != nil || !wait {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.a.opts.RequestsTimeout)
	defer cancel()
	select {
	case id, ok := <-done:
		if !ok {
			return ErrClosed
		}
		if id == (entryID{}) {
			return nil // landed earlier, from an attempt whose reply was lost
		}
		return s.st.waitDelivered(ctx, id)
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Broadcast appends p to the stream; every node, this one included,
// delivers it from its reader, with the entry id as offset. Local
// broadcasts are delivered at once, without offset, as in Node.
func (s *streamsNS) Broadcast(ctx context.Context, p *parser.Packet, opts adapter.Options) error {
	if opts.Flags.Local {
		s.BroadcastLocal(p, opts)
		return nil
	}
	pk, err := json.Marshal(clusterwire.PacketToWire(p))
	if err != nil {
		return err
	}
	o := clusterwire.OptsToWire(opts, true)
	return s.appendMsg(ctx, clusterwire.BroadcastMsg, &clusterwire.MessageData{Packet: pk, Opts: &o},
		p.Attachments, false)
}

// AddSockets makes the matching sockets of every node join rooms, in stream
// order: a broadcast appended after it reaches them on every node. It
// returns once this node applied it.
func (s *streamsNS) AddSockets(ctx context.Context, opts adapter.Options, rooms []string) error {
	if opts.Flags.Local {
		return s.Memory.AddSockets(ctx, opts, rooms)
	}
	o := clusterwire.OptsToWire(opts, false)
	return s.appendMsg(ctx, clusterwire.SocketsJoin, &clusterwire.MessageData{Opts: &o, Rooms: rooms}, nil, true)
}

// DelSockets makes the matching sockets of every node leave rooms.
func (s *streamsNS) DelSockets(ctx context.Context, opts adapter.Options, rooms []string) error {
	if opts.Flags.Local {
		return s.Memory.DelSockets(ctx, opts, rooms)
	}
	o := clusterwire.OptsToWire(opts, false)
	return s.appendMsg(ctx, clusterwire.SocketsLeave, &clusterwire.MessageData{Opts: &o, Rooms: rooms}, nil, true)
}

// DisconnectSockets disconnects the matching sockets of every node.
func (s *streamsNS) DisconnectSockets(ctx context.Context, opts adapter.Options, close bool) error {
	if opts.Flags.Local {
		return s.Memory.DisconnectSockets(ctx, opts, close)
	}
	o := clusterwire.OptsToWire(opts, false)
	return s.appendMsg(ctx, clusterwire.DisconnectSockets, &clusterwire.MessageData{Opts: &o, Close: &close}, nil, true)
}

// onEntry applies one stream entry of the namespace. It runs on the
// stream's reader with stream.mu held.
func (s *streamsNS) onEntry(id entryID, fields map[string]string) {
	m, d, atts, _, err := clusterwire.DecodeStreamEntry(fields)
	if err != nil {
		s.decodeError("stream entry", err)
		return
	}
	s.sawPeer(m.UID)
	opts := adapter.Options{}
	if d.Opts != nil {
		opts = d.Opts.ToAdapter()
	}
	switch m.Type {
	case clusterwire.BroadcastMsg:
		if d.RequestID != "" {
			return // with acks: pub/sub in 0.3 (0.2 nodes are not supported)
		}
		p, err := decodePacket(s.nsp, d.Packet, atts)
		if err != nil {
			s.decodeError("broadcast", err)
			return
		}
		if s.window() > 0 && adapter.Eligible(p, opts) {
			p = adapter.WithOffset(p, id.String())
		}
		s.BroadcastLocal(p, opts)
	case clusterwire.SocketsJoin, clusterwire.SocketsLeave:
		s.applyRooms(m.Type, opts, d.Rooms)
	case clusterwire.DisconnectSockets:
		_ = s.Memory.DisconnectSockets(context.Background(), opts, d.Close != nil && *d.Close)
	case clusterwire.ServerSideEmitMsg:
		if m.UID != s.a.uid { // the streams emitter appends these
			s.onServerSideEmit(m, d, atts)
		}
	}
}

// applyRooms applies SOCKETS_JOIN or SOCKETS_LEAVE and keeps the stored
// sessions of the sockets concerned up to date.
func (s *streamsNS) applyRooms(t clusterwire.MessageType, opts adapter.Options, rooms []string) {
	ids := s.Match(opts)
	for _, id := range ids {
		if t == clusterwire.SocketsJoin {
			s.Join(id, rooms...)
		} else {
			for _, r := range rooms {
				s.Leave(id, r)
			}
		}
	}
	if len(ids) > 0 {
		s.h.store.roomsChanged(ids)
	}
}

func decodePacket(nsp string, raw json.RawMessage, atts [][]byte) (*parser.Packet, error) {
	var w clusterwire.Packet
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, err
	}
	return w.ToParser(nsp, atts)
}

// PersistSession implements adapter.SessionStore: sessions of connected
// sockets are kept (and refreshed while they live) so that any node can
// restore them even if this one dies; a final write follows the
// disconnect.
func (s *streamsNS) PersistSession(ctx context.Context, sess *adapter.Session) error {
	return s.h.store.persist(ctx, s, sess)
}

// DropSession implements adapter.SessionStore.
func (s *streamsNS) DropSession(ctx context.Context, pid string) error {
	return s.h.store.drop(ctx, pid)
}
