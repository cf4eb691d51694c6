package engineio

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"

	"github.com/switchboard-io/switchboard/eio"
)

// WebSocket errors that end a session. Each maps to the close code sent to
// the peer.
var (
	errPeerClosed  = errors.New("engine.io: websocket closed by peer")
	errTooLarge    = errors.New("engine.io: websocket message too large")
	errProtocol    = errors.New("engine.io: websocket protocol error")
	errInvalidUTF8 = errors.New("engine.io: invalid UTF-8 in text message")
)

// wsTransport is one server-side WebSocket connection.
type wsTransport struct {
	conn         net.Conn
	raw          syscall.RawConn // nil when conn has no descriptor of its own
	deflate      bool
	threshold    int
	base64       bool // the client asked for base64 (b64): binary goes as "b<base64>" text
	v3           bool // an Engine.IO v3 client: binary frames start with the type byte
	writeTimeout time.Duration

	// br is the reader of a read in progress, taken from readers for it,
	// or the handshake's reader while it holds bytes; nil while idle. Only
	// the connection's one reader at a time uses it.
	br    *bufio.Reader
	watch atomic.Pointer[watch] // set while the poller watches conn

	writeMu  sync.Mutex   // serialises frame writes
	bufs     net.Buffers  // scratch for writes, guarded by writeMu
	pending  net.Buffers  // what a non-blocking write left, written first; guarded by writeMu
	queued   atomic.Int64 // bytes in pending
	rw       *rawWriter   // non-blocking writes; nil without raw
	deadline time.Time    // the write deadline set last, guarded by writeMu
	closed   atomic.Bool  // set once by close; no write starts after it
}

// wsReadBufferSize is the size of the read buffers that connections borrow
// while they read.
const wsReadBufferSize = 4096

// readers lends read buffers: an idle connection holds none.
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, wsReadBufferSize) }}

// reader returns the reader of a read starting on t.
func (t *wsTransport) reader() *bufio.Reader {
	if t.br == nil {
		t.br = readers.Get().(*bufio.Reader)
		t.br.Reset(t.conn)
	}
	return t.br
}

// releaseReader gives back t's reader between reads, unless it holds
// bytes of the next message.
func (t *wsTransport) releaseReader() {
	if t.br == nil || t.br.Buffered() > 0 {
		return
	}
	t.br.Reset(nil)
	readers.Put(t.br)
	t.br = nil
}

// upgradeWebSocket answers the WebSocket handshake with 101. With
// deferred, the 101 is not written here but left for the connection's first
// write (the open packet of a new session): one write instead of two. A
// refused handshake is answered and its connection closed at once.
func (s *Server) upgradeWebSocket(w http.ResponseWriter, r *http.Request, q url.Values, deferred bool) (*wsTransport, error) {
	var ext *wsflate.Extension
	u := ws.HTTPUpgrader{Timeout: s.opts.WriteTimeout}
	if s.opts.PerMessageDeflate != nil {
		ext = &wsflate.Extension{Parameters: wsflate.Parameters{
			ServerNoContextTakeover: true, ClientNoContextTakeover: true}}
		u.Negotiate = ext.Negotiate
	}
	var held *heldResponse
	if deferred {
		held = &heldResponse{ResponseWriter: w}
		w, u.Timeout = held, 0 // the first write sets its own deadline
	}
	conn, rw, _, err := u.Upgrade(r, w)
	if err != nil {
		if conn != nil { // hijacked: the refusal is written, the connection ours to close
			if held != nil {
				_ = conn.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
				_, _ = conn.Write(held.out)
			}
			conn.Close()
		}
		return nil, err
	}
	// As Node's transport does, a b64 parameter (any non-empty value)
	// means the client cannot take binary frames.
	t := &wsTransport{conn: conn, writeTimeout: s.opts.WriteTimeout, base64: last(q["b64"]) != "",
		v3: protocolOf(q) == 3}
	if rw.Reader.Buffered() > 0 {
		t.br = rw.Reader // the client did not wait for the 101
	}
	if sc, ok := conn.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			t.raw, t.rw = raw, newRawWriter(raw)
		}
	}
	if ext != nil {
		_, t.deflate = ext.Accepted()
		t.threshold = s.opts.PerMessageDeflate.Threshold
	}
	if held != nil {
		t.pending = append(t.pending, held.out)
		t.queued.Store(int64(len(held.out)))
	}
	return t, nil
}

