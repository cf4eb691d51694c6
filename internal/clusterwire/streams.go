package clusterwire

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/switchboard-io/switchboard/adapter"
)

// Stream entry fields of @socket.io/redis-streams-adapter 0.3: uid, nsp,
// type (decimal text) and data (JSON text, or base64 of MessagePack when the
// data holds binary values). Switchboard nodes add SeqField, the
// publisher's sequence number on the stream, which Node nodes ignore.
const (
	UIDField  = "uid"
	NspField  = "nsp"
	TypeField = "type"
	DataField = "data"
	SeqField  = "sbseq"
)

var errEntry = errors.New("clusterwire: invalid stream entry")

// EncodeStreamEntry returns the field/value list of the XADD of message m
// with data d (nil for none), as the streams adapter writes it, plus
// SeqField when seq is not zero.
func EncodeStreamEntry(m Message, d *MessageData, atts [][]byte, seq uint64) ([]string, error) {
	out := make([]string, 0, 10)
	out = append(out, UIDField, m.UID, NspField, m.Nsp, TypeField, strconv.Itoa(int(m.Type)))
	if d != nil {
		js, err := marshalJSON(d)
		if err != nil {
			return nil, err
		}
		data := string(js)
		if m.Type.mayContainBinary() && len(atts) > 0 {
			mp, err := JSONToMsgpack(make([]byte, 0, len(js)+16), js, atts)
			if err != nil {
				return nil, err
			}
			data = base64.StdEncoding.EncodeToString(mp)
		}
		out = append(out, DataField, data)
	}
	if seq != 0 {
		out = append(out, SeqField, strconv.FormatUint(seq, 10))
	}
	return out, nil
}

// DecodeStreamEntry decodes the fields of a stream entry: the message, its
// data (empty when absent), the attachments its placeholders refer to, and
// the publisher's sequence number (0 when absent or malformed).
func DecodeStreamEntry(fields map[string]string) (*Message, *MessageData, [][]byte, uint64, error) {
	m := &Message{UID: fields[UIDField], Nsp: fields[NspField]}
	t, err := strconv.Atoi(fields[TypeField])
	if err != nil || m.Nsp == "" {
		return nil, nil, nil, 0, errEntry
	}
	m.Type = MessageType(t)
	seq, _ := strconv.ParseUint(fields[SeqField], 10, 64)
	d := new(MessageData)
	raw := fields[DataField]
	if raw == "" {
		return m, d, nil, seq, nil
	}
	var atts [][]byte
	js := []byte(raw)
	if !strings.HasPrefix(raw, "{") {
		mp, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return nil, nil, nil, 0, err
		}
		var n int
		js, atts, n, err = MsgpackToJSON(make([]byte, 0, len(mp)+len(mp)/2), nil, mp)
		if err != nil {
			return nil, nil, nil, 0, err
		}
		if n != len(mp) {
			return nil, nil, nil, 0, errEntry
		}
	}
	if err := json.Unmarshal(js, d); err != nil {
		return nil, nil, nil, 0, err
	}
	m.Data = js
	return m, d, atts, seq, nil
}

// EncodeMessagePacked encodes m with data d as MessagePack whatever its
// content, as the streams adapter publishes its ephemeral messages and
// responses.
func EncodeMessagePacked(m Message, d *MessageData, atts [][]byte) ([]byte, error) {
	return encodeMessage(m, d, atts, true)
}

// wireSession is a session as the streams adapter stores it.
type wireSession struct {
	SID   string          `json:"sid"`
	PID   string          `json:"pid"`
	Rooms Rooms           `json:"rooms"`
	Data  json.RawMessage `json:"data"`
}

// EncodeSession returns the value of a session key, as the streams adapter
// writes it: base64 of MessagePack {sid, pid, rooms, data}. Data that
// cannot be transcoded is stored as null.
func EncodeSession(s *adapter.Session) (string, error) {
	w := wireSession{SID: s.SID, PID: s.PID, Rooms: nonNil(s.Rooms), Data: s.Data}
	if len(w.Data) == 0 || !json.Valid(w.Data) {
		w.Data = json.RawMessage("null")
	}
	js, err := marshalJSON(w)
	if err != nil {
		return "", err
	}
	mp, err := JSONToMsgpack(make([]byte, 0, len(js)), js, nil)
	if err != nil {
		w.Data = json.RawMessage("null")
		if js, err = marshalJSON(w); err != nil {
			return "", err
		}
		if mp, err = JSONToMsgpack(make([]byte, 0, len(js)), js, nil); err != nil {
			return "", err
		}
	}
	return base64.StdEncoding.EncodeToString(mp), nil
}

// DecodeSession decodes the value of a session key. Binary values in the
// session's data (Node sessions may hold some) are dropped.
func DecodeSession(v string) (*adapter.Session, error) {
	mp, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, err
	}
	js, _, n, err := MsgpackToJSON(make([]byte, 0, len(mp)+len(mp)/2), nil, mp)
	if err != nil {
		return nil, err
	}
	if n != len(mp) || len(js) == 0 || js[0] != '{' {
		return nil, errEntry
	}
	var w wireSession
	if err := json.Unmarshal(js, &w); err != nil {
		return nil, err
	}
	if w.SID == "" || w.PID == "" {
		return nil, errEntry
	}
	if len(w.Data) == 0 {
		w.Data = json.RawMessage("null")
	}
	return &adapter.Session{SID: w.SID, PID: w.PID, Rooms: w.Rooms, Data: w.Data}, nil
}
