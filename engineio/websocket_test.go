package engineio

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"

	"github.com/switchboard-io/switchboard/eio"
)

func TestEcho(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, nil)
			c := ts.dial(tr)
			c.send("4hello", "bAQIDBA==", "4€ \"json\" <&>", "4")
			c.expect("4hello", "bAQIDBA==", "4€ \"json\" <&>", "4")
			got := ts.h.received(c.sid)
			if strings.Join(got, "|") != "hello|bAQIDBA==|€ \"json\" <&>|" {
				t.Fatalf("handler received %q", got)
			}
		})
	}
}

// WebSocket frames the server refuses, each closing the session with the
// close code Node's ws library uses.
func TestWebSocketBadFrames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		frame  ws.Frame
		code   ws.StatusCode
		reason string
	}{
		{"too large", ws.MaskFrame(ws.NewTextFrame([]byte("4" + strings.Repeat("x", 100)))),
			ws.StatusMessageTooBig, ReasonTransportError},
		{"binary too large", ws.MaskFrame(ws.NewBinaryFrame(make([]byte, 101))),
			ws.StatusMessageTooBig, ReasonTransportError},
		{"invalid UTF-8", ws.MaskFrame(ws.NewTextFrame([]byte("4\xff\xfe"))),
			ws.StatusInvalidFramePayloadData, ReasonTransportError},
		{"unmasked", ws.NewTextFrame([]byte("4hello")), ws.StatusProtocolError, ReasonTransportError},
		{"reserved bit", ws.MaskFrame(ws.Frame{Header: ws.Header{Fin: true, OpCode: ws.OpText,
			Rsv: ws.Rsv(true, false, false), Length: 2}, Payload: []byte("4x")}),
			ws.StatusProtocolError, ReasonTransportError},
		{"continuation first", ws.MaskFrame(ws.NewFrame(ws.OpContinuation, true, []byte("4x"))),
			ws.StatusProtocolError, ReasonTransportError},
		{"peer close", ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusGoingAway, ""))),
			ws.StatusNormalClosure, ReasonTransportClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, &Options{MaxHTTPBufferSize: 100})
			w, sid := ts.wsOpen()
			w.writeFrame(tt.frame)
			if code := w.expectClose(); code != tt.code {
				t.Fatalf("close code %d, want %d", code, tt.code)
			}
			if got := ts.h.waitClose(t, sid); got != tt.reason {
				t.Fatalf("reason %q, want %q", got, tt.reason)
			}
			ts.gone(sid)
		})
	}
}

// Packets the Engine.IO layer refuses or acts on.
func TestWebSocketPackets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, packet, reason string
	}{
		{"close packet", "1", ReasonTransportClose},
		{"unknown type", "9x", ReasonParseError},
		{"empty text", "", ReasonParseError},
		{"probe after upgrade", "2probe", ReasonTransportError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, nil)
			w, sid := ts.wsOpen()
			w.writeText(tt.packet)
			if got := ts.h.waitClose(t, sid); got != tt.reason {
				t.Fatalf("reason %q, want %q", got, tt.reason)
			}
			w.expectEnd()
			ts.gone(sid)
		})
	}
}

// The message size limit counts whole messages, not frames, and a message
// at the limit is accepted.
func TestWebSocketMessageLimit(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, &Options{MaxHTTPBufferSize: 100})
	w, sid := ts.wsOpen()
	at := "4" + strings.Repeat("a", 99)
	w.writeText(at)
	w.expectText(at)
	w.writeFrame(ws.MaskFrame(ws.NewFrame(ws.OpText, false, []byte("4"+strings.Repeat("b", 60)))))
	w.writeFrame(ws.MaskFrame(ws.NewFrame(ws.OpContinuation, true, []byte(strings.Repeat("c", 60)))))
	if code := w.expectClose(); code != ws.StatusMessageTooBig {
		t.Fatalf("close code %d", code)
	}
	ts.h.waitClose(t, sid)
}

