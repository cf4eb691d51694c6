package eio

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

func TestUTF16Len(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "abc", "€", "4€", "😀", "a😀b€", "日本語", "\xff", "a\xc3"} {
		want := len(utf16.Encode([]rune(s)))
		if got := UTF16Len([]byte(s)); got != want {
			t.Errorf("UTF16Len(%q) = %d, want %d", s, got, want)
		}
	}
}

// TestAppendPayloadV3 checks the bytes Node's parser-v3 encodePayload
// produces (protocol.md §1.15).
func TestAppendPayloadV3(t *testing.T) {
	t.Parallel()
	tests := []struct {
		packets []*Packet
		want    string
	}{
		{nil, "0:"},
		{[]*Packet{NewMessage([]byte("hello")), NewMessage([]byte("€"))}, "6:4hello2:4€"},
		{[]*Packet{NewBinaryMessage([]byte{1, 2, 3, 4})}, "10:b4AQIDBA=="},
		{[]*Packet{NewMessage([]byte("😀")), {Type: PacketPong}}, "3:4😀1:3"},
		{[]*Packet{{Type: PacketNoop}, {Type: PacketClose}}, "1:61:1"},
		{[]*Packet{NewBinaryMessage(nil)}, "2:b4"},
	}
	for _, tt := range tests {
		for range 2 { // the second time from the cached forms
			if got := string(AppendPayloadV3(nil, tt.packets...)); got != tt.want {
				t.Errorf("AppendPayloadV3 = %q, want %q", got, tt.want)
			}
		}
	}
}

func TestAppendBinaryPayloadV3(t *testing.T) {
	t.Parallel()
	got := AppendBinaryPayloadV3(nil, NewMessage([]byte("€")), NewBinaryMessage([]byte{1, 2, 3, 4}))
	// protocol.md §1.15's example: the text packet "4€" (4 bytes), then
	// the binary message 01 02 03 04 after its type byte.
	want := []byte{0x00, 4, 0xff, '4', 0xe2, 0x82, 0xac, 0x01, 5, 0xff, 0x04, 1, 2, 3, 4}
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendBinaryPayloadV3 = % x, want % x", got, want)
	}
	long := NewMessage(bytes.Repeat([]byte("x"), 11)) // a two-digit length
	got = AppendBinaryPayloadV3(nil, long)
	if !bytes.Equal(got[:4], []byte{0, 1, 2, 0xff}) {
		t.Fatalf("length digits % x", got[:4])
	}
	var out []string
	if err := DecodeBinaryPayloadV3(got, collect(&out)); err != nil || out[0] != "4xxxxxxxxxxx" {
		t.Fatalf("round trip: %q %v", out, err)
	}
}

func collect(out *[]string) func(PacketType, []byte, bool) error {
	return func(typ PacketType, data []byte, binary bool) error {
		*out = append(*out, packetString(typ, data, binary))
		return nil
	}
}

func TestDecodePayloadV3(t *testing.T) {
	t.Parallel()
	tests := []struct {
		payload string
		want    []string // type digit + data, binary as "b"+base64
		err     bool
	}{
		{"6:4hello2:4€", []string{"4hello", "4€"}, false},
		{"1:2", []string{"2"}, false},
		{"6:2probe", []string{"2probe"}, false},
		{"10:b4AQIDBA==", []string{"bAQIDBA=="}, false},
		{"8:b4AQIDBA", []string{"bAQIDBA=="}, false}, // unpadded
		{"0:", nil, false},
		{"3:4😀1:3", []string{"4😀", "3"}, false},
		{"2:4😀", nil, true}, // cuts the surrogate pair
		{"", nil, true},
		{"4", nil, true},
		{":4", nil, true},
		{"1:41", []string{"4"}, true},         // trailing garbage
		{"2:4a1:7", []string{"4a"}, true},     // bad type in the second
		{"5:4a", nil, true},                   // too short
		{"x:4a", nil, true},                   // not a number
		{"1:b", nil, true},                    // "b" without type
		{"4:b2AA", nil, true},                 // binary ping
		{"5:b4A=Q", nil, true},                // bad base64
		{"99999999999999999:4", nil, true},    // too many digits
		{"2:4\xff", []string{"4\xff"}, false}, // an invalid byte counts one
	}
	for _, tt := range tests {
		var got []string
		err := DecodePayloadV3([]byte(tt.payload), collect(&got))
		if (err != nil) != tt.err || strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("DecodePayloadV3(%q): %q, %v; want %q, error %v", tt.payload, got, err, tt.want, tt.err)
		}
		if err != nil && !errors.Is(err, ErrParse) {
			t.Errorf("DecodePayloadV3(%q): error %v, want ErrParse", tt.payload, err)
		}
	}
	stop := errors.New("stop")
	n := 0
	if err := DecodePayloadV3([]byte("1:41:4"), func(PacketType, []byte, bool) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("callback error: %v after %d packets", err, n)
	}
}

