package parser

import (
	"encoding/json"
	"strconv"
)

// Type is the Socket.IO packet type, the first character of an encoded packet.
type Type uint8

// Packet types of Socket.IO protocol v5.
const (
	// Connect requests a namespace connection (client) or accepts it (server).
	Connect Type = 0
	// Disconnect leaves a namespace. It carries no payload.
	Disconnect Type = 1
	// Event is an event without binary attachments.
	Event Type = 2
	// Ack acknowledges an event that carried an ack id.
	Ack Type = 3
	// ConnectError refuses a namespace connection.
	ConnectError Type = 4
	// BinaryEvent is an event whose data holds placeholders for binary attachments.
	BinaryEvent Type = 5
	// BinaryAck is an ack whose data holds placeholders for binary attachments.
	BinaryAck Type = 6
)

var typeNames = [...]string{
	Connect:      "CONNECT",
	Disconnect:   "DISCONNECT",
	Event:        "EVENT",
	Ack:          "ACK",
	ConnectError: "CONNECT_ERROR",
	BinaryEvent:  "BINARY_EVENT",
	BinaryAck:    "BINARY_ACK",
}

// String returns the protocol name of t, such as "EVENT", or "Type(n)" for
// an unknown type.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// isBinary reports whether t is BinaryEvent or BinaryAck.
func (t Type) isBinary() bool { return t == BinaryEvent || t == BinaryAck }

// Packet is one Socket.IO packet.
type Packet struct {
	// Type is the packet type.
	Type Type
	// Namespace is "/" for the main namespace; "" is treated as "/" when
	// encoding. Other namespaces start with "/" and must not contain ",".
	Namespace string
	// ID is the ack id, meaningful when HasID is set.
	ID uint64
	// HasID reports whether the packet carries an ack id.
	HasID bool
	// Data is the JSON payload as on the wire, binary values appearing as
	// placeholders {"_placeholder":true,"num":N}. Nil means no payload.
	Data json.RawMessage
	// Attachments are the binary attachments, in placeholder index order.
	Attachments [][]byte
}

// AppendEncode appends the text form of p, without the Engine.IO "4" message
// prefix, to dst and returns the extended buffer.
//
// An Event or Ack with attachments is written as BinaryEvent or BinaryAck
// with an "<n>-" attachment count; BinaryEvent and BinaryAck always carry the
// count, "0-" included. The attachments themselves are not written: the
// caller sends p.Attachments as separate binary messages right after the
// text message. Data is written verbatim and is not validated.
func (p *Packet) AppendEncode(dst []byte) []byte {
	t := p.Type
	n := len(p.Attachments)
	if n > 0 && t == Event {
		t = BinaryEvent
	} else if n > 0 && t == Ack {
		t = BinaryAck
	}
	dst = strconv.AppendUint(dst, uint64(t), 10)
	if t.isBinary() {
		dst = strconv.AppendInt(dst, int64(n), 10)
		dst = append(dst, '-')
	}
	if p.Namespace != "" && p.Namespace != "/" {
		dst = append(dst, p.Namespace...)
		dst = append(dst, ',')
	}
	if p.HasID {
		dst = strconv.AppendUint(dst, p.ID, 10)
	}
	return append(dst, p.Data...)
}

// Encode returns the text form of p as AppendEncode writes it.
func (p *Packet) Encode() []byte {
	return p.AppendEncode(make([]byte, 0, 16+len(p.Namespace)+len(p.Data)))
}
