package engineio

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-io/switchboard/eio"
)

type connState uint8

const (
	stateOpen connState = iota
	stateClosing
	stateClosed
)

// Shared control packets: their encoded forms are built once for all
// connections.
var (
	pingPacket  = &eio.Packet{Type: eio.PacketPing}
	pongPacket  = &eio.Packet{Type: eio.PacketPong}
	closePacket = &eio.Packet{Type: eio.PacketClose}
)

// Conn is one Engine.IO session. Its methods are safe for concurrent use.
//
// Lock order: Conn.recvMu, then Conn.mu, then wsTransport.writeMu. Server.mu
// is never held while acquiring a Conn lock.
type Conn struct {
	srv        *Server
	id         string
	req        *http.Request
	remoteAddr string
	addrKey    string // what the session counts against (Options.MaxSessionsPerAddress)
	created    time.Time
	protocol   int    // Engine.IO protocol revision: 3 or 4
	pollBinary bool   // v3 polling: the client takes binary payloads (no b64 on the handshake)
	jsonp      []byte // JSONP polling (a j parameter on the handshake): its response head, nil otherwise

	// recvMu serialises inbound packet handling, so that the handler sees a
	// connection's messages one at a time and in order.
	recvMu sync.Mutex

	mu         sync.Mutex
	transport  string
	state      connState
	queue      []*eio.Packet
	spare      []*eio.Packet // an empty queue slice kept for reuse
	queueBytes int
	// polling
	getActive  bool
	getWake    chan struct{} // capacity 1; wakes the pending GET (nil for a WebSocket-only session)
	postActive bool
	// lastRequest is when the session's last GET or POST ended (its
	// handshake, before any): with neither under way, how long its client
	// has not been polling (see Server.CloseAbandoned).
	lastRequest time.Time
	noopOnExit  bool // a pending GET released by a client close answers "6"
	noopDue     bool // the upgrade check found a GET pending: it answers "6"
	// websocket
	ws           *wsTransport
	flushing     bool
	upgrading    bool // probe answered, waiting for the upgrade packet
	upgraded     bool
	upgradeCheck *time.Timer // releases a pending GET with a noop while upgrading

	pingTimer    *time.Timer
	timeoutTimer *time.Timer
	closeTimer   *time.Timer
	openTimer    *time.Timer

	// opened is set once the Handler has seen the session (OnOpen);
	// pendingIn holds the messages received before (guarded by recvMu).
	opened    atomic.Bool
	pendingIn []inPacket
	moved     bool // handed over to another node: no OnClose

	// laterOpen is set while the reading goroutine of a WebSocket runs
	// OnMessage and would run work passed to Go after it: later.
	laterOpen bool
	later     func()

	done     chan struct{}
	finished chan struct{} // closed once OnClose returned (after done)
	userData atomic.Value
}

func newConn(s *Server, id string, r *http.Request, q url.Values, transport string) *Conn {
	// The handshake request's context ends with the handshake; the copy kept
	// for the session keeps its values without its cancellation. The copy
	// is shallow: net/http does not touch a request once its handler has
	// returned, so its header map and URL can be shared. A request with
	// neither (one read by an UpgradeListener) is kept as it is.
	req := r
	if r.Context().Done() != nil || r.Body != http.NoBody {
		req = r.WithContext(context.WithoutCancel(r.Context()))
		req.Body = http.NoBody
	}
	if r.Header == nil { // a handed-over session whose node sent no headers
		r.Header = http.Header{}
	}
	if r.Host != "" && len(r.Header["Host"]) == 0 {
		// net/http moves Host out of the header map; Node's handshake
		// headers have it. Set in the shared map (net/http reads no request
		// header once the handler returns) rather than in a clone: a clone
		// would be kept for every session.
		r.Header["Host"] = []string{r.Host}
	}
	now := time.Now()
	c := &Conn{
		srv: s, id: id, req: req, remoteAddr: r.RemoteAddr, created: now, lastRequest: now,
		protocol: protocolOf(q), pollBinary: last(q["b64"]) == "",
		transport: transport, done: make(chan struct{}), finished: make(chan struct{}),
	}
	if transport == TransportPolling { // a WebSocket session never has a GET to wake
		c.getWake = make(chan struct{}, 1)
	}
	if j := q["j"]; len(j) == 1 && transport == TransportPolling { // Node: a single j, a string
		c.jsonp, c.pollBinary = jsonpHead(j[0]), false
	}
	return c
}

// protocolOf returns the Engine.IO revision a request's query asks for: 4
// for EIO=4, 3 for anything else, as in Node (a v3 handshake is refused
// unless Options.AllowEIO3).
func protocolOf(q map[string][]string) int {
	if last(q["EIO"]) == "4" {
		return 4
	}
	return 3
}

