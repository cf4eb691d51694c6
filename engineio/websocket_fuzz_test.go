package engineio

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
)

// streamConn is a net.Conn whose peer sent the bytes of r and then closed
// its side; what the server writes is kept in written. Only the methods
// the WebSocket transport uses are implemented.
type streamConn struct {
	net.Conn
	r       io.Reader
	written bytes.Buffer
}

func (c *streamConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *streamConn) Write(p []byte) (int, error)      { return c.written.Write(p) }
func (c *streamConn) Close() error                     { return nil }
func (c *streamConn) SetReadDeadline(time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(time.Time) error { return nil }

// minClientFrame is the size of the smallest client frame: a 2-byte header
// and a mask.
const minClientFrame = 6

// readErrors are the errors reading a client's frames may end with: the
// stream's end, and the ones closeCodeForError maps to a close code.
var readErrors = []error{io.EOF, io.ErrUnexpectedEOF, errPeerClosed, errTooLarge, errProtocol, errInvalidUTF8,
	ws.ErrHeaderLengthMSB, ws.ErrHeaderLengthUnexpected}

// readStream reads the client byte stream with the WebSocket transport's
// reader, as the server reads it (permessage-deflate negotiated or not,
// messages of at most max bytes), until it fails. It returns the messages,
// what the server wrote back and the error the reading ended with.
func readStream(t *testing.T, stream []byte, deflate bool, max int64) (msgs [][]byte, out []byte, err error) {
	conn := &streamConn{r: bytes.NewReader(stream)}
	tr := &wsTransport{conn: conn, deflate: deflate}
	for {
		op, msg, err := tr.readMessage(max)
		if err != nil {
			tr.br.Reset(nil) // as readBurst does after a failed read
			tr.releaseReader()
			return msgs, conn.written.Bytes(), err
		}
		tr.releaseReader() // as readBurst does between messages
		msgs = append(msgs, msg)
		if len(msgs) > len(stream)/minClientFrame {
			t.Fatalf("message %d from %d bytes", len(msgs), len(stream))
		}
		if op != ws.OpText && op != ws.OpBinary {
			t.Fatalf("message with opcode %v", op)
		}
		if op == ws.OpText && !utf8.Valid(msg) {
			t.Fatalf("text message %q is not UTF-8", msg)
		}
	}
}

// FuzzReadMessage feeds arbitrary client byte streams to the WebSocket
// transport's reader (see readStream). It checks that nothing panics or
// loops, that every message is a data message within max (once
// decompressed) and valid UTF-8 when text, that the reading ends with one
// of the expected errors, and that the server wrote nothing but pongs.
func FuzzReadMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, stream []byte, deflate bool, max uint16) {
		msgs, out, err := readStream(t, stream, deflate, int64(max))
		for _, m := range msgs {
			if len(m) > int(max) {
				t.Fatalf("message of %d bytes, limit %d", len(m), max)
			}
		}
		if !isReadError(err) {
			t.Fatalf("reading ended with %v, which has no close code of its own", err)
		}
		_ = checkPongs(t, out, len(stream)/minClientFrame)
	})
}