func TestDecodeBinaryPayloadV3(t *testing.T) {
	t.Parallel()
	tests := []struct {
		payload []byte
		want    []string
		err     bool
	}{
		{[]byte{0, 4, 0xff, '4', 0xe2, 0x82, 0xac, 1, 5, 0xff, 4, 1, 2, 3, 4}, []string{"4€", "bAQIDBA=="}, false},
		{[]byte{0, 1, 0xff, '2'}, []string{"2"}, false},
		{[]byte{}, nil, false},
		{[]byte{2, 1, 0xff, '2'}, nil, true},                          // bad kind
		{[]byte{0, 1, 0xff}, nil, true},                               // too short
		{[]byte{0, 1, 0xff, '2', 0, 10, 0xff, '4'}, nil, true},        // framing checked first: nothing delivered
		{[]byte{0, 0xff, '2'}, nil, true},                             // no digits
		{[]byte{0, 1, '2'}, nil, true},                                // no 0xff
		{[]byte{0, 1, 0xff, '4', 1, 1, 0xff, 2}, []string{"4"}, true}, // binary ping
		{[]byte{0, 1, 0xff, '9', 0, 1, 0xff, '4'}, nil, true},         // bad type
	}
	for _, tt := range tests {
		var got []string
		err := DecodeBinaryPayloadV3(tt.payload, collect(&got))
		if (err != nil) != tt.err || strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("DecodeBinaryPayloadV3(% x): %q, %v; want %q, error %v", tt.payload, got, err, tt.want, tt.err)
		}
	}
}

// TestV3FramesShared: the v3 frames of a packet are built once and the
// same bytes serve every recipient.
func TestV3FramesShared(t *testing.T) {
	t.Parallel()
	p := NewBinaryMessage([]byte{1, 2, 3})
	f1, f2 := p.WebSocketFrameV3(), p.WebSocketFrameV3()
	if &f1[0] != &f2[0] {
		t.Fatal("WebSocketFrameV3 built twice")
	}
	if want := []byte{0x82, 4, 4, 1, 2, 3}; !bytes.Equal(f1, want) {
		t.Fatalf("WebSocketFrameV3 = % x, want % x", f1, want)
	}
	b1, b2 := p.Base64FrameV3(), p.Base64FrameV3()
	if &b1[0] != &b2[0] || string(b1[2:]) != "b4AQID" || b1[0] != 0x81 {
		t.Fatalf("Base64FrameV3 = % x", b1)
	}
	if v4 := p.WebSocketFrame(); bytes.Equal(v4, f1) {
		t.Fatal("v3 and v4 binary frames must differ")
	}
	text := NewMessage([]byte("x"))
	if a, b := text.WebSocketFrameV3(), text.WebSocketFrame(); &a[0] != &b[0] {
		t.Fatal("a text packet's v3 frame is its v4 frame")
	}
}

