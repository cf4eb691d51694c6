package client

import (
	"encoding/json"
	"errors"
	"strconv"
)

// DisconnectReason says why a socket disconnected, named as Node's
// socket.io-client names it.
type DisconnectReason string

// Disconnect reasons.
const (
	// ReasonServerDisconnect: the server disconnected the socket
	// (socket.disconnect() on the server). The socket does not reconnect.
	ReasonServerDisconnect DisconnectReason = "io server disconnect"
	// ReasonClientDisconnect: Disconnect or Close was called. The socket
	// does not reconnect.
	ReasonClientDisconnect DisconnectReason = "io client disconnect"
	// ReasonPingTimeout: no ping from the server within pingInterval +
	// pingTimeout.
	ReasonPingTimeout DisconnectReason = "ping timeout"
	// ReasonTransportClose: the server closed the connection (a WebSocket
	// closed, or a close packet over polling).
	ReasonTransportClose DisconnectReason = "transport close"
	// ReasonTransportError: the connection failed (an HTTP request failed
	// or was refused, a network error).
	ReasonTransportError DisconnectReason = "transport error"
	// ReasonParseError: the server sent a packet that cannot be decoded.
	ReasonParseError DisconnectReason = "parse error"
)

// reasonForcedClose is the engine reason of a close asked for by the client.
const reasonForcedClose DisconnectReason = "forced close"

// Errors returned by the package. Returned errors wrap them, so test with
// errors.Is.
var (
	// ErrClosed is returned by operations on a closed Manager.
	ErrClosed = errors.New("socketio client: closed")
	// ErrNotConnected is returned by Event.Ack when the socket is not
	// connected, and by Connect when reconnection is off and the
	// connection ends before the namespace was joined.
	ErrNotConnected = errors.New("socketio client: socket not connected")
	// ErrDisconnected is returned by EmitWithAck when the socket
	// disconnects after sending the event and before the ack, and by
	// Connect when Disconnect is called meanwhile.
	ErrDisconnected = errors.New("socketio client: socket has been disconnected")
	// ErrAckTimeout is returned by EmitWithAck, together with the
	// context's error, when the context ends before the ack arrives.
	ErrAckTimeout = errors.New("socketio client: operation has timed out")
	// ErrBufferFull is returned by Emit when the event can neither be sent
	// nor buffered: Options.SendBuffer events are already buffered, or
	// Options.MaxQueuedBytes are waiting to be written.
	ErrBufferFull = errors.New("socketio client: send buffer full")
	// ErrDropped is returned by a volatile Emit whose event was dropped
	// because the socket was not connected or the transport was busy.
	ErrDropped = errors.New("socketio client: volatile event dropped")
	// ErrReservedEvent is returned when emitting a reserved event name
	// (connect, connect_error, disconnect, disconnecting, newListener,
	// removeListener).
	ErrReservedEvent = errors.New("socketio client: reserved event name")
)

// ConnectError is a namespace connection refused by the server
// (CONNECT_ERROR): an unknown namespace ("Invalid namespace") or a
// middleware error, with the data the middleware attached. A refused
// socket does not retry; call Connect again to retry.
type ConnectError struct {
	// Namespace is the refused namespace.
	Namespace string
	// Message is the error message.
	Message string
	// Data is the error's data as raw JSON, nil when the server sent none.
	Data json.RawMessage
}

// Error returns the server's message with the namespace it refused.
func (e *ConnectError) Error() string {
	return "socketio client: connection to namespace " + strconv.Quote(e.Namespace) + " refused: " + e.Message
}

// DecodeData unmarshals Data into v.
func (e *ConnectError) DecodeData(v any) error {
	if len(e.Data) == 0 {
		return json.Unmarshal([]byte("null"), v)
	}
	return json.Unmarshal(e.Data, v)
}

// TransportError is an Engine.IO connection failure: a refused handshake,
// a failed HTTP request, a WebSocket that could not be opened or failed.
type TransportError struct {
	// Transport is "polling" or "websocket".
	Transport string
	// Op is what failed: "handshake", "poll", "post", "dial", "read",
	// "write" or "probe".
	Op string
	// StatusCode is the HTTP status of a refused request, 0 otherwise.
	StatusCode int
	// Code and Message are the Engine.IO error the server sent with a
	// refusal ({"code":1,"message":"Session ID unknown"}); Code is -1
	// when there was none.
	Code    int
	Message string
	// Err is the underlying error, if any.
	Err error
}

// Error describes the transport failure and its cause.
func (e *TransportError) Error() string {
	s := "socketio client: " + e.Transport + " " + e.Op
	if e.StatusCode != 0 {
		s += ": HTTP " + strconv.Itoa(e.StatusCode)
	}
	if e.Code >= 0 {
		s += ": engine.io error " + strconv.Itoa(e.Code)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause of the failure.
func (e *TransportError) Unwrap() error { return e.Err }

func transportErr(transport, op string, err error) *TransportError {
	return &TransportError{Transport: transport, Op: op, Code: -1, Err: err}
}
