package parser

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

type point struct {
	X    float64 `json:"x"`
	Name string  `json:"name"`
	Blob []byte  `json:"blob,omitempty"`
}

func TestEncodeData(t *testing.T) {
	t.Parallel()
	b0, b1, b2 := []byte("zero"), []byte("one"), []byte("two")
	tests := []struct {
		name   string
		values []any
		want   string
		atts   [][]byte
	}{
		{"no values", nil, `[]`, nil},
		{"scalars", []any{nil, true, false, "s", 1, int8(-2), int16(3), int32(-4), int64(5),
			uint(6), uint8(7), uint16(8), uint32(9), uint64(1 << 63), uintptr(11)},
			`[null,true,false,"s",1,-2,3,-4,5,6,7,8,9,9223372036854775808,11]`, nil},
		{"floats", []any{1.5, float32(0.1), 1e21, 1e-7, math.Copysign(0, -1), 123456789.0, float32(1e-7)},
			`[1.5,0.1,1e+21,1e-7,-0,123456789,1e-7]`, nil},
		{"html not escaped", []any{"<a href=\"x\">&</a>"}, `["<a href=\"x\">&</a>"]`, nil},
		{"control and unicode", []any{"a\nb\tc\x01\u2028é\xff"}, `["a\nb\tc\u0001\u2028é\ufffd"]`, nil},
		{"top-level bytes", []any{"ev", b0}, `["ev",{"_placeholder":true,"num":0}]`, [][]byte{b0}},
		{"nil bytes still binary", []any{[]byte(nil)}, `[{"_placeholder":true,"num":0}]`, [][]byte{nil}},
		{"raw message verbatim", []any{json.RawMessage(`{"b":1, "a":"<\u00e9>"}`)}, `[{"b":1, "a":"<\u00e9>"}]`, nil},
		{"empty raw message", []any{json.RawMessage(nil)}, `[null]`, nil},
		{"nested depth-first", []any{
			map[string]any{"b": []any{b1, map[string]any{"z": b2}}, "a": b0},
			b2,
		}, `[{"a":{"_placeholder":true,"num":0},"b":[{"_placeholder":true,"num":1},{"z":{"_placeholder":true,"num":2}}]},{"_placeholder":true,"num":3}]`,
			[][]byte{b0, b1, b2, b2}},
		{"nil containers", []any{[]any(nil), map[string]any(nil), []any{}}, `[null,null,[]]`, nil},
		{"struct via encoding/json", []any{point{X: 1, Name: "<p>", Blob: []byte{1}}},
			`[{"x":1,"name":"<p>","blob":"AQ=="}]`, nil},
		{"other types via encoding/json", []any{[]string{"a"}, map[string]int{"b": 2, "a": 1}},
			`[["a"],{"a":1,"b":2}]`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data, atts, err := EncodeData(tc.values...)
			if err != nil {
				t.Fatalf("EncodeData: %v", err)
			}
			if string(data) != tc.want {
				t.Errorf("EncodeData =\n%s\nwant\n%s", data, tc.want)
			}
			if !reflect.DeepEqual(atts, tc.atts) {
				t.Errorf("attachments = %q, want %q", atts, tc.atts)
			}
		})
	}
}

func TestEncodeDataErrors(t *testing.T) {
	t.Parallel()
	cyclic := []any{nil}
	cyclic[0] = cyclic
	tests := []struct {
		name  string
		value any
	}{
		{"NaN", math.NaN()},
		{"Inf", float32(math.Inf(1))},
		{"invalid raw", json.RawMessage(`{"a":}`)},
		{"raw with two values", json.RawMessage(`1 2`)},
		{"unsupported type", make(chan int)},
		{"cycle", cyclic},
		{"nested NaN", map[string]any{"a": []any{math.NaN()}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dst := []byte("keep")
			atts := [][]byte{{1}}
			gotDst, gotAtts, err := AppendData(dst, atts, []byte{2}, tc.value)
			if err == nil {
				t.Fatalf("AppendData succeeded: %s", gotDst)
			}
			if string(gotDst) != "keep" || len(gotAtts) != 1 {
				t.Errorf("on error got %q, %d attachments; want original lengths", gotDst, len(gotAtts))
			}
		})
	}
}

