package client

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

const (
	// maxMessageSize bounds one received WebSocket message.
	maxMessageSize = 256 << 20
	// keepReadBuffer is the largest read buffer kept between messages.
	keepReadBuffer = 64 << 10
)

var (
	errProtocol = errors.New("socketio client: websocket protocol error")
	errTooLarge = errors.New("socketio client: websocket message too large")
)

// closedError reports a close frame received from the server.
type closedError struct{ code ws.StatusCode }

func (e closedError) Error() string {
	return "socketio client: websocket closed by the server with status " + strconv.Itoa(int(e.code))
}

// wsConn is a client WebSocket connection: one reader, writes serialised.
type wsConn struct {
	conn net.Conn
	br   *bufio.Reader
	rbuf []byte // the reader's message buffer

	wmu sync.Mutex // serialises frame writes (flusher, control replies, close)
}

var writeBufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// dialWS opens a WebSocket to the server, joining session sid if not empty.
func (m *Manager) dialWS(ctx context.Context, sid string) (*wsConn, error) {
	d := m.dialer
	hdr := m.cfg.Headers
	if jar := m.httpc.Jar; jar != nil {
		if cookies := jar.Cookies(m.httpURL); len(cookies) > 0 {
			hdr = hdr.Clone()
			if hdr == nil {
				hdr = http.Header{}
			}
			for _, c := range cookies {
				hdr.Add("Cookie", c.String())
			}
		}
	}
	if len(hdr) > 0 {
		d.Header = ws.HandshakeHeaderHTTP(hdr)
	}
	var refusal []byte
	d.OnStatusError = func(_ int, _ []byte, resp io.Reader) {
		if r, err := http.ReadResponse(bufio.NewReader(resp), nil); err == nil {
			refusal, _ = io.ReadAll(io.LimitReader(r.Body, 512))
			r.Body.Close()
		}
	}
	conn, br, _, err := d.Dial(ctx, m.wsURL(sid))
	if err != nil {
		var se ws.StatusError
		if errors.As(err, &se) {
			return nil, statusError(TransportWebSocket, "dial", int(se), refusal)
		}
		return nil, transportErr(TransportWebSocket, "dial", err)
	}
	if br == nil {
		br = bufio.NewReaderSize(conn, 4096)
	}
	return &wsConn{conn: conn, br: br}, nil
}

// openWebSocket performs a WebSocket-only handshake: the first message is
// the open packet.
func (m *Manager) openWebSocket(ctx context.Context) (*engine, []inPacket, error) {
	w, err := m.dialWS(ctx, "")
	if err != nil {
		return nil, nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = w.conn.SetReadDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = w.conn.SetReadDeadline(time.Unix(1, 0)) })
	data, binary, err := w.readMessage()
	stop()
	_ = w.conn.SetReadDeadline(time.Time{})
	if err != nil || binary || len(data) == 0 || data[0] != pktOpen {
		w.close()
		if err == nil {
			err = errParse
		}
		return nil, nil, transportErr(TransportWebSocket, "handshake", err)
	}
	e, err := newEngine(m, TransportWebSocket, data[1:])
	if err != nil {
		w.close()
		return nil, nil, err
	}
	e.ws = w
	return e, nil, nil
}

// loop is the reader of a WebSocket engine.
func (w *wsConn) loop(e *engine) {
	for {
		data, binary, err := w.readMessage()
		if err != nil {
			reason := ReasonTransportClose
			if errors.Is(err, errProtocol) || errors.Is(err, errTooLarge) {
				reason = ReasonTransportError
			}
			e.closeWith(reason, transportErr(TransportWebSocket, "read", err))
			return
		}
		p := inPacket{typ: pktMessage, data: data, binary: true}
		if !binary {
			if len(data) == 0 {
				p.typ = 0 // invalid: parse error
			} else {
				p = inPacket{typ: data[0], data: data[1:len(data):len(data)]}
			}
		}
		if !e.handle(p) {
			return
		}
	}
}