// heldResponse is the ResponseWriter of a deferred upgrade: what the
// upgrader writes to the hijacked connection is kept in out instead.
type heldResponse struct {
	http.ResponseWriter
	out heldBytes
}

// Hijack hijacks the connection, with a writer into h.out.
func (h *heldResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	c, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	rw.Writer.Reset(&h.out)
	return c, rw, nil
}

// heldBytes is an io.Writer that keeps what is written.
type heldBytes []byte

func (b *heldBytes) Write(p []byte) (int, error) {
	*b = append(*b, p...)
	return len(p), nil
}

// handshakeWebSocket opens a session directly over WebSocket. The session
// is registered only once its WebSocket is open and its open packet queued,
// so that nothing (a Shutdown, a lookup) sees it half built.
func (s *Server) handshakeWebSocket(w http.ResponseWriter, r *http.Request, q url.Values) {
	id, rerr := s.generateID(r)
	if rerr == nil && s.addressFull(r) {
		rerr = errTooManySessions
	}
	if rerr != nil {
		s.refuse(w, r, rerr, true)
		return
	}
	t, err := s.upgradeWebSocket(w, r, q, true)
	if err != nil {
		return // the upgrader answered the client
	}
	c := newConn(s, id, r, q, TransportWebSocket)
	c.ws = t
	c.queue = append(c.queue, s.openPacket(c))
	if rerr := s.register(c, true, true); rerr != nil { // a concurrent handshake took the last place
		t.close(ws.StatusGoingAway)
		return
	}
	c.start()
	c.mu.Lock()
	c.flushLocked(false) // the open packet, written from here as Send would
	// The goroutine counted by register is the reading's: net/http frees
	// what it kept for the hijacked request once this handler returns.
	c.startReading(t)
}

// serveUpgrade runs the polling → WebSocket upgrade of c.
func (s *Server) serveUpgrade(c *Conn, w http.ResponseWriter, r *http.Request, q url.Values) {
	s.upgradeArrived(c)
	c.mu.Lock()
	refuse := c.transport != TransportPolling || c.upgrading || c.upgraded || c.ws != nil ||
		c.state != stateOpen || s.opts.DisableUpgrades
	if !refuse {
		c.ws = t0 // reserve the upgrade slot
		// Tracked while the session is open, so before Shutdown can wait.
		s.goroutines.Add(1)
	}
	c.mu.Unlock()
	t, err := s.upgradeWebSocket(w, r, q, false)
	if err != nil || refuse {
		if !refuse {
			c.abortUpgrade()
			s.goroutines.Done()
		}
		if t != nil {
			// Node completes the 101 and then closes a WebSocket it cannot use.
			t.close(ws.StatusNormalClosure)
		}
		return
	}
	// The connection is hijacked: the handler returns, so that net/http
	// frees what it kept for the request, and a goroutine of our own runs
	// the probe.
	go func() {
		if c.runUpgrade(t) {
			c.startReading(t)
		} else {
			s.goroutines.Done()
		}
	}()
}

// runUpgrade runs the probe on the new WebSocket t and reports whether the
// session switched to it.
func (c *Conn) runUpgrade(t *wsTransport) bool {
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		t.close(ws.StatusNormalClosure)
		return false
	}
	c.ws = t // closed with the session if it ends during the probe
	c.mu.Unlock()
	timer := time.AfterFunc(c.srv.opts.UpgradeTimeout, func() { t.close(ws.StatusNormalClosure) })
	ok := c.probe(t)
	timer.Stop()
	if !ok {
		t.releaseReader()
		t.close(ws.StatusNormalClosure)
		c.abortUpgrade()
		return false
	}
	c.srv.stats.upgrades.Add(1)
	return true
}

