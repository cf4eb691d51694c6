package redis

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/internal/clusterwire"
	"github.com/switchboard-io/switchboard/parser"
)

// classic is the adapter of one namespace in classic mode, wire-compatible
// with Node's createAdapter (@socket.io/redis-adapter 8.x).
type classic struct {
	base
	channel         string // <key>#<nsp>#, broadcasts (+ <room># for one room)
	requestChannel  string // <key>-request#<nsp>#
	responseChannel string // <key>-response#<nsp>#
	ownResponses    string // <key>-response#<nsp>#<uid>#
	pattern         string
}

func newClassic(a *Adapter, ns adapter.Namespace) *classic {
	c := &classic{base: newBase(a, ns)}
	c.seqs = newSeqTracker(false)
	key := a.opts.Key
	c.channel = key + "#" + c.nsp + "#"
	c.requestChannel = key + "-request#" + c.nsp + "#"
	c.responseChannel = key + "-response#" + c.nsp + "#"
	c.ownResponses = c.responseChannel + a.uid + "#"
	c.pattern = globEscape(c.channel) + "*"
	c.ready = []<-chan struct{}{
		a.sub.add(patternSub, c.pattern, c.onBroadcast),
		a.sub.add(channelSub, c.requestChannel, c.onRequest),
		a.sub.add(channelSub, c.responseChannel, c.onResponse),
		a.sub.add(channelSub, c.ownResponses, c.onResponse),
	}
	return c
}

