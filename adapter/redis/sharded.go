package redis

import (
	"context"
	"encoding/json"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/internal/clusterwire"
	"github.com/switchboard-io/switchboard/parser"
)

// sharded is the adapter of one namespace in sharded mode, wire-compatible
// with Node's createShardedAdapter (SPUBLISH/SSUBSCRIBE, ClusterAdapter
// messages).
type sharded struct {
	base
	channel         string // <prefix>#<nsp>#
	responseChannel string // <prefix>#<nsp>#<uid>#
	cfg             pubsubConfig

	roomMu   sync.Mutex
	roomSubs map[string]<-chan struct{} // dynamic room channels → ready
}

// pubsubConfig is how a ClusterAdapter-format namespace adapter uses
// pub/sub: sharded mode uses SPUBLISH and per-room channels; streams mode
// only the namespace and response channels, with MessagePack messages.
type pubsubConfig struct {
	sharded bool             // SPUBLISH/SSUBSCRIBE rather than PUBLISH/SUBSCRIBE
	mode    SubscriptionMode // room channels
	packed  bool             // always MessagePack (the streams adapter's pub/sub)
}

func (c pubsubConfig) kind() kind {
	if c.sharded {
		return shardSub
	}
	return channelSub
}

func newSharded(a *Adapter, ns adapter.Namespace) *sharded {
	return newClusterPubSub(a, ns, pubsubConfig{sharded: true, mode: a.opts.SubscriptionMode})
}

func newClusterPubSub(a *Adapter, ns adapter.Namespace, cfg pubsubConfig) *sharded {
	s := &sharded{base: newBase(a, ns), roomSubs: make(map[string]<-chan struct{}), cfg: cfg}
	s.channel = a.opts.Key + "#" + s.nsp + "#"
	s.responseChannel = s.channel + a.uid + "#"
	s.ready = []<-chan struct{}{
		a.sub.add(cfg.kind(), s.channel, s.onRaw),
		a.sub.add(cfg.kind(), s.responseChannel, s.onRawResponse),
	}
	if cfg.mode != Static {
		s.Memory.OnRoomCreated = s.roomCreated
		s.Memory.OnRoomDeleted = s.roomDeleted
	}
	return s
}

func (s *sharded) roomChannel(room string) string { return s.channel + room + "#" }

// separate reports whether room has its own channel in this mode; in
// Dynamic mode only public rooms (not a socket id) do.
func (s *sharded) separate(room string) bool {
	switch s.cfg.mode {
	case DynamicPrivate:
		return true
	case Dynamic:
		return s.RoomsOf(room) == nil
	}
	return false
}

func (s *sharded) roomCreated(room string) {
	if !s.separate(room) {
		return
	}
	s.roomMu.Lock()
	defer s.roomMu.Unlock()
	if _, ok := s.roomSubs[room]; !ok && s.HasRoom(room) {
		s.roomSubs[room] = s.a.sub.add(s.cfg.kind(), s.roomChannel(room), s.onRaw)
	}
}

func (s *sharded) roomDeleted(room string) {
	s.roomMu.Lock()
	defer s.roomMu.Unlock()
	if _, ok := s.roomSubs[room]; ok && !s.HasRoom(room) {
		delete(s.roomSubs, room)
		s.a.sub.remove(s.cfg.kind(), s.roomChannel(room))
	}
}