// t0 marks a reserved upgrade slot before the new transport exists.
var t0 = &wsTransport{}

func (c *Conn) abortUpgrade() {
	c.mu.Lock()
	if !c.upgraded {
		c.ws, c.upgrading = nil, false
		c.stopUpgradeCheckLocked()
		c.wakeLocked()
	}
	c.mu.Unlock()
}

// probe runs the upgrade handshake on the new transport, as Node does:
// "2probe" is answered "3probe" (and from then on a pending GET is released
// with a noop every 100 ms), "5" switches the session over, any other
// packet aborts the upgrade.
func (c *Conn) probe(t *wsTransport) bool {
	max := c.srv.opts.MaxHTTPBufferSize
	for {
		op, data, err := t.readMessage(max)
		if err != nil || op != ws.OpText {
			return false
		}
		switch string(data) {
		case "2probe":
			if t.writeFrame(ws.OpText, []byte("3probe")) != nil {
				return false
			}
			c.startUpgradeCheck(t)
		case "5":
			if !c.completeUpgrade(t) {
				return false
			}
			c.open() // a session held back by OpenDelay opens on upgrade
			return true
		default:
			return false
		}
	}
}

// startUpgradeCheck marks the session as upgrading to t and starts Node's
// check: every Options.upgradeCheck (100 ms) while the upgrade to t goes
// on, a GET pending on polling is answered with a noop, so that the client
// can pause polling and send the upgrade packet. Packets keep going out
// over polling meanwhile. A second probe restarts the period, as Node's
// clearInterval/setInterval does. The check ends by itself with the
// upgrade.
func (c *Conn) startUpgradeCheck(t *wsTransport) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.upgrading = true
	c.stopUpgradeCheckLocked()
	period := c.srv.opts.upgradeCheck
	var check func()
	check = func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.state == stateClosed || !c.upgrading || c.ws != t {
			return
		}
		if c.getActive && !c.noopDue {
			c.noopDue = true
			c.wakeLocked()
		}
		c.upgradeCheck = time.AfterFunc(period, check)
	}
	c.upgradeCheck = time.AfterFunc(period, check)
}

// stopUpgradeCheckLocked stops the upgrade check. c.mu must be held.
func (c *Conn) stopUpgradeCheckLocked() {
	if c.upgradeCheck != nil {
		c.upgradeCheck.Stop()
		c.upgradeCheck = nil
	}
}

// completeUpgrade switches the session to the WebSocket t and flushes its
// queue there. It returns false if the session closed meanwhile.
func (c *Conn) completeUpgrade(t *wsTransport) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateClosed {
		return false
	}
	c.upgrading, c.upgraded = false, true
	c.stopUpgradeCheckLocked()
	c.transport, c.ws = TransportWebSocket, t
	c.srv.stats.pollingNow.Add(-1)
	c.srv.stats.wsNow.Add(1)
	select { // release a GET that may still be pending
	case c.getWake <- struct{}{}:
	default:
	}
	if len(c.queue) > 0 || c.state == stateClosing {
		if c.state == stateClosing && len(c.queue) > 0 && c.queue[len(c.queue)-1] == closePacket {
			c.queue = c.queue[:len(c.queue)-1]
			c.queueBytes -= closePacket.WireLen()
		}
		c.flushing = true
		c.srv.goTracked(c.flushWebSocket)
	}
	return true
}

