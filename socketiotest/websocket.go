package socketiotest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/gobwas/ws"
)

// wsClient is the WebSocket transport of a Client.
type wsClient struct {
	c    *Client
	conn net.Conn
	r    io.Reader

	writeMu sync.Mutex
	wg      sync.WaitGroup
}

func dialWebSocket(ctx context.Context, c *Client, u *url.URL) error {
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	d := ws.Dialer{TLSConfig: c.opts.TLSConfig}
	if c.opts.Header != nil {
		d.Header = ws.HandshakeHeaderHTTP(c.opts.Header)
	}
	conn, br, _, err := d.Dial(ctx, u.String())
	if err != nil {
		return fmt.Errorf("socketiotest: websocket dial: %w", err)
	}
	t := &wsClient{c: c, conn: conn, r: conn}
	if br != nil {
		t.r = io.MultiReader(br, conn)
	}
	c.tr = t
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetReadDeadline(dl)
	}
	op, open, err := t.readMessage()
	_ = conn.SetReadDeadline(time.Time{})
	if err == nil && op != ws.OpText {
		err = errors.New("socketiotest: open packet not in a text frame")
	}
	if err == nil {
		err = c.parseOpen(open)
	}
	if err != nil {
		conn.Close()
		return err
	}
	if !c.opts.NoRead {
		t.wg.Add(1)
		go t.readLoop()
	}
	return nil
}

// readLoop hands every message to the client until the connection ends.
func (t *wsClient) readLoop() {
	defer t.wg.Done()
	for {
		op, data, err := t.readMessage()
		if err != nil {
			t.c.finish(fmt.Errorf("socketiotest: websocket read: %w", err))
			return
		}
		if !t.c.onEnginePacket(enginePacket{data: data, binary: op == ws.OpBinary}) {
			return
		}
	}
}

// readMessage reads one data message, answering pings and reassembling
// fragments. A close frame ends with io.EOF.
func (t *wsClient) readMessage() (ws.OpCode, []byte, error) {
	var msg []byte
	var op ws.OpCode
	for {
		h, err := ws.ReadHeader(t.r)
		if err != nil {
			return 0, nil, err
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(t.r, payload); err != nil {
			return 0, nil, err
		}
		if h.Masked {
			ws.Cipher(payload, h.Mask, 0)
		}
		switch h.OpCode {
		case ws.OpClose:
			return 0, nil, io.EOF
		case ws.OpPing:
			_ = t.writeFrame(ws.OpPong, payload)
			continue
		case ws.OpPong:
			continue
		case ws.OpText, ws.OpBinary:
			op = h.OpCode
		}
		msg = append(msg, payload...)
		if h.Fin {
			return op, msg, nil
		}
	}
}

// writeFrame writes one masked client frame.
func (t *wsClient) writeFrame(op ws.OpCode, payload []byte) error {
	f := ws.MaskFrameInPlace(ws.NewFrame(op, true, append([]byte(nil), payload...)))
	b, err := ws.CompileFrame(f)
	if err != nil {
		return err
	}
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	_, err = t.conn.Write(b)
	return err
}

func (t *wsClient) send(ctx context.Context, pkts []enginePacket) error {
	for _, p := range pkts {
		op := ws.OpText
		if p.binary {
			op = ws.OpBinary
		}
		if err := t.writeFrame(op, p.data); err != nil {
			return err
		}
	}
	return nil
}

func (t *wsClient) poll(context.Context) error {
	return errors.New("socketiotest: Poll on a websocket client")
}

func (t *wsClient) close() {
	t.writeMu.Lock()
	_ = t.conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	_ = ws.WriteFrame(t.conn, ws.MaskFrameInPlace(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))))
	t.writeMu.Unlock()
	_ = t.conn.Close()
	t.wg.Wait()
}

// DialRawWebSocket opens a WebSocket to url (ws://...) for a test that
// speaks frames by hand. Bytes the dialer read past the handshake (a server
// may send its first frame together with the 101) are read first.
func DialRawWebSocket(ctx context.Context, url string) (net.Conn, error) {
	conn, br, _, err := ws.Dial(ctx, url)
	if err != nil || br == nil {
		return conn, err
	}
	return bufferedConn{Conn: conn, r: io.MultiReader(br, conn)}, nil
}

// bufferedConn is a connection whose reads come from r.
type bufferedConn struct {
	net.Conn
	r io.Reader
}

func (c bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
