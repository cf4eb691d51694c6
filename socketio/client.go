package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/eio"
	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/parser"
)

// client is the Socket.IO side of one Engine.IO connection: it decodes
// packets and routes them to the sockets of each namespace.
type client struct {
	srv  *Server
	conn *engineio.Conn

	decoder parser.Decoder // used only by the connection's reader

	mu sync.Mutex
	// sockets are the client's sockets, one per namespace. Clients join
	// one namespace or a few: a slice costs a few bytes where a map costs
	// hundreds.
	sockets      []*Socket
	connecting   []string // namespaces with a connection attempt running
	closed       bool
	connectTimer *time.Timer // nil once stopped

	ctx    context.Context // see context; nil until asked for
	cancel context.CancelCauseFunc
}

// context returns a context that ends when the connection closes.
func (cl *client) context() context.Context {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.ctx == nil {
		cl.ctx, cl.cancel = context.WithCancelCause(context.Background())
		if cl.closed {
			cl.cancel(ErrDisconnected)
		}
	}
	return cl.ctx
}

// beginConnect records a connection attempt to namespace nsp running off
// the reader; it fails if one is running already.
func (cl *client) beginConnect(nsp string) bool {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if slices.Contains(cl.connecting, nsp) {
		return false
	}
	cl.connecting = append(cl.connecting, nsp)
	return true
}

// endConnect records the end of a connection attempt.
func (cl *client) endConnect(nsp string) {
	cl.mu.Lock()
	cl.connecting = slices.DeleteFunc(cl.connecting, func(n string) bool { return n == nsp })
	cl.mu.Unlock()
}

func newClient(s *Server, c *engineio.Conn) *client {
	cl := &client{srv: s, conn: c}
	cl.decoder.MaxAttachments = s.opts.MaxAttachments
	cl.connectTimer = time.AfterFunc(s.opts.ConnectTimeout, cl.onConnectTimeout)
	return cl
}

// onConnectTimeout closes a connection that joined no namespace in time.
func (cl *client) onConnectTimeout() {
	cl.mu.Lock()
	idle := len(cl.sockets) == 0 && !cl.closed
	cl.mu.Unlock()
	if idle {
		cl.conn.Close()
	}
}

// onMessage decodes one Engine.IO message. Any decoding error closes the
// whole connection, as Node does.
func (cl *client) onMessage(data []byte, binary bool) {
	var p *parser.Packet
	var err error
	if cl.srv.opts.Parser == ParserMsgpack {
		p, err = cl.decodeMsgpack(data, binary)
	} else if binary {
		p, err = cl.decoder.DecodeBinary(data)
	} else {
		p, err = cl.decoder.DecodeText(data)
	}
	if err != nil {
		cl.srv.stats.decodeErrors.Add(1)
		cl.srv.log.Debug("socket.io decode error", "sid", cl.conn.ID(), "err", err)
		// Node's client closes its engine connection: "forced close".
		cl.closeWith(ReasonForcedClose)
		return
	}
	if p != nil {
		cl.route(p)
	}
}

// route hands a decoded packet to its namespace's socket, or connects.
func (cl *client) route(p *parser.Packet) {
	nsp := p.Namespace
	if nsp == "" {
		nsp = "/"
	}
	auth := p.Data
	if cl.v3() {
		nsp, auth = v3Namespace(nsp)
	}
	cl.mu.Lock()
	sock := cl.socketLocked(nsp)
	pending := sock == nil && slices.Contains(cl.connecting, nsp)
	cl.mu.Unlock()
	switch {
	case pending && p.Type == parser.Connect:
		// Another CONNECT while the first is running: dropped.
	case sock == nil && p.Type == parser.Connect:
		cl.connect(nsp, auth)
	case sock != nil && p.Type != parser.Connect && p.Type != parser.ConnectError:
		sock.onPacket(p)
	default:
		// Invalid state: Node closes the whole connection with "forced
		// server close".
		cl.closeWith(ReasonForcedServerClose)
	}
}

// connect runs a namespace connection attempt.
func (cl *client) connect(name string, auth json.RawMessage) {
	if len(auth) == 0 {
		auth = json.RawMessage("{}")
	}
	ns := cl.srv.namespaceFor(name, auth)
	if ns == nil {
		cl.send(&parser.Packet{Type: parser.ConnectError, Namespace: name,
			Data: json.RawMessage(`{"message":"Invalid namespace"}`)})
		return
	}
	ns.connect(cl, auth)
}

