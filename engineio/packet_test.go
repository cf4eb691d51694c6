package engineio

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

func TestDecodePayload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		payload string
		want    []string // type digit + data, binary as "b"+base64
		err     bool
	}{
		{"4hello", []string{"4hello"}, false},
		{"4a\x1e4b\x1e2\x1e3", []string{"4a", "4b", "2", "3"}, false},
		{"bAQIDBA==", []string{"bAQIDBA=="}, false},
		{"b", []string{"b"}, false},
		{"4€\x1ebAA==", []string{"4€", "bAA=="}, false},
		{"1", []string{"1"}, false},
		{"6", []string{"6"}, false},
		{"", nil, true},
		{"\x1e", nil, true},
		{"4a\x1e", []string{"4a"}, true},
		{"\x1e4a", nil, true},
		{"4a\x1e\x1e4b", []string{"4a"}, true},
		{"7", nil, true},
		{"/", nil, true},
		{"x4a", nil, true},
		{"4a\x1ebA=Q", []string{"4a"}, true},
		{"bAQIDBA", nil, true}, // missing padding
	}
	for _, tt := range tests {
		var got []string
		err := decodePayload([]byte(tt.payload), func(p inPacket) error {
			got = append(got, packetString(p))
			return nil
		})
		if (err != nil) != tt.err || strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("decodePayload(%q): %q, %v; want %q, error %v", tt.payload, got, err, tt.want, tt.err)
		}
		if err != nil && !errors.Is(err, ErrParse) {
			t.Errorf("decodePayload(%q): error %v, want ErrParse", tt.payload, err)
		}
	}
	stop := errors.New("stop")
	n := 0
	err := decodePayload([]byte("4a\x1e4b"), func(inPacket) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("callback error: %v after %d packets", err, n)
	}
}

// packetString is the polling form of a decoded packet.
func packetString(p inPacket) string {
	if p.binary {
		return "b" + base64.StdEncoding.EncodeToString(p.data)
	}
	return string(p.typ) + string(p.data)
}

func TestEncodePayload(t *testing.T) {
	t.Parallel()
	packets := []*Packet{NewMessage([]byte("hello")), NewBinaryMessage([]byte{1, 2, 3, 4}), pingPacket,
		NewMessage(nil), NewBinaryMessage(nil)}
	want := "4hello\x1ebAQIDBA==\x1e2\x1e4\x1eb"
	for range 2 { // the second time from the cached forms
		if got := string(appendPayload(nil, packets)); got != want {
			t.Fatalf("payload %q, want %q", got, want)
		}
	}
}

func TestPacketFrame(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    *Packet
		op   ws.OpCode
		want []byte
	}{
		{NewMessage([]byte("hi")), ws.OpText, []byte("4hi")},
		{NewBinaryMessage([]byte{0, 1}), ws.OpBinary, []byte{0, 1}},
		{pingPacket, ws.OpText, []byte("2")},
		{NewMessage(bytes.Repeat([]byte("x"), 70000)), ws.OpText, append([]byte("4"), bytes.Repeat([]byte("x"), 70000)...)},
	}
	for _, tt := range tests {
		for range 2 {
			f, err := ws.ReadFrame(bytes.NewReader(tt.p.frame()))
			if err != nil {
				t.Fatal(err)
			}
			if !f.Header.Fin || f.Header.Masked || f.Header.OpCode != tt.op || !bytes.Equal(f.Payload, tt.want) {
				t.Fatalf("frame %+v, want %v %q", f.Header, tt.op, tt.want[:min(len(tt.want), 10)])
			}
		}
	}
}

func TestCompressedFrame(t *testing.T) {
	t.Parallel()
	p := NewMessage([]byte(strings.Repeat("abc", 1000)))
	raw, err := compressedFrame(p)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := compressedFrame(p); &again[0] != &raw[0] {
		t.Error("the compressed frame is not cached")
	}
	f, err := ws.ReadFrame(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if f.Header.Rsv != ws.Rsv(true, false, false) || len(f.Payload) >= 3000 {
		t.Fatalf("header %+v, %d bytes", f.Header, len(f.Payload))
	}
	out, err := inflate(f.Payload, 1e6)
	if err != nil || string(out) != "4"+string(p.Data) {
		t.Fatalf("inflate: %v, %d bytes", err, len(out))
	}
	if _, err := inflate(f.Payload, 100); err != errTooLarge {
		t.Fatalf("inflate past the limit: %v", err)
	}
	if _, err := inflate([]byte{0xff, 0xff, 0xff}, 100); err != errProtocol {
		t.Fatalf("inflate of garbage: %v", err)
	}
}

// FuzzDecodePayload checks that the polling payload decoder never panics,
// that it accepts exactly the payloads made of valid packets, and that what
// it decodes encodes back to an equivalent payload.
func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{"4hello", "4a\x1e4b\x1e3", "bAQIDBA==", "4€\x1ebAA==\x1e1", "", "\x1e",
		"4a\x1e", "abc", "b!!", "2probe\x1e5", "6", "b", "4\x1e4"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		var packets []*Packet
		err := decodePayload(payload, func(p inPacket) error {
			if bytes.IndexByte(p.data, recordSeparator) >= 0 && !p.binary {
				t.Fatalf("packet data %q holds a separator", p.data)
			}
			if p.typ < PacketOpen || p.typ > PacketNoop {
				t.Fatalf("bad type %q", p.typ)
			}
			packets = append(packets, &Packet{Type: p.typ, Data: bytes.Clone(p.data), Binary: p.binary})
			return nil
		})
		valid := true
		parts := bytes.Split(payload, []byte{recordSeparator})
		for _, part := range parts {
			if !validPollingPacket(part) {
				valid = false
				break
			}
		}
		if valid != (err == nil) {
			t.Fatalf("decodePayload(%q): error %v, valid %v", payload, err, valid)
		}
		if err != nil {
			return
		}
		if len(packets) != len(parts) {
			t.Fatalf("%d packets from %d parts", len(packets), len(parts))
		}
		again := appendPayload(nil, packets)
		var second []*Packet
		if err := decodePayload(again, func(p inPacket) error {
			second = append(second, &Packet{Type: p.typ, Data: bytes.Clone(p.data), Binary: p.binary})
			return nil
		}); err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", again, err)
		}
		if !bytes.Equal(appendPayload(nil, second), again) {
			t.Fatalf("round trip of %q changed it", payload)
		}
	})
}

// validPollingPacket is the reference for one packet of a payload.
func validPollingPacket(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if b[0] == 'b' {
		_, err := base64.StdEncoding.DecodeString(string(b[1:]))
		return err == nil
	}
	return b[0] >= '0' && b[0] <= '6'
}

// FuzzDecodeText checks the text packet decoder against its definition.
func FuzzDecodeText(f *testing.F) {
	for _, s := range []string{"4hello", "2probe", "3", "5", "", "9", "\xff", "4\xff\xfe", "0{}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodeText(b)
		valid := len(b) > 0 && b[0] >= '0' && b[0] <= '6'
		if valid != (err == nil) {
			t.Fatalf("decodeText(%q): %v", b, err)
		}
		if err != nil {
			return
		}
		if byte(p.typ) != b[0] || !bytes.Equal(p.data, b[1:]) || p.binary || cap(p.data) != len(p.data) {
			t.Fatalf("decodeText(%q) = %+v", b, p)
		}
		if utf8.Valid(b) != utf8.Valid(p.data) && b[0] < utf8.RuneSelf {
			t.Fatalf("decodeText(%q) changed the data's validity", b)
		}
	})
}
