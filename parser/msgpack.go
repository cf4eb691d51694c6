package parser

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// The msgpack format of socket.io-msgpack-parser 3.x: each packet is one
// binary message, the msgpack encoding (as notepack.io writes it) of the
// object {type, data, id, nsp}. Binary values travel inline as msgpack
// bin, so there are no attachments and no BINARY_EVENT / BINARY_ACK
// types.
//
// The rest of Switchboard keeps one model of a packet, JSON data with
// placeholders and attachments: DecodeMsgpack transcodes a msgpack packet
// into it, and AppendMsgpack transcodes back, once per packet however many
// clients receive it.

// maxMsgpackDepth bounds the nesting of msgpack values, as the JSON
// scanner bounds JSON's.
const maxMsgpackDepth = 1000

var (
	errMsgpackType    = &DecodeError{Reason: "invalid packet type"}
	errMsgpackNsp     = &DecodeError{Reason: "invalid namespace"}
	errMsgpackID      = &DecodeError{Reason: "invalid packet id"}
	errMsgpackFormat  = &DecodeError{Reason: "invalid msgpack"}
	errMsgpackDepth   = &DecodeError{Reason: "msgpack nested too deeply"}
	errMsgpackMapKey  = &DecodeError{Reason: "msgpack map key is not a string"}
	errMsgpackPacket  = &DecodeError{Reason: "msgpack packet is not a map"}
	errMsgpackTrailer = &DecodeError{Reason: "trailing bytes after the msgpack packet"}
)

// DecodeMsgpack decodes one binary message of the msgpack parser into a
// packet whose Data is JSON with placeholders and whose Attachments are the
// bin values, in order (at most maxAttachments, DefaultMaxAttachments when
// zero). It checks the packet as socket.io-msgpack-parser does (type 0 to
// 4, a string nsp, an integer id, data of the type's shape) and as the text
// decoder does (no reserved event names). The packet does not reference
// msg.
func DecodeMsgpack(msg []byte, maxAttachments int) (*Packet, error) {
	if maxAttachments <= 0 {
		maxAttachments = DefaultMaxAttachments
	}
	r := mpReader{buf: msg, maxAtt: maxAttachments}
	p, err := r.packet()
	if err != nil {
		return nil, err
	}
	if r.pos != len(msg) {
		return nil, errMsgpackTrailer
	}
	p.Attachments = r.atts
	if len(p.Attachments) > 0 {
		switch p.Type {
		case Event:
			p.Type = BinaryEvent
		case Ack:
			p.Type = BinaryAck
		}
	}
	if err := checkPayload(p.Type, p.Data, len(p.Attachments)); err != nil {
		return nil, err
	}
	return p, nil
}

// mpReader reads msgpack values, writing them as JSON.
type mpReader struct {
	buf    []byte
	pos    int
	atts   [][]byte
	maxAtt int
}

// packet reads the top-level packet map.
func (r *mpReader) packet() (*Packet, error) {
	n, ok, err := r.mapHeader()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errMsgpackPacket
	}
	p := &Packet{}
	typeSet, nspSet := false, false
	for range n {
		key, err := r.str()
		if err != nil {
			return nil, err
		}
		switch key {
		case "type":
			t, ok, err := r.integer()
			if err != nil || !ok || t < int64(Connect) || t > int64(ConnectError) {
				return nil, errMsgpackType
			}
			p.Type, typeSet = Type(t), true
		case "nsp":
			nsp, err := r.str()
			if err != nil {
				return nil, errMsgpackNsp
			}
			p.Namespace, nspSet = nsp, true
		case "id":
			if r.peekUndefined() {
				r.skipUndefined()
				continue
			}
			id, ok, err := r.integer()
			if err != nil || !ok || id < 0 || id > maxAckID {
				return nil, errMsgpackID
			}
			p.ID, p.HasID = uint64(id), true
		case "data":
			if r.peekUndefined() {
				r.skipUndefined()
				continue
			}
			r.atts = r.atts[:0] // a repeated data key: the last one counts
			data, err := r.value(nil, 0)
			if err != nil {
				return nil, err
			}
			p.Data = data
		default:
			n := len(r.atts)
			if _, err := r.value(nil, 0); err != nil { // ignored, as in Node
				return nil, err
			}
			r.atts = r.atts[:n] // a bin in it is no attachment
		}
	}
	if !typeSet {
		return nil, errMsgpackType
	}
	if !nspSet {
		return nil, errMsgpackNsp
	}
	return p, nil
}