// socketLocked returns the client's socket of namespace nsp, or nil.
// cl.mu must be held.
func (cl *client) socketLocked(nsp string) *Socket {
	for _, s := range cl.sockets {
		if s.nsp.name == nsp {
			return s
		}
	}
	return nil
}

// attach records a connected socket, in place of any other of its
// namespace; it fails if the client is closed.
func (cl *client) attach(s *Socket) bool {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.closed {
		return false
	}
	cl.sockets = slices.DeleteFunc(cl.sockets, func(o *Socket) bool { return o.nsp.name == s.nsp.name })
	cl.sockets = append(cl.sockets, s)
	cl.stopConnectTimerLocked()
	return true
}

// stopConnectTimerLocked stops the connect timer and lets it be collected.
// cl.mu must be held.
func (cl *client) stopConnectTimerLocked() {
	if cl.connectTimer != nil {
		cl.connectTimer.Stop()
		cl.connectTimer = nil
	}
}

// detach forgets a socket that left its namespace.
func (cl *client) detach(s *Socket) {
	cl.mu.Lock()
	if i := slices.Index(cl.sockets, s); i >= 0 {
		cl.sockets = slices.Delete(cl.sockets, i, i+1)
	}
	cl.mu.Unlock()
}

// send encodes and queues one packet for this client only.
func (cl *client) send(p *parser.Packet) error {
	return cl.sendMessage(adapter.Encode(p, adapter.Flags{}))
}

// sendMessage queues an encoded message; a full queue closes the
// connection (the engine reports ReasonSlowClient) and the message is
// dropped (ErrQueueFull, counted); a closed connection is ErrDisconnected. The message of a
// broadcast to more than writeFanout sockets is left to the engine's
// writers; any other is written by the caller when the connection is idle.
func (cl *client) sendMessage(m *adapter.Message) error {
	if m.Volatile && !cl.conn.Writable() {
		cl.srv.stats.volatileDropped.Add(1)
		return nil
	}
	frames, err := cl.frames(m)
	if err != nil {
		cl.srv.log.Error("socket.io: cannot encode a packet", "sid", cl.conn.ID(), "err", err)
		return err
	}
	if m.Fanout > writeFanout {
		err = cl.conn.Enqueue(frames...)
	} else {
		err = cl.conn.Send(frames...)
	}
	switch {
	case err == nil:
		cl.srv.stats.packetsOut.Add(1)
		return nil
	case errors.Is(err, engineio.ErrClosed):
		return ErrDisconnected
	default:
		cl.srv.stats.dropped.Add(1)
		return err
	}
}

// frames returns m in the client's format.
func (cl *client) frames(m *adapter.Message) ([]*eio.Packet, error) {
	if cl.srv.opts.Parser != ParserMsgpack {
		return m.Frames, nil
	}
	return m.MsgpackFrames()
}

// decodeMsgpack decodes a message of the msgpack format, always binary.
func (cl *client) decodeMsgpack(data []byte, binary bool) (*parser.Packet, error) {
	if !binary {
		return nil, errMsgpackText
	}
	return parser.DecodeMsgpack(data, cl.srv.opts.MaxAttachments)
}

var errMsgpackText = &parser.DecodeError{Reason: "text message with the msgpack parser"}

// writeFanout is the largest broadcast whose writes its sender makes
// itself, one after the other, as Node does: a few system calls cost less
// than handing them over. Larger broadcasts are written by the engine's
// writers, on every core (engineio.Conn.Enqueue).
const writeFanout = 32

// closeWith closes the connection at once: every socket gets reason.
func (cl *client) closeWith(reason string) {
	for _, s := range cl.detachAll() {
		s.onClose(reason)
	}
	cl.conn.Close()
}

// disconnectAll sends DISCONNECT on every namespace, then closes the
// connection (Socket.Disconnect(true)).
func (cl *client) disconnectAll() {
	for _, s := range cl.snapshot() {
		s.Disconnect(false)
	}
	cl.closeWith(ReasonForcedServerClose)
}

func (cl *client) snapshot() []*Socket {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return slices.Clone(cl.sockets)
}

func (cl *client) detachAll() []*Socket {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	out := cl.sockets
	cl.sockets = nil
	return out
}

// onClose runs when the Engine.IO connection is gone.
func (cl *client) onClose(reason string) {
	cl.mu.Lock()
	cl.closed = true
	cl.stopConnectTimerLocked()
	if cl.cancel != nil {
		cl.cancel(ErrDisconnected)
	}
	cl.mu.Unlock()
	for _, s := range cl.detachAll() {
		s.onClose(reason)
	}
}
