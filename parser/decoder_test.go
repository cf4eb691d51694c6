package parser

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// phArray returns an event data array: "ev", then n placeholders numbered 0..n-1.
func phArray(n int) string {
	var b strings.Builder
	b.WriteString(`["ev"`)
	for i := range n {
		b.WriteString(`,{"_placeholder":true,"num":`)
		b.WriteString(strconv.Itoa(i))
		b.WriteString(`}`)
	}
	b.WriteString(`]`)
	return b.String()
}

func bins(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte{byte(i)}
	}
	return out
}

// decodeErrorTests are malformed inputs and the error reason each gets.
var decodeErrorTests = []struct {
	name   string
	max    int
	text   string
	bins   [][]byte
	reason string // expected DecodeError.Reason prefix; "" means valid
}{
	{"empty", 0, ``, nil, "unknown packet type"},
	{"letters", 0, `abc`, nil, "unknown packet type"},
	{"type 7", 0, `7["a"]`, nil, "unknown packet type"},
	{"type 9", 0, `9`, nil, "unknown packet type"},
	{"event without data", 0, `2`, nil, "invalid payload"},
	{"event with empty array", 0, `2[]`, nil, "invalid payload"},
	{"event with object", 0, `2{}`, nil, "invalid payload"},
	{"event with bool name", 0, `2[true]`, nil, "invalid payload"},
	{"event with null name", 0, `2[null]`, nil, "invalid payload"},
	{"event with array name", 0, `2[["a"]]`, nil, "invalid payload"},
	{"event bad json", 0, `2["a"`, nil, "invalid payload"},
	{"event trailing garbage", 0, `2["a"]x`, nil, "invalid payload"},
	{"event two values", 0, `2["a"] ["b"]`, nil, "invalid payload"},
	{"event trailing comma", 0, `2["a",]`, nil, "invalid payload"},
	{"event single quotes", 0, `2['a']`, nil, "invalid payload"},
	{"event control char in string", 0, "2[\"a\x01\"]", nil, "invalid payload"},
	{"event bad escape", 0, `2["\x"]`, nil, "invalid payload"},
	{"event bad number", 0, `2[01]`, nil, "invalid payload"},
	{"namespace swallows payload", 0, `2/admin["a"]`, nil, "invalid payload"},
	{"ack without data", 0, `31`, nil, "invalid payload"},
	{"ack with object", 0, `31{}`, nil, "invalid payload"},
	{"ack with string", 0, `31"a"`, nil, "invalid payload"},
	{"connect with array", 0, `0["a"]`, nil, "invalid payload"},
	{"connect with string", 0, `0"a"`, nil, "invalid payload"},
	{"connect with null", 0, `0null`, nil, "invalid payload"},
	{"connect bad json", 0, `0{"a"}`, nil, "invalid payload"},
	{"disconnect with payload", 0, `1{}`, nil, "invalid payload"},
	{"disconnect with garbage", 0, `1/a,x`, nil, "invalid payload"},
	{"connect error with array", 0, `4[]`, nil, "invalid payload"},
	{"connect error with number", 0, `41`, nil, ""}, // id 1, no payload: valid
	{"connect error with true", 0, `4true`, nil, "invalid payload"},
	{"binary without dash", 0, `51["a"]`, nil, "Illegal attachments"},
	{"binary empty count", 0, `5-["a"]`, nil, "Illegal attachments"},
	{"binary letter count", 0, `5a-["a"]`, nil, "Illegal attachments"},
	{"binary type only", 0, `5`, nil, "Illegal attachments"},
	{"binary negative count", 0, `5-1-["a"]`, nil, "Illegal attachments"},
	{"binary ack bad count", 0, `6x-[]`, nil, "Illegal attachments"},
	{"too many default", 0, `511-` + phArray(11), nil, "too many attachments"},
	{"too many custom", 2, `53-` + phArray(3), nil, "too many attachments"},
	{"huge count", 0, `599999999999999999999999-["a"]`, nil, "too many attachments"},
	{"placeholder num out of range", 0, `51-["a",{"_placeholder":true,"num":1}]`, bins(1), "illegal attachments"},
	{"placeholder negative num", 0, `51-["a",{"_placeholder":true,"num":-1}]`, bins(1), "illegal attachments"},
	{"placeholder fractional num", 0, `52-["a",{"_placeholder":true,"num":0.5}]`, bins(2), "illegal attachments"},
	{"placeholder string num", 0, `51-["a",{"_placeholder":true,"num":"0"}]`, bins(1), "illegal attachments"},
	{"placeholder without num", 0, `51-["a",{"_placeholder":true}]`, bins(1), "illegal attachments"},
	{"placeholder extra key", 0, `51-["a",{"_placeholder":true,"num":0,"x":1}]`, bins(1), "illegal attachments"},
	{"placeholder duplicate num", 0, `51-["a",{"_placeholder":true,"num":0,"num":0}]`, bins(1), "illegal attachments"},
	{"placeholder leading zero", 0, `52-["a",{"_placeholder":true,"num":01}]`, bins(2), "invalid payload"},
	{"placeholder deep", 0, `51-["a",{"x":[1,{"_placeholder":true,"num":3}]}]`, bins(1), "illegal attachments"},
	{"placeholder escaped key", 0, `51-["a",{"\u005fplaceholder":true,"num":2}]`, bins(1), "illegal attachments"},
	{"placeholder in text event", 0, `2["a",{"_placeholder":true,"num":0}]`, nil, "illegal attachments"},
	{"placeholder in ack", 0, `3/x,1[{"_placeholder":true,"num":0}]`, nil, "illegal attachments"},
	{"placeholder in zero-attachment binary", 0, `50-["a",{"_placeholder":true,"num":0}]`, nil, "illegal attachments"},
	{"ack id overflow", 0, `39007199254740992[]`, nil, "invalid ack id"},
	{"ack id way too big", 0, `2123456789012345678901234567890["a"]`, nil, "invalid ack id"},
	{"ack id uint64 wrap", 0, `318446744073709551617[]`, nil, "invalid ack id"},
	{"text while reconstructing", 0, `51-["a",{"_placeholder":true,"num":0}]`, nil, "got plaintext data"},
	{"binary with nothing pending", 0, `2["a"]`, bins(1), "got binary data"},
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range decodeErrorTests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := &Decoder{MaxAttachments: tc.max}
			p, err := d.DecodeText([]byte(tc.text))
			if err == nil && tc.name == "text while reconstructing" {
				p, err = d.DecodeText([]byte(`2["a"]`))
			}
			for _, b := range tc.bins {
				if err != nil {
					break
				}
				p, err = d.DecodeBinary(b)
			}
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("decode %q: unexpected error %v", tc.text, err)
				}
				return
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("decode %q = %+v, %v; want DecodeError %q", tc.text, p, err, tc.reason)
			}
			if !strings.HasPrefix(de.Reason, tc.reason) {
				t.Errorf("decode %q: reason %q, want %q", tc.text, de.Reason, tc.reason)
			}
			if p != nil {
				t.Errorf("decode %q: packet %+v returned with error", tc.text, p)
			}
			if !strings.HasPrefix(err.Error(), "socket.io parser: ") {
				t.Errorf("Error() = %q lacks prefix", err.Error())
			}
		})
	}
}

