package client

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"

	"github.com/switchboard-io/switchboard/parser"
)

// Handler handles an event received from the server. It may call e.Ack
// to answer an event that asked for an acknowledgement.
type Handler func(e *Event)

// AckHandler handles an event and returns the arguments of its
// acknowledgement, sent when the server asked for one.
type AckHandler func(e *Event) []any

type handler struct {
	fn  Handler
	ack AckHandler
}

// pendingPacket is an event buffered while the socket is not connected.
type pendingPacket struct {
	frames []frame
	ackID  uint64
	hasAck bool
}

// ackWait is an EmitWithAck waiting for its acknowledgement.
type ackWait struct {
	ch   chan ackResult // buffered: written once, by whoever removes the entry
	sent bool           // written to a connection (not buffered)
}

type ackResult struct {
	args []parser.Arg
	err  error
}

// Socket is the client side of one namespace, multiplexed with the other
// namespaces of its Manager over one connection. Every method is safe for
// concurrent use. Handlers (events, connect, disconnect, connect errors) run
// one at a time and in order, on a goroutine of the socket's own that
// exists while there is work, never on the network reader: a handler may
// block, for instance in EmitWithAck.
type Socket struct {
	m        *Manager
	nsp      string
	auth     any
	authFunc func(context.Context) (any, error)
	owner    bool // created by Dial: Close closes the Manager

	ackSeq atomic.Uint64

	mu           sync.Mutex
	active       bool    // wants to be connected (reconnects)
	connected    bool    // CONNECT acknowledged on eng
	eng          *engine // the connection the socket is connected on
	connectingOn *engine // the connection a CONNECT was sent on
	id, pid      string
	offset       string
	recovered    bool
	lastErr      error
	handlers     map[string]handler
	anyHandlers  []Handler
	onConnect    []func()
	onDisconnect []func(DisconnectReason, error)
	onConnectErr []func(error)
	sendBuf      []pendingPacket
	recvBuf      []*Event
	acks         map[uint64]*ackWait
	waiters      []chan error
	jobs         []func()
	running      bool
}

func newSocket(m *Manager, nsp string, opts *SocketOptions) *Socket {
	s := &Socket{m: m, nsp: nsp, auth: m.cfg.Auth, authFunc: m.cfg.AuthFunc,
		handlers: make(map[string]handler), acks: make(map[uint64]*ackWait)}
	if opts != nil && (opts.Auth != nil || opts.AuthFunc != nil) {
		s.auth, s.authFunc = opts.Auth, opts.AuthFunc
	}
	return s
}

// Dial connects to the namespace named by rawURL's path ("/" when empty)
// of the server at rawURL, for example "http://localhost:3000/admin", and
// waits until the namespace is joined, the server refuses it
// (*ConnectError), or ctx ends. The socket has a Manager of its own, closed
// by Socket.Close. opts may be nil.
//
// Handlers registered after Dial returns may miss the events the server
// sends as soon as the socket connects; to catch those, use NewManager,
// Manager.Socket, register the handlers, then Connect.
func Dial(ctx context.Context, rawURL string, opts *Options) (*Socket, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("socketio client: %w", err)
	}
	m, err := NewManager(rawURL, opts)
	if err != nil {
		return nil, err
	}
	s := m.Socket(u.Path, nil)
	s.owner = true
	if err := s.Connect(ctx); err != nil {
		_ = m.Close()
		return nil, err
	}
	return s, nil
}

// ID returns the socket id the server assigned, or "" when disconnected.
func (s *Socket) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Namespace returns the socket's namespace, such as "/" or "/admin".
func (s *Socket) Namespace() string { return s.nsp }

// Manager returns the Manager the socket belongs to.
func (s *Socket) Manager() *Manager { return s.m }

// Connected reports whether the socket is connected to its namespace.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Recovered reports whether the last connection restored the previous
// session through connection state recovery: the server knew the private
// id (pid) the socket presented, kept its rooms and sent the missed events.
func (s *Socket) Recovered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovered
}

func (s *Socket) isActive() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// On registers the handler of event, replacing any previous one.
func (s *Socket) On(event string, h Handler) {
	s.mu.Lock()
	s.handlers[event] = handler{fn: h}
	s.mu.Unlock()
}

// OnAck registers the handler of event, replacing any previous one; its
// result is the acknowledgement sent when the server asked for one.
func (s *Socket) OnAck(event string, h AckHandler) {
	s.mu.Lock()
	s.handlers[event] = handler{ack: h}
	s.mu.Unlock()
}

