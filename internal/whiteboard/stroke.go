package whiteboard

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard-io/switchboard/internal/clusterwire"
)

// MaxStrokeBytes is the largest "drawing" payload accepted, in bytes of
// JSON: a segment the page sends is about 70 bytes.
const MaxStrokeBytes = 256

// Stroke is one straight segment of a line: coordinates are fractions of
// the canvas (0 is left or top, 1 is right or bottom) and Color is a CSS
// colour #rrggbb as 0xrrggbb. A segment whose ends coincide is a dot.
type Stroke struct {
	X0, Y0, X1, Y1 float32
	Color          uint32
	// Notes are the stroke's annotations as canonical JSON object
	// members, "" for none (see ParseStroke).
	Notes string
}

// Reasons a stroke or a request is dropped, the keys of Stats.Dropped and
// the reason label of switchboard_whiteboard_dropped_total.
const (
	DropSize    = "size"    // a stroke larger than MaxStrokeBytes
	DropShape   = "shape"   // not a stroke object: wrong type, fields missing or unknown, binary
	DropRange   = "range"   // a coordinate outside [0, 1] or a colour that is not #rgb or #rrggbb
	DropRequest = "request" // a malformed "history" request
	DropStore   = "store"   // the board store failed or timed out
)

// DropReasons lists the Drop constants.
var DropReasons = []string{DropSize, DropShape, DropRange, DropRequest, DropStore}

// dropReason indexes DropReasons.
type dropReason int

const (
	dropSize dropReason = iota
	dropShape
	dropRange
	dropRequest
	dropStore
	numDropReasons
)

func (r dropReason) String() string { return DropReasons[r] }

// StrokeError is the error of ParseStroke: Reason is DropSize, DropShape
// or DropRange.
type StrokeError struct{ Reason string }

// Error implements error.
func (e *StrokeError) Error() string { return "whiteboard: bad stroke (" + e.Reason + ")" }

var (
	errSize  = &StrokeError{DropSize}
	errShape = &StrokeError{DropShape}
	errRange = &StrokeError{DropRange}
)

// reasonOf returns the drop reason of a ParseStroke error.
func reasonOf(err error) dropReason {
	switch err {
	case errSize:
		return dropSize
	case errRange:
		return dropRange
	}
	return dropShape
}

// Annotations: a stroke may carry a few extra fields, numbers or short
// strings, relayed and stored with it (the delivery tests and load tools
// tag their strokes with a sequence number or a send time).
const (
	maxNotes       = 4
	maxNoteKey     = 16
	maxNoteStrings = 32
)

// ParseStroke validates one "drawing" payload: a JSON object of at most
// MaxStrokeBytes with the numbers x0, y0, x1, y1 in [0, 1], a colour
// "#rgb" or "#rrggbb", and at most 4 annotations: other fields named by 1
// to 16 lowercase letters whose values are finite numbers or strings of
// at most 32 printable ASCII characters. Anything else is an error.
func ParseStroke(raw []byte) (Stroke, error) {
	if len(raw) > MaxStrokeBytes {
		return Stroke{}, errSize
	}
	var fields map[string]json.RawMessage
	d := json.NewDecoder(bytes.NewReader(raw))
	if err := d.Decode(&fields); err != nil || fields == nil || d.More() {
		return Stroke{}, errShape
	}
	var s Stroke
	for i, dst := range []*float32{&s.X0, &s.Y0, &s.X1, &s.Y1} {
		key := [...]string{"x0", "y0", "x1", "y1"}[i]
		var v *float64
		if json.Unmarshal(fields[key], &v) != nil || v == nil {
			return Stroke{}, errShape
		}
		if *v < 0 || *v > 1 {
			return Stroke{}, errRange
		}
		*dst = float32(*v)
		delete(fields, key)
	}
	var color *string
	if json.Unmarshal(fields["color"], &color) != nil || color == nil {
		return Stroke{}, errShape
	}
	delete(fields, "color")
	var ok bool
	if s.Color, ok = parseColor(*color); !ok {
		return Stroke{}, errRange
	}
	var err error
	s.Notes, err = parseNotes(fields)
	return s, err
}

// parseNotes validates a stroke's annotations and returns their canonical
// JSON members, sorted by name: `"seq":12,"from":"A"`.
func parseNotes(fields map[string]json.RawMessage) (string, error) {
	if len(fields) > maxNotes {
		return "", errShape
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if len(k) > maxNoteKey || strings.TrimLeft(k, "abcdefghijklmnopqrstuvwxyz") != "" || k == "" || k == "id" || k == "clear" {
			return "", errShape
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b []byte
	for _, k := range keys {
		v := fields[k]
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = append(append(append(b, '"'), k...), '"', ':')
		switch {
		case len(v) > 0 && v[0] == '"':
			var str string
			if json.Unmarshal(v, &str) != nil || len(str) > maxNoteStrings || !printable(str) {
				return "", errShape
			}
			b = strconv.AppendQuote(b, str) // printable ASCII: Go and JSON quoting agree
		case len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9'):
			var f float64
			if json.Unmarshal(v, &f) != nil {
				return "", errShape
			}
			b = clusterwire.AppendJSNumber(b, f) // as JSON.stringify writes it: a µs send time stays digits
		default:
			return "", errShape
		}
	}
	return string(b), nil
}

// printable reports whether s is printable ASCII.
func printable(s string) bool {
	for i := range len(s) {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// parseColor reads "#rgb" or "#rrggbb" (either case) as 0xrrggbb.
func parseColor(c string) (uint32, bool) {
	if len(c) != 4 && len(c) != 7 || c[0] != '#' {
		return 0, false
	}
	var v uint32
	for i := 1; i < len(c); i++ {
		d, ok := hexDigit(c[i])
		if !ok {
			return 0, false
		}
		v = v<<4 | d
		if len(c) == 4 {
			v = v<<4 | d
		}
	}
	return v, true
}

func hexDigit(b byte) (uint32, bool) {
	switch {
	case b >= '0' && b <= '9':
		return uint32(b - '0'), true
	case b >= 'a' && b <= 'f':
		return uint32(b-'a') + 10, true
	case b >= 'A' && b <= 'F':
		return uint32(b-'A') + 10, true
	}
	return 0, false
}

// appendJSON appends the stroke's canonical JSON object, with the entry id
// first when id is not zero.
func (s Stroke) appendJSON(b []byte, id ID) []byte {
	b = append(b, '{')
	if !id.IsZero() {
		b = append(b, `"id":"`...)
		b = id.append(b)
		b = append(b, `",`...)
	}
	for i, c := range [4]float32{s.X0, s.Y0, s.X1, s.Y1} {
		b = append(b, '"', "xyxy"[i], "0011"[i], '"', ':')
		b = strconv.AppendFloat(b, float64(c), 'f', -1, 32)
		b = append(b, ',')
	}
	b = append(b, `"color":"#`...)
	const hex = "0123456789abcdef"
	for shift := 20; shift >= 0; shift -= 4 {
		b = append(b, hex[s.Color>>uint(shift)&0xf])
	}
	b = append(b, '"')
	if s.Notes != "" {
		b = append(append(b, ','), s.Notes...)
	}
	return append(b, '}')
}

// JSON returns the stroke's canonical JSON, as the store keeps it.
func (s Stroke) JSON() []byte { return s.appendJSON(nil, ID{}) }
