package clusterwire

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/parser"
)

var errPacket = errors.New("clusterwire: invalid packet")

// Packet is a socket.io-parser packet object as adapters exchange it:
// {type, data, nsp, id?}. Binary values in Data are placeholders whose
// attachments travel with the enclosing message.
type Packet struct {
	Type int             `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
	Nsp  *string         `json:"nsp,omitempty"`
	ID   *uint64         `json:"id,omitempty"`
}

// PacketToWire describes p as Node's adapters publish it: EVENT and ACK
// types even when binary, the namespace set. Its attachments are
// p.Attachments.
func PacketToWire(p *parser.Packet) Packet {
	t := p.Type
	switch t {
	case parser.BinaryEvent:
		t = parser.Event
	case parser.BinaryAck:
		t = parser.Ack
	}
	nsp := p.Namespace
	if nsp == "" {
		nsp = "/"
	}
	w := Packet{Type: int(t), Data: p.Data, Nsp: &nsp}
	if p.HasID {
		id := p.ID
		w.ID = &id
	}
	return w
}

// ToParser returns the packet for namespace nsp, taking the attachments
// its placeholders refer to from atts (renumbered from 0).
func (w Packet) ToParser(nsp string, atts [][]byte) (*parser.Packet, error) {
	var t parser.Type
	switch w.Type {
	case 2, 5:
		t = parser.Event
	case 3, 6:
		t = parser.Ack
	case 0, 1, 4:
		t = parser.Type(w.Type)
	default:
		return nil, errPacket
	}
	p := &parser.Packet{Type: t, Namespace: nsp, Data: w.Data}
	if w.ID != nil {
		p.ID, p.HasID = *w.ID, true
	}
	if len(atts) > 0 && len(p.Data) > 0 {
		data, used, err := Renumber(p.Data, atts)
		if err != nil {
			return nil, err
		}
		p.Data, p.Attachments = data, used
	}
	return p, nil
}

// Renumber rewrites a JSON array whose placeholders refer to atts so that
// they refer, from 0, to the returned attachments only.
func Renumber(data json.RawMessage, atts [][]byte) (json.RawMessage, [][]byte, error) {
	src := parser.Packet{Data: data, Attachments: atts}
	args, err := src.Args()
	if err != nil {
		return nil, nil, err
	}
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = a
	}
	return parser.EncodeData(vals...)
}

// ArgFromWire returns the value raw (JSON, placeholders referring to atts)
// as a parser.Arg; empty raw is JSON null.
func ArgFromWire(raw json.RawMessage, atts [][]byte) (parser.Arg, error) {
	if len(raw) == 0 {
		return parser.Arg{}, nil
	}
	wrapped := make([]byte, 0, len(raw)+2)
	wrapped = append(append(append(wrapped, '['), raw...), ']')
	p := parser.Packet{Data: wrapped, Attachments: atts}
	args, err := p.Args()
	if err != nil {
		return parser.Arg{}, err
	}
	if len(args) != 1 {
		return parser.Arg{}, errPacket
	}
	return args[0], nil
}

// ArgsFromWire splits a JSON array (placeholders referring to atts) into
// parser.Args.
func ArgsFromWire(raw json.RawMessage, atts [][]byte) ([]parser.Arg, error) {
	p := parser.Packet{Data: raw, Attachments: atts}
	return p.Args()
}

// ValueToWire encodes any value parser.EncodeData accepts (an Arg, []byte,
// JSON-able values...) as one JSON value with placeholders, appending its
// attachments to atts.
func ValueToWire(v any, atts [][]byte) (json.RawMessage, [][]byte, error) {
	data, atts, err := parser.AppendData(nil, atts, v)
	if err != nil {
		return nil, atts, err
	}
	return data[1 : len(data)-1], atts, nil
}

// Flags are a broadcast's flags as Node publishes them.
type Flags struct {
	Volatile bool     `json:"volatile,omitempty"`
	Compress *bool    `json:"compress,omitempty"`
	Local    bool     `json:"local,omitempty"`
	Timeout  *float64 `json:"timeout,omitempty"`
}

// Opts select sockets: {rooms, except, flags?}.
type Opts struct {
	Rooms  Rooms  `json:"rooms"`
	Except Rooms  `json:"except"`
	Flags  *Flags `json:"flags,omitempty"`
}

// Rooms is a list of room names. Decoding accepts numbers too, since Node
// rooms may be numbers; they become their decimal text.
type Rooms []string

// UnmarshalJSON accepts an array of strings and numbers, or null.
func (r *Rooms) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(Rooms, 0, len(raw))
	for _, e := range raw {
		var s string
		if err := json.Unmarshal(e, &s); err == nil {
			out = append(out, s)
			continue
		}
		var f float64
		if err := json.Unmarshal(e, &f); err != nil {
			return err
		}
		out = append(out, string(AppendJSNumber(nil, f)))
	}
	*r = out
	return nil
}

// OptsToWire converts adapter options; flags are included when withFlags.
func OptsToWire(o adapter.Options, withFlags bool) Opts {
	w := Opts{Rooms: nonNil(o.Rooms), Except: nonNil(dedupe(o.Except))}
	if withFlags {
		w.Flags = FlagsToWire(o.Flags)
	}
	return w
}

// FlagsToWire converts adapter flags.
func FlagsToWire(f adapter.Flags) *Flags {
	w := &Flags{Volatile: f.Volatile, Local: f.Local}
	if f.NoCompress {
		no := false
		w.Compress = &no
	}
	if f.Timeout > 0 {
		ms := float64(f.Timeout.Milliseconds())
		w.Timeout = &ms
	}
	return w
}

// ToAdapter converts wire options.
func (o Opts) ToAdapter() adapter.Options {
	a := adapter.Options{Rooms: o.Rooms, Except: o.Except}
	if o.Flags != nil {
		a.Flags = o.Flags.ToAdapter()
	}
	return a
}

// ToAdapter converts wire flags.
func (f Flags) ToAdapter() adapter.Flags {
	a := adapter.Flags{Volatile: f.Volatile, Local: f.Local, NoCompress: f.Compress != nil && !*f.Compress}
	if f.Timeout != nil && *f.Timeout > 0 && *f.Timeout < math.MaxInt32 {
		a.Timeout = time.Duration(*f.Timeout * float64(time.Millisecond))
	}
	return a
}

func nonNil(s []string) Rooms {
	if s == nil {
		return Rooms{}
	}
	return s
}

func dedupe(s []string) []string {
	if len(s) < 2 {
		return s
	}
	seen := make(map[string]struct{}, len(s))
	out := make([]string, 0, len(s))
	for _, r := range s {
		if _, ok := seen[r]; !ok {
			seen[r] = struct{}{}
			out = append(out, r)
		}
	}
	return out
}

var encPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// marshalJSON encodes v without HTML escaping and without a final newline.
func marshalJSON(v any) ([]byte, error) {
	buf := encPool.Get().(*bytes.Buffer)
	defer func() { buf.Reset(); encPool.Put(buf) }()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.Clone(bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})), nil
}

// Encode returns v as JSON, or as MessagePack when atts is not empty or
// msgpack is set (placeholders in v referring to atts become bin).
func Encode(v any, atts [][]byte, msgpack bool) ([]byte, error) {
	js, err := marshalJSON(v)
	if err != nil {
		return nil, err
	}
	if len(atts) == 0 && !msgpack {
		return js, nil
	}
	return JSONToMsgpack(make([]byte, 0, len(js)+16), js, atts)
}

// Decode decodes a JSON (first byte '{') or MessagePack message into v and
// returns the attachments its placeholders refer to.
func Decode(b []byte, v any) ([][]byte, error) {
	if len(b) == 0 {
		return nil, errShort
	}
	if b[0] == '{' {
		return nil, json.Unmarshal(b, v)
	}
	js, atts, n, err := MsgpackToJSON(make([]byte, 0, len(b)+len(b)/2), nil, b)
	if err != nil {
		return nil, err
	}
	if n != len(b) {
		return nil, errors.New("clusterwire: " + strconv.Itoa(len(b)-n) + " trailing bytes")
	}
	return atts, json.Unmarshal(js, v)
}
