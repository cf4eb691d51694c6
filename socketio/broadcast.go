package socketio

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/parser"
)

// BroadcastOperator selects sockets of a namespace, on every node, and
// sends to them or acts on them. It is an immutable value: every modifier
// returns a new operator, so operators can be shared between goroutines.
type BroadcastOperator struct {
	ns     *Namespace
	rooms  []string
	except []string
	flags  adapter.Flags
}

// To returns an operator that also targets rooms (a socket in several
// target rooms receives a broadcast once).
func (b BroadcastOperator) To(rooms ...string) BroadcastOperator {
	b.rooms = append(slices.Clip(b.rooms), rooms...)
	return b
}

// In is the same as To.
func (b BroadcastOperator) In(rooms ...string) BroadcastOperator { return b.To(rooms...) }

// Except returns an operator that excludes the sockets in rooms.
func (b BroadcastOperator) Except(rooms ...string) BroadcastOperator {
	b.except = append(slices.Clip(b.except), rooms...)
	return b
}

// Volatile returns an operator whose packets are dropped for clients that
// cannot take them at once.
func (b BroadcastOperator) Volatile() BroadcastOperator { b.flags.Volatile = true; return b }

// Local returns an operator that only reaches sockets of this node.
func (b BroadcastOperator) Local() BroadcastOperator { b.flags.Local = true; return b }

// Compress returns an operator with compression enabled or disabled.
func (b BroadcastOperator) Compress(on bool) BroadcastOperator { b.flags.NoCompress = !on; return b }

// Timeout returns an operator whose EmitWithAck waits at most d.
func (b BroadcastOperator) Timeout(d time.Duration) BroadcastOperator { b.flags.Timeout = d; return b }

func (b BroadcastOperator) opts() adapter.Options {
	return adapter.Options{Rooms: b.rooms, Except: b.except, Flags: b.flags}
}

// Emit sends an event to the selected sockets. The packet is encoded once
// and the same bytes are queued to every recipient. Emit returns once the
// adapter has taken the broadcast (a cluster adapter: published it): ctx
// bounds that, or Options.PublishTimeout when ctx has no deadline. An HTTP
// handler passes r.Context().
func (b BroadcastOperator) Emit(ctx context.Context, event string, args ...any) error {
	if isReserved(event) {
		return ErrReservedEvent
	}
	p, err := newEventPacket(b.ns.name, event, args)
	if err != nil {
		return err
	}
	b.ns.srv.stats.broadcasts.Add(1)
	ctx, cancel := b.ns.publishContext(ctx)
	defer cancel()
	obs := b.ns.srv.opts.Observer
	if obs == nil {
		return b.ns.adapter.Broadcast(ctx, p, b.opts())
	}
	start := time.Now()
	err = b.ns.adapter.Broadcast(ctx, p, b.opts())
	obs.Broadcast(time.Since(start))
	return err
}

// EmitWithAck sends an event to the selected sockets and waits for every
// client's ack. It returns each client's first ack argument. When the
// operator's timeout (or ctx, or the server's AckTimeout when neither sets
// a deadline) expires first, it returns the responses received so far with
// a *PartialError (which wraps ErrTimeout and the context's error).
func (b BroadcastOperator) EmitWithAck(ctx context.Context, event string, args ...any) ([]Arg, error) {
	if isReserved(event) {
		return nil, ErrReservedEvent
	}
	p, err := newEventPacket(b.ns.name, event, args)
	if err != nil {
		return nil, err
	}
	p.ID, p.HasID = b.ns.nextAckID(), true
	ctx, cancel := b.ackContext(ctx)
	defer cancel()
	servers, err := b.ns.adapter.ServerCount(ctx)
	if err != nil {
		return nil, err
	}
	c := &ackCollector{servers: servers, done: make(chan struct{})}
	b.ns.srv.stats.broadcasts.Add(1)
	if err := b.ns.adapter.BroadcastWithAck(ctx, p, b.opts(), c.clientCount, c.ack); err != nil {
		b.ns.forgetAck(p.ID)
		return c.result(), err
	}
	select {
	case <-c.done:
		return c.result(), nil
	case <-ctx.Done():
		// As Node does on timeout: the local sockets that did not answer
		// stop waiting for this ack.
		b.ns.forgetAck(p.ID)
		res := c.result()
		return res, &PartialError{Expected: c.expectedCount(), Received: len(res), Cause: ctx.Err()}
	}
}

func (b BroadcastOperator) ackContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return ackContext(ctx, b.flags.Timeout, b.ns.srv.opts.AckTimeout)
}

