package clusterwire

import (
	"encoding/binary"
	"errors"
	"math"
)

// This file holds a minimal MessagePack writer and reader over byte slices.
// Encodings are the smallest that fit, as notepack.io writes them.

var (
	errShort   = errors.New("clusterwire: truncated msgpack")
	errBadCode = errors.New("clusterwire: invalid msgpack code")
	errDepth   = errors.New("clusterwire: msgpack nested too deeply")
	errType    = errors.New("clusterwire: unexpected msgpack type")
)

// maxDepth bounds the nesting of arrays and maps, as the parser package does.
const maxDepth = 10000

func appendNil(b []byte) []byte { return append(b, 0xc0) }

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0xc3)
	}
	return append(b, 0xc2)
}

func appendUint(b []byte, v uint64) []byte {
	switch {
	case v < 128:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), v)
}

func appendInt(b []byte, v int64) []byte {
	switch {
	case v >= 0:
		return appendUint(b, uint64(v))
	case v >= -32:
		return append(b, byte(v))
	case v >= math.MinInt8:
		return append(b, 0xd0, byte(v))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(v))
}

func appendFloat(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(f))
}

func appendStrHeader(b []byte, n int) []byte {
	switch {
	case n < 32:
		return append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		return append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
}

func appendStr(b []byte, s string) []byte { return append(appendStrHeader(b, len(s)), s...) }

func appendBin(b []byte, v []byte) []byte {
	n := len(v)
	switch {
	case n <= math.MaxUint8:
		b = append(b, 0xc4, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xc5), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xc6), uint32(n))
	}
	return append(b, v...)
}

func appendArrayLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
}

func appendMapLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xde), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdf), uint32(n))
}

func appendStrings(b []byte, ss []string) []byte {
	b = appendArrayLen(b, len(ss))
	for _, s := range ss {
		b = appendStr(b, s)
	}
	return b
}

// reader reads MessagePack values from a byte slice.
type reader struct {
	b []byte
	i int
}

func (r *reader) peek() (byte, error) {
	if r.i >= len(r.b) {
		return 0, errShort
	}
	return r.b[r.i], nil
}

func (r *reader) take(n int) ([]byte, error) {
	if n < 0 || n > len(r.b)-r.i {
		return nil, errShort
	}
	p := r.b[r.i : r.i+n : r.i+n]
	r.i += n
	return p, nil
}

// uintN reads a big-endian unsigned integer of size bytes.
func (r *reader) uintN(size int) (uint64, error) {
	p, err := r.take(size)
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return uint64(p[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(p)), nil
	}
	return binary.BigEndian.Uint64(p), nil
}

// length reads a size-byte length and checks that at least min bytes per
// element remain, so hostile lengths fail before any allocation.
func (r *reader) length(size, min int) (int, error) {
	n, err := r.uintN(size)
	if err != nil {
		return 0, err
	}
	if n > uint64(len(r.b)-r.i)/uint64(min) {
		return 0, errShort
	}
	return int(n), nil
}

// arrayLen reads an array header.
func (r *reader) arrayLen() (int, error) {
	c, err := r.peek()
	if err != nil {
		return 0, err
	}
	switch {
	case c&0xf0 == 0x90:
		r.i++
		return r.checkCount(int(c & 0x0f))
	case c == 0xdc:
		r.i++
		return r.length(2, 1)
	case c == 0xdd:
		r.i++
		return r.length(4, 1)
	}
	return 0, errType
}

// mapLen reads a map header.
func (r *reader) mapLen() (int, error) {
	c, err := r.peek()
	if err != nil {
		return 0, err
	}
	switch {
	case c&0xf0 == 0x80:
		r.i++
		return r.checkCount(int(c & 0x0f))
	case c == 0xde:
		r.i++
		return r.length(2, 2)
	case c == 0xdf:
		r.i++
		return r.length(4, 2)
	}
	return 0, errType
}

func (r *reader) checkCount(n int) (int, error) {
	if n > len(r.b)-r.i {
		return 0, errShort
	}
	return n, nil
}

// strBytes reads a string (or, leniently, a bin) and returns its bytes,
// aliasing the input.
func (r *reader) strBytes() ([]byte, error) {
	c, err := r.peek()
	if err != nil {
		return nil, err
	}
	var n int
	switch {
	case c&0xe0 == 0xa0:
		r.i++
		n = int(c & 0x1f)
	case c == 0xd9 || c == 0xc4:
		r.i++
		n, err = r.length(1, 1)
	case c == 0xda || c == 0xc5:
		r.i++
		n, err = r.length(2, 1)
	case c == 0xdb || c == 0xc6:
		r.i++
		n, err = r.length(4, 1)
	default:
		return nil, errType
	}
	if err != nil {
		return nil, err
	}
	return r.take(n)
}

