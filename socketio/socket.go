package socketio

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/parser"
)

// Arg is one argument of a received event or ack: raw JSON (binary values as
// placeholders) with its attachments. Use Decode to read it into a Go value;
// pass it back to Emit to relay it unchanged.
type Arg = parser.Arg

// EventHandler handles one event received by a socket.
type EventHandler func(e *Event)

// Socket is one client's connection to one namespace. Its methods are safe
// for concurrent use. The socket's handlers (connection, events, disconnect)
// run one at a time, in order, on a goroutine of the socket's own, never on
// the connection's network reader, so a handler may block (for instance in
// EmitWithAck) without stalling the connection.
type Socket struct {
	nsp    *Namespace
	client *client
	id     string
	pid    string // private id, for connection state recovery

	// The handshake is built when first asked for (see Handshake): its
	// query map and strings are most of a socket's memory otherwise, and
	// many applications never look at them.
	handshake atomic.Pointer[Handshake]
	born      int64           // when the socket was created, Unix nanoseconds
	auth      json.RawMessage // the CONNECT payload

	connected   atomic.Bool
	hasAnyOut   atomic.Bool
	announced   atomic.Bool // the CONNECT reply is queued: see announce
	lastHandler uint32      // id of the latest handler added; guarded by mu

	recovered bool
	closed    bool // guarded by mu
	running   bool // a drain goroutine runs, or the inbox is held (hold); guarded by mu

	early []*adapter.Message // deliveries before announce, in order; guarded by mu

	// handlers, hooks and acks are allocated when first used: most
	// sockets register a few handlers and nothing else, and a server may
	// hold hundreds of thousands of them.
	mu       sync.Mutex
	handlers []eventHandler
	hooks    *socketHooks
	acks     map[uint64]ackEntry
	data     any
	inbox    []func()

	ctx    context.Context // see Context; nil until asked for
	cancel context.CancelCauseFunc
}

// eventHandler is the handler of one event, as registered by On. A socket
// has a handful of them: a slice searched in order takes a third of the
// memory of a map, and finds one as fast.
type eventHandler struct {
	event string
	h     EventHandler
	id    uint32 // for the remover On returns
}

// socketHooks holds the socket's less common handlers.
type socketHooks struct {
	anyIn           []EventHandler
	anyOut          []func(event string, args []Arg)
	middlewares     []func(*Event) error
	onDisconnecting []func(reason string)
	onDisconnect    []func(reason string)
}

// hooksLocked returns s.hooks, allocated if needed. s.mu must be held.
func (s *Socket) hooksLocked() *socketHooks {
	if s.hooks == nil {
		s.hooks = new(socketHooks)
	}
	return s.hooks
}

// noHooks stands for the hooks of a socket that registered none.
var noHooks socketHooks

// hooksOrNone returns s.hooks, or noHooks if nil. s.mu must be held; the
// slices returned must not be modified.
func (s *Socket) hooksOrNone() *socketHooks {
	if s.hooks == nil {
		return &noHooks
	}
	return s.hooks
}

// ackEntry is a pending ack: fn receives the ack's arguments; gone, when
// set, is called instead if the socket disconnects first.
type ackEntry struct {
	fn   func([]Arg)
	gone func()
	sent time.Time // for Options.Observer
}

func newSocket(ns *Namespace, cl *client, auth json.RawMessage) *Socket {
	id := engineio.NewID()
	if cl.v3() {
		id = v3SocketID(ns.name, cl.conn.ID())
	}
	s := &Socket{nsp: ns, client: cl, id: id, born: time.Now().UnixNano(), auth: auth}
	if ns.recovery() != nil {
		s.pid = newPID()
	}
	return s
}

