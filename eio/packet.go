package eio

import (
	"bytes"
	"encoding/base64"
	"errors"
	"sync/atomic"

	"github.com/gobwas/ws"
)

// PacketType is the type of an Engine.IO packet, written as one ASCII digit.
type PacketType byte

// The Engine.IO v4 packet types.
const (
	PacketOpen    PacketType = '0' // server → client: the handshake JSON
	PacketClose   PacketType = '1' // close the transport or the session
	PacketPing    PacketType = '2' // v4 heartbeat (server → client), or "2probe" on a new transport
	PacketPong    PacketType = '3' // the answer to a ping, or "3probe"
	PacketMessage PacketType = '4' // application data
	PacketUpgrade PacketType = '5' // client → server: the upgrade is complete
	PacketNoop    PacketType = '6' // server → client on polling: releases a pending GET
)

// ErrParse is returned for a packet or payload that cannot be decoded.
var ErrParse = errors.New("engine.io: parse error")

// Packet is one outbound Engine.IO packet. A Packet is immutable once handed
// to a connection and may be shared by any number of connections: its
// encoded forms (the WebSocket frame, the permessage-deflate frame, the
// base64 text for polling) are computed once, on first use, and reused for
// every recipient. The encoding methods are safe for concurrent use.
type Packet struct {
	Type PacketType
	// Data is the payload: UTF-8 text, or raw bytes when Binary is set
	// (binary packets are always messages).
	Data   []byte
	Binary bool
	// NoCompress disables compression of the packet: HTTP compression of a
	// polling response that carries only packets with NoCompress set
	// (Socket.IO's compress(false)), and permessage-deflate.
	NoCompress bool

	wsFrame  atomic.Pointer[[]byte]  // cached WebSocket frame (header + payload)
	deflated atomic.Pointer[[]byte]  // cached permessage-deflate frame
	b64      atomic.Pointer[[]byte]  // cached polling form of a binary packet
	b64Frame atomic.Pointer[[]byte]  // cached WebSocket text frame of the base64 form
	v3       atomic.Pointer[v3Forms] // cached Engine.IO v3 frames of a binary message
	u16      atomic.Int64            // 1 + length of the v3 text form in UTF-16 units, once known
}

// NewMessage returns a text message packet with the given payload.
func NewMessage(data []byte) *Packet { return &Packet{Type: PacketMessage, Data: data} }

// NewBinaryMessage returns a binary message packet with the given payload.
func NewBinaryMessage(data []byte) *Packet {
	return &Packet{Type: PacketMessage, Data: data, Binary: true}
}

// WireLen is the size of the packet's data plus its type byte: what a
// server counts against a connection's outbound queue bound, whatever the
// transport's encoding.
func (p *Packet) WireLen() int { return len(p.Data) + 1 }

// WebSocketFrame returns the packet as one unmasked WebSocket frame (header
// and payload): a text frame "<type><data>", or a binary frame holding the
// raw data of a binary message. Server-to-client frames are not masked, so
// one frame serves every recipient; it is built on the first call and the
// same bytes are returned afterwards. The caller must not modify them.
func (p *Packet) WebSocketFrame() []byte {
	if f := p.wsFrame.Load(); f != nil {
		return *f
	}
	op := ws.OpText
	if p.Binary {
		op = ws.OpBinary
	}
	f := buildFrame(op, false, p.textPrefix(), p.Data)
	p.wsFrame.Store(&f)
	return f
}

// Base64Frame returns the packet as one WebSocket frame for a client that
// cannot take binary frames (it asked for base64 with b64=1): a binary
// message travels as the text frame "b<base64 of data>", its polling form,
// as engine.io's WebSocket transport sends it to such a client. For a text
// packet it is WebSocketFrame. It is built once and shared like
// WebSocketFrame; the caller must not modify it.
func (p *Packet) Base64Frame() []byte {
	if !p.Binary {
		return p.WebSocketFrame()
	}
	if f := p.b64Frame.Load(); f != nil {
		return *f
	}
	f := buildFrame(ws.OpText, false, nil, p.base64())
	p.b64Frame.Store(&f)
	return f
}

// AppendPolling appends the packet's v4 polling form to dst and returns the
// extended buffer: "<type><data>" for a text packet, "b<base64 of data>"
// for a binary message. The base64 text is built once; with it built and
// room in dst, AppendPolling does not allocate.
func (p *Packet) AppendPolling(dst []byte) []byte {
	if !p.Binary {
		dst = append(dst, byte(p.Type))
		return append(dst, p.Data...)
	}
	return append(dst, p.base64()...)
}

// base64 returns the cached "b<base64>" form of a binary packet.
func (p *Packet) base64() []byte {
	if b := p.b64.Load(); b != nil {
		return *b
	}
	enc := make([]byte, 1+base64.StdEncoding.EncodedLen(len(p.Data)))
	enc[0] = 'b'
	base64.StdEncoding.Encode(enc[1:], p.Data)
	p.b64.Store(&enc)
	return enc
}

// textPrefix is the type byte a text packet's frame starts with; binary
// frames carry the data alone.
func (p *Packet) textPrefix() []byte {
	if p.Binary {
		return nil
	}
	return []byte{byte(p.Type)}
}

// buildFrame returns one final, unmasked frame of opcode op carrying prefix
// then data, with RSV1 set when compressed.
func buildFrame(op ws.OpCode, compressed bool, prefix, data []byte) []byte {
	h := ws.Header{Fin: true, OpCode: op, Length: int64(len(prefix) + len(data))}
	if compressed {
		h.Rsv = ws.Rsv(true, false, false)
	}
	buf := bytes.NewBuffer(make([]byte, 0, ws.HeaderSize(h)+int(h.Length)))
	_ = ws.WriteHeader(buf, h) // writes to a bytes.Buffer cannot fail
	buf.Write(prefix)
	buf.Write(data)
	return buf.Bytes()
}