// publishContext bounds the hand-over of a broadcast to the adapter: by
// ctx's deadline, else by Options.PublishTimeout.
func (ns *Namespace) publishContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, ns.srv.opts.PublishTimeout)
}

// ackContext bounds a wait for acks: by timeout when set, else by ctx's
// deadline, else by def (Options.AckTimeout).
func ackContext(ctx context.Context, timeout, def time.Duration) (context.Context, context.CancelFunc) {
	if timeout > 0 {
		return context.WithTimeout(ctx, timeout)
	}
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, def)
}

// ackCollector gathers the acks of a broadcast: it completes when every
// server reported its client count and every counted client answered.
type ackCollector struct {
	mu        sync.Mutex
	servers   int
	reported  int
	expected  int
	responses []Arg
	done      chan struct{}
	finished  bool
}

func (c *ackCollector) clientCount(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reported++
	c.expected += n
	c.check()
}

func (c *ackCollector) ack(a parser.Arg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished {
		return
	}
	c.responses = append(c.responses, a)
	c.check()
}

func (c *ackCollector) check() {
	if !c.finished && c.reported >= c.servers && len(c.responses) >= c.expected {
		c.finished = true
		close(c.done)
	}
}

// expectedCount is the number of clients counted so far.
func (c *ackCollector) expectedCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.expected
}

func (c *ackCollector) result() []Arg {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finished = true
	return slices.Clone(c.responses)
}

// SocketsJoin makes the selected sockets join rooms, on every node, and
// returns once every node has applied it.
func (b BroadcastOperator) SocketsJoin(ctx context.Context, rooms ...string) error {
	return b.ns.adapter.AddSockets(ctx, b.opts(), rooms)
}

// SocketsLeave makes the selected sockets leave rooms, on every node.
func (b BroadcastOperator) SocketsLeave(ctx context.Context, rooms ...string) error {
	return b.ns.adapter.DelSockets(ctx, b.opts(), rooms)
}

// DisconnectSockets disconnects the selected sockets, on every node; close
// also closes their connections.
func (b BroadcastOperator) DisconnectSockets(ctx context.Context, close bool) error {
	return b.ns.adapter.DisconnectSockets(ctx, b.opts(), close)
}

// FetchSockets returns the selected sockets of every node. On a timeout it
// returns the sockets gathered with an error naming what is missing.
func (b BroadcastOperator) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	infos, err := b.ns.adapter.FetchSockets(ctx, b.opts())
	out := make([]*RemoteSocket, 0, len(infos))
	for _, info := range infos {
		out = append(out, &RemoteSocket{ns: b.ns, ID: info.ID, Handshake: handshakeFromWire(info.Handshake),
			Rooms: info.Rooms, Data: info.Data, Local: info.Local})
	}
	return out, err
}

// RemoteSocket is a socket of any node, as FetchSockets returns it. Its
// methods act on the socket wherever it is connected.
type RemoteSocket struct {
	ns *Namespace
	// ID is the socket id.
	ID string
	// Handshake is the socket's handshake.
	Handshake *Handshake
	// Rooms are the socket's rooms when it was fetched.
	Rooms []string
	// Data is the socket's data (see Socket.SetData), as JSON; DecodeData
	// decodes it.
	Data []byte
	// Local reports a socket of this node.
	Local bool
}

func (r *RemoteSocket) op() BroadcastOperator { return r.ns.operator().To(r.ID) }

// Emit sends an event to the socket, wherever it is connected.
func (r *RemoteSocket) Emit(ctx context.Context, event string, args ...any) error {
	return r.op().Emit(ctx, event, args...)
}

// EmitWithAck sends an event to the socket and returns its ack's first
// argument.
func (r *RemoteSocket) EmitWithAck(ctx context.Context, event string, args ...any) (Arg, error) {
	res, err := r.op().EmitWithAck(ctx, event, args...)
	if len(res) > 0 {
		return res[0], err
	}
	if err == nil {
		err = ErrDisconnected
	}
	return Arg{}, err
}

// Join makes the socket join rooms.
func (r *RemoteSocket) Join(ctx context.Context, rooms ...string) error {
	return r.op().SocketsJoin(ctx, rooms...)
}

// Leave makes the socket leave rooms.
func (r *RemoteSocket) Leave(ctx context.Context, rooms ...string) error {
	return r.op().SocketsLeave(ctx, rooms...)
}

// Disconnect disconnects the socket; close also closes its connection.
func (r *RemoteSocket) Disconnect(ctx context.Context, close bool) error {
	return r.op().DisconnectSockets(ctx, close)
}