func TestDecodeReservedEvents(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		for _, text := range []string{
			`2["` + name + `"]`,
			`2/nsp,5["` + name + `",1]`,
			`51-["` + name + `",{"_placeholder":true,"num":0}]`,
			`2["\u00` + jsonHex(name[0]) + name[1:] + `"]`, // escaped first letter
		} {
			t.Run(text, func(t *testing.T) {
				t.Parallel()
				_, err := decodeAll(0, text)
				if !errors.Is(err, ErrReservedEvent) {
					t.Fatalf("decode %s: err = %v, want ErrReservedEvent", text, err)
				}
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Errorf("decode %s: err %T is not a *DecodeError", text, err)
				}
			})
		}
	}
	for _, ok := range []string{`2["Connect"]`, `2["connection"]`, `2["disconnected"]`, `2[1]`, `2[-1.5e3]`, `3["connect"]`} {
		if _, err := decodeAll(0, ok); err != nil {
			t.Errorf("decode %s: %v", ok, err)
		}
	}
}

func jsonHex(c byte) string {
	const hex = "0123456789abcdef"
	return string([]byte{hex[c>>4], hex[c&0xf]})
}

func TestDecodeValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		max  int
		text string
		bins [][]byte
		want Packet
	}{
		{"namespace without comma", 0, `40/custom`[1:], nil, Packet{Type: Connect, Namespace: "/custom"}},
		{"disconnect without comma", 0, `41/custom`[1:], nil, Packet{Type: Disconnect, Namespace: "/custom"}},
		{"connect random", 0, `0/random`, nil, Packet{Type: Connect, Namespace: "/random"}},
		{"explicit main namespace", 0, `2/,["a"]`, nil, Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`["a"]`)}},
		{"namespace with query", 0, `0/admin?token=1234,`, nil, Packet{Type: Connect, Namespace: "/admin?token=1234"}},
		{"connect with auth", 0, `0{"token":"x"}`, nil, Packet{Type: Connect, Namespace: "/", Data: json.RawMessage(`{"token":"x"}`)}},
		{"connect error string", 0, `4"nope"`, nil, Packet{Type: ConnectError, Namespace: "/", Data: json.RawMessage(`"nope"`)}},
		{"number event name", 0, `2[42,"x"]`, nil, Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`[42,"x"]`)}},
		{"white space kept", 0, `2 [ "a" , 1 ] `, nil, Packet{Type: Event, Namespace: "/", Data: json.RawMessage(` [ "a" , 1 ] `)}},
		{"empty ack", 0, `31[]`, nil, Packet{Type: Ack, Namespace: "/", ID: 1, HasID: true, Data: json.RawMessage(`[]`)}},
		{"ack id max", 0, `39007199254740991[]`, nil, Packet{Type: Ack, Namespace: "/", ID: maxAckID, HasID: true, Data: json.RawMessage(`[]`)}},
		{"ack id leading zeros", 0, `3007[]`, nil, Packet{Type: Ack, Namespace: "/", ID: 7, HasID: true, Data: json.RawMessage(`[]`)}},
		{"zero attachments", 0, `50-["a"]`, nil, Packet{Type: BinaryEvent, Namespace: "/", Data: json.RawMessage(`["a"]`)}},
		{"placeholder-like but false", 0, `2["a",{"_placeholder":false,"num":9}]`, nil,
			Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`["a",{"_placeholder":false,"num":9}]`)}},
		{"placeholder in connect ignored", 0, `0{"_placeholder":true,"num":0}`, nil,
			Packet{Type: Connect, Namespace: "/", Data: json.RawMessage(`{"_placeholder":true,"num":0}`)}},
		{"unused attachment", 0, `62-/n,3[{"_placeholder":true,"num":1}]`, bins(2),
			Packet{Type: BinaryAck, Namespace: "/n", ID: 3, HasID: true,
				Data: json.RawMessage(`[{"_placeholder":true,"num":1}]`), Attachments: bins(2)}},
		{"ten attachments by default", 0, `510-` + phArray(10), bins(10),
			Packet{Type: BinaryEvent, Namespace: "/", Data: json.RawMessage(phArray(10)), Attachments: bins(10)}},
		{"eleven attachments when allowed", 11, `511-` + phArray(11), bins(11),
			Packet{Type: BinaryEvent, Namespace: "/", Data: json.RawMessage(phArray(11)), Attachments: bins(11)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := decodeAll(tc.max, tc.text, tc.bins...)
			if err != nil {
				t.Fatalf("decode %s: %v", tc.text, err)
			}
			if p == nil || !reflect.DeepEqual(*p, tc.want) {
				t.Fatalf("decode %s:\n got %+v\nwant %+v", tc.text, p, tc.want)
			}
		})
	}
}

