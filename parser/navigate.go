package parser

import "strconv"

// Elements splits an Arg holding a JSON array into its elements, binary
// values kept: each element can be relayed or decoded like a top-level
// argument.
func (a Arg) Elements() ([]Arg, error) {
	p := Packet{Data: a.raw, Attachments: a.atts}
	return p.Args()
}

// Field returns the member name of an Arg holding a JSON object, binary
// values kept. It reports false when a is not an object or has no such
// member.
func (a Arg) Field(name string) (Arg, bool) {
	data := a.raw
	s := scanner{data: data}
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return Arg{}, false
	}
	for i = skipSpace(data, i+1); i < len(data) && data[i] == '"'; {
		end, esc, err := scanString(data, i)
		if err != nil {
			return Arg{}, false
		}
		key := data[i:end]
		if i = skipSpace(data, end); i >= len(data) || data[i] != ':' {
			return Arg{}, false
		}
		i = skipSpace(data, i+1)
		vEnd, err := s.value(i, 1)
		if err != nil {
			return Arg{}, false
		}
		if keyIs(key, esc, name) {
			return a.sub(data[i:vEnd])
		}
		if i = skipSpace(data, vEnd); i >= len(data) || data[i] != ',' {
			return Arg{}, false
		}
		i = skipSpace(data, i+1)
	}
	return Arg{}, false
}

// sub returns raw (a slice of a's JSON) as an Arg with its own placeholder
// positions.
func (a Arg) sub(raw []byte) (Arg, bool) {
	wrapped := make([]byte, 0, len(raw)+2)
	wrapped = append(append(append(wrapped, '['), raw...), ']')
	p := Packet{Data: wrapped, Attachments: a.atts}
	args, err := p.Args()
	if err != nil || len(args) != 1 {
		return Arg{}, false
	}
	return args[0], true
}

// DecodeArgs decodes args into the values ptrs point to, in order: args[0]
// into ptrs[0], and so on. A nil pointer skips its argument; a missing
// argument leaves its value untouched. The error names the argument's index.
func DecodeArgs(args []Arg, ptrs ...any) error {
	for i, p := range ptrs {
		if p == nil || i >= len(args) {
			continue
		}
		if err := args[i].Decode(p); err != nil {
			return &ArgError{Index: i, Err: err}
		}
	}
	return nil
}

// ArgError reports an argument that could not be decoded.
type ArgError struct {
	Index int
	Err   error
}

// Error names the argument and the cause.
func (e *ArgError) Error() string { return "argument " + strconv.Itoa(e.Index) + ": " + e.Err.Error() }

// Unwrap returns the decoding error.
func (e *ArgError) Unwrap() error { return e.Err }