// ID returns the socket id: a random 20-character id, distinct from the
// Engine.IO session id; for a Socket.IO v2 client (Engine.IO v3), as in
// Node, the session id on "/" and "<namespace>#<session id>" elsewhere.
func (s *Socket) ID() string { return s.id }

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Handshake returns the details of the connection's handshake.
// It is built on the first call, from the request the connection keeps;
// every call returns the same value.
func (s *Socket) Handshake() *Handshake {
	if h := s.handshake.Load(); h != nil {
		return h
	}
	s.handshake.CompareAndSwap(nil, newHandshake(s.client.conn, time.Unix(0, s.born), s.auth))
	return s.handshake.Load()
}

// Conn returns the underlying Engine.IO connection.
func (s *Socket) Conn() *engineio.Conn { return s.client.conn }

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool { return s.connected.Load() }

// Recovered reports whether the socket's state (id, rooms, data) was
// restored by connection state recovery.
func (s *Socket) Recovered() bool { return s.recovered }

func (s *Socket) setConnected() { s.connected.Store(true) }

// SetData stores per-socket data, returned by FetchSockets on any node
// (encoded as JSON).
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	s.data = v
	s.mu.Unlock()
	s.persistLive()
}

// Data returns the value stored by SetData. On a socket restored by
// connection state recovery it is the stored value's JSON
// (json.RawMessage) until DataAs decodes it: use DataAs for a typed value
// that survives recovery.
func (s *Socket) Data() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// On adds a handler of an event. As in Node, an event may have several
// handlers: they run in the order added, on the socket's handler
// goroutine, and share the event (its first Ack wins). The returned
// function removes this handler (Node's socket.off(event, listener)).
func (s *Socket) On(event string, h EventHandler) (off func()) {
	s.mu.Lock()
	s.lastHandler++
	id := s.lastHandler
	s.handlers = append(s.handlers, eventHandler{event: event, h: h, id: id})
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.handlers = slices.DeleteFunc(s.handlers, func(e eventHandler) bool { return e.id == id })
		s.mu.Unlock()
	}
}

// Off removes every handler of an event.
func (s *Socket) Off(event string) {
	s.mu.Lock()
	s.handlers = slices.DeleteFunc(s.handlers, func(e eventHandler) bool { return e.event == event })
	s.mu.Unlock()
}

// handlersLocked appends the handlers of event to dst. s.mu must be held.
func (s *Socket) handlersLocked(dst []EventHandler, event string) []EventHandler {
	for _, e := range s.handlers {
		if e.event == event {
			dst = append(dst, e.h)
		}
	}
	return dst
}

// OnAny registers a catch-all handler, called for every incoming event
// before the socket middlewares and the event's handler.
func (s *Socket) OnAny(h EventHandler) {
	s.mu.Lock()
	hk := s.hooksLocked()
	hk.anyIn = append(hk.anyIn, h)
	s.mu.Unlock()
}

// OnAnyOutgoing registers a handler called with every event sent to the
// client, broadcasts included, before it is sent. It runs on the goroutine
// that emits, or for a large broadcast on one of those that deliver it
// (see adapter.ParallelDelivery): the outgoing handlers of different
// sockets may run at the same time.
func (s *Socket) OnAnyOutgoing(h func(event string, args []Arg)) {
	s.mu.Lock()
	hk := s.hooksLocked()
	hk.anyOut = append(hk.anyOut, h)
	s.hasAnyOut.Store(true)
	s.mu.Unlock()
}

// Use adds a socket middleware, run for every incoming event after the
// catch-all handlers; an error stops the event (it is logged).
func (s *Socket) Use(mw func(*Event) error) {
	s.mu.Lock()
	hk := s.hooksLocked()
	hk.middlewares = append(hk.middlewares, mw)
	s.mu.Unlock()
}

// OnDisconnecting registers a handler called when the socket is about to
// disconnect, while it is still in its rooms.
func (s *Socket) OnDisconnecting(fn func(reason string)) {
	s.mu.Lock()
	hk := s.hooksLocked()
	hk.onDisconnecting = append(hk.onDisconnecting, fn)
	s.mu.Unlock()
}