func (r *mpReader) byte() (byte, error) {
	if r.pos >= len(r.buf) {
		return 0, errMsgpackFormat
	}
	b := r.buf[r.pos]
	r.pos++
	return b, nil
}

// take returns the next n bytes; n is checked against what is left before
// anything is allocated.
func (r *mpReader) take(n uint64) ([]byte, error) {
	if n > uint64(len(r.buf)-r.pos) {
		return nil, errMsgpackFormat
	}
	b := r.buf[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return b, nil
}

// uintN reads a big-endian unsigned integer of size bytes.
func (r *mpReader) uintN(size int) (uint64, error) {
	b, err := r.take(uint64(size))
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(b)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(b)), nil
	default:
		return binary.BigEndian.Uint64(b), nil
	}
}

// mapHeader reads a map header; ok is false (nothing consumed) when the
// next value is not a map.
func (r *mpReader) mapHeader() (n uint64, ok bool, err error) {
	if r.pos >= len(r.buf) {
		return 0, false, errMsgpackFormat
	}
	switch c := r.buf[r.pos]; {
	case c&0xf0 == 0x80:
		r.pos++
		return uint64(c & 0x0f), true, nil
	case c == 0xde || c == 0xdf:
		r.pos++
		size := 2
		if c == 0xdf {
			size = 4
		}
		n, err := r.uintN(size)
		return n, true, err
	}
	return 0, false, nil
}

// str reads a msgpack string.
func (r *mpReader) str() (string, error) {
	c, err := r.byte()
	if err != nil {
		return "", err
	}
	var n uint64
	switch {
	case c&0xe0 == 0xa0:
		n = uint64(c & 0x1f)
	case c == 0xd9:
		n, err = r.uintN(1)
	case c == 0xda:
		n, err = r.uintN(2)
	case c == 0xdb:
		n, err = r.uintN(4)
	default:
		return "", errMsgpackMapKey
	}
	if err != nil {
		return "", err
	}
	b, err := r.take(n)
	if err != nil {
		return "", err
	}
	if !utf8.Valid(b) {
		return string([]rune(string(b))), nil // invalid bytes become U+FFFD, as in JavaScript
	}
	return string(b), nil
}

// integer reads an integer; ok is false when the value is a number that
// is not an integer, or not a number.
func (r *mpReader) integer() (int64, bool, error) {
	raw, err := r.value(nil, maxMsgpackDepth)
	if err != nil {
		return 0, false, err
	}
	v, err := strconv.ParseInt(string(raw), 10, 64)
	return v, err == nil, nil
}

// peekUndefined reports whether the next value is notepack's undefined
// (fixext 1 of type 0).
func (r *mpReader) peekUndefined() bool {
	return r.pos+3 <= len(r.buf) && r.buf[r.pos] == 0xd4 && r.buf[r.pos+1] == 0
}

func (r *mpReader) skipUndefined() { r.pos += 3 }

