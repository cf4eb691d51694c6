package engineio

import (
	"bytes"
	"encoding/base64"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/gobwas/ws"
)

// PacketType is the type of an Engine.IO packet, written as one ASCII digit.
type PacketType byte

// The Engine.IO v4 packet types.
const (
	PacketOpen    PacketType = '0'
	PacketClose   PacketType = '1'
	PacketPing    PacketType = '2'
	PacketPong    PacketType = '3'
	PacketMessage PacketType = '4'
	PacketUpgrade PacketType = '5'
	PacketNoop    PacketType = '6'
)

// ErrParse is returned for a packet or payload that cannot be decoded.
var ErrParse = errors.New("engine.io: parse error")

// Packet is one outbound Engine.IO packet. A Packet is immutable once handed
// to Conn.Send and may be shared by any number of connections: its encoded
// forms (the WebSocket frame, the base64 text for polling) are computed once,
// on first use, and reused for every recipient.
type Packet struct {
	Type PacketType
	// Data is the payload: UTF-8 text, or raw bytes when Binary is set
	// (binary packets are always messages).
	Data   []byte
	Binary bool
	// NoCompress disables HTTP compression of a polling response that
	// carries only packets with NoCompress set (Socket.IO's compress(false)).
	NoCompress bool

	wsFrame  atomic.Pointer[[]byte] // cached WebSocket frame (header + payload)
	deflated atomic.Pointer[[]byte] // cached permessage-deflate frame
	b64      atomic.Pointer[[]byte] // cached polling form of a binary packet
}

// NewMessage returns a text message packet with the given payload.
func NewMessage(data []byte) *Packet { return &Packet{Type: PacketMessage, Data: data} }

// NewBinaryMessage returns a binary message packet with the given payload.
func NewBinaryMessage(data []byte) *Packet {
	return &Packet{Type: PacketMessage, Data: data, Binary: true}
}

// wireLen is the number of bytes the packet occupies in the outbound queue.
func (p *Packet) wireLen() int { return len(p.Data) + 1 }

// frame returns the unmasked WebSocket frame of the packet, building it once.
// Server-to-client frames are not masked, so one frame serves every recipient.
func (p *Packet) frame() []byte {
	if f := p.wsFrame.Load(); f != nil {
		return *f
	}
	op, n := ws.OpText, len(p.Data)+1
	if p.Binary {
		op, n = ws.OpBinary, len(p.Data)
	}
	h := ws.Header{Fin: true, OpCode: op, Length: int64(n)}
	buf := bytes.NewBuffer(make([]byte, 0, ws.HeaderSize(h)+n))
	_ = ws.WriteHeader(buf, h) // writes to a bytes.Buffer cannot fail
	if !p.Binary {
		buf.WriteByte(byte(p.Type))
	}
	buf.Write(p.Data)
	f := buf.Bytes()
	p.wsFrame.Store(&f)
	return f
}

// appendPolling appends the packet's v4 polling form: "<type><data>" for text,
// "b<base64>" for binary.
func (p *Packet) appendPolling(dst []byte) []byte {
	if !p.Binary {
		dst = append(dst, byte(p.Type))
		return append(dst, p.Data...)
	}
	if b := p.b64.Load(); b != nil {
		return append(dst, *b...)
	}
	enc := make([]byte, 1+base64.StdEncoding.EncodedLen(len(p.Data)))
	enc[0] = 'b'
	base64.StdEncoding.Encode(enc[1:], p.Data)
	p.b64.Store(&enc)
	return append(dst, enc...)
}

// inPacket is a decoded inbound packet. Data aliases the input buffer.
type inPacket struct {
	typ    PacketType
	data   []byte
	binary bool
}

// decodeText decodes one text packet "<type><data>". The data is capped to
// its length, so a handler appending to it cannot overwrite what follows it
// in the input buffer.
func decodeText(b []byte) (inPacket, error) {
	if len(b) == 0 || b[0] < byte(PacketOpen) || b[0] > byte(PacketNoop) {
		return inPacket{}, ErrParse
	}
	return inPacket{typ: PacketType(b[0]), data: b[1:len(b):len(b)]}, nil
}

// payloadBuffers recycles the buffers polling responses are assembled in.
var payloadBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