// roomsReady waits (bounded) until every room channel is subscribed.
func (s *sharded) roomsReady(ctx context.Context) {
	s.roomMu.Lock()
	var pending []<-chan struct{}
	for _, ch := range s.roomSubs {
		select {
		case <-ch:
		default:
			pending = append(pending, ch)
		}
	}
	s.roomMu.Unlock()
	for _, ch := range pending {
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// Close unsubscribes every channel of the namespace and fails its pending
// requests.
func (s *sharded) Close() error {
	s.closeChannels()
	s.a.forget(s)
	return nil
}

// closeChannels unsubscribes every channel and fails pending requests.
func (s *sharded) closeChannels() {
	s.a.sub.remove(s.cfg.kind(), s.channel)
	s.a.sub.remove(s.cfg.kind(), s.responseChannel)
	s.roomMu.Lock()
	for room := range s.roomSubs {
		s.a.sub.remove(s.cfg.kind(), s.roomChannel(room))
	}
	clear(s.roomSubs)
	s.roomMu.Unlock()
	s.closeBase()
}

// encode encodes a message of this node.
func (s *sharded) encode(t clusterwire.MessageType, d *clusterwire.MessageData, atts [][]byte) ([]byte, error) {
	m := clusterwire.Message{UID: s.a.uid, Nsp: s.nsp, Type: t}
	if s.cfg.packed {
		return clusterwire.EncodeMessagePacked(m, d, atts)
	}
	return clusterwire.EncodeMessage(m, d, atts)
}

func (s *sharded) msg(channel string, payload []byte) message {
	return message{channel: channel, payload: payload, sharded: s.cfg.sharded}
}

// publish publishes a message of this node on channel.
func (s *sharded) publish(ctx context.Context, channel string, t clusterwire.MessageType,
	d *clusterwire.MessageData, atts [][]byte) error {
	payload, err := s.encode(t, d, atts)
	if err != nil {
		return err
	}
	return s.a.publish(ctx, s.msg(channel, payload))
}

// respond publishes a response to the requester's channel.
func (s *sharded) respond(requester string, t clusterwire.MessageType, d *clusterwire.MessageData, atts [][]byte) {
	payload, err := s.encode(t, d, atts)
	if err != nil {
		s.a.log.Warn("redis adapter: encoding response", "err", err)
		return
	}
	s.a.publishAsync(s.msg(s.channel+requester+"#", payload))
}

// utf16Len is JavaScript's string length.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xffff {
			n++
		}
	}
	return n
}

// broadcastChannel picks the channel of a broadcast without acks, as Node's
// computeChannel does.
func (s *sharded) broadcastChannel(opts adapter.Options) string {
	if len(opts.Rooms) != 1 {
		return s.channel
	}
	room := opts.Rooms[0]
	mode := s.cfg.mode
	if mode == DynamicPrivate || mode == Dynamic && !(utf8.ValidString(room) && utf16Len(room) == 20) {
		return s.roomChannel(room)
	}
	return s.channel
}

// Broadcast delivers p locally and publishes it to the other nodes.
func (s *sharded) Broadcast(ctx context.Context, p *parser.Packet, opts adapter.Options) error {
	s.BroadcastLocal(p, opts)
	if opts.Flags.Local {
		return nil
	}
	pk, err := json.Marshal(clusterwire.PacketToWire(p))
	if err != nil {
		return err
	}
	o := clusterwire.OptsToWire(opts, true)
	return s.publish(ctx, s.broadcastChannel(opts), clusterwire.BroadcastMsg,
		&clusterwire.MessageData{Packet: pk, Opts: &o}, p.Attachments)
}

// BroadcastWithAck publishes a BROADCAST with a requestId (every node
// answers with its client count and each client's ack) and does the local
// part.
func (s *sharded) BroadcastWithAck(ctx context.Context, p *parser.Packet, opts adapter.Options,
	clientCount func(int), ack func(parser.Arg)) error {
	if opts.Flags.Local {
		return s.Memory.BroadcastWithAck(ctx, p, opts, clientCount, ack)
	}
	w := clusterwire.PacketToWire(p)
	w.ID = nil
	pk, err := json.Marshal(w)
	if err != nil {
		return err
	}
	id := randomHex(8)
	o := clusterwire.OptsToWire(opts, true)
	s.registerAck(ctx, id, &ackRequest{clientCount: clientCount, ack: ack})
	err = s.publish(ctx, s.channel, clusterwire.BroadcastMsg,
		&clusterwire.MessageData{Packet: pk, Opts: &o, RequestID: id}, p.Attachments)
	clientCount(s.BroadcastLocalWithAck(p, opts, ack))
	return err
}

