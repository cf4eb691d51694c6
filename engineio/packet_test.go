package engineio

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

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