// Fragmented messages are reassembled, with control frames between the
// fragments answered.
func TestWebSocketFragments(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	w, _ := ts.wsOpen()
	w.writeFrame(ws.MaskFrame(ws.NewFrame(ws.OpText, false, []byte("4hel"))))
	w.writeFrame(ws.MaskFrame(ws.NewPingFrame([]byte("are you there"))))
	w.writeFrame(ws.MaskFrame(ws.NewFrame(ws.OpContinuation, false, []byte("lo, "))))
	w.writeFrame(ws.MaskFrame(ws.NewFrame(ws.OpContinuation, true, []byte("world"))))
	h, p := w.frame()
	if h.OpCode != ws.OpPong || string(p) != "are you there" {
		t.Fatalf("got %v %q, want the pong", h.OpCode, p)
	}
	w.expectText("4hello, world")

	w.writeFrame(ws.MaskFrame(ws.NewFrame(ws.OpBinary, false, []byte{1, 2})))
	w.writeFrame(ws.MaskFrame(ws.NewFrame(ws.OpContinuation, true, []byte{3})))
	if op, p := w.message(); op != ws.OpBinary || !bytes.Equal(p, []byte{1, 2, 3}) {
		t.Fatalf("got %v %x", op, p)
	}
}

func TestWebSocketPing(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	w, _ := ts.wsOpen()
	for _, payload := range []string{"", "ping payload"} {
		w.writeFrame(ws.MaskFrame(ws.NewPingFrame([]byte(payload))))
		h, p := w.frame()
		if h.OpCode != ws.OpPong || string(p) != payload {
			t.Fatalf("got %v %q, want pong %q", h.OpCode, p, payload)
		}
	}
	// An unsolicited pong is ignored.
	w.writeFrame(ws.MaskFrame(ws.NewPongFrame(nil)))
	w.writeText("4after")
	w.expectText("4after")
}

func TestWebSocketDeflate(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, &Options{PerMessageDeflate: &DeflateOptions{Threshold: 200}, MaxHTTPBufferSize: 4096})
	w, err := ts.wsDial("EIO=4&transport=websocket", deflateDialer())
	if err != nil {
		t.Fatal(err)
	}
	if len(w.hs.Extensions) != 1 || string(w.hs.Extensions[0].Name) != "permessage-deflate" {
		t.Fatalf("extensions %v, want permessage-deflate", w.hs.Extensions)
	}
	h, open := w.frame()
	if h.Rsv != 0 || !openRE.Match(open) {
		t.Fatalf("open packet %q (rsv %d), want it uncompressed", open, h.Rsv)
	}
	sid := openRE.FindStringSubmatch(string(open))[1]

	big := "4" + strings.Repeat("compress me ", 100) // 1201 bytes, compressed to far fewer
	f, err := wsflate.CompressFrame(ws.NewTextFrame([]byte(big)))
	if err != nil {
		t.Fatal(err)
	}
	w.writeFrame(ws.MaskFrame(f))
	h, p := w.frame()
	if h.Rsv == 0 || string(p) != big {
		t.Fatalf("echo of a large message: rsv %d, %d bytes, want it compressed", h.Rsv, len(p))
	}
	w.writeText("4small")
	if h, p := w.frame(); h.Rsv != 0 || string(p) != "4small" {
		t.Fatalf("small message: rsv %d %q, want it uncompressed", h.Rsv, p)
	}
	// A small compressed message that inflates past MaxHTTPBufferSize.
	bomb, err := wsflate.CompressFrame(ws.NewTextFrame([]byte("4" + strings.Repeat("0", 10000))))
	if err != nil {
		t.Fatal(err)
	}
	if len(bomb.Payload) > 4096 {
		t.Fatalf("the compressed message is too large (%d) for the test", len(bomb.Payload))
	}
	w.writeFrame(ws.MaskFrame(bomb))
	if code := w.expectClose(); code != ws.StatusMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
	if got := ts.h.waitClose(t, sid); got != ReasonTransportError {
		t.Fatalf("reason %q", got)
	}
}

// Without PerMessageDeflate the extension is not negotiated, and compressed
// frames are refused.
func TestWebSocketNoDeflate(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	w, err := ts.wsDial("EIO=4&transport=websocket", deflateDialer())
	if err != nil {
		t.Fatal(err)
	}
	if len(w.hs.Extensions) != 0 {
		t.Fatalf("extensions %v, want none", w.hs.Extensions)
	}
	sid := openRE.FindStringSubmatch(w.readText())[1]
	f, err := wsflate.CompressFrame(ws.NewTextFrame([]byte("4hello")))
	if err != nil {
		t.Fatal(err)
	}
	w.writeFrame(ws.MaskFrame(f))
	if code := w.expectClose(); code != ws.StatusProtocolError {
		t.Fatalf("close code %d, want 1002", code)
	}
	ts.h.waitClose(t, sid)
}