// AddSockets makes the matching sockets of every node join rooms and
// returns once every node has applied it.
func (s *sharded) AddSockets(ctx context.Context, opts adapter.Options, rooms []string) error {
	_ = s.Memory.AddSockets(ctx, opts, rooms)
	if opts.Flags.Local {
		return nil
	}
	o := clusterwire.OptsToWire(opts, false)
	return s.awaitApplied(ctx, clusterwire.SocketsJoin, &clusterwire.MessageData{Opts: &o, Rooms: rooms})
}

// DelSockets makes the matching sockets of every node leave rooms.
func (s *sharded) DelSockets(ctx context.Context, opts adapter.Options, rooms []string) error {
	_ = s.Memory.DelSockets(ctx, opts, rooms)
	if opts.Flags.Local {
		return nil
	}
	o := clusterwire.OptsToWire(opts, false)
	return s.awaitApplied(ctx, clusterwire.SocketsLeave, &clusterwire.MessageData{Opts: &o, Rooms: rooms})
}

// DisconnectSockets disconnects the matching sockets of every node.
func (s *sharded) DisconnectSockets(ctx context.Context, opts adapter.Options, close bool) error {
	_ = s.Memory.DisconnectSockets(ctx, opts, close)
	if opts.Flags.Local {
		return nil
	}
	o := clusterwire.OptsToWire(opts, false)
	return s.awaitApplied(ctx, clusterwire.DisconnectSockets, &clusterwire.MessageData{Opts: &o, Close: &close})
}

// awaitApplied publishes the message followed by a FETCH_SOCKETS for a room
// no socket is in; each node's (empty) answer proves it applied the
// message (see classic.awaitApplied).
func (s *sharded) awaitApplied(ctx context.Context, t clusterwire.MessageType, d *clusterwire.MessageData) error {
	payload, err := s.encode(t, d, nil)
	if err != nil {
		return err
	}
	if err := s.waitReady(ctx); err != nil {
		return err
	}
	n, err := s.ServerCount(ctx)
	if err != nil || n <= 1 {
		return s.a.publish(ctx, s.msg(s.channel, payload))
	}
	id := randomHex(8)
	barrier, _ := s.encode(clusterwire.FetchSockets, &clusterwire.MessageData{RequestID: id,
		Opts: &clusterwire.Opts{Rooms: clusterwire.Rooms{barrierRoom}, Except: clusterwire.Rooms{}}}, nil)
	r := s.newRequest(id, int(clusterwire.FetchSockets), n-1)
	if err := s.a.publish(ctx, s.msg(s.channel, payload), s.msg(s.channel, barrier)); err != nil {
		s.forgetRequest(id)
		return err
	}
	return s.wait(ctx, id, r, s.ServerCount)
}

// ask publishes a request expecting one answer per other node and waits
// for them; nil when there is no other node.
func (s *sharded) ask(ctx context.Context, t clusterwire.MessageType, d *clusterwire.MessageData,
	atts [][]byte) (*request, error) {
	if err := s.waitReady(ctx); err != nil {
		return nil, err
	}
	n, err := s.ServerCount(ctx)
	if err != nil || n <= 1 {
		return nil, err
	}
	d.RequestID = randomHex(8)
	r := s.newRequest(d.RequestID, int(t), n-1)
	if err := s.publish(ctx, s.channel, t, d, atts); err != nil {
		s.forgetRequest(d.RequestID)
		return nil, err
	}
	return r, s.wait(ctx, d.RequestID, r, s.ServerCount)
}