// globEscape escapes the PSUBSCRIBE glob characters of s.
func globEscape(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Close unsubscribes the namespace and fails its pending requests.
func (c *classic) Close() error {
	c.a.sub.remove(patternSub, c.pattern)
	c.a.sub.remove(channelSub, c.requestChannel)
	c.a.sub.remove(channelSub, c.responseChannel)
	c.a.sub.remove(channelSub, c.ownResponses)
	c.closeBase()
	c.a.forget(c)
	return nil
}

func (c *classic) msg(channel string, payload []byte) message {
	return message{channel: channel, payload: payload}
}

// Broadcast delivers p to the matching local sockets and publishes it to
// the other nodes (unless Local).
func (c *classic) Broadcast(ctx context.Context, p *parser.Packet, opts adapter.Options) error {
	c.BroadcastLocal(p, opts)
	if opts.Flags.Local {
		return nil
	}
	payload, err := clusterwire.AppendBroadcastSeq(nil, c.a.uid, c.pubSeq.Add(1), p, opts)
	if err != nil {
		return err
	}
	channel := c.channel
	if len(opts.Rooms) == 1 {
		channel += opts.Rooms[0] + "#"
	}
	return c.a.publish(ctx, c.msg(channel, payload))
}

// BroadcastWithAck publishes a BROADCAST request (each node reports its
// client count and every client's ack) and does the local part.
func (c *classic) BroadcastWithAck(ctx context.Context, p *parser.Packet, opts adapter.Options,
	clientCount func(int), ack func(parser.Arg)) error {
	if opts.Flags.Local {
		return c.Memory.BroadcastWithAck(ctx, p, opts, clientCount, ack)
	}
	id := randomHex(8)
	w := clusterwire.PacketToWire(p)
	w.ID = nil // each node numbers its own
	o := clusterwire.OptsToWire(opts, true)
	payload, err := clusterwire.EncodeRequest(&clusterwire.Request{UID: c.a.uid, RequestID: id,
		Type: clusterwire.BroadcastReq, Packet: &w, Opts: &o}, p.Attachments)
	if err != nil {
		return err
	}
	c.registerAck(ctx, id, &ackRequest{clientCount: clientCount, ack: ack})
	err = c.a.publish(ctx, c.msg(c.requestChannel, payload))
	clientCount(c.BroadcastLocalWithAck(p, opts, ack))
	return err
}

// AddSockets makes the matching sockets of every node join rooms. It
// returns once every node has applied it (see awaitApplied).
func (c *classic) AddSockets(ctx context.Context, opts adapter.Options, rooms []string) error {
	_ = c.Memory.AddSockets(ctx, opts, rooms)
	if opts.Flags.Local {
		return nil
	}
	o := clusterwire.OptsToWire(opts, false)
	return c.awaitApplied(ctx, &clusterwire.Request{UID: c.a.uid, Type: clusterwire.RemoteJoin, Opts: &o, Rooms: rooms})
}

// DelSockets makes the matching sockets of every node leave rooms.
func (c *classic) DelSockets(ctx context.Context, opts adapter.Options, rooms []string) error {
	_ = c.Memory.DelSockets(ctx, opts, rooms)
	if opts.Flags.Local {
		return nil
	}
	o := clusterwire.OptsToWire(opts, false)
	return c.awaitApplied(ctx, &clusterwire.Request{UID: c.a.uid, Type: clusterwire.RemoteLeave, Opts: &o, Rooms: rooms})
}

// DisconnectSockets disconnects the matching sockets of every node.
func (c *classic) DisconnectSockets(ctx context.Context, opts adapter.Options, close bool) error {
	_ = c.Memory.DisconnectSockets(ctx, opts, close)
	if opts.Flags.Local {
		return nil
	}
	o := clusterwire.OptsToWire(opts, false)
	return c.awaitApplied(ctx, &clusterwire.Request{UID: c.a.uid, Type: clusterwire.RemoteDisconnect, Opts: &o, Close: &close})
}

// awaitApplied publishes req followed, on the same connection, by a SOCKETS
// request for a room no socket is in. Every node handles the two in order,
// so its answer to the second proves it applied the first: Node nodes
// need no extension for this. It waits for one answer per other node.
func (c *classic) awaitApplied(ctx context.Context, req *clusterwire.Request) error {
	payload, err := clusterwire.EncodeRequest(req, nil)
	if err != nil {
		return err
	}
	if err := c.waitReady(ctx); err != nil {
		return err
	}
	n, err := c.ServerCount(ctx)
	if err != nil || n <= 1 {
		return c.a.publish(ctx, c.msg(c.requestChannel, payload))
	}
	id := randomHex(8)
	barrier, _ := clusterwire.EncodeRequest(&clusterwire.Request{UID: c.a.uid, RequestID: id,
		Type: clusterwire.Sockets, Rooms: []string{barrierRoom}}, nil)
	r := c.newRequest(id, int(clusterwire.Sockets), n-1)
	if err := c.a.publish(ctx, c.msg(c.requestChannel, payload), c.msg(c.requestChannel, barrier)); err != nil {
		c.forgetRequest(id)
		return err
	}
	return c.wait(ctx, id, r, c.ServerCount)
}

func (b *base) forgetRequest(id string) {
	b.mu.Lock()
	delete(b.requests, id)
	b.mu.Unlock()
}

// FetchSockets returns the matching sockets of every node; on a timeout,
// those gathered with a *adapter.PartialError.
func (c *classic) FetchSockets(ctx context.Context, opts adapter.Options) ([]adapter.SocketInfo, error) {
	local := c.FetchLocal(opts)
	if opts.Flags.Local {
		return local, nil
	}
	o := clusterwire.OptsToWire(opts, false)
	r, err := c.ask(ctx, &clusterwire.Request{Type: clusterwire.RemoteFetch, Opts: &o}, nil)
	if r == nil {
		return local, err
	}
	sockets, _, _ := r.results()
	return append(local, sockets...), err
}

// FetchRooms returns the rooms of every node (Node's allRooms); on a
// timeout, those gathered with a *adapter.PartialError.
func (c *classic) FetchRooms(ctx context.Context) ([]string, error) {
	r, err := c.ask(ctx, &clusterwire.Request{Type: clusterwire.AllRooms}, nil)
	set := make(map[string]struct{})
	for _, room := range c.AllRooms() {
		set[room] = struct{}{}
	}
	if r != nil {
		_, rooms, _ := r.results()
		for _, room := range rooms {
			set[room] = struct{}{}
		}
	}
	out := make([]string, 0, len(set))
	for room := range set {
		out = append(out, room)
	}
	return out, err
}

// ask publishes a request expecting one answer per other node and waits
// for them. It returns a nil request when there is no other node.
func (c *classic) ask(ctx context.Context, req *clusterwire.Request, atts [][]byte) (*request, error) {
	if err := c.waitReady(ctx); err != nil {
		return nil, err
	}
	n, err := c.ServerCount(ctx)
	if err != nil {
		return nil, err
	}
	if n <= 1 {
		return nil, nil
	}
	req.UID, req.RequestID = c.a.uid, randomHex(8)
	payload, err := clusterwire.EncodeRequest(req, atts)
	if err != nil {
		return nil, err
	}
	r := c.newRequest(req.RequestID, int(req.Type), n-1)
	if err := c.a.publish(ctx, c.msg(c.requestChannel, payload)); err != nil {
		c.forgetRequest(req.RequestID)
		return nil, err
	}
	return r, c.wait(ctx, req.RequestID, r, c.ServerCount)
}

// ServerSideEmit sends [event, ...args] to the other nodes; with ack it
// waits for one reply per other node and returns their first arguments.
func (c *classic) ServerSideEmit(ctx context.Context, data []any, ack bool) ([]parser.Arg, error) {
	js, atts, err := parser.EncodeData(data...)
	if err != nil {
		return nil, err
	}
	if !ack {
		payload, err := clusterwire.EncodeRequest(&clusterwire.Request{UID: c.a.uid,
			Type: clusterwire.ServerSideEmit, Data: js}, atts)
		if err != nil {
			return nil, err
		}
		return nil, c.a.publish(ctx, c.msg(c.requestChannel, payload))
	}
	r, err := c.ask(ctx, &clusterwire.Request{Type: clusterwire.ServerSideEmit, Data: js}, atts)
	if r == nil {
		return []parser.Arg{}, err
	}
	_, _, args := r.results()
	return args, err
}

// ServerCount returns the number of nodes subscribed to the namespace's
// request channel (PUBSUB NUMSUB), this one included.
func (c *classic) ServerCount(ctx context.Context) (int, error) {
	return c.a.numSub(ctx, c.requestChannel, false)
}

// respond publishes a response to req: on the shared response channel,
// or on the requester's own when PublishOnSpecificResponseChannel is set.
func (c *classic) respond(req *clusterwire.Request, resp *clusterwire.Response, atts [][]byte) {
	resp.UID = c.a.uid
	payload, err := clusterwire.EncodeResponse(resp, atts)
	if err != nil {
		c.a.log.Warn("redis adapter: encoding response", "err", err)
		return
	}
	channel := c.responseChannel
	if c.a.opts.PublishOnSpecificResponseChannel && req.UID != "" {
		channel += req.UID + "#"
	}
	c.a.publishAsync(c.msg(channel, payload))
}

// onBroadcast handles a message of the broadcast channels.
func (c *classic) onBroadcast(channel string, payload []byte) {
	if !strings.HasPrefix(channel, c.channel) {
		return
	}
	if room := strings.TrimSuffix(channel[len(c.channel):], "#"); room != "" && !c.HasRoom(room) {
		if uid, seq, err := clusterwire.PeekBroadcast(payload); err == nil {
			c.observeSeq(uid, seq)
		}
		return
	}
	m, err := clusterwire.DecodeBroadcast(payload)
	if err != nil {
		c.decodeError("broadcast", err)
		return
	}
	if m.UID == c.a.uid || m.Packet.Namespace != c.nsp {
		return
	}
	c.sawPeer(m.UID)
	c.observeSeq(m.UID, m.Seq)
	c.BroadcastLocal(m.Packet, m.Opts)
}

// observeSeq tracks another Switchboard node's broadcast numbers; a gap
// that stays open is a loss.
func (c *classic) observeSeq(uid string, seq uint64) {
	if seq == 0 || uid == c.a.uid {
		return
	}
	if _, lost := c.seqs.observe(uid, seq, time.Now()); lost > 0 {
		c.lost("a gap in another node's sequence", lost)
	}
}

func (b *base) decodeError(what string, err error) {
	b.a.stats.decodeErrors.Add(1)
	b.a.log.Debug("redis adapter: ignoring malformed message", "kind", what, "nsp", b.nsp, "err", err)
}

// onResponse handles a message of the response channels.
func (c *classic) onResponse(_ string, payload []byte) {
	resp, atts, err := clusterwire.DecodeResponse(payload)
	if err != nil {
		c.decodeError("response", err)
		return
	}
	c.sawPeer(resp.UID)
	if ar := c.ackRequest(resp.RequestID); ar != nil {
		switch {
		case resp.Type == clusterwire.BroadcastClientCount && resp.ClientCount != nil:
			ar.clientCount(*resp.ClientCount)
		case resp.Type == clusterwire.BroadcastAck:
			if arg, err := clusterwire.ArgFromWire(resp.Packet, atts); err == nil {
				ar.ack(arg)
			}
		}
		return
	}
	r := c.pending(resp.RequestID)
	if r == nil {
		return
	}
	r.respond(resp.UID, func(r *request) { c.merge(r, resp, atts) })
}

// merge adds a response's content to its request. Request lock held.
func (c *classic) merge(r *request, resp *clusterwire.Response, atts [][]byte) {
	switch clusterwire.RequestType(r.kind) {
	case clusterwire.RemoteFetch:
		infos, err := clusterwire.DecodeSocketInfos(resp.Sockets)
		if err != nil {
			c.decodeError("fetchSockets response", err)
		}
		r.sockets = append(r.sockets, infos...)
	case clusterwire.AllRooms:
		r.rooms = append(r.rooms, resp.Rooms...)
	case clusterwire.ServerSideEmit:
		arg, err := clusterwire.ArgFromWire(resp.Data, atts)
		if err != nil {
			c.decodeError("serverSideEmit response", err)
		}
		r.args = append(r.args, arg)
	}
}

// onRequest handles a message of the request channel.
func (c *classic) onRequest(_ string, payload []byte) {
	req, atts, err := clusterwire.DecodeRequest(payload)
	if err != nil {
		c.decodeError("request", err)
		return
	}
	c.sawPeer(req.UID)
	switch req.Type {
	case clusterwire.Sockets, clusterwire.AllRooms, clusterwire.RemoteFetch:
		c.onQuery(req)
	case clusterwire.RemoteJoin, clusterwire.RemoteLeave, clusterwire.RemoteDisconnect:
		c.onApply(req)
	case clusterwire.ServerSideEmit:
		c.onServerSideEmit(req, atts)
	case clusterwire.BroadcastReq:
		c.onBroadcastWithAck(req, atts)
	}
}

// onQuery answers SOCKETS, ALL_ROOMS and REMOTE_FETCH (not our own).
func (c *classic) onQuery(req *clusterwire.Request) {
	if c.isOwnRequest(req.RequestID) {
		return
	}
	resp := &clusterwire.Response{RequestID: req.RequestID}
	var v any
	switch req.Type {
	case clusterwire.Sockets:
		v = nonNilStrings(c.Match(adapter.Options{Rooms: req.Rooms}))
	case clusterwire.AllRooms:
		resp.Rooms = nonNilStrings(c.AllRooms())
	case clusterwire.RemoteFetch:
		var opts adapter.Options
		if req.Opts != nil {
			opts = req.Opts.ToAdapter()
		}
		v = nonNilInfos(c.FetchLocal(opts))
	}
	if v != nil {
		js, err := json.Marshal(v)
		if err != nil {
			c.a.log.Warn("redis adapter: encoding sockets", "err", err)
			return
		}
		resp.Sockets = js
	}
	c.respond(req, resp, nil)
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilInfos(s []adapter.SocketInfo) []adapter.SocketInfo {
	if s == nil {
		return []adapter.SocketInfo{}
	}
	return s
}

// onApply applies REMOTE_JOIN, REMOTE_LEAVE and REMOTE_DISCONNECT. Node
// nodes apply their own requests through their subscription, so only ours
// are skipped (we applied them before publishing).
func (c *classic) onApply(req *clusterwire.Request) {
	if req.Opts == nil {
		c.onLegacyApply(req)
		return
	}
	if req.UID == c.a.uid {
		return
	}
	opts := req.Opts.ToAdapter()
	ctx := context.Background()
	switch req.Type {
	case clusterwire.RemoteJoin:
		_ = c.Memory.AddSockets(ctx, opts, req.Rooms)
	case clusterwire.RemoteLeave:
		_ = c.Memory.DelSockets(ctx, opts, req.Rooms)
	default:
		_ = c.Memory.DisconnectSockets(ctx, opts, req.Close != nil && *req.Close)
	}
}

// onLegacyApply handles the {requestId, sid, room|close} forms of
// adapters before 7.0, answering when the socket is here.
func (c *classic) onLegacyApply(req *clusterwire.Request) {
	s := c.ns.Socket(req.SID)
	if s == nil {
		return
	}
	switch req.Type {
	case clusterwire.RemoteJoin:
		c.Join(req.SID, req.Room)
	case clusterwire.RemoteLeave:
		c.Leave(req.SID, req.Room)
	default:
		s.Disconnect(req.Close != nil && *req.Close)
	}
	c.respond(req, &clusterwire.Response{RequestID: req.RequestID}, nil)
}

// onServerSideEmit runs the namespace's handler for another node's event.
// The reply, when asked for, always goes to the shared response channel,
// as Node sends it.
func (c *classic) onServerSideEmit(req *clusterwire.Request, atts [][]byte) {
	if req.UID == c.a.uid {
		return
	}
	args, err := clusterwire.ArgsFromWire(req.Data, atts)
	if err != nil {
		c.decodeError("serverSideEmit", err)
		return
	}
	event, args, err := eventName(args)
	if err != nil {
		c.decodeError("serverSideEmit", err)
		return
	}
	var reply func(any)
	if req.RequestID != "" {
		reply = replyOnce(func(arg any) {
			data, atts, err := clusterwire.ValueToWire(arg, nil)
			if err != nil {
				c.a.log.Warn("redis adapter: encoding serverSideEmit reply", "event", event, "err", err)
				return
			}
			resp := &clusterwire.Response{Type: clusterwire.ServerSideEmit, RequestID: req.RequestID,
				Data: data, UID: c.a.uid}
			payload, err := clusterwire.EncodeResponse(resp, atts)
			if err == nil {
				c.a.publishAsync(c.msg(c.responseChannel, payload))
			}
		})
	}
	c.ns.HandleServerSideEmit(event, args, reply)
}

// onBroadcastWithAck delivers another node's broadcast with acks and
// reports the client count and each client's ack to it.
func (c *classic) onBroadcastWithAck(req *clusterwire.Request, atts [][]byte) {
	if req.Packet == nil || c.isOwnRequest(req.RequestID) || req.UID == c.a.uid {
		return
	}
	p, err := req.Packet.ToParser(c.nsp, atts)
	if err != nil {
		c.decodeError("broadcast with acks", err)
		return
	}
	p.ID, p.HasID = c.nextAckID(), true
	var opts adapter.Options
	if req.Opts != nil {
		opts = req.Opts.ToAdapter()
	}
	n := c.BroadcastLocalWithAck(p, opts, func(arg parser.Arg) {
		data, atts, err := clusterwire.ValueToWire(arg, nil)
		if err != nil {
			return
		}
		c.respond(req, &clusterwire.Response{Type: clusterwire.BroadcastAck, RequestID: req.RequestID,
			Packet: data}, atts)
	})
	c.respond(req, &clusterwire.Response{Type: clusterwire.BroadcastClientCount, RequestID: req.RequestID,
		ClientCount: &n}, nil)
}