// OnDisconnect registers a handler called once the socket has disconnected.
func (s *Socket) OnDisconnect(fn func(reason string)) {
	s.mu.Lock()
	hk := s.hooksLocked()
	hk.onDisconnect = append(hk.onDisconnect, fn)
	s.mu.Unlock()
}

// Emit sends an event to the client. Arguments are encoded as JSON; []byte
// values (at the top level, or inside []any and map[string]any) travel as
// binary attachments; Args received from a client are relayed unchanged.
// Emit queues the packet and returns: it fails with ErrDisconnected on a
// disconnected socket and with ErrQueueFull when the client's outbound
// queue is full (the packet is dropped and the connection closed).
func (s *Socket) Emit(event string, args ...any) error {
	return s.emit(event, args, adapter.Flags{})
}

// Volatile returns an emitter whose events are dropped if the client cannot
// take them at once.
func (s *Socket) Volatile() SocketEmitter {
	return SocketEmitter{s: s, flags: adapter.Flags{Volatile: true}}
}

// Compress returns an emitter that enables or disables compression.
func (s *Socket) Compress(on bool) SocketEmitter {
	return SocketEmitter{s: s, flags: adapter.Flags{NoCompress: !on}}
}

// Timeout returns an emitter whose EmitWithAck waits at most d for the
// client's ack (Node's socket.timeout(d)).
func (s *Socket) Timeout(d time.Duration) SocketEmitter {
	return SocketEmitter{s: s, timeout: d}
}

// SocketEmitter emits to one socket with per-call flags.
type SocketEmitter struct {
	s       *Socket
	flags   adapter.Flags
	timeout time.Duration
}

// Timeout returns a copy of e whose EmitWithAck waits at most d.
func (e SocketEmitter) Timeout(d time.Duration) SocketEmitter { e.timeout = d; return e }

// Volatile returns a copy of e whose events may be dropped.
func (e SocketEmitter) Volatile() SocketEmitter { e.flags.Volatile = true; return e }

// Compress returns a copy of e with compression enabled or disabled.
func (e SocketEmitter) Compress(on bool) SocketEmitter { e.flags.NoCompress = !on; return e }

// Emit sends an event to the client with e's flags.
func (e SocketEmitter) Emit(event string, args ...any) error {
	return e.s.emit(event, args, e.flags)
}

func (s *Socket) emit(event string, args []any, flags adapter.Flags) error {
	if isReserved(event) {
		return ErrReservedEvent
	}
	if !s.Connected() {
		return ErrDisconnected
	}
	p, err := newEventPacket(s.nsp.name, event, args)
	if err != nil {
		return err
	}
	if s.nsp.recovery() != nil {
		// With recovery on, direct emits go through the adapter (to the
		// socket's own room) so that they get an offset and are logged.
		ctx, cancel := s.nsp.publishContext(context.Background())
		defer cancel()
		return s.nsp.adapter.Broadcast(ctx, p, adapter.Options{Rooms: []string{s.id}, Flags: flags})
	}
	return s.deliver(adapter.Encode(p, flags))
}

// newEventPacket encodes an event and its arguments.
func newEventPacket(nsp, event string, args []any) (*parser.Packet, error) {
	values := make([]any, 0, len(args)+1)
	values = append(values, event)
	values = append(values, args...)
	data, atts, err := parser.AppendData(make([]byte, 0, 64), nil, values...)
	if err != nil {
		return nil, fmt.Errorf("socketio: encoding %q: %w", event, err)
	}
	return &parser.Packet{Type: parser.Event, Namespace: nsp, Data: data, Attachments: atts}, nil
}

// EmitWithAck sends an event and waits for the client's ack, returning its
// arguments. The wait ends with ctx, or after Options.AckTimeout when ctx
// has no deadline (Timeout sets another bound): the error then wraps
// ErrTimeout and the context's error. It returns ErrDisconnected if the
// socket disconnects first.
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) ([]Arg, error) {
	return SocketEmitter{s: s}.EmitWithAck(ctx, event, args...)
}