func isReadError(err error) bool {
	for _, e := range readErrors {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// checkPongs checks that out holds at most max frames, each a pong a server
// may send, and returns how many.
func checkPongs(t *testing.T, out []byte, max int) int {
	t.Helper()
	r := bytes.NewReader(out)
	n := 0
	for ; r.Len() > 0; n++ {
		f, err := ws.ReadFrame(r)
		if err != nil {
			t.Fatalf("server wrote a broken frame: %v", err)
		}
		if n >= max || f.Header.OpCode != ws.OpPong || !f.Header.Fin || f.Header.Masked || f.Header.Rsv != 0 ||
			len(f.Payload) > 125 {
			t.Fatalf("server frame %d of at most %d: %+v", n+1, max, f.Header)
		}
	}
	return n
}

var writeFuzzSeeds = flag.Bool("write-fuzz-seeds", false,
	"rewrite the seed corpus of FuzzReadMessage in testdata/fuzz")

// readSeed is a seed input of FuzzReadMessage.
type readSeed struct {
	name    string
	frames  []ws.Frame // masked by seedStream
	deflate bool
	max     uint16

	messages int   // read before the end
	pongs    int   // written back
	err      error // the reading ends with
}

// readSeeds are the seeds of FuzzReadMessage: the client frames of the
// protocol, valid and not.
func readSeeds(t *testing.T) []readSeed {
	text := func(s string) ws.Frame { return ws.NewTextFrame([]byte(s)) }
	frag := func(op ws.OpCode, fin bool, s string) ws.Frame { return ws.NewFrame(op, fin, []byte(s)) }
	compress := func(f ws.Frame) ws.Frame {
		c, err := wsflate.CompressFrame(f)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	zipped := compress(text("4" + strings.Repeat("compressible ", 20)))
	half := len(zipped.Payload) / 2
	zippedStart := ws.NewFrame(ws.OpText, false, zipped.Payload[:half])
	zippedStart.Header.Rsv = zipped.Header.Rsv
	bomb := compress(ws.NewBinaryFrame(make([]byte, 1<<16)))
	return []readSeed{
		{"text", []ws.Frame{text("4hello")}, false, 1000, 1, 0, io.EOF},
		{"binary", []ws.Frame{ws.NewBinaryFrame([]byte{1, 2, 3, 4})}, false, 1000, 1, 0, io.EOF},
		{"probe", []ws.Frame{text("2probe"), text("5"), text("4after upgrade")}, false, 1000, 3, 0, io.EOF},
		{"fragmented", []ws.Frame{frag(ws.OpText, false, "4hel"), frag(ws.OpContinuation, false, "lo "),
			frag(ws.OpContinuation, true, "world")}, false, 1000, 1, 0, io.EOF},
		{"ping between fragments", []ws.Frame{frag(ws.OpBinary, false, "\x01\x02"), ws.NewPingFrame([]byte("p")),
			frag(ws.OpContinuation, true, "\x03")}, false, 1000, 1, 1, io.EOF},
		{"ping", []ws.Frame{ws.NewPingFrame([]byte("are you there")), text("3")}, false, 1000, 1, 1, io.EOF},
		{"pong", []ws.Frame{ws.NewPongFrame(nil), text("4x")}, false, 1000, 1, 0, io.EOF},
		{"close", []ws.Frame{ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusGoingAway, "bye"))},
			false, 1000, 0, 0, errPeerClosed},
		{"compressed", []ws.Frame{zipped, text("4plain after")}, true, 1000, 2, 0, io.EOF},
		{"compressed fragmented", []ws.Frame{zippedStart, frag(ws.OpContinuation, true, string(zipped.Payload[half:]))},
			true, 1000, 1, 0, io.EOF},
		{"compressed without deflate", []ws.Frame{zipped}, false, 1000, 0, 0, errProtocol},
		{"decompresses past max", []ws.Frame{bomb}, true, 1000, 0, 0, errTooLarge},
		{"too large", []ws.Frame{ws.NewBinaryFrame(make([]byte, 101))}, false, 100, 0, 0, errTooLarge},
		{"16-bit length", []ws.Frame{text("4" + strings.Repeat("y", 300))}, false, 1000, 1, 0, io.EOF},
		{"invalid UTF-8", []ws.Frame{text("4\xff\xfe")}, false, 1000, 0, 0, errInvalidUTF8},
		{"continuation first", []ws.Frame{frag(ws.OpContinuation, true, "4x")}, false, 1000, 0, 0, errProtocol},
	}
}

// seedStream returns the bytes a client sends for frames, each masked
// with a fixed key so that the corpus does not change between runs.
func seedStream(t *testing.T, frames []ws.Frame) []byte {
	var b bytes.Buffer
	for i, f := range frames {
		if err := ws.WriteFrame(&b, ws.MaskFrameWith(f, [4]byte{0x37, 0xfa, 0x21, byte(i)})); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// TestReadMessageSeeds reads each seed of FuzzReadMessage and checks how
// the reading ends, and that the seed corpus in testdata has it;
// -write-fuzz-seeds writes the corpus from readSeeds.
func TestReadMessageSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzReadMessage")
	for _, s := range readSeeds(t) {
		stream := seedStream(t, s.frames)
		msgs, out, err := readStream(t, stream, s.deflate, int64(s.max))
		if pongs := checkPongs(t, out, len(stream)/minClientFrame); len(msgs) != s.messages || pongs != s.pongs || !errors.Is(err, s.err) {
			t.Errorf("%s: %d messages, %d pongs, %v; want %d, %d, %v", s.name, len(msgs), pongs, err,
				s.messages, s.pongs, s.err)
		}
		path := filepath.Join(dir, "seed-"+strings.ReplaceAll(s.name, " ", "-"))
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(%v)\nuint16(%d)\n", stream, s.deflate, s.max)
		if *writeFuzzSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		// Only the file's presence is checked: compressed seeds depend on
		// the version of compress/flate that wrote them.
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%v: run go test ./engineio -run TestReadMessageSeeds -write-fuzz-seeds", err)
		}
	}
}
