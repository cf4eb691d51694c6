package whiteboard

import (
	"strings"
	"testing"
)

func TestParseStroke(t *testing.T) {
	t.Parallel()
	ok := []struct {
		in   string
		want string
	}{
		{`{"x0":0,"y0":0.5,"x1":1,"y1":0.12345,"color":"#E03131"}`, `{"x0":0,"y0":0.5,"x1":1,"y1":0.12345,"color":"#e03131"}`},
		{`{"color":"#abc","x0":0.1,"y0":0.2,"x1":0.3,"y1":0.4}`, `{"x0":0.1,"y0":0.2,"x1":0.3,"y1":0.4,"color":"#aabbcc"}`},
		{` {"x0":1e-1,"y0":0,"x1":0,"y1":0,"color":"#000000"} `, `{"x0":0.1,"y0":0,"x1":0,"y1":0,"color":"#000000"}`},
		// Annotations, sorted by name.
		{`{"x0":0,"y0":0,"x1":0,"y1":0,"color":"#000","seq":12,"from":"A \"b\"","t":1234.5}`,
			`{"x0":0,"y0":0,"x1":0,"y1":0,"color":"#000000","from":"A \"b\"","seq":12,"t":1234.5}`},
		// Numbers as JSON.stringify writes them: a send time in µs stays digits.
		{`{"x0":0,"y0":0,"x1":0,"y1":0,"color":"#000","t":78383153150,"big":1e21,"tiny":1.5e-7,"neg":-2500000}`,
			`{"x0":0,"y0":0,"x1":0,"y1":0,"color":"#000000","big":1e+21,"neg":-2500000,"t":78383153150,"tiny":1.5e-7}`},
	}
	for _, c := range ok {
		s, err := ParseStroke([]byte(c.in))
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got := string(s.JSON()); got != c.want {
			t.Errorf("%s: canonical %s, want %s", c.in, got, c.want)
		}
	}
	bad := []string{
		``, `null`, `[]`, `"x"`, `{}`, `42`,
		`{"x0":0,"y0":0,"x1":0,"y1":0}`,                                                          // no colour
		`{"x0":0,"y0":0,"x1":0,"color":"#000"}`,                                                  // a coordinate missing
		`{"x0":-0.1,"y0":0,"x1":0,"y1":0,"color":"#000"}`,                                        // out of range
		`{"x0":1.0001,"y0":0,"x1":0,"y1":0,"color":"#000"}`,                                      // out of range
		`{"x0":1e999,"y0":0,"x1":0,"y1":0,"color":"#000"}`,                                       // not a float64
		`{"x0":"0","y0":0,"x1":0,"y1":0,"color":"#000"}`,                                         // a string
		`{"x0":0,"y0":0,"x1":0,"y1":0,"color":"red"}`,                                            // not hex
		`{"x0":0,"y0":0,"x1":0,"y1":0,"color":"#00000g"}`,                                        // not hex
		`{"x0":0,"y0":0,"x1":0,"y1":0,"color":"#0000"}`,                                          // wrong length
		`{"x0":0,"y0":0,"x1":0,"y1":0,"color":"#000","Extra":1}`,                                 // not a note's name
		`{"x0":0,"y0":0,"x1":0,"y1":0,"color":"#000","id":"1-1"}`,                                // a reserved name
		`{"x0":0,"y0":0,"x1":0,"y1":0,"color":"#000","extra":true}`,                              // a note not a number or string
		`{"x0":0,"y0":0,"x1":0,"y1":0,"color":"#000","extra":{}}`,                                // a note not a number or string
		`{"x0":0,"y0":0,"x1":0,"y1":0,"color":"#000","extra":"\n"}`,                              // not printable
		`{"x0":0,"y0":0,"x1":0,"y1":0,"color":"#000","a":1,"b":2,"c":3,"d":4,"e":5}`,             // too many notes
		`{"x0":0,"y0":0,"x1":0,"y1":0,"color":"#000","extra":"` + strings.Repeat("x", 33) + `"}`, // a long note
		`{"x0":null,"y0":0,"x1":0,"y1":0,"color":"#000"}`,                                        // null
		`{"x0":0,"y0":0,"x1":0,"y1":0,"color":"#000"} {}`,                                        // two values
		`{"x0":0,"y0":0,"x1":0,"y1":0,"color":"#000","x0":null}`,                                 // null
		`{"x0":0,"y0":0,"x1":0,"y1":0,"color":"#000` + strings.Repeat(" ", 300) + `"}`,           // too big
	}
	for _, in := range bad {
		if s, err := ParseStroke([]byte(in)); err == nil {
			t.Errorf("%q accepted as %+v", in, s)
		}
	}
}

func FuzzParseStroke(f *testing.F) {
	f.Add([]byte(`{"x0":0,"y0":0.5,"x1":1,"y1":0.12345,"color":"#E03131"}`))
	f.Add([]byte(`{"x0":0,"y0":0,"x1":0,"y1":0,"color":"#abc"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := ParseStroke(raw)
		if err != nil {
			return
		}
		// A valid stroke's canonical form is valid and stable.
		again, err := ParseStroke(s.JSON())
		if err != nil || again != s {
			t.Fatalf("%q: canonical %s reads as %+v, %v", raw, s.JSON(), again, err)
		}
	})
}

func TestID(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"0-0", "0-1", "1796237245627-3"} {
		id, err := ParseID(s)
		if err != nil || id.String() != s {
			t.Errorf("%s: %v, %v", s, id, err)
		}
	}
	for _, s := range []string{"", "-", "a-1", "1-b", "1-2-3", "-1"} {
		if _, err := ParseID(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
	if a, b := (ID{1, 9}), (ID{2, 0}); !a.Less(b) || b.Less(a) || a.Less(a) {
		t.Error("Less")
	}
}

func TestValidBoard(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"a", "team-1", "A_b", strings.Repeat("x", 64)} {
		if !ValidBoard(n) {
			t.Errorf("%q refused", n)
		}
	}
	for _, n := range []string{"", "a b", "../x", "é", strings.Repeat("x", 65), "a:b"} {
		if ValidBoard(n) {
			t.Errorf("%q accepted", n)
		}
	}
}