// FuzzDecodePayloadV3 checks that the v3 text payload decoder never
// panics, that what it accepts encodes back (AppendPayloadV3) to a payload
// decoding to the same packets, and that the binary payload decoder
// accepts the binary encoding of the same packets.
func FuzzDecodePayloadV3(f *testing.F) {
	for _, s := range []string{"6:4hello2:4€", "10:b4AQIDBA==", "0:", "", "1:", "2:4😀", "3:4😀1:3",
		"1:41", "x:", "6:2probe1:5", "8:b4AQIDBA", "1:b", "5:b4A=Q", "97:0{\"sid\":\"x\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		var packets []*Packet
		var first []string
		err := DecodePayloadV3(payload, func(typ PacketType, data []byte, binary bool) error {
			if typ < PacketOpen || typ > PacketNoop || binary && typ != PacketMessage {
				t.Fatalf("bad type %q (binary %v)", typ, binary)
			}
			if !binary && cap(data) != len(data) {
				t.Fatalf("uncapped data %q", data)
			}
			packets = append(packets, &Packet{Type: typ, Data: bytes.Clone(data), Binary: binary})
			first = append(first, packetString(typ, data, binary))
			return nil
		})
		if err != nil && !errors.Is(err, ErrParse) {
			t.Fatalf("error %v", err)
		}
		if err != nil {
			return
		}
		if len(packets) == 0 {
			return
		}
		if !utf8.Valid(payload) {
			return // invalid bytes do not survive a round trip through UTF-16 counting
		}
		again := AppendPayloadV3(nil, packets...)
		var second []string
		if err := DecodePayloadV3(again, collect(&second)); err != nil ||
			strings.Join(first, "|") != strings.Join(second, "|") {
			t.Fatalf("round trip of %q via %q: %q, %v", payload, again, second, err)
		}
		var third []string
		bin := AppendBinaryPayloadV3(nil, packets...)
		if err := DecodeBinaryPayloadV3(bin, collect(&third)); err != nil ||
			strings.Join(first, "|") != strings.Join(third, "|") {
			t.Fatalf("binary round trip of %q: %q, %v", payload, third, err)
		}
	})
}

// FuzzDecodeBinaryPayloadV3 checks that the binary payload decoder never
// panics and that what it accepts round-trips.
func FuzzDecodeBinaryPayloadV3(f *testing.F) {
	f.Add([]byte{0, 4, 0xff, '4', 0xe2, 0x82, 0xac, 1, 5, 0xff, 4, 1, 2, 3, 4})
	f.Add([]byte{0, 1, 0xff, '2'})
	f.Add([]byte{1, 1, 0xff, 4})
	f.Add([]byte{0, 9, 9, 9, 0xff})
	f.Fuzz(func(t *testing.T, payload []byte) {
		var packets []*Packet
		var first []string
		err := DecodeBinaryPayloadV3(payload, func(typ PacketType, data []byte, binary bool) error {
			packets = append(packets, &Packet{Type: typ, Data: bytes.Clone(data), Binary: binary})
			first = append(first, packetString(typ, data, binary))
			return nil
		})
		if err != nil {
			return
		}
		var second []string
		if err := DecodeBinaryPayloadV3(AppendBinaryPayloadV3(nil, packets...), collect(&second)); err != nil ||
			strings.Join(first, "|") != strings.Join(second, "|") {
			t.Fatalf("round trip of % x: %q, %v", payload, second, err)
		}
	})
}

// BenchmarkFramesMixedRoom: one binary broadcast to a room of n clients,
// half of them Engine.IO v3 and half v4, each taking its WebSocket frame:
// the allocations do not grow with n (one encoding per format, shared).
func BenchmarkFramesMixedRoom(b *testing.B) {
	data := bytes.Repeat([]byte{0xab}, 256)
	for _, n := range []int{2, 100, 10000} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p := &Packet{Type: PacketMessage, Data: data, Binary: true}
				for i := range n {
					if i%2 == 0 {
						_ = p.WebSocketFrameV3()
					} else {
						_ = p.WebSocketFrame()
					}
				}
			}
		})
	}
}
