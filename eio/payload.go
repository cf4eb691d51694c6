package eio

import (
	"bytes"
	"encoding/base64"
)

// RecordSeparator joins packets in a v4 polling payload.
const RecordSeparator = 0x1e

// AppendPayload appends packets to dst as an Engine.IO v4 polling payload
// and returns the extended buffer. Each packet is in its polling form,
// "<type digit><data>", or "b<base64 of data>" for a binary message, and
// packets are joined by RecordSeparator, as engine.io-parser's
// encodePayload does.
//
// The base64 form of a binary packet is built on first use and cached in
// the packet, so a packet sent to many pollers is encoded once; with the
// forms cached and room in dst, AppendPayload does not allocate.
func AppendPayload(dst []byte, packets ...*Packet) []byte {
	for i, p := range packets {
		if i > 0 {
			dst = append(dst, RecordSeparator)
		}
		dst = p.AppendPolling(dst)
	}
	return dst
}

// DecodePayload splits an Engine.IO v4 polling payload on RecordSeparator
// and calls fn with every packet, in order, as DecodePacket decodes it.
// For a text packet, data aliases payload (capped to its length, so
// appending to it cannot overwrite what follows); for a binary message
// ("b<base64>") it is newly allocated, and typ is PacketMessage.
//
// Like engine.io-parser's decodePayload, it stops at the first invalid
// packet (an empty payload, an empty part such as the one a trailing
// separator leaves, an unknown type, bad base64) and returns ErrParse, after
// the packets before it were handed to fn. An error returned by fn stops
// decoding and is returned as is.
func DecodePayload(payload []byte, fn func(typ PacketType, data []byte, binary bool) error) error {
	for {
		part, rest, more := bytes.Cut(payload, []byte{RecordSeparator})
		typ, data, binary, err := DecodePacket(part[:len(part):len(part)])
		if err != nil {
			return err
		}
		if err := fn(typ, data, binary); err != nil {
			return err
		}
		if !more {
			return nil
		}
		payload = rest
	}
}

// DecodePacket decodes one packet in its text form, as a polling payload
// carries it: "<type><data>" (see DecodeText), or "b<base64>" for a binary
// message, whose data is newly allocated and whose type is PacketMessage.
// It returns ErrParse for anything else.
func DecodePacket(b []byte) (typ PacketType, data []byte, binary bool, err error) {
	if len(b) > 0 && b[0] == 'b' {
		data := make([]byte, base64.StdEncoding.DecodedLen(len(b)-1))
		n, err := base64.StdEncoding.Decode(data, b[1:])
		if err != nil {
			return 0, nil, false, ErrParse
		}
		return PacketMessage, data[:n], true, nil
	}
	typ, data, err = DecodeText(b)
	return typ, data, false, err
}

// DecodeText decodes one text packet "<type><data>", where type is one
// digit from PacketOpen to PacketNoop; anything else is ErrParse. Data
// aliases b, capped to its length, so a handler appending to it cannot
// overwrite what follows it in the input buffer.
func DecodeText(b []byte) (PacketType, []byte, error) {
	if len(b) == 0 || b[0] < byte(PacketOpen) || b[0] > byte(PacketNoop) {
		return 0, nil, ErrParse
	}
	return PacketType(b[0]), b[1:len(b):len(b)], nil
}