// A client that closes its TCP connection ends the session.
func TestWebSocketClientGone(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	w, sid := ts.wsOpen()
	_ = w.conn.Close()
	if got := ts.h.waitClose(t, sid); got != ReasonTransportClose {
		t.Fatalf("reason %q", got)
	}
	ts.gone(sid)
}

// One Packet sent to many connections at once, over every transport and
// with and without compression, reaches each of them intact: its cached
// encodings are shared safely.
func TestSharedPacket(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, &Options{PerMessageDeflate: &DeflateOptions{Threshold: 200}})
	var clients []*eioClient
	for _, tr := range transports {
		clients = append(clients, ts.dial(tr), ts.dial(tr))
	}
	for range 2 {
		w, err := ts.wsDial("EIO=4&transport=websocket", deflateDialer())
		if err != nil {
			t.Fatal(err)
		}
		sid := openRE.FindStringSubmatch(w.readText())[1]
		clients = append(clients, &eioClient{t: t, ts: ts, sid: sid, ws: w})
	}
	big := strings.Repeat("shared ", 100)
	packets := []*eio.Packet{eio.NewMessage([]byte(big)), eio.NewBinaryMessage([]byte{9, 8, 7}), eio.NewMessage([]byte("small"))}
	var wg sync.WaitGroup
	for _, c := range clients {
		conn := ts.conn(c.sid)
		wg.Go(func() {
			if err := conn.Send(packets...); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, c := range clients {
		c.expect("4"+big, "bCQgH", "4small")
	}
}

// inflate reads what eio's CompressedFrame writes, and refuses output past
// its limit and garbage.
func TestInflate(t *testing.T) {
	t.Parallel()
	p := eio.NewMessage([]byte(strings.Repeat("abc", 1000)))
	raw, err := p.CompressedFrame()
	if err != nil {
		t.Fatal(err)
	}
	f, err := ws.ReadFrame(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	out, err := inflate(f.Payload, 1e6)
	if err != nil || string(out) != "4"+string(p.Data) {
		t.Fatalf("inflate: %v, %d bytes", err, len(out))
	}
	if _, err := inflate(f.Payload, 100); err != errTooLarge {
		t.Fatalf("inflate past the limit: %v", err)
	}
	if _, err := inflate([]byte{0xff, 0xff, 0xff}, 100); err != errProtocol {
		t.Fatalf("inflate of garbage: %v", err)
	}
}

// A text frame "b<base64>" is a binary message, as Node's decodePacket
// reads it; a client that asked for base64 (b64=1) gets binary messages as
// such text frames, others as binary frames.
func TestWebSocketBase64(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	for _, b64 := range []bool{false, true} {
		query := "EIO=4&transport=websocket"
		if b64 {
			query += "&b64=1"
		}
		w, err := ts.wsDial(query, ws.Dialer{})
		if err != nil {
			t.Fatal(err)
		}
		sid := openRE.FindStringSubmatch(w.readText())[1]
		w.writeText("bAQID")
		op, p := w.message()
		if b64 && (op != ws.OpText || string(p) != "bAQID") || !b64 && (op != ws.OpBinary || string(p) != "\x01\x02\x03") {
			t.Fatalf("b64 %v: echo %v %q", b64, op, p)
		}
		if got := ts.h.received(sid); len(got) != 1 || got[0] != "bAQID" { // received binary
			t.Fatalf("b64 %v: the handler got %q", b64, got)
		}
		w.writeText("4text")
		w.expectText("4text")
		w.writeText("b!!")
		if code := w.expectClose(); code == 0 {
			t.Fatalf("b64 %v: bad base64 did not close", b64)
		}
		if got := ts.h.waitClose(t, sid); got != ReasonParseError {
			t.Fatalf("b64 %v: reason %q", b64, got)
		}
	}
}
