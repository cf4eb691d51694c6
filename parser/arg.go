package parser

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
)

// Arg is one element of a received data array: its raw JSON, with
// placeholders kept as on the wire, and the attachments of its packet.
//
// An Arg shares memory with its packet; it is read-only and safe for
// concurrent use. Passing an Arg to EncodeData or AppendData relays it byte
// for byte (only placeholder numbers change), attachments included.
// The zero Arg stands for JSON null.
type Arg struct {
	raw  []byte
	atts [][]byte
	phs  []placeholder // offsets relative to raw, in document order
}

// Args splits p.Data, which must be a JSON array, into its elements. For
// Event packets the first element is the event name (see Event).
//
// Placeholders are validated against p.Attachments. Args makes one
// allocation for the returned slice, plus one for the placeholder positions
// when the data holds binary values.
func (p *Packet) Args() ([]Arg, error) {
	s := scanner{data: p.Data, checkPH: true, nAtt: len(p.Attachments)}
	i := skipSpace(s.data, 0)
	if i >= len(s.data) || s.data[i] != '[' {
		return nil, errNotArray
	}
	i = skipSpace(s.data, i+1)
	if i < len(s.data) && s.data[i] == ']' {
		if skipSpace(s.data, i+1) != len(s.data) {
			return nil, errInvalidPayload
		}
		return []Arg{}, nil
	}
	args := make([]Arg, 0, 4)
	for {
		nph := len(s.phs)
		end, err := s.value(i, 1)
		if err != nil {
			return nil, err
		}
		args = append(args, Arg{raw: s.data[i:end:end], atts: p.Attachments})
		if len(s.phs) > nph {
			phs := s.phs[nph:len(s.phs):len(s.phs)]
			for k := range phs {
				phs[k].shift(-i)
			}
			args[len(args)-1].phs = phs
		}
		if i, err = nextElement(s.data, end); err != nil {
			return nil, err
		}
		if i < 0 {
			return args, nil
		}
	}
}

// nextElement skips the separator after an array element that ends at i. It
// returns the start of the next element, or -1 after the closing bracket
// and trailing white space.
func nextElement(data []byte, i int) (int, error) {
	i = skipSpace(data, i)
	if i >= len(data) {
		return 0, errInvalidPayload
	}
	switch data[i] {
	case ',':
		return skipSpace(data, i+1), nil
	case ']':
		if skipSpace(data, i+1) != len(data) {
			return 0, errInvalidPayload
		}
		return -1, nil
	}
	return 0, errInvalidPayload
}

func (ph *placeholder) shift(d int) {
	ph.start += d
	ph.end += d
	ph.numStart += d
	ph.numEnd += d
}

// Event returns the event name of an Event or BinaryEvent packet and the
// remaining arguments. A number name is returned as JavaScript prints it
// (the decimal text for integers), since Node keys listeners by that string.
func (p *Packet) Event() (string, []Arg, error) {
	if p.Type != Event && p.Type != BinaryEvent {
		return "", nil, errNotEvent
	}
	args, err := p.Args()
	if err != nil {
		return "", nil, err
	}
	if len(args) == 0 {
		return "", nil, errInvalidPayload
	}
	name, ok := args[0].eventName()
	if !ok {
		return "", nil, errInvalidPayload
	}
	if IsReservedEvent(name) {
		return "", nil, reservedEventError(name)
	}
	return name, args[1:], nil
}

func (a Arg) eventName() (string, bool) {
	if s, ok := a.String(); ok {
		return s, true
	}
	if len(a.raw) == 0 || a.raw[0] != '-' && !isDigit(a.raw[0]) {
		return "", false
	}
	if isPlainInt(a.raw) {
		return string(a.raw), true
	}
	f, err := strconv.ParseFloat(string(a.raw), 64)
	if err != nil && !math.IsInf(f, 0) {
		return "", false
	}
	return jsNumberString(f), true
}

// isPlainInt reports whether b is a small integer that JavaScript prints as
// written: no leading zero, no "-0", fewer than 16 digits.
func isPlainInt(b []byte) bool {
	d := b
	if d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || len(d) > 15 || d[0] == '0' && (len(d) > 1 || len(b) > 1) {
		return false
	}
	for _, c := range d {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// jsNumberString formats f as JavaScript's Number.prototype.toString does.
func jsNumberString(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	if a := math.Abs(f); a >= 1e21 || a < 1e-6 {
		b := strconv.AppendFloat(nil, f, 'e', -1, 64)
		return string(trimExponentZero(b))
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// JSON returns the raw JSON of the element, placeholders as on the wire.
// The result aliases the packet data and must not be modified.
func (a Arg) JSON() json.RawMessage { return a.raw }

// HasBinary reports whether the element contains at least one placeholder.
func (a Arg) HasBinary() bool { return len(a.phs) > 0 }

// Bytes returns the attachment when the element itself is a placeholder.
// The result aliases the packet's attachment.
func (a Arg) Bytes() ([]byte, bool) {
	if len(a.phs) != 1 || a.phs[0].start != 0 || a.phs[0].end != len(a.raw) {
		return nil, false
	}
	return a.atts[a.phs[0].num], true
}

// String returns the decoded value when the element is a JSON string.
func (a Arg) String() (string, bool) {
	if len(a.raw) < 2 || a.raw[0] != '"' {
		return "", false
	}
	return unquote(a.raw)
}

// IsNull reports whether the element is JSON null (or the zero Arg).
func (a Arg) IsNull() bool { return len(a.raw) == 0 || string(a.raw) == "null" }

// Decode unmarshals the element into v with encoding/json. Every placeholder
// is first replaced by the standard, padded base64 string of its attachment,
// so []byte fields and values anywhere in v fill naturally. When the element
// itself is a placeholder and v is a *[]byte, v receives the attachment
// directly (aliased, not copied).
func (a Arg) Decode(v any) error {
	if b, ok := v.(*[]byte); ok {
		if att, ok := a.Bytes(); ok {
			*b = att
			return nil
		}
	}
	if len(a.raw) == 0 {
		return json.Unmarshal([]byte("null"), v)
	}
	return json.Unmarshal(a.withBase64(), v)
}

// MarshalJSON returns the element's JSON with every placeholder replaced by
// the base64 string of its attachment, for logging or for re-encoding
// without binary attachments.
func (a Arg) MarshalJSON() ([]byte, error) {
	if len(a.raw) == 0 {
		return []byte("null"), nil
	}
	return a.withBase64(), nil
}

// withBase64 returns raw with placeholders replaced by base64 strings. It
// returns raw itself when there are none.
func (a Arg) withBase64() []byte {
	if len(a.phs) == 0 {
		return a.raw
	}
	size := len(a.raw)
	for _, ph := range a.phs {
		size += base64.StdEncoding.EncodedLen(len(a.atts[ph.num])) + 2 - (ph.end - ph.start)
	}
	out := make([]byte, 0, size)
	last := 0
	for _, ph := range a.phs {
		out = append(out, a.raw[last:ph.start]...)
		out = append(out, '"')
		out = base64.StdEncoding.AppendEncode(out, a.atts[ph.num])
		out = append(out, '"')
		last = ph.end
	}
	return append(out, a.raw[last:]...)
}