// value reads one msgpack value and appends it to dst as JSON: bin values
// become placeholders (and attachments), undefined and NaN become null, as
// JSON.stringify writes them.
func (r *mpReader) value(dst []byte, depth int) ([]byte, error) {
	if depth > maxMsgpackDepth {
		return nil, errMsgpackDepth
	}
	c, err := r.byte()
	if err != nil {
		return nil, err
	}
	switch {
	case c <= 0x7f:
		return strconv.AppendUint(dst, uint64(c), 10), nil
	case c >= 0xe0:
		return strconv.AppendInt(dst, int64(int8(c)), 10), nil
	case c&0xf0 == 0x80:
		return r.object(dst, uint64(c&0x0f), depth)
	case c&0xf0 == 0x90:
		return r.array(dst, uint64(c&0x0f), depth)
	case c&0xe0 == 0xa0:
		return r.text(dst, uint64(c&0x1f))
	}
	switch c {
	case 0xc0:
		return append(dst, "null"...), nil
	case 0xc2:
		return append(dst, "false"...), nil
	case 0xc3:
		return append(dst, "true"...), nil
	case 0xc4, 0xc5, 0xc6:
		return r.bin(dst, 1<<(c-0xc4))
	case 0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return r.ext(dst, c)
	case 0xca:
		u, err := r.uintN(4)
		return appendJSNumber(dst, float64(math.Float32frombits(uint32(u)))), err
	case 0xcb:
		u, err := r.uintN(8)
		return appendJSNumber(dst, math.Float64frombits(u)), err
	case 0xcc, 0xcd, 0xce:
		u, err := r.uintN(1 << (c - 0xcc))
		return strconv.AppendUint(dst, u, 10), err
	case 0xcf: // a JavaScript number, as notepack.io reads it: beyond 2^53, rounded
		u, err := r.uintN(8)
		return appendJSNumber(dst, float64(u)), err
	case 0xd0, 0xd1, 0xd2, 0xd3:
		return r.signed(dst, 1<<(c-0xd0))
	case 0xd9, 0xda, 0xdb:
		n, err := r.uintN(1 << (c - 0xd9))
		if err != nil {
			return nil, err
		}
		return r.text(dst, n)
	case 0xdc, 0xdd:
		n, err := r.uintN(2 << (c - 0xdc))
		if err != nil {
			return nil, err
		}
		return r.array(dst, n, depth)
	case 0xde, 0xdf:
		n, err := r.uintN(2 << (c - 0xde))
		if err != nil {
			return nil, err
		}
		return r.object(dst, n, depth)
	}
	return nil, errMsgpackFormat // 0xc1 is never used
}

func (r *mpReader) signed(dst []byte, size int) ([]byte, error) {
	u, err := r.uintN(size)
	if err != nil {
		return nil, err
	}
	var v int64
	switch size {
	case 1:
		v = int64(int8(u))
	case 2:
		v = int64(int16(u))
	case 4:
		v = int64(int32(u))
	default:
		return appendJSNumber(dst, float64(int64(u))), nil // as 0xcf
	}
	return strconv.AppendInt(dst, v, 10), nil
}

func (r *mpReader) text(dst []byte, n uint64) ([]byte, error) {
	b, err := r.take(n)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(b) {
		return appendString(dst, string([]rune(string(b)))), nil // as str does
	}
	return appendString(dst, string(b)), nil
}

func (r *mpReader) bin(dst []byte, size int) ([]byte, error) {
	n, err := r.uintN(size)
	if err != nil {
		return nil, err
	}
	b, err := r.take(n)
	if err != nil {
		return nil, err
	}
	if len(r.atts) >= r.maxAtt {
		return nil, errTooManyAtts
	}
	dst = appendPlaceholder(dst, len(r.atts))
	r.atts = append(r.atts, append([]byte(nil), b...))
	return dst, nil
}

// ext reads an extension value as notepack.io decodes it: its undefined
// (type 0, one byte) is null, timestamps (type -1) and its older dates
// (type 0, eight bytes) are the ISO strings JSON.stringify makes of
// dates, its older array buffers (type 0 with a length) are binary. Any
// other extension is refused.
func (r *mpReader) ext(dst []byte, c byte) ([]byte, error) {
	var n uint64
	var err error
	fixed := c >= 0xd4
	if fixed {
		n = 1 << (c - 0xd4)
	} else if n, err = r.uintN(1 << (c - 0xc7)); err != nil {
		return nil, err
	}
	typ, err := r.byte()
	if err != nil {
		return nil, err
	}
	body, err := r.take(n)
	if err != nil {
		return nil, err
	}
	switch {
	case typ == 0 && fixed && n == 1:
		return append(dst, "null"...), nil
	case typ == 0 && fixed && n == 8:
		ms := int64(int32(binary.BigEndian.Uint32(body)))<<32 | int64(binary.BigEndian.Uint32(body[4:]))
		return appendISODate(dst, time.UnixMilli(ms)), nil
	case typ == 0 && !fixed:
		if len(r.atts) >= r.maxAtt {
			return nil, errTooManyAtts
		}
		dst = appendPlaceholder(dst, len(r.atts))
		r.atts = append(r.atts, append([]byte(nil), body...))
		return dst, nil
	case typ == 0xff:
		t, ok := msgpackTimestamp(body)
		if !ok {
			return nil, errMsgpackFormat
		}
		return appendISODate(dst, t), nil
	}
	return nil, errMsgpackFormat
}

