package eio

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
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
		err := DecodePayload([]byte(tt.payload), func(typ PacketType, data []byte, binary bool) error {
			got = append(got, packetString(typ, data, binary))
			return nil
		})
		if (err != nil) != tt.err || strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("DecodePayload(%q): %q, %v; want %q, error %v", tt.payload, got, err, tt.want, tt.err)
		}
		if err != nil && !errors.Is(err, ErrParse) {
			t.Errorf("DecodePayload(%q): error %v, want ErrParse", tt.payload, err)
		}
	}
	stop := errors.New("stop")
	n := 0
	err := DecodePayload([]byte("4a\x1e4b"), func(PacketType, []byte, bool) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("callback error: %v after %d packets", err, n)
	}
	// Text data aliases the payload but is capped: appending to it must
	// not overwrite the next packet.
	body := []byte("4a\x1e4b")
	var first []byte
	_ = DecodePayload(body, func(_ PacketType, data []byte, _ bool) error {
		if first == nil {
			first = data
		}
		return nil
	})
	if cap(first) != len(first) || &first[0] != &body[1] {
		t.Errorf("text data %q: cap %d, aliases the payload %v", first, cap(first), &first[0] == &body[1])
	}
}

// packetString is the polling form of a decoded packet.
func packetString(typ PacketType, data []byte, binary bool) string {
	if binary {
		return "b" + base64.StdEncoding.EncodeToString(data)
	}
	return string(typ) + string(data)
}

func TestAppendPayload(t *testing.T) {
	t.Parallel()
	packets := []*Packet{NewMessage([]byte("hello")), NewBinaryMessage([]byte{1, 2, 3, 4}), &Packet{Type: PacketPing},
		NewMessage(nil), NewBinaryMessage(nil), NewBinaryMessage([]byte{0, 1, RecordSeparator, 255})}
	want := "4hello\x1ebAQIDBA==\x1e2\x1e4\x1eb\x1ebAAEe/w=="
	for range 2 { // the second time from the cached forms
		if got := string(AppendPayload(nil, packets...)); got != want {
			t.Fatalf("payload %q, want %q", got, want)
		}
	}
	if got := string(AppendPayload([]byte("x"), NewMessage([]byte("y")))); got != "x4y" {
		t.Errorf("appended to %q", got)
	}
	if got := AppendPayload(nil); got != nil {
		t.Errorf("no packets: %q", got)
	}
}

// TestPayloadAllocs keeps the polling hot path allocation-free: encoding
// packets whose forms are cached into a buffer with room, and decoding text
// packets.
func TestPayloadAllocs(t *testing.T) {
	packets := []*Packet{NewMessage([]byte("hello")), NewBinaryMessage([]byte{1, 2, 3}), &Packet{Type: PacketPing}}
	buf := AppendPayload(nil, packets...)
	if n := testing.AllocsPerRun(100, func() { buf = AppendPayload(buf[:0], packets...) }); n != 0 {
		t.Errorf("AppendPayload: %v allocations", n)
	}
	body := []byte("4hello\x1e2\x1e40{}")
	count := 0
	if n := testing.AllocsPerRun(100, func() {
		_ = DecodePayload(body, func(PacketType, []byte, bool) error { count++; return nil })
	}); n != 0 {
		t.Errorf("DecodePayload: %v allocations", n)
	}
}

// decoded is one packet handed over by DecodePayload, copied.
type decoded struct {
	typ    PacketType
	data   []byte
	binary bool
}

func decodeAll(payload []byte) ([]decoded, error) {
	var out []decoded
	err := DecodePayload(payload, func(typ PacketType, data []byte, binary bool) error {
		out = append(out, decoded{typ, bytes.Clone(data), binary})
		return nil
	})
	return out, err
}

// FuzzDecodePayload checks that the polling payload decoder (shared with
// package client) never panics, that it accepts exactly the payloads made of
// valid packets, and that what it decodes encodes back to a payload that
// decodes to the same packets.
func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{"4hello", "4a\x1e4b\x1e3", "bAQIDBA==", "4€\x1ebAA==\x1e1", "", "\x1e",
		"4a\x1e", "abc", "b!!", "2probe\x1e5", "6", "b", "4\x1e4",
		"4a\x1e4b\x1e2", "bAQID", "0{\"sid\":\"x\"}\x1e40", "4\x1e", "9"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		var packets []*Packet
		var first []decoded
		err := DecodePayload(payload, func(typ PacketType, data []byte, binary bool) error {
			if bytes.IndexByte(data, RecordSeparator) >= 0 && !binary {
				t.Fatalf("packet data %q holds a separator", data)
			}
			if typ < PacketOpen || typ > PacketNoop || binary && typ != PacketMessage {
				t.Fatalf("bad type %q (binary %v)", typ, binary)
			}
			packets = append(packets, &Packet{Type: typ, Data: bytes.Clone(data), Binary: binary})
			first = append(first, decoded{typ, bytes.Clone(data), binary})
			return nil
		})
		valid := true
		parts := bytes.Split(payload, []byte{RecordSeparator})
		for _, part := range parts {
			if !validPollingPacket(part) {
				valid = false
				break
			}
		}
		if valid != (err == nil) {
			t.Fatalf("DecodePayload(%q): error %v, valid %v", payload, err, valid)
		}
		if err != nil {
			if !errors.Is(err, ErrParse) {
				t.Fatalf("DecodePayload(%q): error %v, want ErrParse", payload, err)
			}
			return
		}
		if len(packets) != len(parts) {
			t.Fatalf("%d packets from %d parts", len(packets), len(parts))
		}
		again := AppendPayload(nil, packets...)
		second, err := decodeAll(again)
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", again, err)
		}
		if len(second) != len(first) {
			t.Fatalf("re-encoded %q: %d packets, want %d", again, len(second), len(first))
		}
		for i := range second {
			if second[i].typ != first[i].typ || second[i].binary != first[i].binary || !bytes.Equal(second[i].data, first[i].data) {
				t.Fatalf("packet %d changed: %+v vs %+v", i, second[i], first[i])
			}
		}
		secondPackets := make([]*Packet, len(second))
		for i, p := range second {
			secondPackets[i] = &Packet{Type: p.typ, Data: p.data, Binary: p.binary}
		}
		if !bytes.Equal(AppendPayload(nil, secondPackets...), again) {
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
