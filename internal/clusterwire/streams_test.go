package clusterwire

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/parser"
)

// Encoded by @msgpack/msgpack 3 (as @socket.io/redis-streams-adapter 0.3
// encodes them) from Node.
const (
	nodeSession = "hKNzaWSjYWJjo3BpZKNkZWalcm9vbXOSo2FiY6JyMaRkYXRhhKR1c2Vyo2FkYaFuAaFmyz/4AAAAAAAAoWySw8A="
	// {opts:{rooms:[],except:["x"],flags:{}},packet:{type:2,data:["ev",<01 02 03>],nsp:"/"}}
	nodeBinaryData = "gqRvcHRzg6Vyb29tc5CmZXhjZXB0kaF4pWZsYWdzgKZwYWNrZXSDpHR5cGUCpGRhdGGSomV2xAMBAgOjbnNwoS8="
)

func TestSessionMatchesNode(t *testing.T) {
	s := &adapter.Session{SID: "abc", PID: "def", Rooms: []string{"abc", "r1"},
		Data: json.RawMessage(`{"user":"ada","n":1,"f":1.5,"l":[true,null]}`)}
	got, err := EncodeSession(s)
	if err != nil || got != nodeSession {
		t.Fatalf("EncodeSession = %s, %v; Node: %s", got, err, nodeSession)
	}
	back, err := DecodeSession(nodeSession)
	if err != nil {
		t.Fatal(err)
	}
	if back.SID != "abc" || back.PID != "def" || !reflect.DeepEqual(back.Rooms, []string{"abc", "r1"}) ||
		string(back.Data) != string(s.Data) {
		t.Fatalf("DecodeSession = %+v (data %s)", back, back.Data)
	}
	// Go data that is not JSON is stored as null.
	if v, err := EncodeSession(&adapter.Session{SID: "a", PID: "b"}); err != nil {
		t.Fatal(err)
	} else if back, err := DecodeSession(v); err != nil || string(back.Data) != "null" || back.Rooms == nil {
		t.Fatalf("%+v %v", back, err)
	}
}

func TestStreamEntry(t *testing.T) {
	// JSON data, as Node writes a broadcast without binary.
	fields, err := EncodeStreamEntry(Message{UID: "u1", Nsp: "/", Type: BroadcastMsg},
		&MessageData{Packet: json.RawMessage(`{"type":2,"data":["ev",1],"nsp":"/"}`),
			Opts: &Opts{Rooms: Rooms{}, Except: Rooms{"x"}, Flags: &Flags{}}}, nil, 7)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"uid", "u1", "nsp", "/", "type", "3",
		"data", `{"opts":{"rooms":[],"except":["x"],"flags":{}},"packet":{"type":2,"data":["ev",1],"nsp":"/"}}`,
		"sbseq", "7"}
	if !reflect.DeepEqual(fields, want) {
		t.Fatalf("fields %q", fields)
	}
	m, d, atts, seq, err := DecodeStreamEntry(toMap(fields))
	if err != nil || m.Type != BroadcastMsg || seq != 7 || len(atts) != 0 || string(d.Packet) != `{"type":2,"data":["ev",1],"nsp":"/"}` {
		t.Fatalf("%+v %+v %v %d %v", m, d, atts, seq, err)
	}
	// Binary data: base64 MessagePack, exactly as Node encodes it.
	fields, err = EncodeStreamEntry(Message{UID: "u1", Nsp: "/", Type: BroadcastMsg},
		&MessageData{Opts: &Opts{Rooms: Rooms{}, Except: Rooms{"x"}, Flags: &Flags{}},
			Packet: json.RawMessage(`{"type":2,"data":["ev",{"_placeholder":true,"num":0}],"nsp":"/"}`)},
		[][]byte{{1, 2, 3}}, 0)
	if err != nil || len(fields) != 8 {
		t.Fatalf("%q %v", fields, err)
	}
	_, d, atts, _, err = DecodeStreamEntry(map[string]string{"uid": "n", "nsp": "/", "type": "3", "data": nodeBinaryData})
	if err != nil || len(atts) != 1 || string(atts[0]) != "\x01\x02\x03" ||
		string(d.Packet) != `{"type":2,"data":["ev",{"_placeholder":true,"num":0}],"nsp":"/"}` {
		t.Fatalf("%s %v %v", d.Packet, atts, err)
	}
	for _, bad := range []map[string]string{{}, {"nsp": "/", "type": "x"}, {"nsp": "/", "type": "3", "data": "!!"}} {
		if _, _, _, _, err := DecodeStreamEntry(bad); err == nil {
			t.Errorf("decoded %v", bad)
		}
	}
}

func toMap(fields []string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(fields); i += 2 {
		m[fields[i]] = fields[i+1]
	}
	return m
}

func TestBroadcastSeq(t *testing.T) {
	p := mustPacket(t)
	b, err := AppendBroadcastSeq(nil, "uid1", 42, p, adapter.Options{Rooms: []string{"r"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeBroadcast(b)
	if err != nil || m.Seq != 42 || m.UID != "uid1" || string(m.Packet.Data) != string(p.Data) {
		t.Fatalf("%+v %v", m, err)
	}
	uid, seq, err := PeekBroadcast(b)
	if uid != "uid1" || seq != 42 || err != nil {
		t.Fatalf("peek %q %d %v", uid, seq, err)
	}
	b, _ = AppendBroadcast(nil, "uid1", p, adapter.Options{})
	if _, seq, err := PeekBroadcast(b); seq != 0 || err != nil {
		t.Fatalf("no seq: %d %v", seq, err)
	}
}

func mustPacket(t *testing.T) *parser.Packet {
	t.Helper()
	return &parser.Packet{Type: parser.Event, Namespace: "/", Data: json.RawMessage(`["ev",{"a":1}]`)}
}
