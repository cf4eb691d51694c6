package engineio

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
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
	br           *bufio.Reader
	deflate      bool
	threshold    int
	writeTimeout time.Duration

	writeMu  sync.Mutex  // serialises frame writes
	bufs     net.Buffers // scratch for writePackets, guarded by writeMu
	deadline time.Time   // the write deadline set last, guarded by writeMu
	closed   atomic.Bool // set once by close; no write starts after it
}

// wsReadBufferSize is the read buffer of a WebSocket connection.
const wsReadBufferSize = 512

// upgradeWebSocket answers the WebSocket handshake with 101.
func (s *Server) upgradeWebSocket(w http.ResponseWriter, r *http.Request) (*wsTransport, error) {
	var ext *wsflate.Extension
	u := ws.HTTPUpgrader{Timeout: s.opts.WriteTimeout}
	if s.opts.PerMessageDeflate != nil {
		ext = &wsflate.Extension{Parameters: wsflate.Parameters{
			ServerNoContextTakeover: true, ClientNoContextTakeover: true}}
		u.Negotiate = ext.Negotiate
	}
	conn, rw, _, err := u.Upgrade(r, w)
	if err != nil {
		return nil, err
	}
	br := rw.Reader
	if br.Buffered() == 0 {
		// net/http's 4 KiB reader is kept for the connection's lifetime:
		// a small one holds a frame header and most messages, and saves
		// memory on every idle connection.
		br = bufio.NewReaderSize(conn, wsReadBufferSize)
	}
	t := &wsTransport{conn: conn, br: br, writeTimeout: s.opts.WriteTimeout}
	if ext != nil {
		_, t.deflate = ext.Accepted()
		t.threshold = s.opts.PerMessageDeflate.Threshold
	}
	return t, nil
}

// handshakeWebSocket opens a session directly over WebSocket. The session
// is registered only once its WebSocket is open and its open packet queued,
// so that nothing (a Shutdown, a lookup) sees it half built.
func (s *Server) handshakeWebSocket(w http.ResponseWriter, r *http.Request) {
	id, rerr := s.generateID(r)
	if rerr != nil {
		s.refuse(w, r, rerr, true)
		return
	}
	t, err := s.upgradeWebSocket(w, r)
	if err != nil {
		return // the upgrader answered the client
	}
	c := newConn(s, id, r, TransportWebSocket)
	c.ws = t
	c.queue = append(c.queue, s.openPacket(c))
	if rerr := s.register(c, true); rerr != nil {
		t.close(ws.StatusGoingAway)
		return
	}
	c.start()
	c.mu.Lock()
	c.wakeLocked()
	c.mu.Unlock()
	// Read on a goroutine of our own: net/http frees what it kept for the
	// hijacked request once the handler returns.
	go func() {
		defer s.goroutines.Done()
		c.readLoop(t)
	}()
}

// serveUpgrade runs the polling → WebSocket upgrade of c.
func (s *Server) serveUpgrade(c *Conn, w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	refuse := c.transport != TransportPolling || c.upgrading || c.upgraded || c.ws != nil ||
		c.state != stateOpen || s.opts.DisableUpgrades
	if !refuse {
		c.ws = t0 // reserve the upgrade slot
		// Tracked while the session is open, so before Shutdown can wait.
		s.goroutines.Add(1)
	}
	c.mu.Unlock()
	t, err := s.upgradeWebSocket(w, r)
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
	// frees what it kept for the request, and a goroutine of our own reads.
	go func() {
		defer s.goroutines.Done()
		c.runUpgrade(t)
	}()
}

// runUpgrade runs the probe on the new WebSocket t and, once the session
// switched to it, reads it until it closes.
func (c *Conn) runUpgrade(t *wsTransport) {
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		t.close(ws.StatusNormalClosure)
		return
	}
	c.ws = t // closed with the session if it ends during the probe
	c.mu.Unlock()
	timer := time.AfterFunc(c.srv.opts.UpgradeTimeout, func() { t.close(ws.StatusNormalClosure) })
	ok := c.probe(t)
	timer.Stop()
	if !ok {
		t.close(ws.StatusNormalClosure)
		c.abortUpgrade()
		return
	}
	c.srv.stats.upgrades.Add(1)
	c.readLoop(t)
}

// t0 marks a reserved upgrade slot before the new transport exists.
var t0 = &wsTransport{}

func (c *Conn) abortUpgrade() {
	c.mu.Lock()
	if !c.upgraded {
		c.ws, c.upgrading = nil, false
		c.wakeLocked()
	}
	c.mu.Unlock()
}

// probe runs the upgrade handshake on the new transport, as Node does:
// "2probe" is answered "3probe" (and the pending GET released with a noop),
// "5" switches the session over, any other packet aborts the upgrade.
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
			c.mu.Lock()
			c.upgrading = true
			c.wakeLocked() // a pending GET answers "6"
			c.mu.Unlock()
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

