package parser

import "errors"

// DecodeError reports a malformed packet or an invalid sequence of messages.
// The server answers any DecodeError by closing the Engine.IO connection
// (disconnect reason "parse error").
type DecodeError struct {
	// Reason describes the problem, using the socket.io-parser wording where
	// one exists ("unknown packet type", "Illegal attachments",
	// "too many attachments", "invalid payload", "illegal attachments").
	Reason string

	err error // wrapped cause, if any
}

// Error returns "socket.io parser: " followed by the reason.
func (e *DecodeError) Error() string { return "socket.io parser: " + e.Reason }

// Unwrap returns the cause of e, such as ErrReservedEvent, or nil.
func (e *DecodeError) Unwrap() error { return e.err }

// ErrReservedEvent is wrapped by the DecodeError returned for an event whose
// name is reserved (see IsReservedEvent).
var ErrReservedEvent = errors.New("socket.io parser: reserved event name")

// Errors shared by every call; they carry no per-packet detail.
var (
	errUnknownType        = &DecodeError{Reason: "unknown packet type"}
	errIllegalAttCount    = &DecodeError{Reason: "Illegal attachments"}
	errTooManyAtts        = &DecodeError{Reason: "too many attachments"}
	errInvalidPayload     = &DecodeError{Reason: "invalid payload"}
	errIllegalPH          = &DecodeError{Reason: "illegal attachments"}
	errInvalidAckID       = &DecodeError{Reason: "invalid ack id"}
	errTextDuringRecon    = &DecodeError{Reason: "got plaintext data when reconstructing a packet"}
	errBinaryWithoutRecon = &DecodeError{Reason: "got binary data when not reconstructing a packet"}
	errNotArray           = &DecodeError{Reason: "data is not a JSON array"}
	errNotEvent           = &DecodeError{Reason: "not an event packet"}
)

func reservedEventError(name string) error {
	return &DecodeError{Reason: "reserved event name " + quoteForError(name), err: ErrReservedEvent}
}

// quoteForError quotes s for an error message, cutting it short.
func quoteForError(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "..."
	}
	return `"` + s + `"`
}

var reservedEvents = [...]string{
	"connect", "connect_error", "disconnect", "disconnecting",
	"newListener", "removeListener",
}

// IsReservedEvent reports whether name is reserved by Socket.IO and may
// therefore neither be received nor emitted: connect, connect_error,
// disconnect, disconnecting, newListener and removeListener.
func IsReservedEvent(name string) bool {
	for _, r := range reservedEvents {
		if name == r {
			return true
		}
	}
	return false
}

func isReserved(name []byte) bool {
	for _, r := range reservedEvents {
		if string(name) == r {
			return true
		}
	}
	return false
}
