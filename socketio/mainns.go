package socketio

import (
	"context"
	"time"
)

// The Server's shortcuts to its main namespace "/", as Node's io object
// has them: io.emit, io.to, io.in, io.except, io.local, io.timeout,
// io.fetchSockets, io.socketsJoin, io.socketsLeave, io.disconnectSockets,
// io.serverSideEmit. Other namespaces: Server.Namespace or Server.Of.

// main returns the main namespace, which NewServer creates.
func (s *Server) main() *Namespace {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.nsps["/"]
}

// Namespace returns the namespace named name ("/chat"; a leading "/" is
// added if missing) if it exists: created by Of, or a child of a parent
// namespace created by a client's connection. Unlike Of it never creates
// one, so it is safe to call with a name that comes from user input.
func (s *Server) Namespace(name string) *Namespace {
	name = normalizeNamespace(name)
	s.mu.RLock()
	ns, parents := s.nsps[name], s.parents
	s.mu.RUnlock()
	if ns != nil {
		return ns
	}
	for _, p := range parents {
		p.mu.Lock()
		c := p.children[name]
		p.mu.Unlock()
		if c != nil {
			return c
		}
	}
	return nil
}

// OnConnection registers a connection handler on the main namespace.
func (s *Server) OnConnection(fn func(*Socket)) { s.main().OnConnection(fn) }

// Use adds a middleware to the main namespace.
func (s *Server) Use(mw Middleware) { s.main().Use(mw) }

// Emit broadcasts an event to every socket of the main namespace.
func (s *Server) Emit(ctx context.Context, event string, args ...any) error {
	return s.main().Emit(ctx, event, args...)
}

// To returns a broadcast operator on the main namespace targeting rooms.
func (s *Server) To(rooms ...string) BroadcastOperator { return s.main().To(rooms...) }

// In is the same as To.
func (s *Server) In(rooms ...string) BroadcastOperator { return s.main().To(rooms...) }

// Except returns a broadcast operator on the main namespace excluding
// rooms.
func (s *Server) Except(rooms ...string) BroadcastOperator { return s.main().Except(rooms...) }

// Local returns a broadcast operator on the main namespace that reaches
// this node's sockets only.
func (s *Server) Local() BroadcastOperator { return s.main().Local() }

// Volatile returns a broadcast operator on the main namespace whose events
// may be dropped.
func (s *Server) Volatile() BroadcastOperator { return s.main().Volatile() }

// Timeout returns a broadcast operator on the main namespace whose
// EmitWithAck waits at most d.
func (s *Server) Timeout(d time.Duration) BroadcastOperator { return s.main().Timeout(d) }

// FetchSockets returns the sockets of the main namespace on every node.
func (s *Server) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return s.main().FetchSockets(ctx)
}

// SocketsJoin makes every socket of the main namespace, on every node,
// join rooms.
func (s *Server) SocketsJoin(ctx context.Context, rooms ...string) error {
	return s.main().SocketsJoin(ctx, rooms...)
}

// SocketsLeave makes every socket of the main namespace, on every node,
// leave rooms.
func (s *Server) SocketsLeave(ctx context.Context, rooms ...string) error {
	return s.main().SocketsLeave(ctx, rooms...)
}

// DisconnectSockets disconnects every socket of the main namespace, on
// every node (closing their connections when close is true).
func (s *Server) DisconnectSockets(ctx context.Context, close bool) error {
	return s.main().DisconnectSockets(ctx, close)
}

// ServerSideEmit sends an event to the other nodes of the cluster, to the
// handlers registered with OnServerSideEmit on their main namespace.
func (s *Server) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	return s.main().ServerSideEmit(ctx, event, args...)
}

// OnServerSideEmit registers, on the main namespace, the handler of an
// event sent by other nodes with ServerSideEmit.
func (s *Server) OnServerSideEmit(event string, h ServerSideHandler) {
	s.main().OnServerSideEmit(event, h)
}
