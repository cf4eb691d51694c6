package parser

import (
	"bytes"
	"encoding/json"
)

// maxDepth bounds the nesting of arrays and objects, as encoding/json does.
const maxDepth = 10000

// placeholder locates one attachment placeholder {"_placeholder":true,"num":N}
// inside a JSON text. Offsets are byte offsets into that text.
type placeholder struct {
	start, end       int // the object, [start, end)
	numStart, numEnd int // the num literal, [numStart, numEnd)
	num              int // the attachment index
}

// scanner validates JSON and, when checkPH is set, finds and validates the
// attachment placeholders in it. It never allocates unless a placeholder is
// found or a key uses escapes.
type scanner struct {
	data    []byte
	checkPH bool          // look for placeholders
	nAtt    int           // placeholders must have num in [0, nAtt)
	phs     []placeholder // placeholders found, in document order
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func skipSpace(data []byte, i int) int {
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	return i
}

// whole validates that s.data is exactly one JSON value surrounded by
// optional white space.
func (s *scanner) whole() error {
	i := skipSpace(s.data, 0)
	end, err := s.value(i, 0)
	if err != nil {
		return err
	}
	if skipSpace(s.data, end) != len(s.data) {
		return errInvalidPayload
	}
	return nil
}

// value scans the JSON value starting exactly at i and returns the offset
// just after it.
func (s *scanner) value(i, depth int) (int, error) {
	if i >= len(s.data) {
		return i, errInvalidPayload
	}
	switch c := s.data[i]; {
	case c == '{':
		return s.object(i, depth+1)
	case c == '[':
		return s.array(i, depth+1)
	case c == '"':
		end, _, err := scanString(s.data, i)
		return end, err
	case c == '-' || isDigit(c):
		return scanNumber(s.data, i)
	case c == 't':
		return scanLiteral(s.data, i, "true")
	case c == 'f':
		return scanLiteral(s.data, i, "false")
	case c == 'n':
		return scanLiteral(s.data, i, "null")
	}
	return i, errInvalidPayload
}

// array scans the array starting at i (which holds '[').
func (s *scanner) array(i, depth int) (int, error) {
	if depth > maxDepth {
		return i, errInvalidPayload
	}
	i = skipSpace(s.data, i+1)
	if i < len(s.data) && s.data[i] == ']' {
		return i + 1, nil
	}
	for {
		end, err := s.value(i, depth)
		if err != nil {
			return end, err
		}
		i = skipSpace(s.data, end)
		if i >= len(s.data) {
			return i, errInvalidPayload
		}
		switch s.data[i] {
		case ']':
			return i + 1, nil
		case ',':
			i = skipSpace(s.data, i+1)
		default:
			return i, errInvalidPayload
		}
	}
}

// phState collects what object needs to know to recognise a placeholder.
type phState struct {
	keys     int  // number of members
	isPH     bool // some "_placeholder" member is true
	phKeys   int  // number of "_placeholder" members
	numKeys  int  // number of "num" members
	numStart int
	numEnd   int
}

// object scans the object starting at i (which holds '{').
func (s *scanner) object(i, depth int) (int, error) {
	if depth > maxDepth {
		return i, errInvalidPayload
	}
	start := i
	var st phState
	i = skipSpace(s.data, i+1)
	if i < len(s.data) && s.data[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(s.data) || s.data[i] != '"' {
			return i, errInvalidPayload
		}
		keyEnd, esc, err := scanString(s.data, i)
		if err != nil {
			return keyEnd, err
		}
		key := s.data[i:keyEnd]
		i = skipSpace(s.data, keyEnd)
		if i >= len(s.data) || s.data[i] != ':' {
			return i, errInvalidPayload
		}
		vStart := skipSpace(s.data, i+1)
		vEnd, err := s.value(vStart, depth)
		if err != nil {
			return vEnd, err
		}
		if s.checkPH {
			st.member(key, esc, s.data[vStart:vEnd], vStart, vEnd)
		}
		i = skipSpace(s.data, vEnd)
		if i >= len(s.data) {
			return i, errInvalidPayload
		}
		switch s.data[i] {
		case '}':
			if st.isPH {
				return i + 1, s.addPlaceholder(start, i+1, &st)
			}
			return i + 1, nil
		case ',':
			i = skipSpace(s.data, i+1)
		default:
			return i, errInvalidPayload
		}
	}
}

// member records one object member for placeholder recognition.
func (st *phState) member(key []byte, esc bool, val []byte, vStart, vEnd int) {
	st.keys++
	switch {
	case keyIs(key, esc, "_placeholder"):
		st.phKeys++
		if string(val) == "true" {
			st.isPH = true
		}
	case keyIs(key, esc, "num"):
		st.numKeys++
		st.numStart, st.numEnd = vStart, vEnd
	}
}

// addPlaceholder validates a placeholder-shaped object: exactly the members
// "_placeholder" and "num", num a plain integer in [0, nAtt).
func (s *scanner) addPlaceholder(start, end int, st *phState) error {
	if st.keys != 2 || st.phKeys != 1 || st.numKeys != 1 {
		return errIllegalPH
	}
	num, ok := parseIndex(s.data[st.numStart:st.numEnd], s.nAtt)
	if !ok {
		return errIllegalPH
	}
	s.phs = append(s.phs, placeholder{
		start: start, end: end,
		numStart: st.numStart, numEnd: st.numEnd,
		num: num,
	})
	return nil
}

// parseIndex parses b as a decimal integer without sign, fraction, exponent
// or leading zero, and reports whether it is below limit.
func parseIndex(b []byte, limit int) (int, bool) {
	if len(b) == 0 || len(b) > 1 && b[0] == '0' {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int(c-'0')
		if n >= limit {
			return 0, false
		}
	}
	return n, true
}

// keyIs reports whether the JSON string lit (quotes included) decodes to
// want. esc tells whether lit contains escapes.
func keyIs(lit []byte, esc bool, want string) bool {
	if !esc {
		return string(lit[1:len(lit)-1]) == want
	}
	// Escaped keys are rare; an escaped form is at least as long as the
	// decoded one, so shorter literals cannot match.
	if len(lit)-2 < len(want) {
		return false
	}
	s, ok := unquote(lit)
	return ok && s == want
}

// unquote decodes the JSON string literal lit (quotes included).
func unquote(lit []byte) (string, bool) {
	if bytes.IndexByte(lit, '\\') < 0 {
		return string(lit[1 : len(lit)-1]), true
	}
	var s string
	if json.Unmarshal(lit, &s) != nil {
		return "", false
	}
	return s, true
}

// scanString scans the string literal starting at i (which holds '"'). It
// returns the offset after the closing quote and whether escapes occur.
func scanString(data []byte, i int) (int, bool, error) {
	esc := false
	for i++; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '"':
			return i + 1, esc, nil
		case c < 0x20:
			return i, esc, errInvalidPayload
		case c == '\\':
			esc = true
			i++
			if i >= len(data) {
				return i, esc, errInvalidPayload
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(data) || !isHex4(data[i+1:i+5]) {
					return i, esc, errInvalidPayload
				}
				i += 4
			default:
				return i, esc, errInvalidPayload
			}
		}
	}
	return i, esc, errInvalidPayload
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) && (c|0x20 < 'a' || c|0x20 > 'f') {
			return false
		}
	}
	return true
}

// scanNumber scans the number starting at i.
func scanNumber(data []byte, i int) (int, error) {
	if data[i] == '-' {
		i++
	}
	switch {
	case i >= len(data) || !isDigit(data[i]):
		return i, errInvalidPayload
	case data[i] == '0':
		i++
	default:
		i = skipDigits(data, i)
	}
	if i < len(data) && data[i] == '.' {
		j := skipDigits(data, i+1)
		if j == i+1 {
			return j, errInvalidPayload
		}
		i = j
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := skipDigits(data, i)
		if j == i {
			return j, errInvalidPayload
		}
		i = j
	}
	return i, nil
}

func skipDigits(data []byte, i int) int {
	for i < len(data) && isDigit(data[i]) {
		i++
	}
	return i
}

func scanLiteral(data []byte, i int, lit string) (int, error) {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return i, errInvalidPayload
	}
	return i + len(lit), nil
}

// validJSON reports whether data is exactly one JSON value.
func validJSON(data []byte) bool {
	s := scanner{data: data}
	return s.whole() == nil
}
