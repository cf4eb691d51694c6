package clusterwire

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/parser"
)

// RequestType is the type of a request between nodes of the classic Redis
// adapter (@socket.io/redis-adapter 8.x).
type RequestType int

// Request types of @socket.io/redis-adapter.
const (
	Sockets              RequestType = 0
	AllRooms             RequestType = 1
	RemoteJoin           RequestType = 2
	RemoteLeave          RequestType = 3
	RemoteDisconnect     RequestType = 4
	RemoteFetch          RequestType = 5
	ServerSideEmit       RequestType = 6
	BroadcastReq         RequestType = 7
	BroadcastClientCount RequestType = 8
	BroadcastAck         RequestType = 9
)

// Request is a message on the request channel <key>-request#<nsp>#. Which
// fields are set depends on Type, with Node's field names.
type Request struct {
	UID       string      `json:"uid,omitempty"`
	RequestID string      `json:"requestId,omitempty"`
	Type      RequestType `json:"type"`
	// Rooms: target rooms of SOCKETS; rooms to join or leave for
	// REMOTE_JOIN and REMOTE_LEAVE.
	Rooms Rooms `json:"rooms,omitempty"`
	Opts  *Opts `json:"opts,omitempty"`
	// Close is REMOTE_DISCONNECT's close flag.
	Close *bool `json:"close,omitempty"`
	// Data is SERVER_SIDE_EMIT's [event, ...args].
	Data json.RawMessage `json:"data,omitempty"`
	// Packet is BROADCAST's packet (without id).
	Packet *Packet `json:"packet,omitempty"`
	// SID and Room are the legacy (adapter < 7) forms of REMOTE_JOIN,
	// REMOTE_LEAVE and REMOTE_DISCONNECT.
	SID  string `json:"sid,omitempty"`
	Room string `json:"room,omitempty"`
}

// Response is a message on a response channel. Type is set only for
// SERVER_SIDE_EMIT, BROADCAST_CLIENT_COUNT and BROADCAST_ACK responses.
type Response struct {
	Type      RequestType `json:"type,omitempty"`
	RequestID string      `json:"requestId"`
	// Sockets: socket ids for SOCKETS, socket descriptions for REMOTE_FETCH.
	Sockets json.RawMessage `json:"sockets,omitempty"`
	Rooms   Rooms           `json:"rooms,omitempty"`
	// Data is SERVER_SIDE_EMIT's reply (the handler's first ack argument).
	Data        json.RawMessage `json:"data,omitempty"`
	ClientCount *int            `json:"clientCount,omitempty"`
	// Packet is BROADCAST_ACK's client reply (its first ack argument).
	Packet json.RawMessage `json:"packet,omitempty"`
	// UID is a Switchboard extension naming the responding node; Node
	// nodes ignore it and do not send it.
	UID string `json:"uid,omitempty"`
}

// EncodeRequest encodes r as Node does: JSON, except BROADCAST (always
// MessagePack) and requests carrying binary attachments (MessagePack, which
// Node nodes decode since the first byte is not '{').
func EncodeRequest(r *Request, atts [][]byte) ([]byte, error) {
	return Encode(r, atts, r.Type == BroadcastReq)
}

// DecodeRequest decodes a JSON or MessagePack request.
func DecodeRequest(b []byte) (*Request, [][]byte, error) {
	r := new(Request)
	atts, err := Decode(b, r)
	if err != nil {
		return nil, nil, err
	}
	return r, atts, nil
}

// EncodeResponse encodes r: JSON, except BROADCAST_ACK (always MessagePack)
// and responses carrying binary attachments.
func EncodeResponse(r *Response, atts [][]byte) ([]byte, error) {
	return Encode(r, atts, r.Type == BroadcastAck)
}

// DecodeResponse decodes a JSON or MessagePack response.
func DecodeResponse(b []byte) (*Response, [][]byte, error) {
	r := new(Response)
	atts, err := Decode(b, r)
	if err != nil {
		return nil, nil, err
	}
	return r, atts, nil
}

// DecodeSocketInfos decodes REMOTE_FETCH / FETCH_SOCKETS_RESPONSE sockets.
func DecodeSocketInfos(raw json.RawMessage) ([]adapter.SocketInfo, error) {
	var out []adapter.SocketInfo
	if len(raw) == 0 {
		return nil, nil
	}
	err := json.Unmarshal(raw, &out)
	return out, err
}

