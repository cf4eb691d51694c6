package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/parser"
)

// Middleware runs for every connection attempt to a namespace, in the order
// added, before the socket is connected. A non-nil error refuses the
// connection: the client receives a CONNECT_ERROR with the error's message
// (and Data, for a *ConnectError). Middlewares run on a goroutine of their
// own, never on the connection's network reader, so they may block (on a
// token check, a database): ctx is cancelled when the client goes away
// meanwhile, and the attempt is then dropped.
type Middleware func(ctx context.Context, s *Socket) error

// ServerSideHandler handles an event sent by another node with
// ServerSideEmit. reply is nil unless the sender waits for an answer.
type ServerSideHandler func(args []Arg, reply func(arg any))

// Namespace is a Socket.IO namespace: a set of sockets with its own
// middlewares, handlers, rooms and adapter. Its methods are safe for
// concurrent use.
type Namespace struct {
	srv     *Server
	name    string
	parent  *ParentNamespace
	adapter adapter.Adapter
	ackIDs  atomic.Uint64

	mu          sync.RWMutex
	sockets     map[string]*Socket
	byPID       map[string]*Socket       // pid → connected socket, with recovery on
	leaving     map[string]chan struct{} // pid → closed once its socket left its rooms and persisted
	middlewares []Middleware
	onConnect   []func(*Socket)
	serverSide  map[string]ServerSideHandler
}

func newNamespace(s *Server, name string, parent *ParentNamespace) *Namespace {
	ns := &Namespace{srv: s, name: name, parent: parent,
		sockets: make(map[string]*Socket), serverSide: make(map[string]ServerSideHandler)}
	ns.adapter = s.opts.Adapter((*seamNamespace)(ns))
	return ns
}

// Name returns the namespace name, such as "/" or "/chat".
func (ns *Namespace) Name() string { return ns.name }

// Adapter returns the namespace's adapter.
func (ns *Namespace) Adapter() adapter.Adapter { return ns.adapter }

// Server returns the namespace's server.
func (ns *Namespace) Server() *Server { return ns.srv }

// Use adds a connection middleware.
func (ns *Namespace) Use(mw Middleware) {
	ns.mu.Lock()
	ns.middlewares = append(ns.middlewares, mw)
	ns.mu.Unlock()
}

// OnConnection registers a handler called for every new socket, after the
// client has been told it is connected. It runs on the socket's handler
// goroutine, before any of the socket's events.
func (ns *Namespace) OnConnection(fn func(*Socket)) {
	ns.mu.Lock()
	ns.onConnect = append(ns.onConnect, fn)
	ns.mu.Unlock()
}

// OnServerSideEmit registers the handler of an event sent by other nodes
// with ServerSideEmit.
func (ns *Namespace) OnServerSideEmit(event string, h ServerSideHandler) {
	ns.mu.Lock()
	ns.serverSide[event] = h
	ns.mu.Unlock()
}

// LocalSocket returns the socket with the given id connected to this node,
// or nil.
func (ns *Namespace) LocalSocket(id string) *Socket {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return ns.sockets[id]
}

// Len returns the number of sockets connected to this node.
func (ns *Namespace) Len() int {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return len(ns.sockets)
}

func (ns *Namespace) snapshot() []*Socket {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	out := make([]*Socket, 0, len(ns.sockets))
	for _, s := range ns.sockets {
		out = append(out, s)
	}
	return out
}

func (ns *Namespace) nextAckID() uint64 { return ns.ackIDs.Add(1) - 1 }

// connect runs a connection attempt: the middlewares for a new socket
// and, when they pass, it connects it: it joins its own room, the client
// gets CONNECT, then the connection handlers run. An attempt that may block
// (middlewares, or a restore from the session store) runs on a tracked
// goroutine, off the connection's reader; the client ignores another
// CONNECT to the namespace meanwhile (see client.route).
func (ns *Namespace) connect(cl *client, auth json.RawMessage) {
	ns.mu.RLock()
	blocking := len(ns.middlewares) > 0
	ns.mu.RUnlock()
	recoverable := ns.recoverable(auth)
	if !blocking && !recoverable {
		ns.connectSocket(cl, newSocket(ns, cl, auth), auth, false)
		return
	}
	if !cl.beginConnect(ns.name) {
		return
	}
	ns.srv.goTracked(func() {
		defer cl.endConnect(ns.name)
		ns.connectSocket(cl, newSocket(ns, cl, auth), auth, recoverable)
	})
}