// startReading reads t until the connection ends: from the server's
// poller, which lends t a goroutine and a buffer only while there is
// something to read, or else from a goroutine of its own. The caller holds
// one of the server's goroutine counts (s.goroutines), which passes to the
// reading and is released when it ends. Bytes already buffered are handled
// first, on the caller's goroutine.
func (c *Conn) startReading(t *wsTransport) {
	release := c.srv.goroutines.Done
	if t.br != nil && t.br.Buffered() > 0 && c.readBurst(t, 0, nil) == readEnded {
		release()
		return
	}
	t.releaseReader()
	if p := c.srv.poller(); p != nil && t.raw != nil {
		w, err := p.add(t.raw, func(w *watch) readResult { return c.readBurst(t, readLinger, w) }, release)
		if err == nil {
			t.watch.Store(w)
			if t.closed.Load() { // closed before the watch was known
				w.stop()
			}
			return
		}
	}
	go func() {
		defer release()
		for c.readBurst(t, 0, nil) == readAgain {
		}
	}()
}

// readResult is how a turn of reading a WebSocket ended.
type readResult uint8

const (
	readAgain readResult = iota // nothing more to read for now
	readEnded                   // the session is closed: reading is over
	readMoved                   // the turn went to another reader (see runInline)
)

// readBurst handles one message of t, waiting for it if need be, then every
// message already buffered after it, and any that comes within linger. w
// is the poller's watch of t when the poller started this turn; then work
// the handler passes to Conn.Go runs here, between two messages.
func (c *Conn) readBurst(t *wsTransport, linger time.Duration, w *watch) readResult {
	for {
		ok, later := c.readOne(t, w != nil)
		if !ok {
			t.br.Reset(nil) // drop what is left of a broken stream
			t.releaseReader()
			if later != nil {
				go later()
			}
			return readEnded
		}
		if later != nil && !runInline(t, w, later) {
			return readMoved
		}
		if t.reader().Buffered() == 0 && !t.await(linger) {
			t.releaseReader()
			return readAgain
		}
	}
}

// runInline runs f, work for the message just read, on the goroutine that
// read it. While f runs the poller watches t again, so that a message that
// comes meanwhile is read by another goroutine even if f blocks; if one
// did, or the watch ended, runInline reports false and the turn is over
// for the caller. Bytes already read ahead are read first: f then runs on
// a goroutine of its own.
func runInline(t *wsTransport, w *watch, f func()) bool {
	if t.br.Buffered() > 0 {
		go f()
		return true
	}
	t.releaseReader()
	lent := w.lend()
	f()
	return !lent || w.reclaim()
}

// readLinger is how long a goroutine that read a WebSocket waits for the
// next message before it leaves the connection to the poller: a client
// that talks back and forth (emits and acks) is read without a round
// through epoll and a new goroutine for every message.
const readLinger = 2 * time.Millisecond

// await waits up to d for more bytes on t and reports whether some came
// (or the connection failed, which the next read reports).
func (t *wsTransport) await(d time.Duration) bool {
	if d <= 0 {
		return false
	}
	_ = t.conn.SetReadDeadline(time.Now().Add(d))
	_, err := t.br.Peek(1)
	_ = t.conn.SetReadDeadline(time.Time{})
	var ne net.Error
	return !errors.As(err, &ne) || !ne.Timeout()
}

// readOne reads one message of t and hands it to the session. It returns
// false when the session is closed. With inline, it also returns the work
// the handler passed to Conn.Go meanwhile, for the caller to run.
func (c *Conn) readOne(t *wsTransport, inline bool) (ok bool, later func()) {
	op, data, err := t.readMessage(c.srv.opts.MaxHTTPBufferSize)
	if err != nil {
		t.close(closeCodeForError(err))
		if err == errPeerClosed || errors.Is(err, io.EOF) {
			c.closeNow(ReasonTransportClose)
		} else {
			c.closeNow(ReasonTransportError)
		}
		return false, nil
	}
	p, err := t.decode(op, data)
	if err != nil {
		c.closeNow(ReasonParseError)
		return false, nil
	}
	c.recvMu.Lock()
	if inline {
		c.setLaterOpen(true)
	}
	ok = !c.isClosed() && c.handlePacket(p)
	if inline {
		later = c.setLaterOpen(false)
	}
	c.recvMu.Unlock()
	return ok, later
}

