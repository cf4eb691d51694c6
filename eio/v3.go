package eio

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

// Engine.IO protocol v3 (Socket.IO v2 clients) differs from v4 in its
// polling payloads, its binary WebSocket frames and the base64 form of a
// binary packet. The encoders below produce what Node's engine.io 6 (its
// parser-v3) sends to such clients; the decoders accept what
// engine.io-client 3.x sends.
//
//   - Text payload: every packet prefixed by "<length>:", the length in
//     UTF-16 code units of the packet's text form, e.g. "6:4hello2:4€";
//     a binary message in it is "b4<base64>".
//   - Binary payload (XHR2 clients, sent as application/octet-stream):
//     per packet a byte 0 (text) or 1 (binary), the decimal digits of its
//     length in bytes as byte values 0–9, a byte 0xFF, then the packet: the
//     UTF-8 of "<type><data>", or the type byte 0x04 and the raw data.
//   - WebSocket: a binary message is a binary frame of the type byte 0x04
//     then the data, or the text frame "b4<base64>" for a client that asked
//     for base64 (b64=1).

// binaryType is the type byte that starts a v3 binary packet: a message.
const binaryType = byte(PacketMessage) - '0'

// v3Forms caches a packet's v3 encodings (see Packet.v3).
type v3Forms struct {
	frame    []byte // WebSocket frame of a binary message: 0x04 + data
	b64Frame []byte // text frame "b4<base64>"
}

// v3Binary returns the cached v3 forms of a binary packet.
func (p *Packet) v3Binary() *v3Forms {
	if f := p.v3.Load(); f != nil {
		return f
	}
	f := &v3Forms{
		frame:    buildFrame(ws.OpBinary, false, []byte{binaryType}, p.Data),
		b64Frame: buildFrame(ws.OpText, false, []byte("b4"), p.base64()[1:]),
	}
	p.v3.CompareAndSwap(nil, f)
	return p.v3.Load()
}

// WebSocketFrameV3 returns the packet as one WebSocket frame for an
// Engine.IO v3 client: the text frame of WebSocketFrame for a text packet;
// for a binary message, a binary frame holding the type byte 0x04 then the
// data. It is built once and shared by every recipient like
// WebSocketFrame; the caller must not modify it.
func (p *Packet) WebSocketFrameV3() []byte {
	if !p.Binary {
		return p.WebSocketFrame()
	}
	return p.v3Binary().frame
}

// Base64FrameV3 returns the packet as one WebSocket frame for an Engine.IO
// v3 client that asked for base64 (b64=1): a binary message travels as the
// text frame "b4<base64 of data>". For a text packet it is WebSocketFrame.
// It is built once and shared; the caller must not modify it.
func (p *Packet) Base64FrameV3() []byte {
	if !p.Binary {
		return p.WebSocketFrame()
	}
	return p.v3Binary().b64Frame
}

// AppendPollingV3 appends the packet's v3 text form to dst: "<type><data>"
// for a text packet, "b4<base64 of data>" for a binary message.
func (p *Packet) AppendPollingV3(dst []byte) []byte {
	if !p.Binary {
		dst = append(dst, byte(p.Type))
		return append(dst, p.Data...)
	}
	b := p.base64()
	dst = append(dst, 'b', byte(PacketMessage))
	return append(dst, b[1:]...)
}

// textLenV3 is the length of the packet's v3 text form in UTF-16 code
// units, computed once.
func (p *Packet) textLenV3() int {
	if n := p.u16.Load(); n > 0 {
		return int(n) - 1
	}
	var n int
	if p.Binary {
		n = 1 + len(p.base64()) // "b4" + base64 (ASCII)
	} else {
		n = 1 + UTF16Len(p.Data)
	}
	p.u16.Store(int64(n) + 1)
	return n
}

// UTF16Len returns the length of the UTF-8 text b in UTF-16 code units,
// as JavaScript's String.length counts it: two for a character beyond the
// Basic Multilingual Plane, one for any other, and one for each byte of an
// invalid sequence (which a decoder replaces with U+FFFD).
func UTF16Len(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
		i += size
	}
	return n
}

// AppendPayloadV3 appends packets to dst as an Engine.IO v3 text payload,
// "<length>:<packet>" for each, binary messages as "b4<base64>", as Node's
// parser-v3 encodePayload does for a client without binary support (or a
// payload without binary packets). No packets encode as "0:".
func AppendPayloadV3(dst []byte, packets ...*Packet) []byte {
	if len(packets) == 0 {
		return append(dst, "0:"...)
	}
	for _, p := range packets {
		dst = strconv.AppendInt(dst, int64(p.textLenV3()), 10)
		dst = append(dst, ':')
		dst = p.AppendPollingV3(dst)
	}
	return dst
}

// AppendBinaryPayloadV3 appends packets to dst as an Engine.IO v3 binary
// payload (the XHR2 format, sent as application/octet-stream), as Node
// sends it to a client that supports binary when a payload holds a binary
// packet.
func AppendBinaryPayloadV3(dst []byte, packets ...*Packet) []byte {
	for _, p := range packets {
		kind, n := byte(0), 1+len(p.Data)
		if p.Binary {
			kind = 1
		}
		dst = append(dst, kind)
		for _, d := range strconv.AppendInt(nil, int64(n), 10) {
			dst = append(dst, d-'0')
		}
		dst = append(dst, 0xff)
		if p.Binary {
			dst = append(dst, binaryType)
		} else {
			dst = append(dst, byte(p.Type))
		}
		dst = append(dst, p.Data...)
	}
	return dst
}