// connectSocket runs the middlewares and the restore of a connection
// attempt, then connects s or the socket restored in its place.
func (ns *Namespace) connectSocket(cl *client, s *Socket, auth json.RawMessage, recoverable bool) {
	runAll := ns.srv.opts.ConnectionStateRecovery != nil && ns.srv.opts.ConnectionStateRecovery.RunMiddlewares
	if !recoverable || runAll {
		if !ns.admit(cl, s) {
			return
		}
	}
	if recoverable {
		if r := ns.restore(cl, auth); r != nil {
			s = r
		} else if !runAll && !ns.admit(cl, s) {
			return // not recovered: a new socket, which the middlewares must see
		}
	}
	if !s.recovered { // a recovered socket is registered and told already
		if !ns.register(s, nil, func() { _ = cl.send(s.connectPacket()) }) {
			return
		}
	}
	ns.srv.stats.connects.Add(1)
	s.persistLive()
	ns.mu.RLock()
	handlers := ns.onConnect
	ns.mu.RUnlock()
	// The connection handlers go first in the socket's inbox, before a
	// close that came meanwhile: as in Node, a socket told it is connected
	// runs its connection handlers, then its disconnect handlers.
	s.release(func() {
		for _, h := range handlers {
			h(s)
		}
	})
}

// admit runs the middlewares for s; on a refusal the client gets
// CONNECT_ERROR. As in Node, an attempt whose connection is gone meanwhile
// is dropped silently. It reports whether s may connect.
func (ns *Namespace) admit(cl *client, s *Socket) bool {
	err := ns.runMiddlewares(cl, s)
	if isDone(cl.conn.Done()) {
		return false
	}
	if err != nil {
		payload := connectErrorPayload(err)
		if cl.v3() {
			payload = connectErrorPayloadV3(err)
		}
		_ = cl.send(&parser.Packet{Type: parser.ConnectError, Namespace: ns.name, Data: payload})
		return false
	}
	return true
}

// register makes s a connected socket of the namespace, in its own room
// and in rooms, then runs announce (which queues the CONNECT reply). A
// delivery that reaches s before announce has run waits in s until it has
// (Socket.announce): no broadcast goes out before the CONNECT, none issued
// once the client can know it is connected is missed, as in Node, where
// the joins and the CONNECT cannot interleave with a broadcast. Its inbox
// is held (no handler runs) until release. It returns false (and undoes
// everything, announcing nothing) if the client closed meanwhile.
func (ns *Namespace) register(s *Socket, rooms []string, announce func()) bool {
	s.hold()
	ns.mu.Lock()
	ns.sockets[s.id] = s
	if s.pid != "" {
		if ns.byPID == nil {
			ns.byPID = make(map[string]*Socket)
		}
		ns.byPID[s.pid] = s
	}
	ns.mu.Unlock()
	ns.adapter.Join(s.id, s.id)
	if len(rooms) > 0 {
		ns.adapter.Join(s.id, rooms...)
	}
	// Connected before attached: once attached, a close of the client (a
	// ping timeout, a slow-client close) finds the socket connected and
	// cleans it up; before, attach fails and the socket is dropped here.
	s.setConnected()
	if !s.client.attach(s) {
		s.connected.Store(false)
		ns.remove(s)
		ns.adapter.LeaveAll(s.id)
		return false
	}
	s.announce(announce)
	return true
}