// msgpackTimestamp decodes the body of a timestamp extension (32, 64 or
// 96 bits).
func msgpackTimestamp(b []byte) (time.Time, bool) {
	switch len(b) {
	case 4:
		return time.Unix(int64(binary.BigEndian.Uint32(b)), 0), true
	case 8:
		v := binary.BigEndian.Uint64(b)
		return time.Unix(int64(v&(1<<34-1)), int64(v>>34)), true
	case 12:
		return time.Unix(int64(binary.BigEndian.Uint64(b[4:])), int64(binary.BigEndian.Uint32(b))), true
	}
	return time.Time{}, false
}

// appendISODate writes t as JSON.stringify writes a Date.
func appendISODate(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z")
	return append(dst, '"')
}

func (r *mpReader) array(dst []byte, n uint64, depth int) ([]byte, error) {
	if n > uint64(len(r.buf)-r.pos) { // each element takes a byte at least
		return nil, errMsgpackFormat
	}
	dst = append(dst, '[')
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = r.value(dst, depth+1); err != nil {
			return nil, err
		}
	}
	return append(dst, ']'), nil
}

func (r *mpReader) object(dst []byte, n uint64, depth int) ([]byte, error) {
	if n > uint64(len(r.buf)-r.pos)/2 { // each entry takes two bytes at least
		return nil, errMsgpackFormat
	}
	dst = append(dst, '{')
	first := true
	for range n {
		key, err := r.str()
		if err != nil {
			return nil, err
		}
		if r.peekUndefined() { // JSON.stringify leaves undefined properties out
			r.skipUndefined()
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(appendString(dst, key), ':')
		if dst, err = r.value(dst, depth+1); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// appendJSNumber writes f as JSON.stringify does: NaN and infinities as
// null.
func appendJSNumber(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	return append(dst, jsNumberString(f)...)
}

// AppendMsgpack appends the msgpack form of p (the single binary message
// of socket.io-msgpack-parser) to dst: the map {type, data, id, nsp} with
// the JSON data transcoded, placeholders replaced by their attachments as
// bin values, numbers written as notepack.io writes JavaScript numbers.
// BinaryEvent and BinaryAck are written as Event and Ack.
func (p *Packet) AppendMsgpack(dst []byte) ([]byte, error) {
	n := 2 // type, nsp
	if p.Data != nil {
		n++
	}
	if p.HasID {
		n++
	}
	dst = append(dst, 0x80|byte(n))
	t := p.Type
	switch t {
	case BinaryEvent:
		t = Event
	case BinaryAck:
		t = Ack
	}
	dst = appendMsgpackStr(dst, "type")
	dst = appendMsgpackInt(dst, int64(t))
	if p.Data != nil {
		dst = appendMsgpackStr(dst, "data")
		w := mpWriter{data: p.Data, atts: p.Attachments}
		var err error
		if dst, err = w.value(dst, 0); err != nil {
			return nil, err
		}
	}
	if p.HasID {
		dst = appendMsgpackStr(dst, "id")
		dst = appendMsgpackInt(dst, int64(p.ID))
	}
	nsp := p.Namespace
	if nsp == "" {
		nsp = "/"
	}
	dst = appendMsgpackStr(dst, "nsp")
	return appendMsgpackStr(dst, nsp), nil
}

// mpWriter transcodes valid JSON to msgpack.
type mpWriter struct {
	data []byte
	pos  int
	atts [][]byte
}

var errMsgpackJSON = &DecodeError{Reason: "data is not valid JSON"}

func (w *mpWriter) value(dst []byte, depth int) ([]byte, error) {
	if depth > maxMsgpackDepth {
		return nil, errMsgpackDepth
	}
	w.pos = skipSpace(w.data, w.pos)
	if w.pos >= len(w.data) {
		return nil, errMsgpackJSON
	}
	switch c := w.data[w.pos]; {
	case c == '{':
		return w.object(dst, depth)
	case c == '[':
		return w.array(dst, depth)
	case c == '"':
		s, err := w.str()
		return appendMsgpackStr(dst, s), err
	case c == 't' || c == 'f' || c == 'n':
		return w.literal(dst)
	default:
		return w.number(dst)
	}
}

func (w *mpWriter) literal(dst []byte) ([]byte, error) {
	for _, lit := range [...]struct {
		text string
		code byte
	}{{"true", 0xc3}, {"false", 0xc2}, {"null", 0xc0}} {
		if len(w.data)-w.pos >= len(lit.text) && string(w.data[w.pos:w.pos+len(lit.text)]) == lit.text {
			w.pos += len(lit.text)
			return append(dst, lit.code), nil
		}
	}
	return nil, errMsgpackJSON
}

func (w *mpWriter) number(dst []byte) ([]byte, error) {
	start := w.pos
	for w.pos < len(w.data) && isNumberByte(w.data[w.pos]) {
		w.pos++
	}
	f, err := strconv.ParseFloat(string(w.data[start:w.pos]), 64)
	if err != nil || start == w.pos {
		return nil, errMsgpackJSON
	}
	return appendMsgpackNumber(dst, f), nil
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

func (w *mpWriter) str() (string, error) {
	end, esc, err := scanString(w.data, w.pos)
	if err != nil {
		return "", errMsgpackJSON
	}
	lit := w.data[w.pos:end]
	w.pos = end
	if !esc {
		return string(lit[1 : len(lit)-1]), nil
	}
	var s string
	if json.Unmarshal(lit, &s) != nil {
		return "", errMsgpackJSON
	}
	return s, nil
}

func (w *mpWriter) array(dst []byte, depth int) ([]byte, error) {
	var elems [][]byte // each element's msgpack: the header needs the count
	w.pos++
	for {
		w.pos = skipSpace(w.data, w.pos)
		if w.pos < len(w.data) && w.data[w.pos] == ']' {
			w.pos++
			break
		}
		if len(elems) > 0 {
			if w.pos >= len(w.data) || w.data[w.pos] != ',' {
				return nil, errMsgpackJSON
			}
			w.pos++
		}
		e, err := w.value(nil, depth+1)
		if err != nil {
			return nil, err
		}
		elems = append(elems, e)
	}
	dst = appendMsgpackHeader(dst, len(elems), 0x90, 0xdc)
	for _, e := range elems {
		dst = append(dst, e...)
	}
	return dst, nil
}

func (w *mpWriter) object(dst []byte, depth int) ([]byte, error) {
	start := w.pos
	if i, ok := w.placeholder(); ok {
		return appendMsgpackBin(dst, w.atts[i]), nil
	}
	w.pos = start + 1
	var body []byte
	n := 0
	for {
		w.pos = skipSpace(w.data, w.pos)
		if w.pos < len(w.data) && w.data[w.pos] == '}' {
			w.pos++
			break
		}
		if n > 0 {
			if w.pos >= len(w.data) || w.data[w.pos] != ',' {
				return nil, errMsgpackJSON
			}
			w.pos = skipSpace(w.data, w.pos+1)
		}
		if w.pos >= len(w.data) || w.data[w.pos] != '"' {
			return nil, errMsgpackJSON
		}
		key, err := w.str()
		if err != nil {
			return nil, err
		}
		w.pos = skipSpace(w.data, w.pos)
		if w.pos >= len(w.data) || w.data[w.pos] != ':' {
			return nil, errMsgpackJSON
		}
		w.pos++
		body = appendMsgpackStr(body, key)
		if body, err = w.value(body, depth+1); err != nil {
			return nil, err
		}
		n++
	}
	return append(appendMsgpackHeader(dst, n, 0x80, 0xde), body...), nil
}

// placeholder reports whether the object at w.pos is a placeholder of an
// attachment, and consumes it if so.
func (w *mpWriter) placeholder() (int, bool) {
	if len(w.atts) == 0 {
		return 0, false
	}
	end := w.pos
	depth := 0
	for ; end < len(w.data); end++ {
		if c := w.data[end]; c == '{' {
			depth++
		} else if c == '}' {
			if depth--; depth == 0 {
				break
			}
		} else if c == '"' || c == '[' {
			if c == '[' {
				return 0, false // placeholders hold no arrays
			}
			e, _, err := scanString(w.data, end)
			if err != nil {
				return 0, false
			}
			end = e - 1
		}
	}
	if end >= len(w.data) || depth != 0 {
		return 0, false
	}
	var ph struct {
		Placeholder *bool `json:"_placeholder"`
		Num         *int  `json:"num"`
	}
	obj := w.data[w.pos : end+1]
	if json.Unmarshal(obj, &ph) != nil || ph.Placeholder == nil || !*ph.Placeholder || ph.Num == nil ||
		*ph.Num < 0 || *ph.Num >= len(w.atts) {
		return 0, false
	}
	w.pos = end + 1
	return *ph.Num, true
}

// appendMsgpackNumber writes a JavaScript number as notepack.io does: an
// integer in the smallest integer form, anything else as a float 64.
func appendMsgpackNumber(dst []byte, f float64) []byte {
	if f == math.Trunc(f) && f >= -(1<<63) && f < 1<<64 { // -0 too, as notepack
		if f >= 0 {
			return appendMsgpackUint(dst, uint64(f))
		}
		return appendMsgpackInt(dst, int64(f))
	}
	dst = append(dst, 0xcb)
	return binary.BigEndian.AppendUint64(dst, math.Float64bits(f))
}

func appendMsgpackUint(dst []byte, u uint64) []byte {
	switch {
	case u < 0x80:
		return append(dst, byte(u))
	case u <= math.MaxUint8:
		return append(dst, 0xcc, byte(u))
	case u <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xcd), uint16(u))
	case u <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, 0xce), uint32(u))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xcf), u)
}