// Protocol returns the session's Engine.IO protocol revision: 4, or 3 for
// a Socket.IO v2 client (see Options.AllowEIO3).
func (c *Conn) Protocol() int { return c.protocol }

// ID returns the session id.
func (c *Conn) ID() string { return c.id }

// Request returns the handshake request (without its body). Handlers may
// read its headers, URL and remote address; they must not modify it. Its
// header map has Host, as Node's handshake headers do.
func (c *Conn) Request() *http.Request { return c.req }

// RemoteAddr returns the network address of the handshake request.
func (c *Conn) RemoteAddr() string { return c.remoteAddr }

// Created returns the time of the handshake.
func (c *Conn) Created() time.Time { return c.created }

// Transport returns the current transport name: "polling" or "websocket".
func (c *Conn) Transport() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.transport
}

// Done returns a channel closed when the connection is gone.
func (c *Conn) Done() <-chan struct{} { return c.done }

// SetUserData stores a value for the connection's owner (the Socket.IO
// layer keeps its client state there).
func (c *Conn) SetUserData(v any) { c.userData.Store(v) }

// UserData returns the value stored by SetUserData, or nil.
func (c *Conn) UserData() any { return c.userData.Load() }

// Go runs f asynchronously, for work a message calls for. Called from
// Handler.OnMessage on a WebSocket session that the server's poller reads
// (Linux, a connection with a descriptor of its own), it runs f on the
// goroutine that read the message, once OnMessage has returned: the work
// is not passed to another goroutine, the largest cost of a small request
// and its reply. While f runs the connection is watched again, and a
// message that arrives meanwhile is read by another goroutine, so an f
// that blocks, even on a reply from the same client, holds up nothing.
// Anywhere else, and for a second call within one OnMessage, f runs on a
// new goroutine. Either way f starts after Go returns: OnMessage must not
// wait for it.
func (c *Conn) Go(f func()) {
	c.mu.Lock()
	if c.laterOpen && c.later == nil {
		c.later = f
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	go f()
}

// setLaterOpen opens or closes the slot Go fills for the reading
// goroutine, returning what was put there.
func (c *Conn) setLaterOpen(open bool) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := c.later
	c.laterOpen, c.later = open, nil
	return f
}

// Writable reports whether a packet sent now would go out at once: a GET is
// waiting on polling, or nothing is queued on WebSocket. Volatile packets are
// dropped when it is false.
func (c *Conn) Writable() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateOpen {
		return false
	}
	if c.transport == TransportPolling {
		return c.getActive && len(c.queue) == 0
	}
	return len(c.queue) == 0 && !c.flushing
}

// Send queues packets for delivery, in order, and on an idle WebSocket
// writes them at once from the caller's goroutine, with one non-blocking
// write (what the socket does not take is written later): the lowest
// latency for a packet meant for one connection. It never blocks on the
// network. It returns ErrClosed when the connection is closing or closed,
// and ErrQueueFull (after closing the connection with ReasonSlowClient)
// when the packets do not fit in the outbound queue. Packets are not
// copied: they must not be modified after the call.
func (c *Conn) Send(packets ...*eio.Packet) error { return c.send(packets, false) }

// Enqueue is Send for a packet sent to many connections: the caller only
// queues, and the server's writers (one goroutine per core) write, so that
// a fan-out costs its sender a queue append per connection and its writes
// run on every core.
func (c *Conn) Enqueue(packets ...*eio.Packet) error { return c.send(packets, true) }

func (c *Conn) send(packets []*eio.Packet, deferred bool) error {
	n := 0
	for _, p := range packets {
		n += p.WireLen()
	}
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return ErrClosed
	}
	if c.queueBytes+n > c.srv.opts.MaxQueueBytes {
		c.mu.Unlock()
		c.srv.stats.slowClients.Add(1)
		c.closeNow(ReasonSlowClient)
		return ErrQueueFull
	}
	c.queue = append(c.queue, packets...)
	c.queueBytes += n
	c.flushLocked(deferred)
	return nil
}

// flushLocked moves the queue: on a WebSocket with a raw writer and no
// flush under way, it writes at once from this goroutine (or, deferred or
// with a write delay, hands the connection to the writers); otherwise it
// wakes what moves it (wakeLocked). c.mu must be held; it is released.
func (c *Conn) flushLocked(deferred bool) {
	if t := c.ws; c.transport == TransportWebSocket && t != nil && t.rw != nil && !c.flushing {
		c.flushing = true
		c.mu.Unlock()
		if w := c.srv.writers(); deferred || w.delay > 0 {
			w.push(c)
		} else {
			c.writeQueued(w)
		}
		return
	}
	c.wakeLocked()
	c.mu.Unlock()
}

