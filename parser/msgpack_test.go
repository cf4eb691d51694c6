package parser

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

type msgpackCase struct {
	Name string   `json:"name"`
	Hex  string   `json:"hex"`
	Type Type     `json:"type"`
	Nsp  string   `json:"nsp"`
	ID   *uint64  `json:"id"`
	JSON *string  `json:"json"`
	Atts []string `json:"atts"`
}

func loadMsgpackCases(t *testing.T) []msgpackCase {
	t.Helper()
	b, err := os.ReadFile("testdata/msgpack/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []msgpackCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestMsgpackNode checks both directions against packets encoded by
// socket.io-msgpack-parser 3.0.2 (testdata/msgpack/gen.mjs): decoding gives
// the JSON form, and encoding that gives Node's bytes exactly.
func TestMsgpackNode(t *testing.T) {
	t.Parallel()
	for _, c := range loadMsgpackCases(t) {
		msg, _ := hex.DecodeString(c.Hex)
		p, err := DecodeMsgpack(msg, 0)
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		wantType := c.Type
		if len(c.Atts) > 0 {
			wantType += BinaryEvent - Event
		}
		if p.Type != wantType || p.Namespace != c.Nsp || p.HasID != (c.ID != nil) || (c.ID != nil && p.ID != *c.ID) {
			t.Errorf("%s: decoded %+v", c.Name, p)
		}
		if (c.JSON == nil) != (p.Data == nil) || c.JSON != nil && string(p.Data) != *c.JSON {
			t.Errorf("%s: data %s, want %v", c.Name, p.Data, *c.JSON)
		}
		if len(p.Attachments) != len(c.Atts) {
			t.Errorf("%s: %d attachments", c.Name, len(p.Attachments))
		}
		for i, a := range c.Atts {
			if i < len(p.Attachments) && hex.EncodeToString(p.Attachments[i]) != a {
				t.Errorf("%s: attachment %d = %x", c.Name, i, p.Attachments[i])
			}
		}
		out, err := p.AppendMsgpack(nil)
		if err != nil || !bytes.Equal(out, msg) {
			t.Errorf("%s: encoded\n%x (%v)\nwant\n%x", c.Name, out, err, msg)
		}
	}
}

// TestMsgpackRejects checks the packet checks socket.io-msgpack-parser
// makes, the text decoder's, and malformed msgpack.
func TestMsgpackRejects(t *testing.T) {
	t.Parallel()
	enc := func(p *Packet) []byte {
		b, err := p.AppendMsgpack(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// {type: 2, data: ["x"], nsp: "/"} with one byte changed or cut.
	good := enc(&Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`["x"]`)})
	tests := []struct {
		name string
		msg  []byte
		want string
	}{
		{"empty", nil, "invalid msgpack"},
		{"not a map", []byte{0x92, 0x01, 0x02}, "not a map"},
		{"truncated", good[:12], "invalid msgpack"},
		{"trailing", append(append([]byte{}, good...), 0xc0), "trailing"},
		{"type 5", enc(&Packet{Type: 5, Namespace: "/", Data: json.RawMessage(`["x"]`)})[:0], "invalid msgpack"},
		{"reserved event", enc(&Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`["connect"]`)}), "reserved"},
		{"event without array", enc(&Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`{"a":1}`)}), "invalid payload"},
		{"disconnect with data", enc(&Packet{Type: Disconnect, Namespace: "/", Data: json.RawMessage(`[1]`)}), "invalid payload"},
		{"huge array claim", []byte{0x83, 0xa4, 't', 'y', 'p', 'e', 0x02, 0xa3, 'n', 's', 'p', 0xa1, '/', 0xa4, 'd', 'a', 't', 'a', 0xdd, 0xff, 0xff, 0xff, 0xff}, "invalid msgpack"},
		{"huge bin claim", []byte{0x81, 0xa4, 'd', 'a', 't', 'a', 0xc6, 0xff, 0xff, 0xff, 0xff}, "invalid msgpack"},
		{"no nsp", []byte{0x82, 0xa4, 't', 'y', 'p', 'e', 0x02, 0xa4, 'd', 'a', 't', 'a', 0x91, 0xa1, 'x'}, "invalid namespace"},
		{"float id", []byte{0x84, 0xa4, 't', 'y', 'p', 'e', 0x02, 0xa3, 'n', 's', 'p', 0xa1, '/', 0xa4, 'd', 'a', 't', 'a', 0x91, 0xa1, 'x', 0xa2, 'i', 'd', 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}, "invalid packet id"},
		{"map key not a string", []byte{0x81, 0x01, 0x02}, "not a string"},
	}
	// type 5: the map with type 5.
	tests[4].msg = bytes.Replace(good, []byte{0xa4, 't', 'y', 'p', 'e', 0x02}, []byte{0xa4, 't', 'y', 'p', 'e', 0x05}, 1)
	tests[4].want = "invalid packet type"
	for _, tt := range tests {
		_, err := DecodeMsgpack(tt.msg, 0)
		var de *DecodeError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want a DecodeError with %q", tt.name, err, tt.want)
		}
	}
	// Deep nesting is refused, not a stack overflow.
	deep := append([]byte{0x83, 0xa4, 't', 'y', 'p', 'e', 0x02, 0xa3, 'n', 's', 'p', 0xa1, '/', 0xa4, 'd', 'a', 't', 'a'},
		bytes.Repeat([]byte{0x91}, 100000)...)
	if _, err := DecodeMsgpack(append(deep, 0xc0), 0); err == nil {
		t.Error("100,000 nested arrays decoded")
	}
	// The attachment limit counts bin values.
	many := enc(&Packet{Type: BinaryEvent, Namespace: "/", Data: json.RawMessage(
		`["b",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`), Attachments: [][]byte{{1}, {2}}})
	if _, err := DecodeMsgpack(many, 1); !errors.Is(err, errTooManyAtts) {
		t.Errorf("2 bin values with a limit of 1: %v", err)
	}
}