func TestDecoderSequence(t *testing.T) {
	t.Parallel()
	var d Decoder
	if d.Pending() {
		t.Fatal("zero Decoder pending")
	}
	p, err := d.DecodeText([]byte(`52-["a",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}]`))
	if p != nil || err != nil || !d.Pending() {
		t.Fatalf("DecodeText = %v, %v, pending %v", p, err, d.Pending())
	}
	if p, err = d.DecodeBinary([]byte("x")); p != nil || err != nil {
		t.Fatalf("first DecodeBinary = %v, %v", p, err)
	}
	if p, err = d.DecodeBinary([]byte("y")); p == nil || err != nil {
		t.Fatalf("second DecodeBinary = %v, %v", p, err)
	}
	if d.Pending() || string(p.Attachments[0]) != "x" || string(p.Attachments[1]) != "y" {
		t.Fatalf("after completion: pending %v, attachments %q", d.Pending(), p.Attachments)
	}
	// The decoder is ready for the next packet.
	if p, err = d.DecodeText([]byte(`2["b"]`)); p == nil || err != nil {
		t.Fatalf("next DecodeText = %v, %v", p, err)
	}
	// Reset drops a partial packet.
	if _, err = d.DecodeText([]byte(`51-["a",{"_placeholder":true,"num":0}]`)); err != nil {
		t.Fatal(err)
	}
	d.Reset()
	if _, err = d.DecodeBinary([]byte("x")); err == nil {
		t.Fatal("DecodeBinary after Reset succeeded")
	}
	if p, err = d.DecodeText([]byte(`2["c"]`)); p == nil || err != nil {
		t.Fatalf("DecodeText after Reset = %v, %v", p, err)
	}
}

func TestIsReservedEvent(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"connect": true, "connect_error": true, "disconnect": true, "disconnecting": true,
		"newListener": true, "removeListener": true, "connection": false, "": false, "message": false,
	} {
		if got := IsReservedEvent(name); got != want {
			t.Errorf("IsReservedEvent(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestNestingLimit(t *testing.T) {
	t.Parallel()
	for _, n := range []int{maxDepth - 1, maxDepth, maxDepth + 1} {
		// The event array itself is one level.
		text := `2["a",` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + `]`
		_, err := decodeAll(0, text)
		if ok := n <= maxDepth; (err == nil) != ok {
			t.Errorf("depth %d: err = %v, want ok %v", n, err, ok)
		}
		obj := []byte(strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n))
		if validJSON(obj) != json.Valid(obj) {
			t.Errorf("depth %d: validJSON disagrees with json.Valid", n)
		}
	}
}
