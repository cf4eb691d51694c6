package parser

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
)

// errTooDeep is returned for values nested deeper than maxDepth, which
// includes self-referencing []any and map[string]any values.
var errTooDeep = errors.New("socket.io parser: data nested too deeply")

// errInvalidRaw is returned for a json.RawMessage that is not valid JSON.
var errInvalidRaw = errors.New("socket.io parser: json.RawMessage value is not valid JSON")

// EncodeData encodes values as a JSON array, replacing binary values with
// placeholders, and returns the array and the attachments in placeholder
// order. The values are encoded as follows:
//
//   - nil: null.
//   - []byte: a placeholder, the slice (not copied) becoming an attachment,
//     also when nil or empty.
//   - json.RawMessage: written verbatim; it must be valid JSON, and an empty
//     one is written as null. Placeholder-shaped objects inside it are not
//     renumbered; relay received data as Arg instead.
//   - Arg and *Arg: its JSON byte for byte, its placeholders renumbered to
//     follow the attachments already taken and its attachments appended.
//   - []Arg: a JSON array of those Args.
//   - []any and map[string]any: walked recursively (map keys sorted), so
//     nested []byte, Arg and RawMessage values are handled as above.
//   - string, bool and every int, uint and float kind: written directly,
//     with the same output as encoding/json. NaN and infinities are errors.
//   - anything else: encoding/json with HTML escaping off. Such values are
//     not walked: a []byte field of a struct becomes a base64 string, not an
//     attachment, and so does an Arg inside a struct (see Arg.MarshalJSON).
//
// Placeholders are numbered in depth-first order, as socket.io-parser does.
func EncodeData(values ...any) (json.RawMessage, [][]byte, error) {
	data, atts, err := AppendData(nil, nil, values...)
	if err != nil {
		return nil, nil, err
	}
	return data, atts, nil
}

// AppendData is EncodeData appending the array to dst and the attachments to
// atts, so callers can reuse buffers. On error it returns dst and atts with
// their original lengths.
func AppendData(dst []byte, atts [][]byte, values ...any) ([]byte, [][]byte, error) {
	n0, a0 := len(dst), len(atts)
	dst = append(dst, '[')
	for i, v := range values {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, atts, err = appendValue(dst, atts, v, 0); err != nil {
			return dst[:n0], atts[:a0], err
		}
	}
	return append(dst, ']'), atts, nil
}

// appendValue appends one value; depth counts the enclosing containers.
func appendValue(dst []byte, atts [][]byte, v any, depth int) ([]byte, [][]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), atts, nil
	case string:
		return appendString(dst, v), atts, nil
	case bool:
		return strconv.AppendBool(dst, v), atts, nil
	case []byte:
		atts = append(atts, v)
		return appendPlaceholder(dst, len(atts)-1), atts, nil
	case json.RawMessage:
		if len(v) == 0 {
			return append(dst, "null"...), atts, nil
		}
		if !validJSON(v) {
			return dst, atts, errInvalidRaw
		}
		return append(dst, v...), atts, nil
	case Arg:
		return appendArg(dst, atts, v)
	case *Arg:
		if v == nil {
			return append(dst, "null"...), atts, nil
		}
		return appendArg(dst, atts, *v)
	case []Arg:
		return appendArgs(dst, atts, v)
	case []any:
		return appendSlice(dst, atts, v, depth+1)
	case map[string]any:
		return appendMap(dst, atts, v, depth+1)
	}
	if b, ok, err := appendNumber(dst, v); ok {
		return b, atts, err
	}
	b, err := appendJSON(dst, v)
	return b, atts, err
}

func appendPlaceholder(dst []byte, num int) []byte {
	dst = append(dst, `{"_placeholder":true,"num":`...)
	dst = strconv.AppendInt(dst, int64(num), 10)
	return append(dst, '}')
}

// appendArg appends a's JSON, renumbering its placeholders. Every
// placeholder takes a new attachment, so the result never refers to the
// attachments of a's packet that a does not use.
func appendArg(dst []byte, atts [][]byte, a Arg) ([]byte, [][]byte, error) {
	if len(a.raw) == 0 {
		return append(dst, "null"...), atts, nil
	}
	last := 0
	for _, ph := range a.phs {
		dst = append(dst, a.raw[last:ph.numStart]...)
		atts = append(atts, a.atts[ph.num])
		dst = strconv.AppendInt(dst, int64(len(atts)-1), 10)
		last = ph.numEnd
	}
	return append(dst, a.raw[last:]...), atts, nil
}

