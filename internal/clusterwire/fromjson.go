package clusterwire

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

var (
	errJSON        = errors.New("clusterwire: invalid JSON")
	errPlaceholder = errors.New("clusterwire: placeholder refers to a missing attachment")
)

// JSONToMsgpack transcodes one JSON value into MessagePack as notepack.io
// would encode the parsed value: integers in the smallest integer form,
// other numbers as float64, objects as maps in key order. Socket.IO
// placeholders {"_placeholder":true,"num":N} become msgpack bin values
// holding atts[N]. The result is appended to dst.
func JSONToMsgpack(dst []byte, js []byte, atts [][]byte) ([]byte, error) {
	t := fromJSON{js: js, atts: atts, dst: dst}
	i := skipWS(js, 0)
	end, err := t.value(i, 0)
	if err != nil {
		return dst, err
	}
	if skipWS(js, end) != len(js) {
		return dst, errJSON
	}
	return t.dst, nil
}

type fromJSON struct {
	js   []byte
	atts [][]byte
	dst  []byte
	buf  []byte // scratch for unescaped strings
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func (t *fromJSON) value(i, depth int) (int, error) {
	if depth > maxDepth {
		return i, errDepth
	}
	if i >= len(t.js) {
		return i, errJSON
	}
	switch c := t.js[i]; {
	case c == '{':
		if num, end, ok := matchPlaceholder(t.js, i); ok {
			if num >= len(t.atts) {
				return i, errPlaceholder
			}
			t.dst = appendBin(t.dst, t.atts[num])
			return end, nil
		}
		return t.container(i, depth, '}')
	case c == '[':
		return t.container(i, depth, ']')
	case c == '"':
		s, end, err := t.str(i)
		if err != nil {
			return i, err
		}
		t.dst = appendStrHeader(t.dst, len(s))
		t.dst = append(t.dst, s...)
		return end, nil
	case c == 't' && bytes.HasPrefix(t.js[i:], []byte("true")):
		t.dst = appendBool(t.dst, true)
		return i + 4, nil
	case c == 'f' && bytes.HasPrefix(t.js[i:], []byte("false")):
		t.dst = appendBool(t.dst, false)
		return i + 5, nil
	case c == 'n' && bytes.HasPrefix(t.js[i:], []byte("null")):
		t.dst = appendNil(t.dst)
		return i + 4, nil
	case c == '-' || c >= '0' && c <= '9':
		return t.number(i)
	}
	return i, errJSON
}

// container transcodes an array or object. The header's size is known only
// at the end: one byte is reserved and widened when needed.
func (t *fromJSON) container(i, depth int, closer byte) (int, error) {
	hdr := len(t.dst)
	t.dst = append(t.dst, 0)
	n := 0
	i = skipWS(t.js, i+1)
	if i < len(t.js) && t.js[i] == closer {
		i++
	} else {
		for {
			var err error
			if closer == '}' {
				i, err = t.member(i, depth)
			} else {
				i, err = t.value(i, depth+1)
			}
			if err != nil {
				return i, err
			}
			n++
			i = skipWS(t.js, i)
			if i >= len(t.js) {
				return i, errJSON
			}
			if t.js[i] == closer {
				i++
				break
			}
			if t.js[i] != ',' {
				return i, errJSON
			}
			i = skipWS(t.js, i+1)
		}
	}
	var head []byte
	if closer == '}' {
		head = appendMapLen(nil, n)
	} else {
		head = appendArrayLen(nil, n)
	}
	if extra := len(head) - 1; extra > 0 {
		t.dst = append(t.dst, head[1:]...) // grow by extra bytes
		copy(t.dst[hdr+1+extra:], t.dst[hdr+1:len(t.dst)-extra])
	}
	copy(t.dst[hdr:], head)
	return i, nil
}

func (t *fromJSON) member(i, depth int) (int, error) {
	if i >= len(t.js) || t.js[i] != '"' {
		return i, errJSON
	}
	k, end, err := t.str(i)
	if err != nil {
		return i, err
	}
	t.dst = appendStrHeader(t.dst, len(k))
	t.dst = append(t.dst, k...)
	i = skipWS(t.js, end)
	if i >= len(t.js) || t.js[i] != ':' {
		return i, errJSON
	}
	return t.value(skipWS(t.js, i+1), depth+1)
}

// number writes integers (within ±2^63, also when written with a fraction
// or exponent, as JavaScript sees them) as msgpack integers, the rest as
// float64.
func (t *fromJSON) number(i int) (int, error) {
	end := i
	if end < len(t.js) && t.js[end] == '-' {
		end++
	}
	digitsStart := end
	plain := true
	for end < len(t.js) {
		c := t.js[end]
		if c >= '0' && c <= '9' {
			end++
			continue
		}
		if c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' {
			plain = false
			end++
			continue
		}
		break
	}
	lit := t.js[i:end]
	if end == digitsStart || !validNumber(lit) {
		return i, errJSON
	}
	if plain {
		if v, err := strconv.ParseInt(string(lit), 10, 64); err == nil {
			t.dst = appendInt(t.dst, v)
			return end, nil
		}
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil && !math.IsInf(f, 0) {
		return i, errJSON
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		t.dst = appendInt(t.dst, int64(f))
		return end, nil
	}
	t.dst = appendFloat(t.dst, f)
	return end, nil
}

// validNumber checks the JSON number grammar.
func validNumber(s []byte) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) {
		return false
	}
	if s[i] == '0' {
		i++
	} else {
		if s[i] < '1' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			return false
		}
	}
	return i == len(s)
}

