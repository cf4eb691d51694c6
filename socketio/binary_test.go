package socketio_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/switchboard-io/switchboard/parser"
	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

func TestBinaryFromClient(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("upload", func(e *socketio.Event) {
				var top []byte
				var nested struct {
					File []byte   `json:"file"`
					List [][]byte `json:"list"`
					Name string   `json:"name"`
				}
				if err := e.Decode(&top, &nested); err != nil {
					_ = e.Ack(err.Error())
					return
				}
				_ = e.Ack(fmt.Sprintf("%x %x %x %s", top, nested.File, nested.List, nested.Name))
			})
		})
		c := srv.Connect(t, transport, "/", nil)
		args, err := c.EmitWithAck(ctxT(t), "/", "upload", []byte{0, 1, 0xff},
			map[string]any{"file": []byte("hi"), "list": []any{[]byte{7}, []byte{}}, "name": "n"})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(args[0].JSON()); got != `"0001ff 6869 [07 ] n"` {
			t.Errorf("server decoded %s", got)
		}
	})
}

func TestBinaryToClient(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		ch := sockets(srv)
		c := srv.Connect(t, transport, "/", nil)
		s := recv(t, ch)
		payload := bytes.Repeat([]byte{0, 0xfe, '\n', 0x1e}, 100)
		err := s.Emit("download", payload, map[string]any{"x": []byte("a")}, []any{1, []byte("b")})
		if err != nil {
			t.Fatal(err)
		}
		e, err := c.ReadEvent(ctxT(t), "/", "download")
		if err != nil {
			t.Fatal(err)
		}
		want := `53-["download",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}},` +
			`[1,{"_placeholder":true,"num":2}]]`
		if got := string(e.Packet.Encode()); got != want {
			t.Errorf("packet %s\nwant   %s", got, want)
		}
		atts := e.Packet.Attachments
		if len(atts) != 3 || !bytes.Equal(atts[0], payload) || string(atts[1]) != "a" || string(atts[2]) != "b" {
			t.Errorf("attachments %q", atts)
		}
		// An ack may carry binary too.
		go func() {
			if e, err := c.ReadEvent(ctxT(t), "/", "q"); err == nil {
				_ = e.Ack([]byte("r"))
			}
		}()
		args, err := s.EmitWithAck(ctxT(t), "q")
		if b, ok := args[0].Bytes(); err != nil || !ok || string(b) != "r" {
			t.Errorf("binary ack %v %v", args, err)
		}
	})
}

// TestRelayArgs checks that received Args emitted again travel byte for
// byte: key order, escapes and attachments kept.
func TestRelayArgs(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, nil)
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("relay", func(e *socketio.Event) {
				args := make([]any, len(e.Args))
				for i, a := range e.Args {
					args[i] = a
				}
				_ = s.Broadcast().Emit(ctxT(t), "relayed", args...)
			})
		})
		from := srv.Connect(t, transport, "/", nil)
		to := srv.Connect(t, transport, "/", nil)
		att := []byte{0x1e, 0, 'b', 0xff}
		args := `{"b":1,"a":"\u00e9<&>\n"},[{"_placeholder":true,"num":0}],1e2`
		if err := from.SendRaw(`451-["relay",` + args + `]`); err != nil {
			t.Fatal(err)
		}
		if err := from.SendBinary(att); err != nil {
			t.Fatal(err)
		}
		e, err := to.ReadEvent(ctxT(t), "/", "relayed")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(e.Packet.Encode()), `51-["relayed",`+args+`]`; got != want {
			t.Errorf("relayed %s\nwant    %s", got, want)
		}
		if len(e.Packet.Attachments) != 1 || !bytes.Equal(e.Packet.Attachments[0], att) {
			t.Errorf("attachment %q, want %q", e.Packet.Attachments, att)
		}
	})
}

func TestAttachmentLimit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		max    int
		n      int
		closes bool
	}{
		{"10 by default", 0, 10, false},
		{"11 refused by default", 0, 11, true},
		{"11 with MaxAttachments 11", 11, 11, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run(t, func(t *testing.T, transport string) {
				srv := newServer(t, &socketio.Options{MaxAttachments: tc.max})
				srv.OnConnection(func(s *socketio.Socket) {
					s.On("many", func(e *socketio.Event) { _ = e.Ack(len(e.Args)) })
				})
				c := srv.Connect(t, transport, "/", nil)
				values := []any{"many"}
				for i := range tc.n {
					values = append(values, []byte{byte(i)})
				}
				data, atts, _ := parser.EncodeData(values...)
				p := &parser.Packet{Type: parser.Event, Namespace: "/", Data: data, Attachments: atts, HasID: true}
				_ = c.Send(p)
				if tc.closes {
					waitDone(t, c.Done(), "connection")
					return
				}
				ack, err := c.Next(ctxT(t), isAck("/"))
				if err != nil {
					t.Fatal(err)
				}
				if got := string(ack.Data); got != fmt.Sprintf("[%d]", tc.n) {
					t.Errorf("ack %s, want [%d]", got, tc.n)
				}
			})
		})
	}
}

// TestParserMsgpack checks a server speaking socket.io-msgpack-parser's
// format: events with binary values both ways, acks, broadcasts, and a
// text message (the JSON parser's format) closing the connection.
func TestParserMsgpack(t *testing.T) {
	run(t, func(t *testing.T, transport string) {
		srv := newServer(t, &socketio.Options{Parser: socketio.ParserMsgpack})
		srv.OnConnection(func(s *socketio.Socket) {
			s.On("echo", func(e *socketio.Event) {
				var b []byte
				var n int
				if err := e.Decode(&b, &n); err != nil {
					_ = e.Ack(err.Error())
					return
				}
				_ = e.Ack(append(b, byte(n)), "ok")
				_ = srv.Of("/").Emit(s.Context(), "all", map[string]any{"bin": b})
			})
		})
		c := srv.Dial(t, transport, &socketiotest.DialOptions{Msgpack: true})
		if _, err := c.Connect(ctxT(t), "/", nil); err != nil {
			t.Fatal(err)
		}
		args, err := c.EmitWithAck(ctxT(t), "/", "echo", []byte{0, 0xff}, 7)
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		var word string
		if len(args) != 2 || args[0].Decode(&got) != nil || args[1].Decode(&word) != nil ||
			!bytes.Equal(got, []byte{0, 0xff, 7}) || word != "ok" {
			t.Errorf("ack %v", args)
		}
		e, err := c.ReadEvent(ctxT(t), "/", "all")
		if err != nil {
			t.Fatal(err)
		}
		var all struct{ Bin []byte }
		if len(e.Args) != 1 || e.Args[0].Decode(&all) != nil || !bytes.Equal(all.Bin, []byte{0, 0xff}) {
			t.Errorf("broadcast %s", e.Packet.Encode())
		}
		if err := c.SendRaw(`42["echo"]`); err != nil {
			t.Fatal(err)
		}
		waitDone(t, c.Done(), "connection after a text message")
	})
}