// runMiddlewares runs the connection middlewares in order. A panic in one
// refuses the connection (and is logged) instead of breaking the
// connection's reader.
func (ns *Namespace) runMiddlewares(cl *client, s *Socket) (err error) {
	ns.mu.RLock()
	mws := ns.middlewares
	ns.mu.RUnlock()
	if len(mws) == 0 {
		return nil
	}
	ctx := cl.context()
	defer func() {
		if r := recover(); r != nil {
			ns.srv.log.Error("namespace middleware panicked", "namespace", ns.name, "panic", r,
				"stack", string(debug.Stack()))
			err = errMiddlewarePanic
		}
	}()
	for _, mw := range mws {
		if err := mw(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// errMiddlewarePanic refuses a connection whose middleware panicked.
var errMiddlewarePanic = errors.New("internal server error")

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// forgetAck drops the pending ack id from every local socket, once a
// broadcast with acks is over.
func (ns *Namespace) forgetAck(id uint64) {
	for _, s := range ns.snapshot() {
		s.forgetAck(id)
	}
}

// remove forgets a socket that left the namespace.
func (ns *Namespace) remove(s *Socket) { ns.retire(s, false) }

// retire removes a closing socket from the namespace. With leaving (a
// socket with a private id), the socket is recorded as leaving until its
// cleanup ends (left): a restore of its session on this node waits for
// that, so that the old socket's leaving never undoes the new one's rooms.
func (ns *Namespace) retire(s *Socket, leaving bool) (left func()) {
	ns.mu.Lock()
	if ns.sockets[s.id] == s {
		delete(ns.sockets, s.id)
	}
	if ns.byPID[s.pid] == s {
		delete(ns.byPID, s.pid)
	}
	if leaving && s.pid != "" {
		if ns.leaving == nil {
			ns.leaving = make(map[string]chan struct{})
		}
		done := make(chan struct{})
		ns.leaving[s.pid] = done
		left = func() {
			ns.mu.Lock()
			if ns.leaving[s.pid] == done {
				delete(ns.leaving, s.pid)
			}
			ns.mu.Unlock()
			close(done)
		}
	}
	empty := len(ns.sockets) == 0
	ns.mu.Unlock()
	if empty && ns.parent != nil && ns.srv.opts.CleanupEmptyChildNamespaces {
		ns.parent.removeChild(ns)
	}
	return left
}

// sessionSocket returns the connected socket of session pid on this node,
// or nil.
func (ns *Namespace) sessionSocket(pid string) *Socket {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return ns.byPID[pid]
}

// leavingSocket returns a channel closed once the socket of session pid,
// closing on this node, has left its rooms and persisted its session; nil
// when no such socket is closing.
func (ns *Namespace) leavingSocket(pid string) <-chan struct{} {
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	return ns.leaving[pid]
}

// operator returns a broadcast operator on the whole namespace.
func (ns *Namespace) operator() BroadcastOperator { return BroadcastOperator{ns: ns} }

// Emit broadcasts an event to every socket of the namespace, on every node
// (see BroadcastOperator.Emit).
func (ns *Namespace) Emit(ctx context.Context, event string, args ...any) error {
	return ns.operator().Emit(ctx, event, args...)
}

// To returns a broadcast operator targeting rooms.
func (ns *Namespace) To(rooms ...string) BroadcastOperator { return ns.operator().To(rooms...) }

// In is the same as To.
func (ns *Namespace) In(rooms ...string) BroadcastOperator { return ns.operator().To(rooms...) }

// Except returns a broadcast operator excluding rooms.
func (ns *Namespace) Except(rooms ...string) BroadcastOperator {
	return ns.operator().Except(rooms...)
}

// Volatile returns a broadcast operator whose packets may be dropped.
func (ns *Namespace) Volatile() BroadcastOperator { return ns.operator().Volatile() }

// Local returns a broadcast operator that stays on this node.
func (ns *Namespace) Local() BroadcastOperator { return ns.operator().Local() }

// Compress returns a broadcast operator with compression enabled or
// disabled.
func (ns *Namespace) Compress(on bool) BroadcastOperator { return ns.operator().Compress(on) }

// Timeout returns a broadcast operator whose acks time out after d.
func (ns *Namespace) Timeout(d time.Duration) BroadcastOperator { return ns.operator().Timeout(d) }

// FetchSockets returns the sockets of the namespace on every node.
func (ns *Namespace) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return ns.operator().FetchSockets(ctx)
}

// SocketsJoin makes every socket of the namespace join rooms.
func (ns *Namespace) SocketsJoin(ctx context.Context, rooms ...string) error {
	return ns.operator().SocketsJoin(ctx, rooms...)
}

// SocketsLeave makes every socket of the namespace leave rooms.
func (ns *Namespace) SocketsLeave(ctx context.Context, rooms ...string) error {
	return ns.operator().SocketsLeave(ctx, rooms...)
}

// DisconnectSockets disconnects every socket of the namespace.
func (ns *Namespace) DisconnectSockets(ctx context.Context, close bool) error {
	return ns.operator().DisconnectSockets(ctx, close)
}

// ServerSideEmit sends an event to the namespace's handlers on the other
// nodes (see OnServerSideEmit), without waiting for replies.
func (ns *Namespace) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	if isReserved(event) || event == "connection" || event == "new_namespace" {
		return ErrReservedEvent
	}
	_, err := ns.adapter.ServerSideEmit(ctx, append([]any{event}, args...), false)
	return err
}

// ServerSideEmitWithAck sends an event to the other nodes and returns the
// first argument of each node's reply.
func (ns *Namespace) ServerSideEmitWithAck(ctx context.Context, event string, args ...any) ([]Arg, error) {
	if isReserved(event) || event == "connection" || event == "new_namespace" {
		return nil, ErrReservedEvent
	}
	return ns.adapter.ServerSideEmit(ctx, append([]any{event}, args...), true)
}

// ServerCount returns the number of nodes serving the namespace.
func (ns *Namespace) ServerCount(ctx context.Context) (int, error) {
	return ns.adapter.ServerCount(ctx)
}

// ParentNamespace creates child namespaces on demand for the names it
// matches. Middlewares and connection handlers added to it apply to every
// child.
type ParentNamespace struct {
	srv   *Server
	match func(name string, auth json.RawMessage) bool

	mu          sync.Mutex
	children    map[string]*Namespace
	middlewares []Middleware
	onConnect   []func(*Socket)
}

// Use adds a middleware to every child, current and future.
func (p *ParentNamespace) Use(mw Middleware) {
	p.mu.Lock()
	p.middlewares = append(p.middlewares, mw)
	children := p.childrenLocked()
	p.mu.Unlock()
	for _, c := range children {
		c.Use(mw)
	}
}

// OnConnection registers a connection handler on every child.
func (p *ParentNamespace) OnConnection(fn func(*Socket)) {
	p.mu.Lock()
	p.onConnect = append(p.onConnect, fn)
	children := p.childrenLocked()
	p.mu.Unlock()
	for _, c := range children {
		c.OnConnection(fn)
	}
}

// Emit broadcasts an event to every socket of every child.
func (p *ParentNamespace) Emit(ctx context.Context, event string, args ...any) error {
	for _, c := range p.childNamespaces() {
		if err := c.Emit(ctx, event, args...); err != nil {
			return err
		}
	}
	return nil
}

func (p *ParentNamespace) child(name string) *Namespace {
	p.mu.Lock()
	if c := p.children[name]; c != nil {
		p.mu.Unlock()
		return c
	}
	c := newNamespace(p.srv, name, p)
	c.middlewares = append(c.middlewares, p.middlewares...)
	c.onConnect = append(c.onConnect, p.onConnect...)
	p.children[name] = c
	hooks := p.srv.newNamespaceHooks()
	p.mu.Unlock()
	runNamespaceHooks(hooks, c)
	return c
}

func (p *ParentNamespace) removeChild(ns *Namespace) {
	p.mu.Lock()
	if p.children[ns.name] == ns && ns.Len() == 0 {
		delete(p.children, ns.name)
		_ = ns.adapter.Close()
	}
	p.mu.Unlock()
}

func (p *ParentNamespace) childNamespaces() []*Namespace {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.childrenLocked()
}

func (p *ParentNamespace) childrenLocked() []*Namespace {
	out := make([]*Namespace, 0, len(p.children))
	for _, c := range p.children {
		out = append(out, c)
	}
	return out
}