// Off removes the handler of event.
func (s *Socket) Off(event string) {
	s.mu.Lock()
	delete(s.handlers, event)
	s.mu.Unlock()
}

// OnAny registers a catch-all handler, called for every event before the
// event's own handler.
func (s *Socket) OnAny(h Handler) {
	s.mu.Lock()
	s.anyHandlers = append(s.anyHandlers, h)
	s.mu.Unlock()
}

// OnConnect registers fn, called each time the socket joins its namespace
// (after the events the server sent before its CONNECT reply).
func (s *Socket) OnConnect(fn func()) {
	s.mu.Lock()
	s.onConnect = append(s.onConnect, fn)
	s.mu.Unlock()
}

// OnDisconnect registers fn, called each time the socket disconnects, with
// the reason and its cause (such as a *TransportError), if any.
func (s *Socket) OnDisconnect(fn func(reason DisconnectReason, cause error)) {
	s.mu.Lock()
	s.onDisconnect = append(s.onDisconnect, fn)
	s.mu.Unlock()
}

// OnConnectError registers fn, called when a connection attempt fails: a
// *ConnectError when the server refuses the namespace (the socket then
// stops trying), a *TransportError or other error when the connection
// could not be established (the Manager retries).
func (s *Socket) OnConnectError(fn func(err error)) {
	s.mu.Lock()
	s.onConnectErr = append(s.onConnectErr, fn)
	s.mu.Unlock()
}

// Connect joins the namespace, opening the Manager's connection if needed,
// and waits until the socket is connected, the server refuses the
// namespace (*ConnectError), or ctx ends. The socket stays active until
// Disconnect: if ctx ends first, it keeps trying in the background, and it
// reconnects whenever the connection is lost.
func (s *Socket) Connect(ctx context.Context) error {
	s.mu.Lock()
	if s.connected {
		s.mu.Unlock()
		return nil
	}
	s.active = true
	ch := make(chan error, 1)
	s.waiters = append(s.waiters, ch)
	s.mu.Unlock()
	e, err := s.m.open()
	if err != nil {
		s.removeWaiter(ch)
		return err
	}
	if e != nil {
		s.engineOpened(e)
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		s.removeWaiter(ch)
		s.mu.Lock()
		last := s.lastErr
		s.mu.Unlock()
		if last != nil {
			return fmt.Errorf("socketio client: connecting to %q: %w (last error: %w)", s.nsp, ctx.Err(), last)
		}
		return fmt.Errorf("socketio client: connecting to %q: %w", s.nsp, ctx.Err())
	}
}

func (s *Socket) removeWaiter(ch chan error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, w := range s.waiters {
		if w == ch {
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			return
		}
	}
}

func (s *Socket) completeWaitersLocked(err error) {
	for _, w := range s.waiters {
		w <- err
	}
	s.waiters = nil
}

// Disconnect leaves the namespace (the server sees "client namespace
// disconnect"); the socket's disconnect handlers get "io client
// disconnect" and it does not reconnect until Connect is called. When no
// socket of the Manager is active any more, the connection is closed.
// Events emitted meanwhile stay buffered for the next Connect.
func (s *Socket) Disconnect() {
	s.mu.Lock()
	if !s.active && !s.connected {
		s.mu.Unlock()
		return
	}
	s.leaveLocked(ErrDisconnected)
	s.mu.Unlock()
	s.m.maybeIdle()
}

// leaveLocked disconnects the socket on the client's initiative.
func (s *Socket) leaveLocked(err error) {
	if s.connected {
		_ = s.eng.send(packetFrames(&parser.Packet{Type: parser.Disconnect, Namespace: s.nsp}), false)
		s.enqueueDisconnectLocked(ReasonClientDisconnect, nil)
	}
	s.active, s.connected, s.eng, s.connectingOn, s.id = false, false, nil, nil, ""
	s.recvBuf = nil
	s.failAcksLocked(ErrDisconnected, true)
	s.completeWaitersLocked(err)
}

// shutdown is Disconnect for a closing Manager: buffered events are
// dropped and every pending EmitWithAck returns ErrClosed.
func (s *Socket) shutdown() {
	s.mu.Lock()
	s.leaveLocked(ErrClosed)
	s.failAcksLocked(ErrClosed, false)
	s.sendBuf = nil
	s.mu.Unlock()
}

// Close disconnects the socket. For a socket returned by Dial it also
// closes its Manager, waiting for its goroutines (see Manager.Close).
func (s *Socket) Close() error {
	if s.owner {
		return s.m.Close()
	}
	s.Disconnect()
	return nil
}
