package socketio

import (
	"encoding/json"
	"errors"

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
	// ErrAckTimeout is returned (wrapping the context's error) when an ack
	// does not arrive in time.
	ErrAckTimeout = errors.New("socketio: operation has timed out")
	// ErrDisconnected is returned for operations on a disconnected socket,
	// and by EmitWithAck when the socket disconnects before acknowledging.
	ErrDisconnected = errors.New("socketio: socket disconnected")
	// ErrReservedEvent is returned when emitting a reserved event name.
	ErrReservedEvent = errors.New("socketio: reserved event name")
)

// ConnectError refuses a namespace connection from a middleware. The client
// receives CONNECT_ERROR {"message": Message, "data": Data}.
type ConnectError struct {
	Message string
	// Data is sent as the error's data when not nil; it is encoded as JSON.
	Data any
}

func (e *ConnectError) Error() string { return e.Message }

// connectErrorPayload encodes err as Node's CONNECT_ERROR payload.
func connectErrorPayload(err error) json.RawMessage {
	msg := err.Error()
	var data any
	var ce *ConnectError
	if errors.As(err, &ce) {
		msg, data = ce.Message, ce.Data
	}
	values := []any{msg}
	if data != nil {
		values = append(values, data)
	}
	b, _, encErr := parser.EncodeData(values...)
	if encErr != nil {
		b, _, _ = parser.EncodeData(msg)
		data = nil
	}
	// b is ["msg",data]: rewrite into {"message":"msg","data":data}.
	args, _ := (&parser.Packet{Data: b}).Args()
	out := append([]byte(`{"message":`), args[0].JSON()...)
	if len(args) > 1 {
		out = append(out, `,"data":`...)
		out = append(out, args[1].JSON()...)
	}
	return append(out, '}')
}

func isReserved(event string) bool {
	switch event {
	case "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener":
		return true
	}
	return false
}