// TestEncodeMatchesEncodingJSON checks the fast paths against encoding/json.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	values := []any{
		"", "plain", "quote\" backslash\\ slash/", "\b\f\n\r\t\x00\x1f\x7f", "<>&", "\u2028\u2029",
		"\xff\xfe", "a\xc3", "日本語", "\U0001F600", "\xed\xa0\x80",
		0.0, 1.0, -1.5, 1e20, 1e21, 1e-6, 9.99e-7, 5e-324, math.MaxFloat64, 0.1 + 0.2,
		float32(3.4e38), float32(1e21), float32(1e20), float32(1e-6), float32(9.9e-7), float32(16777216),
		math.MinInt64, uint64(math.MaxUint64),
	}
	for _, v := range values {
		got, _, err := EncodeData(v)
		if err != nil {
			t.Errorf("EncodeData(%#v): %v", v, err)
			continue
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode([]any{v}); err != nil {
			t.Fatal(err)
		}
		if want := strings.TrimSuffix(buf.String(), "\n"); string(got) != want {
			t.Errorf("EncodeData(%#v) = %s, encoding/json gives %s", v, got, want)
		}
	}
}

func TestArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
		want []string
	}{
		{"empty", `[]`, []string{}},
		{"empty with space", ` [ ] `, []string{}},
		{"scalars", `["a",1,-2.5e3,true,false,null]`, []string{`"a"`, `1`, `-2.5e3`, `true`, `false`, `null`}},
		{"tricky strings", `["a,]\"}","\\",  "[{"  ]`, []string{`"a,]\"}"`, `"\\"`, `"[{"`}},
		{"nested", `[ {"a":[1,{"b":"]"}]} ,[[],{}] ]`, []string{`{"a":[1,{"b":"]"}]}`, `[[],{}]`}},
		{"key order kept", `[{"z":1,"a":2}]`, []string{`{"z":1,"a":2}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := Packet{Type: Ack, Data: json.RawMessage(tc.data)}
			args, err := p.Args()
			if err != nil {
				t.Fatalf("Args(%s): %v", tc.data, err)
			}
			got := make([]string, len(args))
			for i, a := range args {
				got[i] = string(a.JSON())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Args(%s) = %q, want %q", tc.data, got, tc.want)
			}
		})
	}
}

func TestArgsErrors(t *testing.T) {
	t.Parallel()
	for _, data := range []string{``, `{}`, `"a"`, `[`, `[1,]`, `[1 2]`, `[1]x`, `[,]`, `[1}`, `]`,
		`[{"_placeholder":true,"num":0}]`} {
		p := Packet{Type: Event, Data: json.RawMessage(data)}
		if args, err := p.Args(); err == nil {
			t.Errorf("Args(%s) = %d args, want error", data, len(args))
		}
	}
}

func TestRelayRenumbers(t *testing.T) {
	t.Parallel()
	in := `52-/chat,["in",{"b":2,"a":{"_placeholder":true,"num":1}},"s\u00e9<",{"_placeholder":true,"num":0}]`
	a0, a1 := []byte("first"), []byte("second")
	p, err := decodeAll(0, in, a0, a1)
	if err != nil {
		t.Fatal(err)
	}
	name, args, err := p.Event()
	if err != nil || name != "in" || len(args) != 3 {
		t.Fatalf("Event() = %q, %d args, %v", name, len(args), err)
	}
	lead := []byte("lead")
	data, atts, err := EncodeData("out", lead, args[0], args[1], args[2])
	if err != nil {
		t.Fatal(err)
	}
	want := `["out",{"_placeholder":true,"num":0},{"b":2,"a":{"_placeholder":true,"num":1}},"s\u00e9<",{"_placeholder":true,"num":2}]`
	if string(data) != want {
		t.Errorf("relayed data\n%s\nwant\n%s", data, want)
	}
	if !reflect.DeepEqual(atts, [][]byte{lead, a1, a0}) {
		t.Errorf("relayed attachments %q", atts)
	}
	// Passing []Arg relays the same elements as a nested array.
	data, atts, err = EncodeData(args)
	if err != nil || !strings.HasPrefix(string(data), `[[{"b":2,"a":{"_placeholder":true,"num":0}},`) || len(atts) != 2 {
		t.Errorf("EncodeData([]Arg) = %s, %d attachments, %v", data, len(atts), err)
	}
	// The relayed packet decodes to the same values.
	out := Packet{Type: Ack, Namespace: "/chat", ID: 1, HasID: true, Data: data, Attachments: atts}
	back, err := decodeAll(0, string(out.AppendEncode(nil)), atts...)
	if err != nil || back == nil {
		t.Fatalf("decode relayed packet: %v", err)
	}
	relayed, err := back.Args()
	if err != nil || len(relayed) != 1 {
		t.Fatalf("Args of relayed packet: %d, %v", len(relayed), err)
	}
	got, _ := relayed[0].MarshalJSON()
	orig, origAtts, _ := EncodeData(args[0], args[1], args[2])
	if wantJSON := base64View(t, orig, origAtts); string(got) != wantJSON {
		t.Errorf("relayed values %s, want %s", got, wantJSON)
	}
}

// base64View returns the JSON of data with placeholders replaced by base64.
func base64View(t *testing.T, data json.RawMessage, atts [][]byte) string {
	t.Helper()
	p := Packet{Type: Ack, Data: data, Attachments: atts}
	args, err := p.Args()
	if err != nil {
		t.Fatal(err)
	}
	parts := make([]string, len(args))
	for i, a := range args {
		b, _ := a.MarshalJSON()
		parts[i] = string(b)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

type upload struct {
	Name  string            `json:"name"`
	File  []byte            `json:"file"`
	Parts [][]byte          `json:"parts"`
	Meta  map[string][]byte `json:"meta"`
}

func TestArgDecode(t *testing.T) {
	t.Parallel()
	f, p1, p2 := []byte("file body"), []byte{0, 255}, []byte{}
	data, atts, err := EncodeData(
		map[string]any{"name": "n", "file": f, "parts": []any{p1, p2}, "meta": map[string]any{"k": f}},
		f, "str", nil, 7,
	)
	if err != nil {
		t.Fatal(err)
	}
	p := Packet{Type: Ack, Data: data, Attachments: atts}
	args, err := p.Args()
	if err != nil || len(args) != 5 {
		t.Fatalf("Args: %d, %v", len(args), err)
	}
	var u upload
	if err := args[0].Decode(&u); err != nil {
		t.Fatal(err)
	}
	want := upload{Name: "n", File: f, Parts: [][]byte{p1, p2}, Meta: map[string][]byte{"k": f}}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("Decode = %+v, want %+v", u, want)
	}
	var raw []byte
	if err := args[1].Decode(&raw); err != nil || !bytes.Equal(raw, f) || &raw[0] != &atts[4][0] {
		t.Errorf("Decode(*[]byte) = %q, %v (want the attachment itself)", raw, err)
	}
	if b, ok := args[1].Bytes(); !ok || !bytes.Equal(b, f) {
		t.Errorf("Bytes() = %q, %v", b, ok)
	}
	if _, ok := args[0].Bytes(); ok {
		t.Error("Bytes() of an object reported a placeholder")
	}
	if !args[0].HasBinary() || !args[1].HasBinary() || args[2].HasBinary() {
		t.Error("HasBinary wrong")
	}
	if s, ok := args[2].String(); !ok || s != "str" {
		t.Errorf("String() = %q, %v", s, ok)
	}
	if _, ok := args[4].String(); ok {
		t.Error("String() of a number succeeded")
	}
	if !args[3].IsNull() || args[2].IsNull() || !(Arg{}).IsNull() {
		t.Error("IsNull wrong")
	}
	var anyV any
	if err := args[1].Decode(&anyV); err != nil || anyV != "ZmlsZSBib2R5" {
		t.Errorf("Decode(*any) of a placeholder = %v, %v", anyV, err)
	}
	if m, _ := args[1].MarshalJSON(); string(m) != `"ZmlsZSBib2R5"` {
		t.Errorf("MarshalJSON = %s", m)
	}
	var n int
	if err := args[4].Decode(&n); err != nil || n != 7 {
		t.Errorf("Decode(*int) = %d, %v", n, err)
	}
}

func TestArgString(t *testing.T) {
	t.Parallel()
	p := Packet{Type: Ack, Data: json.RawMessage(`["plain","esc\"\u00e9\n", "\ud83d\ude00"]`)}
	args, err := p.Args()
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"plain", "esc\"é\n", "😀"} {
		if got, ok := args[i].String(); !ok || got != want {
			t.Errorf("args[%d].String() = %q, %v; want %q", i, got, ok, want)
		}
	}
}

func TestEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		data string
		name string
		args int
	}{
		{`["chat","hi",1]`, "chat", 2},
		{`["\u0063hat"]`, "chat", 0},
		{`[42]`, "42", 0},
		{`[-7,null]`, "-7", 1},
		{`[-0]`, "0", 0},
		{`[1.50]`, "1.5", 0},
		{`[1e2]`, "100", 0},
		{`[1e21]`, "1e+21", 0},
		{`[1e-7]`, "1e-7", 0},
		{`[1e400]`, "Infinity", 0},
		{`[12345678901234567890]`, "12345678901234567000", 0},
	}
	for _, tc := range tests {
		p := Packet{Type: Event, Data: json.RawMessage(tc.data)}
		name, args, err := p.Event()
		if err != nil || name != tc.name || len(args) != tc.args {
			t.Errorf("Event(%s) = %q, %d args, %v; want %q, %d", tc.data, name, len(args), err, tc.name, tc.args)
		}
	}
	for _, p := range []Packet{
		{Type: Ack, Data: json.RawMessage(`["a"]`)},
		{Type: Event, Data: json.RawMessage(`[]`)},
		{Type: Event, Data: json.RawMessage(`[true]`)},
		{Type: Event, Data: json.RawMessage(`{}`)},
	} {
		if name, _, err := p.Event(); err == nil {
			t.Errorf("Event(%v %s) = %q, want error", p.Type, p.Data, name)
		}
	}
	p := Packet{Type: BinaryEvent, Data: json.RawMessage(`["disconnect"]`)}
	if _, _, err := p.Event(); !errors.Is(err, ErrReservedEvent) {
		t.Errorf("Event(reserved) err = %v", err)
	}
}

func TestArgNavigation(t *testing.T) {
	t.Parallel()
	p := &Packet{Type: BinaryEvent, Data: []byte(`["ev",{"to":["r"],"args":[{"_placeholder":true,"num":0},{"k":{"_placeholder":true,"num":1}},3]}]`),
		Attachments: [][]byte{{1, 2}, {3}}}
	_, args, err := p.Event()
	if err != nil {
		t.Fatal(err)
	}
	list, ok := args[0].Field("args")
	if !ok {
		t.Fatal("field args not found")
	}
	if _, ok := args[0].Field("missing"); ok {
		t.Fatal("missing field found")
	}
	elems, err := list.Elements()
	if err != nil || len(elems) != 3 {
		t.Fatalf("elements: %v %d", err, len(elems))
	}
	if b, ok := elems[0].Bytes(); !ok || string(b) != "\x01\x02" {
		t.Fatalf("first element bytes = %v %v", b, ok)
	}
	data, atts, err := EncodeData(elems[1], elems[2])
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != `[{"k":{"_placeholder":true,"num":0}},3]` || len(atts) != 1 || atts[0][0] != 3 {
		t.Fatalf("relay = %s %v", data, atts)
	}
}