// readMessage reads the next data message, answering control frames. The
// result is valid until the next call.
func (w *wsConn) readMessage() ([]byte, bool, error) {
	if cap(w.rbuf) > keepReadBuffer {
		w.rbuf = nil
	}
	w.rbuf = w.rbuf[:0]
	var op ws.OpCode
	for {
		h, err := ws.ReadHeader(w.br)
		if err != nil {
			return nil, false, err
		}
		if h.Masked || h.Rsv != 0 {
			return nil, false, errProtocol
		}
		if h.OpCode.IsControl() {
			if err := w.control(h); err != nil {
				return nil, false, err
			}
			continue
		}
		switch {
		case h.OpCode == ws.OpContinuation && op == 0,
			h.OpCode != ws.OpContinuation && op != 0,
			h.OpCode != ws.OpContinuation && h.OpCode != ws.OpText && h.OpCode != ws.OpBinary:
			return nil, false, errProtocol
		case op == 0:
			op = h.OpCode
		}
		if h.Length < 0 || int64(len(w.rbuf))+h.Length > maxMessageSize {
			return nil, false, errTooLarge
		}
		n := len(w.rbuf)
		w.rbuf = slices.Grow(w.rbuf, int(h.Length))[:n+int(h.Length)]
		if _, err := io.ReadFull(w.br, w.rbuf[n:]); err != nil {
			return nil, false, err
		}
		if h.Fin {
			return w.rbuf, op == ws.OpBinary, nil
		}
	}
}

// control handles a control frame: ping is answered with pong, close with
// close (then the connection is done).
func (w *wsConn) control(h ws.Header) error {
	if h.Length > 125 || !h.Fin {
		return errProtocol
	}
	var buf [125]byte
	p := buf[:h.Length]
	if _, err := io.ReadFull(w.br, p); err != nil {
		return err
	}
	switch h.OpCode {
	case ws.OpPing:
		return w.writeControl(ws.OpPong, p)
	case ws.OpClose:
		code, _ := ws.ParseCloseFrameData(p)
		_ = w.writeControl(ws.OpClose, ws.NewCloseFrameBody(code, ""))
		return closedError{code: code}
	}
	return nil
}

// writeFrames writes frames as masked WebSocket messages in one write.
func (w *wsConn) writeFrames(frames []frame) error {
	buf := writeBufPool.Get().(*bytes.Buffer)
	buf.Reset()
	for _, f := range frames {
		op := ws.OpText
		if f.binary {
			op = ws.OpBinary
		}
		appendFrame(buf, op, f.data)
	}
	w.wmu.Lock()
	_, err := w.conn.Write(buf.Bytes())
	w.wmu.Unlock()
	if buf.Cap() <= keepReadBuffer {
		writeBufPool.Put(buf)
	}
	return err
}

// appendFrame appends one masked client frame.
func appendFrame(buf *bytes.Buffer, op ws.OpCode, payload []byte) {
	mask := ws.NewMask()
	h := ws.Header{Fin: true, OpCode: op, Length: int64(len(payload)), Masked: true, Mask: mask}
	_ = ws.WriteHeader(buf, h) // a bytes.Buffer does not fail
	start := buf.Len()
	buf.Write(payload)
	ws.Cipher(buf.Bytes()[start:], mask, 0)
}

func (w *wsConn) writeText(p []byte) error { return w.writeFrames([]frame{{data: p}}) }

func (w *wsConn) writeControl(op ws.OpCode, p []byte) error {
	var buf bytes.Buffer
	appendFrame(&buf, op, p)
	w.wmu.Lock()
	defer w.wmu.Unlock()
	_ = w.conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, err := w.conn.Write(buf.Bytes())
	_ = w.conn.SetWriteDeadline(time.Time{})
	return err
}

// writeClose sends a normal-closure close frame, best effort.
func (w *wsConn) writeClose() {
	_ = w.writeControl(ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
}

func (w *wsConn) close() { _ = w.conn.Close() }

// probe runs the upgrade probe: "2probe" must be answered with "3probe".
func (w *wsConn) probe(timeout time.Duration) error {
	_ = w.conn.SetDeadline(time.Now().Add(timeout))
	defer w.conn.SetDeadline(time.Time{})
	if err := w.writeText([]byte("2probe")); err != nil {
		return err
	}
	data, binary, err := w.readMessage()
	if err != nil {
		return err
	}
	if binary || string(data) != "3probe" {
		return errProtocol
	}
	return nil
}
