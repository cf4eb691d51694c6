package socketio

import "encoding/json"

// MarshalJSON encodes the handshake as Node serialises socket.handshake:
// lower-case header names joined into strings, time as JavaScript's
// Date.toString, issued in milliseconds, the query's single values as
// strings. A port of a Node program that sends socket.handshake to a client
// gets the same JSON.
func (h *Handshake) MarshalJSON() ([]byte, error) { return json.Marshal(h.wire()) }
