package clusterwire

import (
	"encoding/binary"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// MsgpackToJSON transcodes one MessagePack value into JSON as Node's
// JSON.stringify would print the decoded value, except that binary values
// become Socket.IO placeholders {"_placeholder":true,"num":N} and their
// bytes are appended to atts (depth-first, as socket.io-parser numbers
// them). Timestamps (extension -1) become ISO date strings, as a JavaScript
// Date serialises; other extensions become null. The JSON is appended to
// dst; n is the number of input bytes used. Binary values alias b.
func MsgpackToJSON(dst []byte, atts [][]byte, b []byte) (out []byte, outAtts [][]byte, n int, err error) {
	t := toJSON{r: reader{b: b}, dst: dst, atts: atts}
	if err := t.value(0); err != nil {
		return dst, atts, 0, err
	}
	return t.dst, t.atts, t.r.i, nil
}

type toJSON struct {
	r    reader
	dst  []byte
	atts [][]byte
}

func (t *toJSON) value(depth int) error {
	if depth > maxDepth {
		return errDepth
	}
	c, err := t.r.peek()
	if err != nil {
		return err
	}
	switch {
	case c&0xf0 == 0x80 || c == 0xde || c == 0xdf:
		return t.object(depth)
	case c&0xf0 == 0x90 || c == 0xdc || c == 0xdd:
		return t.array(depth)
	case c&0xe0 == 0xa0 || c == 0xd9 || c == 0xda || c == 0xdb:
		s, err := t.r.strBytes()
		t.dst = appendJSONString(t.dst, s)
		return err
	case c == 0xc4 || c == 0xc5 || c == 0xc6:
		bin, err := t.r.strBytes()
		if err != nil {
			return err
		}
		t.atts = append(t.atts, bin)
		t.dst = append(t.dst, `{"_placeholder":true,"num":`...)
		t.dst = strconv.AppendInt(t.dst, int64(len(t.atts)-1), 10)
		t.dst = append(t.dst, '}')
		return nil
	case c == 0xc0:
		t.r.i++
		t.dst = append(t.dst, "null"...)
		return nil
	case c == 0xc2 || c == 0xc3:
		t.r.i++
		t.dst = strconv.AppendBool(t.dst, c == 0xc3)
		return nil
	case c >= 0xc7 && c <= 0xc9 || c >= 0xd4 && c <= 0xd8:
		return t.ext()
	}
	return t.number()
}

func (t *toJSON) number() error {
	c := t.r.b[t.r.i]
	f, i, isInt, err := t.r.number()
	if err != nil {
		return err
	}
	if isInt {
		t.dst = strconv.AppendInt(t.dst, i, 10)
		return nil
	}
	if c == 0xcf { // uint64 above MaxInt64
		u := binary.BigEndian.Uint64(t.r.b[t.r.i-8 : t.r.i])
		t.dst = strconv.AppendUint(t.dst, u, 10)
		return nil
	}
	t.dst = AppendJSNumber(t.dst, f)
	return nil
}

func (t *toJSON) array(depth int) error {
	n, err := t.r.arrayLen()
	if err != nil {
		return err
	}
	t.dst = append(t.dst, '[')
	for k := range n {
		if k > 0 {
			t.dst = append(t.dst, ',')
		}
		if err := t.value(depth + 1); err != nil {
			return err
		}
	}
	t.dst = append(t.dst, ']')
	return nil
}

func (t *toJSON) object(depth int) error {
	n, err := t.r.mapLen()
	if err != nil {
		return err
	}
	t.dst = append(t.dst, '{')
	for k := range n {
		if k > 0 {
			t.dst = append(t.dst, ',')
		}
		if err := t.key(depth); err != nil {
			return err
		}
		t.dst = append(t.dst, ':')
		if err := t.value(depth + 1); err != nil {
			return err
		}
	}
	t.dst = append(t.dst, '}')
	return nil
}

// key writes a map key as a JSON string: strings as they are, numbers,
// booleans and nil as JavaScript turns them into property names.
func (t *toJSON) key(depth int) error {
	c, err := t.r.peek()
	if err != nil {
		return err
	}
	if c&0xe0 == 0xa0 || c == 0xd9 || c == 0xda || c == 0xdb {
		s, err := t.r.strBytes()
		t.dst = appendJSONString(t.dst, s)
		return err
	}
	sub := toJSON{r: t.r}
	if err := sub.value(depth + 1); err != nil {
		return err
	}
	if len(sub.atts) > 0 || len(sub.dst) > 0 && (sub.dst[0] == '{' || sub.dst[0] == '[') {
		return errType
	}
	t.r = sub.r
	t.dst = appendJSONString(t.dst, sub.dst)
	return nil
}

// ext handles extension values: timestamps become ISO strings.
func (t *toJSON) ext() error {
	c := t.r.b[t.r.i]
	size, err := t.r.scalarSize()
	if err != nil {
		return err
	}
	raw, err := t.r.take(size)
	if err != nil {
		return err
	}
	var typ int8
	var data []byte
	if c >= 0xd4 && c <= 0xd8 {
		typ, data = int8(raw[1]), raw[2:]
	} else {
		hdr := 1 << (c - 0xc7)
		typ, data = int8(raw[1+hdr]), raw[2+hdr:]
	}
	if typ != -1 {
		t.dst = append(t.dst, "null"...)
		return nil
	}
	ts, ok := decodeTimestamp(data)
	if !ok {
		t.dst = append(t.dst, "null"...)
		return nil
	}
	t.dst = append(t.dst, '"')
	t.dst = ts.UTC().AppendFormat(t.dst, "2006-01-02T15:04:05.000Z")
	t.dst = append(t.dst, '"')
	return nil
}

func decodeTimestamp(d []byte) (time.Time, bool) {
	switch len(d) {
	case 4:
		return time.Unix(int64(binary.BigEndian.Uint32(d)), 0), true
	case 8:
		v := binary.BigEndian.Uint64(d)
		return time.Unix(int64(v&0x3ffffffff), int64(v>>34)), true
	case 12:
		nsec := binary.BigEndian.Uint32(d)
		return time.Unix(int64(binary.BigEndian.Uint64(d[4:])), int64(nsec)), true
	}
	return time.Time{}, false
}

// AppendJSNumber appends f as JSON.stringify prints a number: the shortest
// representation, exponent notation below 1e-6 and from 1e21 on, and null
// for NaN and infinities.
func AppendJSNumber(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if f == 0 {
		return append(dst, '0')
	}
	if a := math.Abs(f); a < 1e-6 || a >= 1e21 {
		start := len(dst)
		dst = strconv.AppendFloat(dst, f, 'e', -1, 64)
		// Go writes e-07 / e+21; JavaScript writes e-7 / e+21.
		for i := start; i < len(dst); i++ {
			if dst[i] == 'e' && i+3 < len(dst) && dst[i+2] == '0' {
				dst = append(dst[:i+2], dst[i+3:]...)
				break
			}
		}
		return dst
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as JSON.stringify quotes a string: only ",
// \ and control characters are escaped; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