// decode decodes one message read from t: a text frame "<type><data>" (or
// "b<base64>", "b4<base64>" on v3, from a client that asked for base64),
// or a binary frame, the raw data of a message (after the type byte on v3).
func (t *wsTransport) decode(op ws.OpCode, data []byte) (p inPacket, err error) {
	switch {
	case op != ws.OpText && t.v3:
		p.typ, p.binary = eio.PacketMessage, true
		p.data, err = eio.DecodeBinaryPacketV3(data)
	case op != ws.OpText:
		p = inPacket{typ: eio.PacketMessage, data: data, binary: true}
	case t.v3:
		p.typ, p.data, p.binary, err = eio.DecodePacketV3(data)
	default:
		p.typ, p.data, p.binary, err = eio.DecodePacket(data)
	}
	return p, err
}

// flushWebSocket writes queued packets until the queue is empty, batching
// every packet queued meanwhile into one write. A closing session is closed
// once its queue is written. It runs on a goroutine of its own, holding
// c.flushing.
func (c *Conn) flushWebSocket() {
	for {
		c.mu.Lock()
		t := c.ws
		if c.state == stateClosed || t == nil {
			c.flushing = false
			c.mu.Unlock()
			return
		}
		if len(c.queue) == 0 && t.queued.Load() == 0 {
			c.flushing = false
			closing := c.state == stateClosing
			c.mu.Unlock()
			if closing {
				c.closeNow(ReasonForcedClose)
			}
			return
		}
		packets := c.takeQueueLocked()
		c.mu.Unlock()
		n, err := t.writePackets(packets)
		if err != nil {
			c.closeNow(ReasonTransportError)
			return
		}
		c.srv.stats.packetsOut.Add(int64(len(packets)))
		c.srv.stats.bytesOut.Add(n)
		c.recycleQueue(packets)
	}
}

// framesLocked returns what to write for packets: what an earlier
// non-blocking write left, then a frame per packet. t.writeMu must be held;
// the slice is t.bufs.
func (t *wsTransport) framesLocked(packets []*eio.Packet) (net.Buffers, error) {
	bufs := append(t.bufs[:0], t.pending...)
	clear(t.pending)
	t.pending = t.pending[:0]
	t.queued.Store(0)
	for _, p := range packets {
		if t.v3 && p.Binary {
			// v3's binary forms; sent uncompressed (the cached compressed
			// frame is v4's).
			if t.base64 {
				bufs = append(bufs, p.Base64FrameV3())
			} else {
				bufs = append(bufs, p.WebSocketFrameV3())
			}
			continue
		}
		if t.base64 && p.Binary {
			bufs = append(bufs, p.Base64Frame())
			continue
		}
		if t.deflate && p.WireLen() >= t.threshold && !p.NoCompress {
			f, err := p.CompressedFrame()
			if err != nil {
				return nil, err
			}
			bufs = append(bufs, f)
			continue
		}
		bufs = append(bufs, p.WebSocketFrame())
	}
	t.bufs = bufs
	return bufs, nil
}

// releaseBufsLocked forgets the frames of the last write, keeping the
// scratch slice. t.writeMu must be held.
func (t *wsTransport) releaseBufsLocked() {
	clear(t.bufs)
	t.bufs = t.bufs[:0]
}

// writePackets writes packets as one batch of frames (one writev), after
// what a non-blocking write left.
func (t *wsTransport) writePackets(packets []*eio.Packet) (int64, error) {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	defer t.releaseBufsLocked()
	bufs, err := t.framesLocked(packets)
	if err != nil {
		return 0, err
	}
	if err := t.startWrite(); err != nil {
		return 0, err
	}
	return bufs.WriteTo(t.conn) // WriteTo consumes its receiver, not t.bufs
}