func appendArgs(dst []byte, atts [][]byte, args []Arg) ([]byte, [][]byte, error) {
	dst = append(dst, '[')
	for i, a := range args {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst, atts, _ = appendArg(dst, atts, a)
	}
	return append(dst, ']'), atts, nil
}

func appendSlice(dst []byte, atts [][]byte, s []any, depth int) ([]byte, [][]byte, error) {
	if depth > maxDepth {
		return dst, atts, errTooDeep
	}
	if s == nil {
		return append(dst, "null"...), atts, nil // as encoding/json does
	}
	dst = append(dst, '[')
	for i, v := range s {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, atts, err = appendValue(dst, atts, v, depth); err != nil {
			return dst, atts, err
		}
	}
	return append(dst, ']'), atts, nil
}

func appendMap(dst []byte, atts [][]byte, m map[string]any, depth int) ([]byte, [][]byte, error) {
	if depth > maxDepth {
		return dst, atts, errTooDeep
	}
	if m == nil {
		return append(dst, "null"...), atts, nil // as encoding/json does
	}
	var small [16]string // keeps small maps free of allocations
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k)
		dst = append(dst, ':')
		var err error
		if dst, atts, err = appendValue(dst, atts, m[k], depth); err != nil {
			return dst, atts, err
		}
	}
	return append(dst, '}'), atts, nil
}

// appendNumber handles the integer and float kinds without reflection. It
// reports whether v was one of them.
func appendNumber(dst []byte, v any) ([]byte, bool, error) {
	switch v := v.(type) {
	case int:
		return strconv.AppendInt(dst, int64(v), 10), true, nil
	case int8:
		return strconv.AppendInt(dst, int64(v), 10), true, nil
	case int16:
		return strconv.AppendInt(dst, int64(v), 10), true, nil
	case int32:
		return strconv.AppendInt(dst, int64(v), 10), true, nil
	case int64:
		return strconv.AppendInt(dst, v, 10), true, nil
	case uint:
		return strconv.AppendUint(dst, uint64(v), 10), true, nil
	case uint8:
		return strconv.AppendUint(dst, uint64(v), 10), true, nil
	case uint16:
		return strconv.AppendUint(dst, uint64(v), 10), true, nil
	case uint32:
		return strconv.AppendUint(dst, uint64(v), 10), true, nil
	case uint64:
		return strconv.AppendUint(dst, v, 10), true, nil
	case uintptr:
		return strconv.AppendUint(dst, uint64(v), 10), true, nil
	case float32:
		b, err := appendFloat(dst, float64(v), 32)
		return b, true, err
	case float64:
		b, err := appendFloat(dst, v, 64)
		return b, true, err
	}
	return dst, false, nil
}

// appendFloat formats f like encoding/json: plain decimal notation, except
// exponent notation below 1e-6 and from 1e21 on.
func appendFloat(dst []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, &json.UnsupportedValueError{
			Value: reflect.ValueOf(f),
			Str:   strconv.FormatFloat(f, 'g', -1, bits),
		}
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 {
		if bits == 64 && (a < 1e-6 || a >= 1e21) ||
			bits == 32 && (float32(a) < 1e-6 || float32(a) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		dst = trimExponentZero(dst)
	}
	return dst, nil
}

// trimExponentZero turns a two-digit negative exponent such as "e-07" at the
// end of b into "e-7".
func trimExponentZero(b []byte) []byte {
	n := len(b)
	if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string exactly as encoding/json does with
// HTML escaping off: invalid UTF-8 becomes \ufffd, and U+2028 and U+2029 are
// escaped.
func appendString(dst []byte, s string) []byte {
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
			dst = appendEscapedByte(dst, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\u202`...)
			dst = append(dst, hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func appendEscapedByte(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// jsonEncoder is a pooled encoding/json encoder writing to its own buffer.
type jsonEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var encoderPool = sync.Pool{New: func() any {
	e := new(jsonEncoder)
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}}

// appendJSON appends v encoded by encoding/json without HTML escaping and
// without the encoder's trailing newline.
func appendJSON(dst []byte, v any) ([]byte, error) {
	e := encoderPool.Get().(*jsonEncoder)
	defer func() {
		if e.buf.Cap() <= 64<<10 {
			e.buf.Reset()
			encoderPool.Put(e)
		}
	}()
	if err := e.enc.Encode(v); err != nil {
		return dst, err
	}
	return append(dst, bytes.TrimSuffix(e.buf.Bytes(), []byte{'\n'})...), nil
}