// str returns the unescaped bytes of the string starting at i and the
// offset after it. The result aliases the input or t.buf.
func (t *fromJSON) str(i int) ([]byte, int, error) {
	j := i + 1
	for j < len(t.js) {
		c := t.js[j]
		if c == '"' {
			return t.js[i+1 : j], j + 1, nil
		}
		if c == '\\' {
			return t.unescape(i)
		}
		if c < 0x20 {
			return nil, j, errJSON
		}
		j++
	}
	return nil, j, errJSON
}

func (t *fromJSON) unescape(i int) ([]byte, int, error) {
	out := t.buf[:0]
	j := i + 1
	for j < len(t.js) {
		c := t.js[j]
		switch {
		case c == '"':
			t.buf = out
			return out, j + 1, nil
		case c < 0x20:
			return nil, j, errJSON
		case c != '\\':
			out = append(out, c)
			j++
			continue
		}
		if j+1 >= len(t.js) {
			return nil, j, errJSON
		}
		e := t.js[j+1]
		j += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, next, ok := decodeU(t.js, j)
			if !ok {
				return nil, j, errJSON
			}
			out = utf8.AppendRune(out, r)
			j = next
		default:
			return nil, j, errJSON
		}
	}
	return nil, j, errJSON
}

// decodeU decodes the hex digits of a \u escape starting at j (after "\u"),
// joining surrogate pairs; lone surrogates become U+FFFD.
func decodeU(b []byte, j int) (rune, int, bool) {
	r, ok := hex4(b, j)
	if !ok {
		return 0, j, false
	}
	j += 4
	if utf16.IsSurrogate(r) {
		if j+6 <= len(b) && b[j] == '\\' && b[j+1] == 'u' {
			if r2, ok := hex4(b, j+2); ok {
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					return d, j + 6, true
				}
			}
		}
		return utf8.RuneError, j, true
	}
	return r, j, true
}

func hex4(b []byte, j int) (rune, bool) {
	if j+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[j : j+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// matchPlaceholder recognises {"_placeholder":true,"num":N} (members in
// either order, white space allowed) at i.
func matchPlaceholder(b []byte, i int) (num int, end int, ok bool) {
	var sawPH, sawNum bool
	j := skipWS(b, i+1)
	for k := 0; k < 2; k++ {
		if k == 1 {
			if j >= len(b) || b[j] != ',' {
				return 0, 0, false
			}
			j = skipWS(b, j+1)
		}
		switch {
		case bytes.HasPrefix(b[j:], []byte(`"_placeholder"`)) && !sawPH:
			j = skipWS(b, j+len(`"_placeholder"`))
			if j >= len(b) || b[j] != ':' {
				return 0, 0, false
			}
			j = skipWS(b, j+1)
			if !bytes.HasPrefix(b[j:], []byte("true")) {
				return 0, 0, false
			}
			j, sawPH = j+4, true
		case bytes.HasPrefix(b[j:], []byte(`"num"`)) && !sawNum:
			j = skipWS(b, j+len(`"num"`))
			if j >= len(b) || b[j] != ':' {
				return 0, 0, false
			}
			j = skipWS(b, j+1)
			d := j
			for j < len(b) && b[j] >= '0' && b[j] <= '9' && j-d < 9 {
				num = num*10 + int(b[j]-'0')
				j++
			}
			if j == d || j < len(b) && b[j] >= '0' && b[j] <= '9' {
				return 0, 0, false
			}
			sawNum = true
		default:
			return 0, 0, false
		}
		j = skipWS(b, j)
	}
	if j >= len(b) || b[j] != '}' {
		return 0, 0, false
	}
	return num, j + 1, true
}
