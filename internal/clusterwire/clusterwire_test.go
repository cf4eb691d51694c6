package clusterwire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/parser"
)

// Golden messages encoded by notepack.io 3 (as @socket.io/redis-adapter
// 8.3 and @socket.io/redis-emitter 5.1 publish them).
var golden = map[string]string{
	"plain":  "93a661626331323383a47479706502a4646174619aa2657601fbcb3ff8000000000000a17382a162c0a16192c3c2cd012cd1ff38ce00011170cf000000012a05f200a36e7370a12f83a5726f6f6d7391a27231a665786365707491a178a5666c61677381a8766f6c6174696c65c3",
	"binary": "93a17584a47479706502a46461746193a362696ec40301020381a66e6573746564c40104a36e7370a62f61646d696ea269640783a5726f6f6d7390a665786365707490a5666c61677380",
	"date":   "93a7656d697474657283a47479706502a46461746192a164d7ffa1a5d60065937d25a36e7370a12f83a5726f6f6d7390a5666c61677380a665786365707490",
	"str":    "93a17583a47479706502a46461746192d92878787878787878787878787878787878787878787878787878787878787878787878787878787878a8c3a9e280a8225c0aa36e7370a12f83a5726f6f6d7392a161a162a665786365707490a5666c61677382a8636f6d7072657373c2a774696d656f7574cd03e8",
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAppendBroadcastMatchesNode(t *testing.T) {
	tests := []struct {
		name string
		uid  string
		p    *parser.Packet
		opts adapter.Options
	}{
		{"plain", "abc123", &parser.Packet{Type: parser.Event, Namespace: "/",
			Data: json.RawMessage(`["ev",1,-5,1.5,"s",{"b":null,"a":[true,false]},300,-200,70000,5000000000]`)},
			adapter.Options{Rooms: []string{"r1"}, Except: []string{"x"}, Flags: adapter.Flags{Volatile: true}}},
		{"binary", "u", &parser.Packet{Type: parser.BinaryEvent, Namespace: "/admin", ID: 7, HasID: true,
			Data:        json.RawMessage(`["bin",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}]`),
			Attachments: [][]byte{{1, 2, 3}, {4}}}, adapter.Options{}},
		{"str", "u", &parser.Packet{Type: parser.Event, Namespace: "/",
			Data: json.RawMessage(`["` + string(bytes.Repeat([]byte("x"), 40)) + `","é\u2028\"\\\n"]`)},
			adapter.Options{Rooms: []string{"a", "b"}, Flags: adapter.Flags{NoCompress: true, Timeout: time.Second}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendBroadcast(nil, tt.uid, tt.p, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if want := golden[tt.name]; hex.EncodeToString(got) != want {
				t.Fatalf("got  %x\nwant %s", got, want)
			}
		})
	}
}

func TestDecodeBroadcastFromNode(t *testing.T) {
	m, err := DecodeBroadcast(mustHex(t, golden["binary"]))
	if err != nil {
		t.Fatal(err)
	}
	if m.UID != "u" || m.Packet.Namespace != "/admin" || !m.Packet.HasID || m.Packet.ID != 7 {
		t.Fatalf("bad header: %+v %+v", m, m.Packet)
	}
	wantData := `["bin",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}]`
	if string(m.Packet.Data) != wantData || len(m.Packet.Attachments) != 2 ||
		!bytes.Equal(m.Packet.Attachments[0], []byte{1, 2, 3}) || !bytes.Equal(m.Packet.Attachments[1], []byte{4}) {
		t.Fatalf("data %s atts %v", m.Packet.Data, m.Packet.Attachments)
	}
	m, err = DecodeBroadcast(mustHex(t, golden["plain"]))
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Packet.Data) != `["ev",1,-5,1.5,"s",{"b":null,"a":[true,false]},300,-200,70000,5000000000]` {
		t.Fatalf("data %s", m.Packet.Data)
	}
	if len(m.Opts.Rooms) != 1 || m.Opts.Rooms[0] != "r1" || m.Opts.Except[0] != "x" || !m.Opts.Flags.Volatile {
		t.Fatalf("opts %+v", m.Opts)
	}
	m, err = DecodeBroadcast(mustHex(t, golden["date"]))
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Packet.Data) != `["d","2024-01-02T03:04:05.678Z"]` || m.UID != "emitter" {
		t.Fatalf("date: %s", m.Packet.Data)
	}
	m, err = DecodeBroadcast(mustHex(t, golden["str"]))
	if err != nil {
		t.Fatal(err)
	}
	if !m.Opts.Flags.NoCompress || m.Opts.Flags.Timeout != time.Second {
		t.Fatalf("flags %+v", m.Opts.Flags)
	}
	if want := "\"é\u2028\\\"\\\\\\n\""; !bytes.Contains(m.Packet.Data, []byte(want)) {
		t.Fatalf("string escapes: %s", m.Packet.Data)
	}
}