// Broadcast is a decoded message of the classic adapter's broadcast
// channels: [uid, packet, {rooms, except, flags}].
type Broadcast struct {
	UID string
	// Packet's Namespace is the packet's nsp ("/" when absent).
	Packet *parser.Packet
	Opts   adapter.Options
	// Seq is the publisher's sequence number on the namespace, a
	// Switchboard extension sent as a 4th array element (Node nodes
	// ignore it); 0 when absent.
	Seq uint64
}

// AppendBroadcast appends the MessagePack broadcast message of uid for p
// (whose Namespace is the adapter's) and opts, as @socket.io/redis-adapter
// and @socket.io/redis-emitter publish it.
func AppendBroadcast(dst []byte, uid string, p *parser.Packet, opts adapter.Options) ([]byte, error) {
	return AppendBroadcastSeq(dst, uid, 0, p, opts)
}

// AppendBroadcastSeq is AppendBroadcast with the publisher's sequence
// number as a 4th array element when seq is not zero: Node's adapter
// destructures [uid, packet, opts] and ignores it.
func AppendBroadcastSeq(dst []byte, uid string, seq uint64, p *parser.Packet, opts adapter.Options) ([]byte, error) {
	w := PacketToWire(p)
	if seq != 0 {
		dst = appendArrayLen(dst, 4)
	} else {
		dst = appendArrayLen(dst, 3)
	}
	dst = appendStr(dst, uid)
	n := 3
	if w.ID != nil {
		n = 4
	}
	dst = appendMapLen(dst, n)
	dst = appendInt(appendStr(dst, "type"), int64(w.Type))
	dst = appendStr(dst, "data")
	if len(w.Data) == 0 {
		dst = appendNil(dst)
	} else {
		var err error
		if dst, err = JSONToMsgpack(dst, w.Data, p.Attachments); err != nil {
			return nil, err
		}
	}
	dst = appendStr(appendStr(dst, "nsp"), *w.Nsp)
	if w.ID != nil {
		dst = appendUint(appendStr(dst, "id"), *w.ID)
	}
	dst = appendMapLen(dst, 3)
	dst = appendStrings(appendStr(dst, "rooms"), opts.Rooms)
	dst = appendStrings(appendStr(dst, "except"), dedupe(opts.Except))
	dst = appendFlags(appendStr(dst, "flags"), opts.Flags)
	if seq != 0 {
		dst = appendUint(dst, seq)
	}
	return dst, nil
}

func appendFlags(dst []byte, f adapter.Flags) []byte {
	n := 0
	for _, set := range []bool{f.Volatile, f.NoCompress, f.Local, f.Timeout > 0} {
		if set {
			n++
		}
	}
	dst = appendMapLen(dst, n)
	if f.Volatile {
		dst = appendBool(appendStr(dst, "volatile"), true)
	}
	if f.NoCompress {
		dst = appendBool(appendStr(dst, "compress"), false)
	}
	if f.Local {
		dst = appendBool(appendStr(dst, "local"), true)
	}
	if f.Timeout > 0 {
		dst = appendInt(appendStr(dst, "timeout"), f.Timeout.Milliseconds())
	}
	return dst
}

var errBroadcast = errors.New("clusterwire: invalid broadcast message")

// DecodeBroadcast decodes a broadcast message. Binary values of the packet
// data become attachments (aliasing b).
func DecodeBroadcast(b []byte) (Broadcast, error) {
	r := reader{b: b}
	n, err := r.arrayLen()
	if err != nil || n < 3 {
		return Broadcast{}, errBroadcast
	}
	var out Broadcast
	if !r.isNil() {
		if out.UID, err = r.str(); err != nil {
			return Broadcast{}, err
		}
	}
	if out.Packet, err = readPacket(&r); err != nil {
		return Broadcast{}, err
	}
	if out.Opts, err = readOpts(&r); err != nil {
		return Broadcast{}, err
	}
	if out.Seq, err = readSeq(&r, n); err != nil {
		return Broadcast{}, err
	}
	if r.i != len(b) {
		return Broadcast{}, errBroadcast
	}
	return out, nil
}

// readSeq reads the elements after the 3rd of an n-element broadcast array:
// the sequence number (when the 4th is a positive integer), then anything
// else, skipped.
func readSeq(r *reader, n int) (uint64, error) {
	var seq uint64
	for k := 3; k < n; k++ {
		if c, err := r.peek(); err == nil && k == 3 && (c <= 0x7f || c >= 0xcc && c <= 0xcf) {
			_, i, isInt, err := r.number()
			if err != nil {
				return 0, err
			}
			if isInt && i > 0 {
				seq = uint64(i)
			}
			continue
		}
		if err := r.skip(1); err != nil {
			return 0, err
		}
	}
	return seq, nil
}

