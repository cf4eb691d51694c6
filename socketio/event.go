package socketio

import (
	"fmt"
	"sync/atomic"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/parser"
)

// Event is one event received from a client.
type Event struct {
	// Socket is the socket that received the event.
	Socket *Socket
	// Name is the event name (a numeric name is given as its decimal text).
	Name string
	// Args are the event's arguments, raw JSON with their attachments.
	Args []Arg

	ackID  uint64
	hasAck bool
	acked  atomic.Bool
}

// Decode decodes the arguments into the values pointed to by ptrs, in
// order: the first argument into ptrs[0], and so on. A nil pointer skips
// its argument; a missing argument leaves its value untouched. []byte
// values, at any depth, receive binary attachments.
func (e *Event) Decode(ptrs ...any) error {
	if err := parser.DecodeArgs(e.Args, ptrs...); err != nil {
		return fmt.Errorf("socketio: event %q %w", e.Name, err)
	}
	return nil
}

// WantsAck reports whether the client asked for an acknowledgement.
func (e *Event) WantsAck() bool { return e.hasAck }

// Ack sends the acknowledgement with args. Only the first call sends
// anything; without a requested ack it does nothing.
func (e *Event) Ack(args ...any) error {
	if !e.hasAck || !e.acked.CompareAndSwap(false, true) {
		return nil
	}
	data, atts, err := parser.AppendData(make([]byte, 0, 32), nil, args...)
	if err != nil {
		return fmt.Errorf("socketio: encoding ack of %q: %w", e.Name, err)
	}
	p := &parser.Packet{Type: parser.Ack, Namespace: e.Socket.nsp.name, ID: e.ackID, HasID: true,
		Data: data, Attachments: atts}
	if !e.Socket.Connected() {
		return ErrDisconnected
	}
	return e.Socket.client.sendMessage(adapter.Encode(p, adapter.Flags{}))
}
