package socketio

import (
	"encoding/json"
	"errors"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/parser"
)

// Disconnect reasons, as Node's socket.io names them on the server side,
// plus ReasonSlowClient.
const (
	ReasonTransportError            = "transport error"
	ReasonTransportClose            = "transport close"
	ReasonForcedClose               = "forced close"
	ReasonPingTimeout               = "ping timeout"
	ReasonParseError                = "parse error"
	ReasonServerShuttingDown        = "server shutting down"
	ReasonForcedServerClose         = "forced server close"
	ReasonClientNamespaceDisconnect = "client namespace disconnect"
	ReasonServerNamespaceDisconnect = "server namespace disconnect"
	// ReasonSlowClient is Switchboard's own: the client did not read fast
	// enough and its outbound queue filled up.
	ReasonSlowClient = "slow client"
)

var (
	// ErrTimeout is wrapped by the error of every operation that did not
	// complete in time: an ack that did not arrive (EmitWithAck), a
	// cluster operation that did not hear from every node. A *PartialError
	// wraps it as well.
	ErrTimeout = adapter.ErrTimeout
	// ErrDisconnected is returned for operations on a disconnected socket,
	// and by EmitWithAck when the socket disconnects before acknowledging.
	ErrDisconnected = errors.New("socketio: socket disconnected")
	// ErrReservedEvent is returned when emitting a reserved event name
	// (connect, disconnect, ...; see parser.IsReservedEvent).
	ErrReservedEvent = parser.ErrReservedEvent
	// ErrQueueFull is returned when a packet does not fit in the client's
	// outbound queue (engineio.Options.MaxQueueBytes): the packet is
	// dropped, counted in Stats.Dropped, and the connection is closed
	// with ReasonSlowClient.
	ErrQueueFull = engineio.ErrQueueFull
)

// Parser is a Socket.IO packet format (see Options.Parser).
type Parser int

const (
	// ParserJSON is the default format (socket.io-parser): a text message
	// per packet, binary values as attachments in binary messages.
	ParserJSON Parser = iota
	// ParserMsgpack is the format of socket.io-msgpack-parser 3.x: one
	// binary message per packet, binary values inline.
	ParserMsgpack
)

// PartialError reports an operation that did not hear from everyone in
// time: a cluster operation missing nodes, a broadcast with acks missing
// clients. The results gathered are returned with it; it wraps ErrTimeout
// (and the context's error, when that ended the wait).
type PartialError = adapter.PartialError

// ConnectError refuses a namespace connection from a middleware. The client
// receives CONNECT_ERROR {"message": Message, "data": Data}.
type ConnectError struct {
	Message string
	// Data is sent as the error's data when not nil; it is encoded as JSON.
	Data any
}

// Error returns the message sent to the client.
func (e *ConnectError) Error() string { return e.Message }

// connectErrorPayload encodes err as Node's CONNECT_ERROR payload.
func connectErrorPayload(err error) json.RawMessage {
	msg := err.Error()
	var data any
	var ce *ConnectError
	if errors.As(err, &ce) {
		msg, data = ce.Message, ce.Data
	}
	m, _ := marshalNoEscape(msg)
	out := append([]byte(`{"message":`), m...)
	if d := connectErrorData(data); d != nil {
		out = append(out, `,"data":`...)
		out = append(out, d...)
	}
	return append(out, '}')
}

// connectErrorData is the JSON of a ConnectError's Data (nil: none). A
// CONNECT_ERROR carries no binary attachment: binary in Data is encoded
// as encoding/json encodes it (base64), where Node would write a Buffer's
// JSON.
func connectErrorData(data any) json.RawMessage {
	if data == nil {
		return nil
	}
	if b, atts, err := parser.EncodeData(data); err == nil && len(atts) == 0 {
		if args, err := (&parser.Packet{Data: b}).Args(); err == nil && len(args) == 1 {
			return args[0].JSON()
		}
	}
	if b, err := marshalNoEscape(data); err == nil {
		return b
	}
	return nil
}

func isReserved(event string) bool { return parser.IsReservedEvent(event) }