// FetchSockets returns the matching sockets of every node; on a timeout,
// those gathered with a *adapter.PartialError.
func (s *sharded) FetchSockets(ctx context.Context, opts adapter.Options) ([]adapter.SocketInfo, error) {
	local := s.FetchLocal(opts)
	if opts.Flags.Local {
		return local, nil
	}
	o := clusterwire.OptsToWire(opts, false)
	r, err := s.ask(ctx, clusterwire.FetchSockets, &clusterwire.MessageData{Opts: &o}, nil)
	if r == nil {
		return local, err
	}
	sockets, _, _ := r.results()
	return append(local, sockets...), err
}

// ServerSideEmit sends [event, ...args] to the other nodes; with ack it
// waits for one reply per other node.
func (s *sharded) ServerSideEmit(ctx context.Context, data []any, ack bool) ([]parser.Arg, error) {
	js, atts, err := parser.EncodeData(data...)
	if err != nil {
		return nil, err
	}
	d := &clusterwire.MessageData{Packet: js}
	if !ack {
		return nil, s.publish(ctx, s.channel, clusterwire.ServerSideEmitMsg, d, atts)
	}
	r, err := s.ask(ctx, clusterwire.ServerSideEmitMsg, d, atts)
	if r == nil {
		return []parser.Arg{}, err
	}
	_, _, args := r.results()
	return args, err
}

// ServerCount returns the number of nodes subscribed to the namespace
// channel (PUBSUB SHARDNUMSUB), this one included.
func (s *sharded) ServerCount(ctx context.Context) (int, error) {
	return s.a.numSub(ctx, s.channel, s.cfg.sharded)
}

func (s *sharded) decode(payload []byte) (*clusterwire.Message, *clusterwire.MessageData, [][]byte, bool) {
	m, d, atts, err := clusterwire.DecodeMessage(payload)
	if err != nil {
		s.decodeError("cluster message", err)
		return nil, nil, nil, false
	}
	return m, d, atts, true
}

// onRawResponse handles a message of this node's response channel.
func (s *sharded) onRawResponse(_ string, payload []byte) {
	if m, d, atts, ok := s.decode(payload); ok {
		s.sawPeer(m.UID)
		s.onResponse(m, d, atts)
	}
}

// onRaw handles a message of the namespace or a room channel.
func (s *sharded) onRaw(_ string, payload []byte) {
	m, d, atts, ok := s.decode(payload)
	if !ok || m.UID == s.a.uid || m.Nsp != s.nsp {
		return
	}
	s.sawPeer(m.UID)
	opts := adapter.Options{}
	if d.Opts != nil {
		opts = d.Opts.ToAdapter()
	}
	ctx := context.Background()
	switch m.Type {
	case clusterwire.BroadcastMsg:
		s.onBroadcast(m, d, atts, opts)
	case clusterwire.SocketsJoin:
		_ = s.Memory.AddSockets(ctx, opts, d.Rooms)
	case clusterwire.SocketsLeave:
		_ = s.Memory.DelSockets(ctx, opts, d.Rooms)
	case clusterwire.DisconnectSockets:
		_ = s.Memory.DisconnectSockets(ctx, opts, d.Close != nil && *d.Close)
	case clusterwire.FetchSockets:
		s.onFetch(m, d, opts)
	case clusterwire.ServerSideEmitMsg:
		s.onServerSideEmit(m, d, atts)
	case clusterwire.FetchSocketsResponse, clusterwire.ServerSideEmitResponse,
		clusterwire.BroadcastClientCountMsg, clusterwire.BroadcastAckMsg:
		s.onResponse(m, d, atts)
	}
}

