package socketio

import (
	"encoding/json"
	"runtime/debug"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/parser"
)

// The adapter seam. An adapter sees a namespace as an adapter.Namespace
// and its sockets as adapter.Socket values. Those methods are plumbing,
// not API: they live on seamNamespace and seamSocket, which share the
// memory layout of Namespace and Socket, so that a *Namespace or *Socket
// converts to its seam view for free and users never see them.

// seamNamespace is a Namespace as its adapter sees it.
type seamNamespace Namespace

// seamSocket is a Socket as the adapter sees it.
type seamSocket Socket

var (
	_ adapter.Namespace = (*seamNamespace)(nil)
	_ adapter.Socket    = (*seamSocket)(nil)
)

func (n *seamNamespace) ns() *Namespace { return (*Namespace)(n) }

// Name returns the namespace name.
func (n *seamNamespace) Name() string { return n.name }

// Socket returns the local socket with the given id, or nil.
func (n *seamNamespace) Socket(id string) adapter.Socket {
	if s := n.ns().LocalSocket(id); s != nil {
		return (*seamSocket)(s)
	}
	return nil
}

// NextAckID returns a fresh ack id of the namespace (ids are shared by its
// sockets and broadcasts), for broadcasts with acks started by other nodes.
func (n *seamNamespace) NextAckID() uint64 { return n.ns().nextAckID() }

// RecoveryWindow returns how long the session of a disconnected socket
// stays recoverable (RecoveryOptions.MaxDisconnectionDuration), or zero
// when connection state recovery is off.
func (n *seamNamespace) RecoveryWindow() time.Duration {
	if r := n.srv.opts.ConnectionStateRecovery; r != nil {
		return r.MaxDisconnectionDuration
	}
	return 0
}

// HandleServerSideEmit runs the handler of an event sent by another node,
// on a tracked goroutine of its own.
func (n *seamNamespace) HandleServerSideEmit(event string, args []parser.Arg, reply func(arg any)) {
	ns := n.ns()
	ns.mu.RLock()
	h := ns.serverSide[event]
	ns.mu.RUnlock()
	if h == nil {
		return
	}
	ns.srv.goTracked(func() {
		defer func() {
			if r := recover(); r != nil {
				ns.srv.log.Error("server-side handler panicked", "namespace", ns.name, "event", event,
					"panic", r, "stack", string(debug.Stack()))
			}
		}()
		h(args, reply)
	})
}

func (v *seamSocket) s() *Socket { return (*Socket)(v) }

// ID returns the socket id.
func (v *seamSocket) ID() string { return v.id }

// Deliver writes an encoded message to the client.
// A failure is counted by the client's sendMessage.
func (v *seamSocket) Deliver(m *adapter.Message) { _ = v.s().deliver(m) }

// ExpectAck registers fn for the ack with the given id (broadcasts with
// acks).
func (v *seamSocket) ExpectAck(id uint64, fn func([]parser.Arg)) {
	v.s().expect(id, ackEntry{fn: fn})
}

// Disconnect disconnects the socket; close also closes its connection.
func (v *seamSocket) Disconnect(close bool) { v.s().Disconnect(close) }

// Conn returns the socket's Engine.IO connection (adapters close it to
// make a client reconnect after a loss).
func (v *seamSocket) Conn() *engineio.Conn { return v.client.conn }

// Info describes the socket for FetchSockets.
func (v *seamSocket) Info() adapter.SocketInfo {
	s := v.s()
	data, err := json.Marshal(s.Data())
	if err != nil {
		data = json.RawMessage("null")
	}
	return adapter.SocketInfo{ID: s.id, Handshake: s.Handshake().wire(), Rooms: s.Rooms(), Data: data}
}
