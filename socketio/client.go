package socketio

import (
	"encoding/json"
	"sync"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/parser"
)

// client is the Socket.IO side of one Engine.IO connection: it decodes
// packets and routes them to the sockets of each namespace.
type client struct {
	srv  *Server
	conn *engineio.Conn

	decoder parser.Decoder // used only by the connection's reader

	mu           sync.Mutex
	sockets      map[string]*Socket // by namespace name
	closed       bool
	connectTimer *time.Timer
}

func newClient(s *Server, c *engineio.Conn) *client {
	cl := &client{srv: s, conn: c, sockets: make(map[string]*Socket, 1)}
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
	if binary {
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
	cl.mu.Lock()
	sock := cl.sockets[nsp]
	cl.mu.Unlock()
	switch {
	case sock == nil && p.Type == parser.Connect:
		cl.connect(nsp, p.Data)
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

// attach records a connected socket; it fails if the client is closed.
func (cl *client) attach(s *Socket) bool {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.closed {
		return false
	}
	cl.sockets[s.nsp.name] = s
	cl.connectTimer.Stop()
	return true
}

// detach forgets a socket that left its namespace.
func (cl *client) detach(s *Socket) {
	cl.mu.Lock()
	if cl.sockets[s.nsp.name] == s {
		delete(cl.sockets, s.nsp.name)
	}
	cl.mu.Unlock()
}

// send encodes and queues one packet for this client only.
func (cl *client) send(p *parser.Packet) error {
	return cl.sendMessage(adapter.Encode(p, adapter.Flags{}))
}

// sendMessage queues an encoded message; a full queue closes the
// connection (the engine reports ReasonSlowClient).
func (cl *client) sendMessage(m *adapter.Message) error {
	if m.Volatile && !cl.conn.Writable() {
		cl.srv.stats.volatileDropped.Add(1)
		return nil
	}
	return cl.conn.Send(m.Frames...)
}

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
	out := make([]*Socket, 0, len(cl.sockets))
	for _, s := range cl.sockets {
		out = append(out, s)
	}
	return out
}

func (cl *client) detachAll() []*Socket {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	out := make([]*Socket, 0, len(cl.sockets))
	for _, s := range cl.sockets {
		out = append(out, s)
	}
	clear(cl.sockets)
	return out
}

// onClose runs when the Engine.IO connection is gone.
func (cl *client) onClose(reason string) {
	cl.mu.Lock()
	cl.closed = true
	cl.connectTimer.Stop()
	cl.mu.Unlock()
	for _, s := range cl.detachAll() {
		s.onClose(reason)
	}
}