// writeNow writes packets without waiting (one non-blocking writev) and
// keeps what the socket did not take, to be written first by the next
// write. done reports that nothing is left.
func (t *wsTransport) writeNow(packets []*eio.Packet) (n int64, done bool, err error) {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	defer t.releaseBufsLocked()
	bufs, err := t.framesLocked(packets)
	if err == nil {
		err = t.startWrite() // a write past its deadline would fail
	}
	if err != nil {
		return 0, false, err
	}
	w, err := t.rw.writeNow(bufs)
	rest := skipBytes(bufs, w)
	if len(rest) > 0 {
		t.pending = append(t.pending, rest...)
		left := int64(0)
		for _, b := range rest {
			left += int64(len(b))
		}
		t.queued.Store(left)
	}
	return int64(w), len(rest) == 0, err
}

// skipBytes drops the first n bytes of bufs, in place.
func skipBytes(bufs net.Buffers, n int) net.Buffers {
	for len(bufs) > 0 && n >= len(bufs[0]) {
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	if len(bufs) > 0 {
		bufs[0] = bufs[0][n:]
	}
	return bufs
}

// writeFrame writes one unfragmented frame, after what a non-blocking
// write left.
func (t *wsTransport) writeFrame(op ws.OpCode, payload []byte) error {
	h := ws.Header{Fin: true, OpCode: op, Length: int64(len(payload))}
	buf := bytes.NewBuffer(make([]byte, 0, ws.HeaderSize(h)+len(payload)))
	_ = ws.WriteHeader(buf, h)
	buf.Write(payload)
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	if err := t.startWrite(); err != nil {
		return err
	}
	return t.writeWithPendingLocked(buf.Bytes())
}

// writeWithPendingLocked writes what a non-blocking write left, then b.
// t.writeMu must be held.
func (t *wsTransport) writeWithPendingLocked(b []byte) error {
	if len(t.pending) == 0 {
		_, err := t.conn.Write(b)
		return err
	}
	bufs, _ := t.framesLocked(nil)
	bufs = append(bufs, b)
	t.bufs = bufs
	defer t.releaseBufsLocked()
	_, err := bufs.WriteTo(t.conn)
	return err
}

// startWrite sets the deadline of a write about to start, or refuses it
// once close has begun. t.writeMu must be held. The second check makes the
// deadline set by close win over this one: either close began after it
// (and its deadline comes later) or the write does not start.
func (t *wsTransport) startWrite() error {
	if t.closed.Load() {
		return net.ErrClosed
	}
	// Re-arming the deadline costs a timer update per write: do it only
	// when less than half of WriteTimeout is left, so a write gets between
	// half of it and all of it.
	if now := time.Now(); t.deadline.Sub(now) < t.writeTimeout/2 {
		t.deadline = now.Add(t.writeTimeout)
		_ = t.conn.SetWriteDeadline(t.deadline)
	}
	if t.closed.Load() {
		return net.ErrClosed
	}
	return nil
}

// closeFrameTimeout bounds the write of a close frame.
const closeFrameTimeout = time.Second

// close sends a close frame with code and closes the connection. A write in
// progress, possibly blocked on a client that does not read, is given until
// closeFrameTimeout; the close frame must be written within the same
// deadline, so close returns within about closeFrameTimeout. Later calls do
// nothing.
func (t *wsTransport) close(code ws.StatusCode) {
	if t == nil || t.conn == nil || !t.closed.CompareAndSwap(false, true) {
		return
	}
	deadline := time.Now().Add(closeFrameTimeout)
	if !t.writeMu.TryLock() {
		_ = t.conn.SetWriteDeadline(deadline) // bounds the write in progress
		t.writeMu.Lock()
	}
	_ = t.conn.SetWriteDeadline(deadline)
	var frame bytes.Buffer
	_ = ws.WriteFrame(&frame, ws.NewCloseFrame(ws.NewCloseFrameBody(code, "")))
	_ = t.writeWithPendingLocked(frame.Bytes())
	t.writeMu.Unlock()
	if w := t.watch.Load(); w != nil {
		w.stop()
	}
	_ = t.conn.Close()
}

func closeCodeFor(reason string) ws.StatusCode {
	if reason == ReasonSlowClient {
		return ws.StatusPolicyViolation
	}
	return ws.StatusNormalClosure
}

func closeCodeForError(err error) ws.StatusCode {
	switch err {
	case errTooLarge:
		return ws.StatusMessageTooBig
	case errProtocol, ws.ErrHeaderLengthMSB, ws.ErrHeaderLengthUnexpected:
		return ws.StatusProtocolError
	case errInvalidUTF8:
		return ws.StatusInvalidFramePayloadData
	}
	return ws.StatusNormalClosure
}

// readMessage reads one complete data message (reassembling fragments,
// answering pings, decompressing), at most max bytes once decompressed.
// payloadChunk is the most a frame's payload grows the message ahead of
// the bytes read: a header claiming a large frame costs memory only as its
// bytes arrive (a client stalled after the header holds 64 KB, not the
// size it claimed).
const payloadChunk = 64 << 10

// readPayload appends n payload bytes from r to msg, growing msg as they
// arrive: at most payloadChunk, or as much as msg holds, at a time.
func readPayload(r io.Reader, msg []byte, n int) ([]byte, error) {
	for n > 0 {
		step := min(n, max(payloadChunk, len(msg)))
		at := len(msg)
		msg = slices.Grow(msg, step)[:at+step]
		if _, err := io.ReadFull(r, msg[at:]); err != nil {
			return nil, err
		}
		n -= step
	}
	return msg, nil
}

func (t *wsTransport) readMessage(max int64) (ws.OpCode, []byte, error) {
	var (
		msg        []byte
		op         ws.OpCode
		started    bool
		compressed bool
		br         = t.reader()
	)
	for {
		h, err := ws.ReadHeader(br)
		if err != nil {
			return 0, nil, err
		}
		if !h.Masked {
			return 0, nil, errProtocol // client frames must be masked
		}
		if h.OpCode.IsControl() {
			if err := t.readControl(h); err != nil {
				return 0, nil, err
			}
			continue
		}
		switch {
		case h.OpCode == ws.OpContinuation && !started,
			h.OpCode != ws.OpContinuation && started,
			h.OpCode != ws.OpContinuation && h.OpCode != ws.OpText && h.OpCode != ws.OpBinary:
			return 0, nil, errProtocol
		}
		if h.Rsv != 0 {
			if !t.deflate || started || h.Rsv != ws.Rsv(true, false, false) {
				return 0, nil, errProtocol
			}
			compressed = true
		}
		if !started {
			op, started = h.OpCode, true
		}
		if h.Length > max-int64(len(msg)) {
			return 0, nil, errTooLarge
		}
		n := len(msg)
		if msg, err = readPayload(br, msg, int(h.Length)); err != nil {
			return 0, nil, err
		}
		ws.Cipher(msg[n:], h.Mask, 0)
		if h.Fin {
			break
		}
	}
	if compressed {
		var err error
		if msg, err = inflate(msg, max); err != nil {
			return 0, nil, err
		}
	}
	if op == ws.OpText && !utf8.Valid(msg) {
		return 0, nil, errInvalidUTF8
	}
	return op, msg, nil
}

// readControl reads a control frame and reacts: ping → pong, close → echo.
func (t *wsTransport) readControl(h ws.Header) error {
	if h.Length > 125 || !h.Fin {
		return errProtocol
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(t.reader(), p); err != nil {
		return err
	}
	ws.Cipher(p, h.Mask, 0)
	switch h.OpCode {
	case ws.OpPing:
		return t.writeFrame(ws.OpPong, p)
	case ws.OpClose:
		return errPeerClosed
	}
	return nil
}

// deflateTail ends every flushed DEFLATE block; permessage-deflate leaves
// it out of the frame, so the reader adds it back.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff}

// inflate decompresses a permessage-deflate message, refusing output beyond
// max bytes (so a small compressed message cannot expand without bound).
func inflate(p []byte, max int64) ([]byte, error) {
	r := flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader(deflateTail)))
	defer r.Close()
	out, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, errProtocol
	}
	if int64(len(out)) > max {
		return nil, errTooLarge
	}
	return out, nil
}