// HasBinary reports whether any of packets is a binary message.
func HasBinary(packets []*Packet) bool {
	for _, p := range packets {
		if p.Binary {
			return true
		}
	}
	return false
}

// DecodePacketV3 decodes one packet in its v3 text form: "<type><data>"
// (see DecodeText), or "b<type><base64>" for a binary packet, whose data
// is newly allocated. Only binary messages exist: a "b" form of any other
// type is ErrParse, as is anything else DecodeText refuses.
func DecodePacketV3(b []byte) (typ PacketType, data []byte, binary bool, err error) {
	if len(b) > 0 && b[0] == 'b' {
		if len(b) < 2 || b[1] != byte(PacketMessage) {
			return 0, nil, false, ErrParse
		}
		data, err := decodeBase64(b[2:])
		if err != nil {
			return 0, nil, false, ErrParse
		}
		return PacketMessage, data, true, nil
	}
	typ, data, err = DecodeText(b)
	return typ, data, false, err
}

// decodeBase64 decodes standard base64, padded or not (engine.io-client
// pads; Node's decoder accepts both).
func decodeBase64(s []byte) ([]byte, error) {
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	data := make([]byte, enc.DecodedLen(len(s)))
	n, err := enc.Decode(data, s)
	return data[:n], err
}

// DecodeBinaryPacketV3 decodes a v3 binary WebSocket message: the type byte
// 0x04 then the data, which aliases b (capped). Anything else is ErrParse.
func DecodeBinaryPacketV3(b []byte) ([]byte, error) {
	if len(b) == 0 || b[0] != binaryType {
		return nil, ErrParse
	}
	return b[1:len(b):len(b)], nil
}

// DecodePayloadV3 decodes an Engine.IO v3 text payload and calls fn with
// every packet, in order (see DecodePacketV3; text data aliases payload,
// capped). A length counts UTF-16 code units and must be decimal digits;
// an empty packet ("0:") is skipped. As in Node's parser-v3, decoding stops
// at the first malformed length or packet, after the packets before it
// were handed to fn, and returns ErrParse; an empty payload is ErrParse.
// An error returned by fn stops decoding and is returned as is.
func DecodePayloadV3(payload []byte, fn func(typ PacketType, data []byte, binary bool) error) error {
	if len(payload) == 0 {
		return ErrParse
	}
	for len(payload) > 0 {
		n, rest, ok := lengthPrefix(payload)
		if !ok {
			return ErrParse
		}
		end, ok := utf16Prefix(rest, n)
		if !ok {
			return ErrParse
		}
		if end > 0 {
			typ, data, binary, err := DecodePacketV3(rest[:end:end])
			if err != nil {
				return err
			}
			if err := fn(typ, data, binary); err != nil {
				return err
			}
		}
		payload = rest[end:]
	}
	return nil
}

// maxLengthDigits bounds a length prefix (Node gives up after 310).
const maxLengthDigits = 16

// lengthPrefix reads "<digits>:" at the start of b.
func lengthPrefix(b []byte) (n int, rest []byte, ok bool) {
	i := 0
	for ; i < len(b) && b[i] != ':'; i++ {
		if b[i] < '0' || b[i] > '9' || i >= maxLengthDigits {
			return 0, nil, false
		}
		n = n*10 + int(b[i]-'0')
	}
	if i == 0 || i == len(b) {
		return 0, nil, false
	}
	return n, b[i+1:], true
}

// utf16Prefix returns the number of bytes of b that hold its first n
// UTF-16 code units, failing when b is shorter or a character would be
// cut in half.
func utf16Prefix(b []byte, n int) (int, bool) {
	i := 0
	for n > 0 {
		if i >= len(b) {
			return 0, false
		}
		if b[i] < utf8.RuneSelf {
			i++
			n--
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		units := 1
		if r >= 0x10000 {
			units = 2
		}
		if units > n {
			return 0, false
		}
		n -= units
		i += size
	}
	return i, true
}

// DecodeBinaryPayloadV3 decodes an Engine.IO v3 binary payload (see
// AppendBinaryPayloadV3) and calls fn with every packet, in order. A text
// packet is decoded as DecodePacketV3 does; a binary one must be a message
// (type byte 0x04). As in Node, the whole framing is checked before any
// packet is handed to fn (a malformed one is ErrParse and nothing is
// delivered); then decoding stops at the first invalid packet, after the
// packets before it were handed to fn. Data aliases payload, capped.
func DecodeBinaryPayloadV3(payload []byte, fn func(typ PacketType, data []byte, binary bool) error) error {
	type part struct {
		data   []byte
		binary bool
	}
	var parts []part
	for len(payload) > 0 {
		kind := payload[0]
		if kind > 1 {
			return ErrParse
		}
		n, i := 0, 1
		for ; i < len(payload) && payload[i] != 0xff; i++ {
			if payload[i] > 9 || i > maxLengthDigits {
				return ErrParse
			}
			n = n*10 + int(payload[i])
		}
		if i == 1 || i == len(payload) || len(payload)-i-1 < n {
			return ErrParse
		}
		start := i + 1
		parts = append(parts, part{payload[start : start+n : start+n], kind == 1})
		payload = payload[start+n:]
	}
	for _, p := range parts {
		var (
			typ  PacketType
			data []byte
			bin  bool
			err  error
		)
		if p.binary {
			typ, bin = PacketMessage, true
			data, err = DecodeBinaryPacketV3(p.data)
		} else {
			typ, data, bin, err = DecodePacketV3(p.data)
		}
		if err != nil {
			return err
		}
		if err := fn(typ, data, bin); err != nil {
			return err
		}
	}
	return nil
}