// completeUpgrade switches the session to the WebSocket t and flushes its
// queue there. It returns false if the session closed meanwhile.
func (c *Conn) completeUpgrade(t *wsTransport) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateClosed {
		return false
	}
	c.upgrading, c.upgraded = false, true
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
			c.queueBytes -= closePacket.wireLen()
		}
		c.flushing = true
		c.srv.goTracked(c.flushWebSocket)
	}
	return true
}

// readLoop hands every message of the WebSocket to the session until the
// connection ends.
func (c *Conn) readLoop(t *wsTransport) {
	max := c.srv.opts.MaxHTTPBufferSize
	for {
		op, data, err := t.readMessage(max)
		if err != nil {
			t.close(closeCodeForError(err))
			if err == errPeerClosed || errors.Is(err, io.EOF) {
				c.closeNow(ReasonTransportClose)
			} else {
				c.closeNow(ReasonTransportError)
			}
			return
		}
		p := inPacket{typ: PacketMessage, data: data, binary: true}
		if op == ws.OpText {
			if p, err = decodeText(data); err != nil {
				c.closeNow(ReasonParseError)
				return
			}
		}
		c.recvMu.Lock()
		ok := !c.isClosed() && c.handlePacket(p)
		c.recvMu.Unlock()
		if !ok {
			return
		}
	}
}

// flushWebSocket writes queued packets until the queue is empty, batching
// every packet queued meanwhile into one write. A closing session is closed
// once its queue is written.
func (c *Conn) flushWebSocket() {
	for {
		c.mu.Lock()
		t := c.ws
		if c.state == stateClosed || t == nil {
			c.flushing = false
			c.mu.Unlock()
			return
		}
		if len(c.queue) == 0 {
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
		c.srv.stats.bytesOut.Add(int64(n))
		c.recycleQueue(packets)
	}
}

// writePackets writes packets as one batch of frames (one writev).
func (t *wsTransport) writePackets(packets []*Packet) (int64, error) {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	bufs := t.bufs[:0]
	defer func() { clear(bufs); t.bufs = bufs[:0] }() // keep the slice, not the frames
	for _, p := range packets {
		if t.deflate && p.wireLen() >= t.threshold && !p.NoCompress {
			f, err := compressedFrame(p)
			if err != nil {
				return 0, err
			}
			bufs = append(bufs, f)
			continue
		}
		bufs = append(bufs, p.frame())
	}
	if err := t.startWrite(); err != nil {
		return 0, err
	}
	w := bufs // WriteTo consumes its receiver
	return w.WriteTo(t.conn)
}

// writeFrame writes one unfragmented frame.
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
	_, err := t.conn.Write(buf.Bytes())
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
	_ = ws.WriteFrame(t.conn, ws.NewCloseFrame(ws.NewCloseFrameBody(code, "")))
	t.writeMu.Unlock()
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
func (t *wsTransport) readMessage(max int64) (ws.OpCode, []byte, error) {
	var (
		msg        []byte
		op         ws.OpCode
		started    bool
		compressed bool
	)
	for {
		h, err := ws.ReadHeader(t.br)
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
		msg = slices.Grow(msg, int(h.Length))[:n+int(h.Length)]
		if _, err := io.ReadFull(t.br, msg[n:]); err != nil {
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
	if _, err := io.ReadFull(t.br, p); err != nil {
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

var flateCompressors = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.DefaultCompression)
	return w
}}

// compressedFrame returns the permessage-deflate frame of p, building it
// once: without context takeover the result depends only on p, so one
// frame serves every recipient.
func compressedFrame(p *Packet) ([]byte, error) {
	if f := p.deflated.Load(); f != nil {
		return *f, nil
	}
	var body bytes.Buffer
	fw := flateCompressors.Get().(*flate.Writer)
	defer flateCompressors.Put(fw)
	fw.Reset(&body)
	if !p.Binary {
		_, _ = fw.Write([]byte{byte(p.Type)})
	}
	_, _ = fw.Write(p.Data)
	if err := fw.Flush(); err != nil {
		return nil, err
	}
	payload := bytes.TrimSuffix(body.Bytes(), deflateTail)
	op := ws.OpText
	if p.Binary {
		op = ws.OpBinary
	}
	h := ws.Header{Fin: true, OpCode: op, Length: int64(len(payload)), Rsv: ws.Rsv(true, false, false)}
	out := bytes.NewBuffer(make([]byte, 0, ws.HeaderSize(h)+len(payload)))
	_ = ws.WriteHeader(out, h)
	out.Write(payload)
	f := out.Bytes()
	p.deflated.Store(&f)
	return f, nil
}