// EmitWithAck is Socket.EmitWithAck with e's flags and timeout.
func (e SocketEmitter) EmitWithAck(ctx context.Context, event string, args ...any) ([]Arg, error) {
	s := e.s
	if isReserved(event) {
		return nil, ErrReservedEvent
	}
	p, err := newEventPacket(s.nsp.name, event, args)
	if err != nil {
		return nil, err
	}
	ctx, cancel := ackContext(ctx, e.timeout, s.nsp.srv.opts.AckTimeout)
	defer cancel()
	p.ID, p.HasID = s.nsp.nextAckID(), true
	got := make(chan []Arg, 1)
	gone := make(chan struct{})
	if !s.expect(p.ID, ackEntry{fn: func(a []Arg) { got <- a }, gone: func() { close(gone) }}) {
		return nil, ErrDisconnected
	}
	if err := s.deliver(adapter.Encode(p, e.flags)); err != nil {
		s.forgetAck(p.ID)
		return nil, err
	}
	select {
	case a := <-got:
		return a, nil
	case <-gone:
		return nil, ErrDisconnected
	case <-ctx.Done():
		s.forgetAck(p.ID)
		return nil, fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
	}
}

func (s *Socket) expect(id uint64, e ackEntry) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.acks == nil {
		s.acks = make(map[uint64]ackEntry)
	}
	if s.nsp.srv.opts.Observer != nil {
		e.sent = time.Now()
	}
	s.acks[id] = e
	return true
}

func (s *Socket) forgetAck(id uint64) {
	s.mu.Lock()
	delete(s.acks, id)
	s.mu.Unlock()
}

// deliver writes an encoded message to the client. It returns
// ErrDisconnected when the socket or its connection is closed, ErrQueueFull
// when the client's queue overflowed (the connection is then closed).
func (s *Socket) deliver(m *adapter.Message) error {
	if !s.Connected() {
		return ErrDisconnected
	}
	if !s.announced.Load() && s.keepEarly(m) {
		return nil
	}
	return s.send(m)
}

// send writes m to the client, after the outgoing handlers.
func (s *Socket) send(m *adapter.Message) error {
	if s.hasAnyOut.Load() {
		s.notifyOutgoing(m.Packet)
	}
	return s.client.sendMessage(m)
}

// keepEarly keeps m for announce, unless the socket is announced since the
// caller looked.
func (s *Socket) keepEarly(m *adapter.Message) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.announced.Load() {
		return false
	}
	s.early = append(s.early, m)
	return true
}

