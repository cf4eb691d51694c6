package clusterwire

import (
	"encoding/json"
)

// MessageType is the type of a socket.io-adapter ClusterAdapter message,
// used by the sharded Redis adapter.
type MessageType int

// ClusterAdapter message types.
const (
	InitialHeartbeat        MessageType = 1
	Heartbeat               MessageType = 2
	BroadcastMsg            MessageType = 3
	SocketsJoin             MessageType = 4
	SocketsLeave            MessageType = 5
	DisconnectSockets       MessageType = 6
	FetchSockets            MessageType = 7
	FetchSocketsResponse    MessageType = 8
	ServerSideEmitMsg       MessageType = 9
	ServerSideEmitResponse  MessageType = 10
	BroadcastClientCountMsg MessageType = 11
	BroadcastAckMsg         MessageType = 12
	AdapterClose            MessageType = 13
)

// Message is a ClusterAdapter message or response: {uid, nsp, type, data}.
type Message struct {
	UID  string          `json:"uid"`
	Nsp  string          `json:"nsp"`
	Type MessageType     `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
}

// MessageData is the union of the data of every message type, with Node's
// field names; each type sets its own fields.
type MessageData struct {
	// BROADCAST, SOCKETS_JOIN, SOCKETS_LEAVE, DISCONNECT_SOCKETS,
	// FETCH_SOCKETS.
	Opts *Opts `json:"opts,omitempty"`
	// Packet: BROADCAST's packet object, or (as raw JSON) SERVER_SIDE_EMIT's
	// [event, ...args] and the first ack argument of SERVER_SIDE_EMIT_RESPONSE
	// and BROADCAST_ACK.
	Packet json.RawMessage `json:"packet,omitempty"`
	// RequestID: BROADCAST with acks, FETCH_SOCKETS, SERVER_SIDE_EMIT with
	// ack, and every response.
	RequestID string `json:"requestId,omitempty"`
	// Rooms to join or leave.
	Rooms Rooms `json:"rooms,omitempty"`
	// Close is DISCONNECT_SOCKETS' flag.
	Close *bool `json:"close,omitempty"`
	// Sockets of FETCH_SOCKETS_RESPONSE.
	Sockets json.RawMessage `json:"sockets,omitempty"`
	// ClientCount of BROADCAST_CLIENT_COUNT.
	ClientCount *int `json:"clientCount,omitempty"`
}

// mayContainBinary lists the types the sharded adapter encodes as
// MessagePack when their data holds binary values.
func (t MessageType) mayContainBinary() bool {
	switch t {
	case BroadcastMsg, BroadcastAckMsg, FetchSocketsResponse, ServerSideEmitMsg, ServerSideEmitResponse:
		return true
	}
	return false
}

// EncodeMessage encodes m with data d (nil for none) as the sharded adapter
// does: JSON, or MessagePack when the type may carry binary and atts (the
// attachments d's placeholders refer to) is not empty.
func EncodeMessage(m Message, d *MessageData, atts [][]byte) ([]byte, error) {
	return encodeMessage(m, d, atts, false)
}

// encodeMessage sets m's data to d (nil for none) and encodes m with
// Encode; attachments are kept only for types that may carry binary.
func encodeMessage(m Message, d *MessageData, atts [][]byte, packed bool) ([]byte, error) {
	if d != nil {
		js, err := marshalJSON(d)
		if err != nil {
			return nil, err
		}
		m.Data = js
	}
	if !m.Type.mayContainBinary() {
		atts = nil
	}
	return Encode(&m, atts, packed)
}

// DecodeMessage decodes a JSON or MessagePack message and its data.
func DecodeMessage(b []byte) (*Message, *MessageData, [][]byte, error) {
	m := new(Message)
	atts, err := Decode(b, m)
	if err != nil {
		return nil, nil, nil, err
	}
	d := new(MessageData)
	if len(m.Data) > 0 && string(m.Data) != "null" {
		if err := json.Unmarshal(m.Data, d); err != nil {
			return nil, nil, nil, err
		}
	}
	return m, d, atts, nil
}