// wakeLocked makes queued packets move: it wakes the pending GET on polling
// or starts a flush on WebSocket. c.mu must be held.
func (c *Conn) wakeLocked() {
	if c.transport == TransportWebSocket && c.ws != nil {
		if !c.flushing {
			c.flushing = true
			c.srv.goTracked(c.flushWebSocket)
		}
		return
	}
	select {
	case c.getWake <- struct{}{}:
	default:
	}
}

// takeQueueLocked removes and returns every queued packet. c.mu must be held.
func (c *Conn) takeQueueLocked() []*eio.Packet {
	if f := c.srv.opts.ObserveQueue; f != nil && c.queueBytes > 0 {
		f(c.queueBytes)
	}
	q := c.queue
	c.queue, c.spare, c.queueBytes = c.spare, nil, 0
	return q
}

// recycleQueue gives back a slice returned by takeQueueLocked once its
// packets are written, so that a busy connection does not allocate a new
// queue for every batch.
func (c *Conn) recycleQueue(q []*eio.Packet) {
	if cap(q) > maxSpareQueue {
		return
	}
	clear(q)
	c.mu.Lock()
	if c.spare == nil {
		c.spare = q[:0]
	}
	c.mu.Unlock()
}

// maxSpareQueue bounds the queue capacity a connection keeps between
// batches.
const maxSpareQueue = 1024

// Close closes the connection gracefully: packets already queued are
// delivered, then a close packet (a close frame on WebSocket), so the client
// sees a transport close and reconnects. On polling with nothing queued and
// no GET waiting, the next GET gets "6\x1e1" as in Node; a client that does
// not poll within Options.CloseTimeout is closed anyway. The handler's
// OnClose runs with ReasonForcedClose once the client was told.
func (c *Conn) Close() {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	c.state = stateClosing
	c.closeTimer = time.AfterFunc(c.srv.opts.CloseTimeout, func() { c.closeNow(ReasonForcedClose) })
	switch {
	case c.transport == TransportWebSocket:
		if !c.flushing {
			c.flushing = true
			c.srv.goTracked(c.flushWebSocket)
		}
	case len(c.queue) > 0 || c.getActive:
		// The close packet follows the queued packets, or answers the
		// pending GET.
		c.queue = append(c.queue, closePacket)
		c.wakeLocked()
	default:
		// No GET to answer: as in Node, the close is deferred and the next
		// GET gets "6\x1e1" (see waitPoll).
	}
	c.mu.Unlock()
}

// shutdown closes the connection for Server.Shutdown. Like Node's engine
// close (which discards the transport), an idle polling session, with
// nothing queued and no GET to answer, is closed at once instead of waiting
// up to CloseTimeout for a GET; other connections close gracefully.
func (c *Conn) shutdown() {
	c.mu.Lock()
	idle := c.state == stateOpen && c.transport == TransportPolling && c.ws == nil &&
		!c.getActive && len(c.queue) == 0
	c.mu.Unlock()
	if idle {
		c.closeNow(ReasonForcedClose)
		return
	}
	c.Close()
}

// closeNow closes the connection at once: queued packets are dropped, a
// pending GET is answered with a close packet, the WebSocket is closed and
// the handler's OnClose runs. Later calls do nothing.
func (c *Conn) closeNow(reason string) {
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		return
	}
	wasTransport := c.transport
	c.state = stateClosed
	defer close(c.finished) // Shutdown waits for OnClose
	c.queue, c.queueBytes = nil, 0
	stopTimer(c.pingTimer)
	stopTimer(c.timeoutTimer)
	stopTimer(c.closeTimer)
	stopTimer(c.openTimer)
	moved := c.moved
	ws := c.ws
	c.ws = nil
	if ws != nil && ws.conn != nil {
		// Closing the WebSocket may wait for a write in progress: never
		// block the caller (a Send to a slow client, a timer) on it. The
		// goroutine is tracked before done closes, so Shutdown waits for it.
		code := closeCodeFor(reason)
		c.srv.goTracked(func() { ws.close(code) })
	}
	c.mu.Unlock()

	// Unregistered before done closes: Shutdown, which waits on done, must
	// not find the session still counted.
	c.srv.remove(c)
	close(c.done) // releases a pending GET
	if wasTransport == TransportWebSocket {
		c.srv.stats.wsNow.Add(-1)
	} else {
		c.srv.stats.pollingNow.Add(-1)
	}
	c.srv.stats.countClose(reason)
	c.srv.log.Debug("engine.io session closed", "sid", c.id, "reason", reason)
	if c.opened.Load() && !moved {
		c.srv.handler.OnClose(c, reason)
	}
}