// PeekBroadcast reads only the sender's uid and sequence number of a
// broadcast message, skipping its packet and options.
func PeekBroadcast(b []byte) (uid string, seq uint64, err error) {
	r := reader{b: b}
	n, err := r.arrayLen()
	if err != nil || n < 3 {
		return "", 0, errBroadcast
	}
	if !r.isNil() {
		if uid, err = r.str(); err != nil {
			return "", 0, err
		}
	}
	if err := r.skip(1); err != nil {
		return "", 0, err
	}
	if err := r.skip(1); err != nil {
		return "", 0, err
	}
	seq, err = readSeq(&r, n)
	return uid, seq, err
}

func readPacket(r *reader) (*parser.Packet, error) {
	n, err := r.mapLen()
	if err != nil {
		return nil, err
	}
	w := Packet{Type: -1}
	var atts [][]byte
	nsp := "/"
	for ; n > 0; n-- {
		key, err := r.strBytes()
		if err != nil {
			return nil, err
		}
		switch string(key) {
		case "type":
			_, i, isInt, err := r.number()
			if err != nil || !isInt {
				return nil, errPacket
			}
			w.Type = int(min(max(i, -1), 100))
		case "data":
			js, a, used, err := MsgpackToJSON(nil, nil, r.b[r.i:])
			if err != nil {
				return nil, err
			}
			r.i += used
			w.Data, atts = js, a
		case "nsp":
			if r.isNil() {
				continue
			}
			if nsp, err = r.str(); err != nil {
				return nil, err
			}
		case "id":
			_, i, isInt, err := r.number()
			if err == nil && isInt && i >= 0 {
				id := uint64(i)
				w.ID = &id
			}
		default:
			if err := r.skip(1); err != nil {
				return nil, err
			}
		}
	}
	return w.ToParser(nsp, atts)
}

func readOpts(r *reader) (adapter.Options, error) {
	var o adapter.Options
	if r.isNil() {
		return o, nil
	}
	n, err := r.mapLen()
	if err != nil {
		return o, err
	}
	for ; n > 0; n-- {
		key, err := r.strBytes()
		if err != nil {
			return o, err
		}
		switch string(key) {
		case "rooms":
			o.Rooms, err = readRooms(r)
		case "except":
			o.Except, err = readRooms(r)
		case "flags":
			o.Flags, err = readFlags(r)
		default:
			err = r.skip(1)
		}
		if err != nil {
			return o, err
		}
	}
	return o, nil
}

// readRooms reads an array of room names (strings, or numbers as Node
// allows), or nil.
func readRooms(r *reader) ([]string, error) {
	if r.isNil() {
		return nil, nil
	}
	n, err := r.arrayLen()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, n)
	for ; n > 0; n-- {
		c, err := r.peek()
		if err != nil {
			return nil, err
		}
		if c&0xe0 == 0xa0 || c >= 0xd9 && c <= 0xdb {
			s, err := r.str()
			if err != nil {
				return nil, err
			}
			out = append(out, s)
			continue
		}
		f, _, _, err := r.number()
		if err != nil {
			return nil, err
		}
		out = append(out, string(AppendJSNumber(nil, f)))
	}
	return out, nil
}

func readFlags(r *reader) (adapter.Flags, error) {
	var f adapter.Flags
	if r.isNil() {
		return f, nil
	}
	n, err := r.mapLen()
	if err != nil {
		return f, err
	}
	for ; n > 0; n-- {
		key, err := r.strBytes()
		if err != nil {
			return f, err
		}
		if r.isNil() {
			continue
		}
		switch string(key) {
		case "volatile":
			f.Volatile, err = truthy(r)
		case "compress":
			var v bool
			v, err = truthy(r)
			f.NoCompress = !v
		case "local":
			f.Local, err = truthy(r)
		case "timeout":
			var ms float64
			ms, _, _, err = r.number()
			if ms > 0 && ms < 1<<31 {
				f.Timeout = time.Duration(ms * float64(time.Millisecond))
			}
		default:
			err = r.skip(1)
		}
		if err != nil {
			return f, err
		}
	}
	return f, nil
}

// truthy reads a bool; any other value counts as true, as in JavaScript
// (close enough for flags).
func truthy(r *reader) (bool, error) {
	v, err := r.boolean()
	if err == errType {
		return true, r.skip(1)
	}
	return v, err
}
