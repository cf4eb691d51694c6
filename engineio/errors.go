package engineio

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// Handshake and request error codes, as Node's engine.io numbers them.
const (
	CodeUnknownTransport   = 0
	CodeUnknownSID         = 1
	CodeBadHandshakeMethod = 2
	CodeBadRequest         = 3
	CodeForbidden          = 4
	CodeUnsupportedVersion = 5
)

var codeMessages = [...]string{
	CodeUnknownTransport:   "Transport unknown",
	CodeUnknownSID:         "Session ID unknown",
	CodeBadHandshakeMethod: "Bad handshake method",
	CodeBadRequest:         "Bad request",
	CodeForbidden:          "Forbidden",
	CodeUnsupportedVersion: "Unsupported protocol version",
}

// CodeMessage returns Node's message for an error code.
func CodeMessage(code int) string {
	if code < 0 || code >= len(codeMessages) {
		return "Bad request"
	}
	return codeMessages[code]
}

// RequestError is a refused request: the code, the message sent to the
// client, and the context that explains it (Node's context names, such as
// TRANSPORT_MISMATCH).
type RequestError struct {
	Code    int
	Message string
	Context string
}

// Error returns the message, with its context when there is one.
func (e *RequestError) Error() string {
	if e.Context != "" {
		return "engine.io: " + e.Message + " (" + e.Context + ")"
	}
	return "engine.io: " + e.Message
}

func requestError(code int, context string) *RequestError {
	return &RequestError{Code: code, Message: CodeMessage(code), Context: context}
}

// status is the HTTP status of a polling error: 403 for Forbidden, else 400.
func (e *RequestError) status() int {
	if e.Code == CodeForbidden {
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

// body is the JSON error body, byte for byte as Node writes it.
func (e *RequestError) body() []byte {
	b := make([]byte, 0, 48+len(e.Message))
	b = append(b, `{"code":`...)
	b = strconv.AppendInt(b, int64(e.Code), 10)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, e.Message)
	return append(b, '}')
}

// Errors returned by Conn.Send.
var (
	// ErrClosed reports a send on a closed connection.
	ErrClosed = errors.New("engine.io: connection closed")
	// ErrQueueFull reports that the connection's outbound queue is full;
	// the connection is closed with reason ReasonSlowClient.
	ErrQueueFull = errors.New("engine.io: outbound queue full")
)

// appendJSONString appends s as a JSON string the way JavaScript's
// JSON.stringify writes it (no HTML escaping).
func appendJSONString(dst []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}