func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// start counts the session, opens it to the handler (at once, or after
// Options.OpenDelay for a polling session) and starts the heartbeat (the
// timers run from creation, not from the first request).
func (c *Conn) start() {
	if c.transport == TransportWebSocket {
		c.srv.stats.wsNow.Add(1)
	} else {
		c.srv.stats.pollingNow.Add(1)
	}
	delay := c.srv.openDelay()
	if delay <= 0 || c.transport == TransportWebSocket {
		c.open()
	}
	c.mu.Lock()
	if c.state == stateOpen {
		if c.protocol == 3 {
			// v3: the client pings; each ping must come within
			// pingInterval+pingTimeout of the previous one.
			c.timeoutTimer = time.AfterFunc(c.v3Timeout(), func() { c.closeNow(ReasonPingTimeout) })
		} else {
			c.pingTimer = time.AfterFunc(c.srv.opts.PingInterval, c.ping)
		}
		if !c.opened.Load() {
			c.openTimer = time.AfterFunc(delay, c.open)
		}
	}
	c.mu.Unlock()
}

// open hands the session to the handler: OnOpen, then the messages that
// arrived while it was held back. Later calls do nothing.
func (c *Conn) open() {
	c.recvMu.Lock()
	defer c.recvMu.Unlock()
	if c.opened.Load() || c.isClosed() {
		return
	}
	c.mu.Lock()
	moved := c.moved
	c.mu.Unlock()
	if moved {
		return
	}
	c.opened.Store(true)
	c.srv.handler.OnOpen(c)
	pending := c.pendingIn
	c.pendingIn = nil
	for _, p := range pending {
		if !c.isOpen() {
			return
		}
		c.srv.handler.OnMessage(c, p.data, p.binary)
	}
}

// ping arms the pong timeout, then sends a ping. The timer is armed first:
// a client may answer before Send returns, and its pong must find the timer
// to stop.
func (c *Conn) ping() {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	stopTimer(c.timeoutTimer)
	c.timeoutTimer = time.AfterFunc(c.srv.opts.PingTimeout, func() { c.closeNow(ReasonPingTimeout) })
	c.mu.Unlock()
	_ = c.Send(pingPacket) // an error means the connection is closing or closed
}

// onPong clears the pong timeout and schedules the next ping from now.
func (c *Conn) onPong() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateClosed {
		return
	}
	stopTimer(c.timeoutTimer)
	if c.pingTimer != nil {
		c.pingTimer.Reset(c.srv.opts.PingInterval)
	}
}

// v3Timeout is how long a v3 session waits for the client's next ping.
func (c *Conn) v3Timeout() time.Duration { return c.srv.opts.PingInterval + c.srv.opts.PingTimeout }

// onClientPing answers a v3 client's ping with a pong (without data, as
// Node does) and re-arms the timeout from now.
func (c *Conn) onClientPing() {
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		return
	}
	if c.timeoutTimer != nil {
		c.timeoutTimer.Reset(c.v3Timeout())
	}
	c.mu.Unlock()
	_ = c.Send(pongPacket) // an error means the connection is closing or closed
}

// inPacket is a decoded inbound packet. Data aliases the input buffer.
type inPacket struct {
	typ    eio.PacketType
	data   []byte
	binary bool
}

// handlePacket handles one inbound packet on the active transport. c.recvMu
// must be held. It returns false when the session was closed.
func (c *Conn) handlePacket(p inPacket) bool {
	c.srv.stats.packetsIn.Add(1)
	c.srv.stats.bytesIn.Add(int64(len(p.data)))
	switch p.typ {
	case eio.PacketPong:
		if c.protocol == 3 {
			// v3 clients ping, never pong: "invalid heartbeat direction".
			c.closeNow(ReasonTransportError)
			return false
		}
		c.onPong()
	case eio.PacketMessage:
		switch {
		case !c.isOpen(): // Node drops the packets of a closing session
		case !c.opened.Load():
			c.pendingIn = append(c.pendingIn, p) // held back until open
		default:
			c.srv.handler.OnMessage(c, p.data, p.binary)
		}
	case eio.PacketClose:
		c.mu.Lock()
		c.noopOnExit = true
		c.mu.Unlock()
		c.closeNow(ReasonTransportClose)
		return false
	case eio.PacketPing:
		if c.protocol == 3 {
			c.onClientPing()
			break
		}
		// v4 clients never ping: Node closes with "invalid heartbeat direction".
		c.closeNow(ReasonTransportError)
		return false
	}
	return true
}

// isOpen reports whether the connection is open (not closing or closed).
func (c *Conn) isOpen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == stateOpen
}

// isClosed reports whether the connection is closed.
func (c *Conn) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}