func appendMsgpackInt(dst []byte, v int64) []byte {
	switch {
	case v >= 0:
		return appendMsgpackUint(dst, uint64(v))
	case v >= -32:
		return append(dst, byte(int8(v)))
	case v >= math.MinInt8:
		return append(dst, 0xd0, byte(int8(v)))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(dst, 0xd1), uint16(int16(v)))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(dst, 0xd2), uint32(int32(v)))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(v))
}

func appendMsgpackStr(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = string([]rune(s)) // as JavaScript strings: invalid bytes become U+FFFD
	}
	n := len(s)
	switch {
	case n < 32:
		dst = append(dst, 0xa0|byte(n))
	case n <= math.MaxUint8:
		dst = append(dst, 0xd9, byte(n))
	case n <= math.MaxUint16:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xda), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xdb), uint32(n))
	}
	return append(dst, s...)
}

func appendMsgpackBin(dst, b []byte) []byte {
	n := len(b)
	switch {
	case n <= math.MaxUint8:
		dst = append(dst, 0xc4, byte(n))
	case n <= math.MaxUint16:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xc5), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xc6), uint32(n))
	}
	return append(dst, b...)
}

// appendMsgpackHeader writes the header of an array or map of n entries:
// fix (n < 16, code fix|n) or 16/32-bit (code16, code16+1).
func appendMsgpackHeader(dst []byte, n int, fix, code16 byte) []byte {
	switch {
	case n < 16:
		return append(dst, fix|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, code16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, code16+1), uint32(n))
}