func (r *reader) str() (string, error) {
	b, err := r.strBytes()
	return string(b), err
}

// isNil consumes a nil and reports whether there was one.
func (r *reader) isNil() bool {
	if r.i < len(r.b) && r.b[r.i] == 0xc0 {
		r.i++
		return true
	}
	return false
}

// number reads any integer or float as a float64 and, for integers, as an
// int64 too (isInt reports which).
func (r *reader) number() (f float64, i int64, isInt bool, err error) {
	c, err := r.peek()
	if err != nil {
		return 0, 0, false, err
	}
	r.i++
	switch {
	case c <= 0x7f:
		return float64(c), int64(c), true, nil
	case c >= 0xe0:
		return float64(int8(c)), int64(int8(c)), true, nil
	case c >= 0xcc && c <= 0xcf:
		u, err := r.uintN(1 << (c - 0xcc))
		return float64(u), int64(u), u <= math.MaxInt64, err
	case c >= 0xd0 && c <= 0xd3:
		size := 1 << (c - 0xd0)
		u, err := r.uintN(size)
		v := signExtend(u, size)
		return float64(v), v, true, err
	case c == 0xca:
		u, err := r.uintN(4)
		return float64(math.Float32frombits(uint32(u))), 0, false, err
	case c == 0xcb:
		u, err := r.uintN(8)
		return math.Float64frombits(u), 0, false, err
	}
	r.i--
	return 0, 0, false, errType
}

func signExtend(u uint64, size int) int64 {
	switch size {
	case 1:
		return int64(int8(u))
	case 2:
		return int64(int16(u))
	case 4:
		return int64(int32(u))
	}
	return int64(u)
}

// boolean reads a bool; nil reads as false.
func (r *reader) boolean() (bool, error) {
	c, err := r.peek()
	if err != nil {
		return false, err
	}
	switch c {
	case 0xc2, 0xc0:
		r.i++
		return false, nil
	case 0xc3:
		r.i++
		return true, nil
	}
	return false, errType
}

// skip skips one value of any type.
func (r *reader) skip(depth int) error {
	if depth > maxDepth {
		return errDepth
	}
	c, err := r.peek()
	if err != nil {
		return err
	}
	switch {
	case c&0xf0 == 0x80 || c == 0xde || c == 0xdf:
		n, err := r.mapLen()
		if err != nil {
			return err
		}
		return r.skipN(2*n, depth)
	case c&0xf0 == 0x90 || c == 0xdc || c == 0xdd:
		n, err := r.arrayLen()
		if err != nil {
			return err
		}
		return r.skipN(n, depth)
	}
	size, err := r.scalarSize()
	if err != nil {
		return err
	}
	_, err = r.take(size)
	return err
}

func (r *reader) skipN(n, depth int) error {
	for ; n > 0; n-- {
		if err := r.skip(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

// scalarSize returns the encoded size of the scalar (not array or map)
// starting at r.i, header included. It reads lengths but consumes nothing.
func (r *reader) scalarSize() (int, error) {
	c := r.b[r.i]
	switch {
	case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		return 1, nil
	case c&0xe0 == 0xa0:
		return 1 + int(c&0x1f), nil
	case c >= 0xcc && c <= 0xcf:
		return 1 + 1<<(c-0xcc), nil
	case c >= 0xd0 && c <= 0xd3:
		return 1 + 1<<(c-0xd0), nil
	case c == 0xca:
		return 5, nil
	case c == 0xcb:
		return 9, nil
	case c >= 0xd4 && c <= 0xd8: // fixext: type byte + 2^k data bytes
		return 2 + 1<<(c-0xd4), nil
	}
	var hdr, extra int
	switch c {
	case 0xc4, 0xd9:
		hdr = 1
	case 0xc5, 0xda:
		hdr = 2
	case 0xc6, 0xdb:
		hdr = 4
	case 0xc7, 0xc8, 0xc9:
		hdr, extra = 1<<(c-0xc7), 1
	default:
		return 0, errBadCode
	}
	save := r.i
	r.i++
	n, err := r.length(hdr, 1)
	r.i = save
	if err != nil {
		return 0, err
	}
	return 1 + hdr + extra + n, nil
}
