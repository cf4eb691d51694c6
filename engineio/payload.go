package engineio

import (
	"bytes"
	"encoding/base64"
)

// The v4 polling payload codec, shared by the server's polling transport and
// the Go client (package client).

// recordSeparator joins packets in a v4 polling payload.
const recordSeparator = 0x1e

// AppendPayload appends packets to dst as an Engine.IO v4 polling payload
// and returns the extended buffer. Each packet is in its polling form,
// "<type digit><data>", or "b<base64 of data>" for a binary message, and
// packets are joined by the record separator 0x1e, as engine.io-parser's
// encodePayload does.
//
// The base64 form of a binary packet is built on first use and cached in
// the packet, so a packet sent to many pollers is encoded once; with the
// forms cached and room in dst, AppendPayload does not allocate.
func AppendPayload(dst []byte, packets ...*Packet) []byte {
	for i, p := range packets {
		if i > 0 {
			dst = append(dst, recordSeparator)
		}
		dst = p.appendPolling(dst)
	}
	return dst
}

// DecodePayload splits an Engine.IO v4 polling payload on the record
// separator and calls fn with every packet, in order. For a text packet,
// data aliases payload (capped to its length, so appending to it cannot
// overwrite what follows); for a binary message ("b<base64>") it is newly
// allocated, and typ is PacketMessage.
//
// Like engine.io-parser's decodePayload, it stops at the first invalid
// packet (an empty payload, an empty part such as the one a trailing
// separator leaves, an unknown type, bad base64) and returns ErrParse, after
// the packets before it were handed to fn. An error returned by fn stops
// decoding and is returned as is.
func DecodePayload(payload []byte, fn func(typ PacketType, data []byte, binary bool) error) error {
	for {
		part, rest, more := bytes.Cut(payload, []byte{recordSeparator})
		p, err := decodePollingPacket(part[:len(part):len(part)])
		if err != nil {
			return err
		}
		if err := fn(p.typ, p.data, p.binary); err != nil {
			return err
		}
		if !more {
			return nil
		}
		payload = rest
	}
}

// decodePollingPacket decodes one packet of a polling payload, where binary
// messages travel as "b<base64>".
func decodePollingPacket(b []byte) (inPacket, error) {
	if len(b) > 0 && b[0] == 'b' {
		data := make([]byte, base64.StdEncoding.DecodedLen(len(b)-1))
		n, err := base64.StdEncoding.Decode(data, b[1:])
		if err != nil {
			return inPacket{}, ErrParse
		}
		return inPacket{typ: PacketMessage, data: data[:n], binary: true}, nil
	}
	return decodeText(b)
}