// announce runs hello (which queues the CONNECT reply, and a recovered
// socket's missed packets), then sends, in order, what was delivered to
// the socket since it joined its rooms, and lets deliveries through.
func (s *Socket) announce(hello func()) {
	hello()
	for {
		s.mu.Lock()
		early := s.early
		s.early = nil
		if len(early) == 0 {
			s.announced.Store(true)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		for _, m := range early {
			_ = s.send(m)
		}
	}
}

func (s *Socket) notifyOutgoing(p *parser.Packet) {
	name, args, err := p.Event()
	if err != nil {
		return
	}
	s.mu.Lock()
	hs := s.hooksOrNone().anyOut
	s.mu.Unlock()
	for _, h := range hs {
		s.callOutgoing(h, name, args)
	}
}

// callOutgoing calls an outgoing handler, on the delivering goroutine: a
// panic is logged, so that it cannot break a broadcast or its caller.
func (s *Socket) callOutgoing(h func(string, []Arg), name string, args []Arg) {
	defer func() {
		if r := recover(); r != nil {
			s.nsp.srv.log.Error("outgoing handler panicked", "socket", s.id, "event", name, "panic", r,
				"stack", string(debug.Stack()))
		}
	}()
	h(name, args)
}

// Join adds the socket to rooms.
func (s *Socket) Join(rooms ...string) {
	s.nsp.adapter.Join(s.id, rooms...)
	s.persistLive()
}

// Leave removes the socket from room.
func (s *Socket) Leave(room string) {
	s.nsp.adapter.Leave(s.id, room)
	s.persistLive()
}

// Rooms returns the rooms the socket is in, its own id room included.
func (s *Socket) Rooms() []string { return s.nsp.adapter.RoomsOf(s.id) }

// Broadcast returns an operator that sends to every socket of the namespace
// but this one.
func (s *Socket) Broadcast() BroadcastOperator { return s.nsp.operator().Except(s.id) }

// To returns an operator that sends to rooms, excluding this socket.
func (s *Socket) To(rooms ...string) BroadcastOperator {
	return s.nsp.operator().To(rooms...).Except(s.id)
}

// Except returns an operator that sends to every socket but those in rooms
// and this one.
func (s *Socket) Except(rooms ...string) BroadcastOperator {
	return s.nsp.operator().Except(append(slices.Clip(rooms), s.id)...)
}

// Disconnect disconnects the socket from its namespace: the client gets a
// DISCONNECT and will not reconnect by itself. With close, every namespace
// of the client is disconnected and the connection is closed.
func (s *Socket) Disconnect(close bool) {
	if !s.Connected() {
		return
	}
	if close {
		s.client.disconnectAll()
		return
	}
	// The socket leaves its client before the DISCONNECT goes out: a client
	// that connects again at once must find the namespace free (Node, on one
	// thread, does both before it reads the next packet).
	if s.onClose(ReasonServerNamespaceDisconnect) {
		_ = s.client.send(&parser.Packet{Type: parser.Disconnect, Namespace: s.nsp.name})
	}
}

// onPacket handles a packet for this socket, on the connection's reader.
func (s *Socket) onPacket(p *parser.Packet) {
	switch p.Type {
	case parser.Event, parser.BinaryEvent:
		name, args, err := p.Event()
		if err != nil {
			s.client.closeWith(ReasonForcedClose)
			return
		}
		s.nsp.srv.stats.eventsIn.Add(1)
		e := &Event{Socket: s, Name: name, Args: args, ackID: p.ID, hasAck: p.HasID}
		s.enqueue(func() { s.dispatch(e) })
	case parser.Ack, parser.BinaryAck:
		args, err := p.Args()
		if err != nil {
			s.client.closeWith(ReasonForcedClose)
			return
		}
		s.mu.Lock()
		e, ok := s.acks[p.ID]
		delete(s.acks, p.ID)
		s.mu.Unlock()
		if ok {
			if obs := s.nsp.srv.opts.Observer; obs != nil && !e.sent.IsZero() {
				obs.AckRoundTrip(time.Since(e.sent))
			}
			e.fn(args)
		}
	case parser.Disconnect:
		s.onClose(ReasonClientNamespaceDisconnect)
	}
}

// dispatch runs the catch-all handlers, the middlewares and the handler of
// an incoming event.
func (s *Socket) dispatch(e *Event) {
	var one [1]EventHandler
	s.mu.Lock()
	hk, hs := s.hooksOrNone(), s.handlersLocked(one[:0], e.Name)
	anyIn, mws := hk.anyIn, hk.middlewares
	s.mu.Unlock()
	for _, fn := range anyIn {
		fn(e)
	}
	for _, mw := range mws {
		if err := mw(e); err != nil {
			s.nsp.srv.log.Debug("socket middleware refused event", "socket", s.id, "event", e.Name, "err", err)
			return
		}
	}
	for _, h := range hs {
		if !s.Connected() {
			return
		}
		h(e)
	}
}

// hold keeps the socket's handlers from running until release: called
// before the socket becomes visible (its inbox is empty then).
func (s *Socket) hold() {
	s.mu.Lock()
	s.running = true
	s.mu.Unlock()
}

// release puts first in the inbox (before a close that came since hold)
// and starts running the socket's handlers.
func (s *Socket) release(first func()) {
	s.mu.Lock()
	s.inbox = append([]func(){first}, s.inbox...)
	s.mu.Unlock()
	s.nsp.srv.goTracked(s.drain)
}

// Context returns a context that ends when the socket disconnects (its
// cause is ErrDisconnected), for work done on the socket's behalf: a
// database call from a handler, a goroutine that must stop with the
// socket. Before the socket is connected (in a middleware) it ends when
// the client goes away.
func (s *Socket) Context() context.Context {
	parent := s.client.context()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil {
		s.ctx, s.cancel = context.WithCancelCause(parent)
		if s.closed {
			s.cancel(ErrDisconnected)
		}
	}
	return s.ctx
}

// enqueue runs f on the socket's handler goroutine, after what is queued.
// Nothing is queued once the socket has closed: its disconnect handlers are
// the last to run.
func (s *Socket) enqueue(f func()) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if len(s.inbox) >= s.nsp.srv.opts.MaxPendingEvents {
		s.mu.Unlock()
		s.nsp.srv.log.Warn("socket event queue full, closing connection", "socket", s.id)
		s.client.closeWith(ReasonForcedServerClose)
		return
	}
	s.inbox = append(s.inbox, f)
	start := !s.running
	s.running = true
	s.mu.Unlock()
	if start {
		// Called by the connection's reader for a message it read: the
		// handlers run on that goroutine once the message is handled.
		s.nsp.srv.goroutines.GoOn(s.client.conn, s.drain)
	}
}

