package parser

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// decodeAll feeds text and then bins to a fresh Decoder with the given limit
// and returns the packet completed by the last message.
func decodeAll(maxAtts int, text string, bins ...[]byte) (*Packet, error) {
	d := &Decoder{MaxAttachments: maxAtts}
	p, err := d.DecodeText([]byte(text))
	if err != nil {
		return nil, err
	}
	for i, b := range bins {
		if p != nil {
			return nil, fmt.Errorf("packet completed before attachment %d", i)
		}
		if p, err = d.DecodeBinary(b); err != nil {
			return nil, err
		}
	}
	return p, nil
}

var att0, att1 = []byte{1, 2, 3}, []byte{4, 5}

// wireExamples are the examples of protocol.md 2.2, as decoded packets.
var wireExamples = []struct {
	name string
	text string
	p    Packet
}{
	{"connect", `0`, Packet{Type: Connect, Namespace: "/"}},
	{"connect admin", `0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}`,
		Packet{Type: Connect, Namespace: "/admin", Data: json.RawMessage(`{"sid":"oSO0OpakMV_3jnilAAAA"}`)}},
	{"disconnect admin", `1/admin,`, Packet{Type: Disconnect, Namespace: "/admin"}},
	{"event", `2["foo"]`, Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`["foo"]`)}},
	{"event admin", `2/admin,["bar"]`, Packet{Type: Event, Namespace: "/admin", Data: json.RawMessage(`["bar"]`)}},
	{"event with id", `212["foo"]`, Packet{Type: Event, Namespace: "/", ID: 12, HasID: true, Data: json.RawMessage(`["foo"]`)}},
	{"ack admin", `3/admin,13["bar"]`, Packet{Type: Ack, Namespace: "/admin", ID: 13, HasID: true, Data: json.RawMessage(`["bar"]`)}},
	{"connect error", `4{"message":"Not authorized"}`,
		Packet{Type: ConnectError, Namespace: "/", Data: json.RawMessage(`{"message":"Not authorized"}`)}},
	{"binary event", `51-["baz",{"_placeholder":true,"num":0}]`,
		Packet{Type: BinaryEvent, Namespace: "/", Data: json.RawMessage(`["baz",{"_placeholder":true,"num":0}]`),
			Attachments: [][]byte{att0}}},
	{"binary event admin", `52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`,
		Packet{Type: BinaryEvent, Namespace: "/admin",
			Data:        json.RawMessage(`["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`),
			Attachments: [][]byte{att0, att1}}},
	{"binary ack", `61-15["bar",{"_placeholder":true,"num":0}]`,
		Packet{Type: BinaryAck, Namespace: "/", ID: 15, HasID: true,
			Data: json.RawMessage(`["bar",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{att0}}},
}

func TestEncodeExamples(t *testing.T) {
	t.Parallel()
	for _, tc := range wireExamples {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.p.AppendEncode(nil)
			if string(got) != tc.text {
				t.Errorf("AppendEncode = %s, want %s", got, tc.text)
			}
			if got := tc.p.Encode(); string(got) != tc.text {
				t.Errorf("Encode = %s, want %s", got, tc.text)
			}
		})
	}
}

func TestDecodeExamples(t *testing.T) {
	t.Parallel()
	for _, tc := range wireExamples {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := decodeAll(0, tc.text, tc.p.Attachments...)
			if err != nil {
				t.Fatalf("decode %s: %v", tc.text, err)
			}
			if p == nil {
				t.Fatalf("decode %s: no packet", tc.text)
			}
			if !reflect.DeepEqual(*p, tc.p) {
				t.Errorf("decode %s:\n got %+v\nwant %+v", tc.text, *p, tc.p)
			}
		})
	}
}

func TestAppendEncodeVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    Packet
		want string
	}{
		{"empty namespace is main", Packet{Type: Event, Data: json.RawMessage(`["a"]`)}, `2["a"]`},
		{"event with attachments becomes binary",
			Packet{Type: Event, Namespace: "/x", Data: json.RawMessage(`[{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{}}},
			`51-/x,[{"_placeholder":true,"num":0}]`},
		{"ack with attachments becomes binary",
			Packet{Type: Ack, ID: 7, HasID: true, Data: json.RawMessage(`[]`), Attachments: [][]byte{{}, {}}},
			`62-7[]`},
		{"binary event without attachments", Packet{Type: BinaryEvent, Data: json.RawMessage(`["a"]`)}, `50-["a"]`},
		{"binary ack without attachments", Packet{Type: BinaryAck, ID: 0, HasID: true, Data: json.RawMessage(`[]`)}, `60-0[]`},
		{"id zero", Packet{Type: Ack, HasID: true, Data: json.RawMessage(`[]`)}, `30[]`},
		{"connect with attachments stays text", Packet{Type: Connect, Attachments: [][]byte{{1}}}, `0`},
		{"disconnect main", Packet{Type: Disconnect, Namespace: "/"}, `1`},
		{"large id", Packet{Type: Ack, ID: maxAckID, HasID: true, Data: json.RawMessage(`[]`)}, `39007199254740991[]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			prefix := []byte("4")
			got := tc.p.AppendEncode(prefix)
			if string(got) != "4"+tc.want {
				t.Errorf("AppendEncode = %s, want 4%s", got, tc.want)
			}
		})
	}
}

func TestTypeString(t *testing.T) {
	t.Parallel()
	want := []string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK", "Type(7)"}
	for i, w := range want {
		if got := Type(i).String(); got != w {
			t.Errorf("Type(%d).String() = %q, want %q", i, got, w)
		}
	}
}

func TestDecodedPacketDoesNotAliasInput(t *testing.T) {
	t.Parallel()
	var d Decoder
	msg := []byte(`51-/a,["x",{"_placeholder":true,"num":0}]`)
	if p, err := d.DecodeText(msg); p != nil || err != nil {
		t.Fatalf("DecodeText = %v, %v; want nil, nil", p, err)
	}
	bin := []byte{9, 9}
	p, err := d.DecodeBinary(bin)
	if err != nil || p == nil {
		t.Fatalf("DecodeBinary = %v, %v", p, err)
	}
	want := append([]byte(nil), p.Data...)
	for i := range msg {
		msg[i] = 'z'
	}
	bin[0] = 0
	if !bytes.Equal(p.Data, want) || p.Attachments[0][0] != 9 {
		t.Errorf("decoded packet changed with its input: %s %v", p.Data, p.Attachments)
	}
}