func TestTranscodeRoundTrip(t *testing.T) {
	cases := []string{
		`null`, `true`, `[]`, `{}`, `0`, `-1`, `-33`, `127`, `128`, `65536`, `-2147483649`, `1.5`, `1e+21`, `1e-7`,
		`0.1`, `"a\"b\\c\u0001"`, `{"a":[1,{"b":"c"}],"d":null}`,
		`[` + string(bytes.Repeat([]byte(`1,`), 20)) + `1]`,
	}
	for _, js := range cases {
		mp, err := JSONToMsgpack(nil, []byte(js), nil)
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		back, atts, n, err := MsgpackToJSON(nil, nil, mp)
		if err != nil || n != len(mp) || len(atts) != 0 {
			t.Fatalf("%s: %v", js, err)
		}
		if string(back) != js {
			t.Errorf("round trip %s → %s", js, back)
		}
	}
	// Numbers JavaScript sees as integers become msgpack integers.
	mp, _ := JSONToMsgpack(nil, []byte(`[2.0,1e3,-0]`), nil)
	if hex.EncodeToString(mp) != "9302cd03e800" {
		t.Errorf("integral floats: %x", mp)
	}
	// A placeholder without its attachment is an error.
	if _, err := JSONToMsgpack(nil, []byte(`{"_placeholder":true,"num":3}`), nil); err == nil {
		t.Error("missing attachment accepted")
	}
}

func TestRequestsRoundTrip(t *testing.T) {
	closeFlag := true
	req := &Request{UID: "u1", Type: RemoteDisconnect, Opts: &Opts{Rooms: Rooms{"r"}, Except: Rooms{}}, Close: &closeFlag}
	b, err := EncodeRequest(req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"uid":"u1","type":4,"opts":{"rooms":["r"],"except":[]},"close":true}` {
		t.Fatalf("json: %s", b)
	}
	// The emitter's form, with a numeric room.
	got, _, err := DecodeRequest([]byte(`{"type":2,"opts":{"rooms":[42],"except":[]},"rooms":["x"]}`))
	if err != nil || got.Opts.Rooms[0] != "42" || got.Rooms[0] != "x" {
		t.Fatalf("%+v %v", got, err)
	}
	// BROADCAST is msgpack, binary kept.
	nsp := "/"
	bcast := &Request{UID: "u", RequestID: "r1", Type: BroadcastReq, Packet: &Packet{Type: 2,
		Data: json.RawMessage(`["e",{"_placeholder":true,"num":0}]`), Nsp: &nsp}, Opts: &Opts{Rooms: Rooms{}, Except: Rooms{}}}
	b, err = EncodeRequest(bcast, [][]byte{{9, 9}})
	if err != nil || b[0] == '{' {
		t.Fatalf("%x %v", b, err)
	}
	got, atts, err := DecodeRequest(b)
	if err != nil || got.RequestID != "r1" || len(atts) != 1 {
		t.Fatalf("%+v %v", got, err)
	}
	p, err := got.Packet.ToParser("/", atts)
	if err != nil || string(p.Data) != `["e",{"_placeholder":true,"num":0}]` || !bytes.Equal(p.Attachments[0], []byte{9, 9}) {
		t.Fatalf("%+v %v", p, err)
	}
}

func TestShardedMessage(t *testing.T) {
	b, err := EncodeMessage(Message{UID: "0123456789abcdef", Nsp: "/", Type: ServerSideEmitMsg},
		&MessageData{Packet: json.RawMessage(`["e",{"_placeholder":true,"num":0}]`), RequestID: "x"}, [][]byte{{1}})
	if err != nil || b[0] == '{' {
		t.Fatalf("%x %v", b, err)
	}
	m, d, atts, err := DecodeMessage(b)
	if err != nil || m.Type != ServerSideEmitMsg || d.RequestID != "x" || len(atts) != 1 {
		t.Fatalf("%+v %+v %v", m, d, err)
	}
	b, _ = EncodeMessage(Message{UID: "u", Nsp: "/", Type: SocketsJoin}, &MessageData{Opts: &Opts{Rooms: Rooms{}, Except: Rooms{}}, Rooms: Rooms{"a"}}, nil)
	if string(b) != `{"uid":"u","nsp":"/","type":4,"data":{"opts":{"rooms":[],"except":[]},"rooms":["a"]}}` {
		t.Fatalf("%s", b)
	}
}