// drain runs queued handlers until the queue is empty, then exits.
func (s *Socket) drain() {
	for {
		s.mu.Lock()
		if len(s.inbox) == 0 {
			s.inbox = nil
			s.running = false
			s.mu.Unlock()
			return
		}
		f := s.inbox[0]
		s.inbox[0] = nil
		s.inbox = s.inbox[1:]
		s.mu.Unlock()
		s.run(f)
	}
}

// run calls a handler, logging a panic instead of crashing the server.
func (s *Socket) run(f func()) {
	defer func() {
		if r := recover(); r != nil {
			s.nsp.srv.log.Error("socket handler panicked", "socket", s.id, "panic", r,
				"stack", string(debug.Stack()))
		}
	}()
	f()
}

// onClose disconnects the socket with reason: pending acks fail, then (on
// the handler goroutine) disconnecting handlers, leaving every room, and
// disconnect handlers. It reports whether this call closed the socket.
func (s *Socket) onClose(reason string) bool {
	if !s.connected.CompareAndSwap(true, false) {
		return false
	}
	s.mu.Lock()
	s.closed = true
	acks := s.acks
	s.acks = nil
	if s.cancel != nil {
		s.cancel(ErrDisconnected)
	}
	s.mu.Unlock()
	for _, e := range acks {
		if e.gone != nil {
			e.gone()
		}
	}
	s.client.detach(s)
	left := s.nsp.retire(s, s.nsp.recovery() != nil)
	s.nsp.srv.stats.disconnects.Add(1)
	job := func() {
		s.mu.Lock()
		hk := s.hooksOrNone()
		before, after := hk.onDisconnecting, hk.onDisconnect
		s.mu.Unlock()
		for _, fn := range before {
			s.run(func() { fn(reason) }) // a panic must not skip the cleanup below
		}
		rooms := s.Rooms()
		s.nsp.adapter.LeaveAll(s.id)
		s.persist(reason, rooms)
		if left != nil {
			left() // a restore of this session may proceed
		}
		for _, fn := range after {
			fn(reason)
		}
	}
	s.mu.Lock()
	s.inbox = append(s.inbox, job) // never refused: the socket must be cleaned up
	start := !s.running
	s.running = true
	s.mu.Unlock()
	if start {
		s.nsp.srv.goTracked(s.drain)
	}
	return true
}