// TestMsgpackHugeIntegers checks integral numbers from 2^64 on: notepack.io
// writes them as a uint 64 of wrapped halves (1e300 arrives as 0); they
// are written as float 64 here, so the value survives.
func TestMsgpackHugeIntegers(t *testing.T) {
	t.Parallel()
	p := &Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`["n",1e300,18446744073709551615]`)}
	out, err := p.AppendMsgpack(nil)
	if err != nil {
		t.Fatal(err)
	}
	q, err := DecodeMsgpack(out, 0)
	if err != nil || string(q.Data) != `["n",1e+300,18446744073709552000]` {
		t.Fatalf("round trip: %s, %v", q.Data, err)
	}
}

func FuzzDecodeMsgpack(f *testing.F) {
	for _, c := range loadMsgpackCasesF(f) {
		msg, _ := hex.DecodeString(c.Hex)
		f.Add(msg)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		p, err := DecodeMsgpack(msg, 0)
		if err != nil {
			return
		}
		// A decoded packet encodes, and decodes again to the same packet.
		out, err := p.AppendMsgpack(nil)
		if err != nil {
			t.Fatalf("encoding a decoded packet: %v", err)
		}
		q, err := DecodeMsgpack(out, 0)
		if err != nil {
			t.Fatalf("decoding a re-encoded packet: %v", err)
		}
		if q.Type != p.Type || q.Namespace != p.Namespace || q.ID != p.ID || !bytes.Equal(q.Data, p.Data) ||
			len(q.Attachments) != len(p.Attachments) {
			t.Fatalf("round trip changed the packet: %+v vs %+v", p, q)
		}
	})
}

func loadMsgpackCasesF(f *testing.F) []msgpackCase {
	b, err := os.ReadFile("testdata/msgpack/cases.json")
	if err != nil {
		f.Fatal(err)
	}
	var cases []msgpackCase
	if err := json.Unmarshal(b, &cases); err != nil {
		f.Fatal(err)
	}
	return cases
}