func (s *sharded) onBroadcast(m *clusterwire.Message, d *clusterwire.MessageData, atts [][]byte, opts adapter.Options) {
	var w clusterwire.Packet
	if err := json.Unmarshal(d.Packet, &w); err != nil {
		s.decodeError("broadcast", err)
		return
	}
	p, err := w.ToParser(s.nsp, atts)
	if err != nil {
		s.decodeError("broadcast", err)
		return
	}
	if d.RequestID == "" {
		s.BroadcastLocal(p, opts)
		return
	}
	p.ID, p.HasID = s.nextAckID(), true
	n := s.BroadcastLocalWithAck(p, opts, func(arg parser.Arg) {
		data, atts, err := clusterwire.ValueToWire(arg, nil)
		if err == nil {
			s.respond(m.UID, clusterwire.BroadcastAckMsg, &clusterwire.MessageData{RequestID: d.RequestID,
				Packet: data}, atts)
		}
	})
	s.respond(m.UID, clusterwire.BroadcastClientCountMsg,
		&clusterwire.MessageData{RequestID: d.RequestID, ClientCount: &n}, nil)
}

// onFetch answers FETCH_SOCKETS once this node's room channels are
// subscribed, so that an awaited join is followed by working broadcasts.
func (s *sharded) onFetch(m *clusterwire.Message, d *clusterwire.MessageData, opts adapter.Options) {
	js, err := json.Marshal(nonNilInfos(s.FetchLocal(opts)))
	if err != nil {
		s.a.log.Warn("redis adapter: encoding sockets", "err", err)
		return
	}
	resp := &clusterwire.MessageData{RequestID: d.RequestID, Sockets: js}
	s.a.goTracked(func() {
		ctx, cancel := context.WithTimeout(s.a.ctx, 2*time.Second)
		defer cancel()
		s.roomsReady(ctx)
		s.respond(m.UID, clusterwire.FetchSocketsResponse, resp, nil)
	})
}

func (s *sharded) onServerSideEmit(m *clusterwire.Message, d *clusterwire.MessageData, atts [][]byte) {
	args, err := clusterwire.ArgsFromWire(d.Packet, atts)
	if err != nil {
		s.decodeError("serverSideEmit", err)
		return
	}
	event, args, err := eventName(args)
	if err != nil {
		s.decodeError("serverSideEmit", err)
		return
	}
	var reply func(any)
	if d.RequestID != "" {
		reply = replyOnce(func(arg any) {
			data, atts, err := clusterwire.ValueToWire(arg, nil)
			if err != nil {
				s.a.log.Warn("redis adapter: encoding serverSideEmit reply", "event", event, "err", err)
				return
			}
			s.respond(m.UID, clusterwire.ServerSideEmitResponse,
				&clusterwire.MessageData{RequestID: d.RequestID, Packet: data}, atts)
		})
	}
	s.ns.HandleServerSideEmit(event, args, reply)
}

// onResponse handles answers to this node's requests.
func (s *sharded) onResponse(m *clusterwire.Message, d *clusterwire.MessageData, atts [][]byte) {
	switch m.Type {
	case clusterwire.BroadcastClientCountMsg:
		if ar := s.ackRequest(d.RequestID); ar != nil && d.ClientCount != nil {
			ar.clientCount(*d.ClientCount)
		}
	case clusterwire.BroadcastAckMsg:
		if ar := s.ackRequest(d.RequestID); ar != nil {
			if arg, err := clusterwire.ArgFromWire(d.Packet, atts); err == nil {
				ar.ack(arg)
			}
		}
	case clusterwire.FetchSocketsResponse:
		if r := s.pending(d.RequestID); r != nil {
			infos, err := clusterwire.DecodeSocketInfos(d.Sockets)
			if err != nil {
				s.decodeError("fetchSockets response", err)
			}
			r.respond(m.UID, func(r *request) { r.sockets = append(r.sockets, infos...) })
		}
	case clusterwire.ServerSideEmitResponse:
		if r := s.pending(d.RequestID); r != nil {
			arg, err := clusterwire.ArgFromWire(d.Packet, atts)
			if err != nil {
				s.decodeError("serverSideEmit response", err)
			}
			r.respond(m.UID, func(r *request) { r.args = append(r.args, arg) })
		}
	}
}
