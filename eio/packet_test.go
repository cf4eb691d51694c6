package eio

import (
	"bytes"
	"compress/flate"
	"io"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/gobwas/ws"
)

func TestWebSocketFrame(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    *Packet
		op   ws.OpCode
		want []byte
	}{
		{NewMessage([]byte("hi")), ws.OpText, []byte("4hi")},
		{NewBinaryMessage([]byte{0, 1}), ws.OpBinary, []byte{0, 1}},
		{NewBinaryMessage(nil), ws.OpBinary, []byte{}},
		{&Packet{Type: PacketPing}, ws.OpText, []byte("2")},
		{NewMessage(bytes.Repeat([]byte("x"), 70000)), ws.OpText, append([]byte("4"), bytes.Repeat([]byte("x"), 70000)...)},
	}
	for _, tt := range tests {
		first := tt.p.WebSocketFrame()
		for range 2 {
			raw := tt.p.WebSocketFrame()
			if &raw[0] != &first[0] {
				t.Fatal("the frame is not cached")
			}
			f, err := ws.ReadFrame(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if !f.Header.Fin || f.Header.Masked || f.Header.OpCode != tt.op || !bytes.Equal(f.Payload, tt.want) {
				t.Fatalf("frame %+v, want %v %q", f.Header, tt.op, tt.want[:min(len(tt.want), 10)])
			}
		}
	}
}

func TestBase64Frame(t *testing.T) {
	t.Parallel()
	bin := NewBinaryMessage([]byte{1, 2, 3, 4})
	raw := bin.Base64Frame()
	if again := bin.Base64Frame(); &again[0] != &raw[0] {
		t.Error("the base64 frame is not cached")
	}
	f, err := ws.ReadFrame(bytes.NewReader(raw))
	if err != nil || f.Header.OpCode != ws.OpText || string(f.Payload) != "bAQIDBA==" {
		t.Fatalf("frame %+v %q, %v", f.Header, f.Payload, err)
	}
	text := NewMessage([]byte("hi"))
	if got := text.Base64Frame(); &got[0] != &text.WebSocketFrame()[0] {
		t.Error("a text packet's base64 frame is not its frame")
	}
	typ, data, binary, err := DecodePacket(f.Payload)
	if err != nil || typ != PacketMessage || !binary || !bytes.Equal(data, bin.Data) {
		t.Fatalf("decoded %q %x %v %v", typ, data, binary, err)
	}
}

func TestCompressedFrame(t *testing.T) {
	t.Parallel()
	for _, p := range []*Packet{
		NewMessage([]byte(strings.Repeat("abc", 1000))),
		NewBinaryMessage(bytes.Repeat([]byte{1, 2, 3}, 1000)),
	} {
		raw, err := p.CompressedFrame()
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := p.CompressedFrame(); &again[0] != &raw[0] {
			t.Error("the compressed frame is not cached")
		}
		f, err := ws.ReadFrame(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		wantOp, want := ws.OpText, "4"+string(p.Data)
		if p.Binary {
			wantOp, want = ws.OpBinary, string(p.Data)
		}
		if f.Header.Rsv != ws.Rsv(true, false, false) || f.Header.OpCode != wantOp || len(f.Payload) >= 3000 {
			t.Fatalf("header %+v, %d bytes", f.Header, len(f.Payload))
		}
		r := flate.NewReader(io.MultiReader(bytes.NewReader(f.Payload), bytes.NewReader(deflateTail)))
		out, err := io.ReadAll(r)
		if (err != nil && err != io.ErrUnexpectedEOF) || string(out) != want {
			t.Fatalf("inflate: %v, %d bytes", err, len(out))
		}
	}
}

// TestEncodeOnceConcurrently: recipients on many goroutines encoding one
// packet see the same bytes (the race detector checks the caches).
func TestEncodeOnceConcurrently(t *testing.T) {
	t.Parallel()
	p := NewBinaryMessage(bytes.Repeat([]byte{7}, 5000))
	var wg sync.WaitGroup
	frames := make([][]byte, 8)
	for i := range frames {
		wg.Go(func() {
			frames[i] = p.WebSocketFrame()
			_, _ = p.CompressedFrame()
			_ = p.Base64Frame()
			_ = p.AppendPolling(nil)
		})
	}
	wg.Wait()
	for _, f := range frames {
		if !bytes.Equal(f, frames[0]) {
			t.Fatal("recipients got different frames")
		}
	}
}

// TestFrameAllocs keeps the WebSocket fan-out allocation-free once a
// packet's frames are built.
func TestFrameAllocs(t *testing.T) {
	p := NewMessage([]byte(strings.Repeat("x", 2000)))
	p.WebSocketFrame()
	_, _ = p.CompressedFrame()
	if n := testing.AllocsPerRun(100, func() { p.WebSocketFrame() }); n != 0 {
		t.Errorf("WebSocketFrame: %v allocations", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = p.CompressedFrame() }); n != 0 {
		t.Errorf("CompressedFrame: %v allocations", n)
	}
	bin := NewBinaryMessage([]byte{1, 2, 3})
	bin.Base64Frame()
	if n := testing.AllocsPerRun(100, func() { bin.Base64Frame() }); n != 0 {
		t.Errorf("Base64Frame: %v allocations", n)
	}
	b := []byte("4hello")
	if n := testing.AllocsPerRun(100, func() { _, _, _ = DecodeText(b) }); n != 0 {
		t.Errorf("DecodeText: %v allocations", n)
	}
}

func TestDecodePacket(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		typ    PacketType
		data   string
		binary bool
		err    bool
	}{
		{"4hello", PacketMessage, "hello", false, false},
		{"2probe", PacketPing, "probe", false, false},
		{"bAQID", PacketMessage, "\x01\x02\x03", true, false},
		{"b", PacketMessage, "", true, false},
		{"b!!", 0, "", false, true},
		{"", 0, "", false, true},
		{"7", 0, "", false, true},
	}
	for _, tt := range tests {
		typ, data, binary, err := DecodePacket([]byte(tt.in))
		if (err != nil) != tt.err || typ != tt.typ || string(data) != tt.data || binary != tt.binary {
			t.Errorf("DecodePacket(%q) = %q %q %v %v", tt.in, typ, data, binary, err)
		}
	}
}

// FuzzDecodeText checks the text packet decoder against its definition.
func FuzzDecodeText(f *testing.F) {
	for _, s := range []string{"4hello", "2probe", "3", "5", "", "9", "\xff", "4\xff\xfe", "0{}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, data, err := DecodeText(b)
		valid := len(b) > 0 && b[0] >= '0' && b[0] <= '6'
		if valid != (err == nil) {
			t.Fatalf("DecodeText(%q): %v", b, err)
		}
		if err != nil {
			return
		}
		if byte(typ) != b[0] || !bytes.Equal(data, b[1:]) || cap(data) != len(data) {
			t.Fatalf("DecodeText(%q) = %q %q", b, typ, data)
		}
		if utf8.Valid(b) != utf8.Valid(data) && b[0] < utf8.RuneSelf {
			t.Fatalf("DecodeText(%q) changed the data's validity", b)
		}
	})
}
