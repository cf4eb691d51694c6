package clusterwire

import (
	"encoding/hex"
	"encoding/json"
	"testing"
)

func addGolden(f *testing.F) {
	for _, h := range golden {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
}

// FuzzDecodeBroadcast checks that broadcast messages never panic and that
// whatever decodes re-encodes.
func FuzzDecodeBroadcast(f *testing.F) {
	addGolden(f)
	f.Add([]byte{0x93, 0xc0, 0x80, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeBroadcast(b)
		if err != nil {
			return
		}
		if _, err := AppendBroadcast(nil, m.UID, m.Packet, m.Opts); err != nil && json.Valid(m.Packet.Data) {
			t.Fatalf("re-encoding %x: %v", b, err)
		}
	})
}

// FuzzDecodeRequest covers JSON and MessagePack requests and responses.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"uid":"a","requestId":"b","type":5,"opts":{"rooms":["r"],"except":[]}}`))
	f.Add([]byte(`{"type":2,"opts":{"rooms":[1],"except":[]},"rooms":["x"]}`))
	f.Add([]byte(`{"uid":"emitter","type":6,"data":["ev",1,{"a":2}]}`))
	f.Add([]byte(`{"requestId":"b","sockets":[{"id":"x","handshake":{},"rooms":["x"],"data":{}}]}`))
	b, _ := EncodeRequest(&Request{UID: "u", RequestID: "r", Type: BroadcastReq,
		Packet: &Packet{Type: 2, Data: json.RawMessage(`["e",{"_placeholder":true,"num":0}]`)}}, [][]byte{{1, 2}})
	f.Add(b)
	b, _ = EncodeResponse(&Response{Type: BroadcastAck, RequestID: "r", Packet: json.RawMessage(`{"a":[1.5,"x"]}`)}, nil)
	f.Add(b)
	addGolden(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		if req, atts, err := DecodeRequest(b); err == nil {
			if req.Packet != nil {
				_, _ = req.Packet.ToParser("/", atts)
			}
			_, _ = ArgsFromWire(req.Data, atts)
			if req.Opts != nil {
				_ = req.Opts.ToAdapter()
			}
		}
		if resp, atts, err := DecodeResponse(b); err == nil {
			_, _ = ArgFromWire(resp.Packet, atts)
			_, _ = ArgFromWire(resp.Data, atts)
			_, _ = DecodeSocketInfos(resp.Sockets)
		}
	})
}

// FuzzDecodeMessage covers the sharded adapter's messages.
func FuzzDecodeMessage(f *testing.F) {
	f.Add([]byte(`{"uid":"0123456789abcdef","nsp":"/","type":3,"data":{"packet":{"type":2,"data":["e"]},"opts":{"rooms":[],"except":[],"flags":{}}}}`))
	f.Add([]byte(`{"uid":"u","nsp":"/","type":8,"data":{"requestId":"r","sockets":[]}}`))
	b, _ := EncodeMessage(Message{UID: "u", Nsp: "/", Type: BroadcastMsg},
		&MessageData{Packet: json.RawMessage(`{"type":2,"data":["e",{"_placeholder":true,"num":0}]}`)}, [][]byte{{7}})
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, d, atts, err := DecodeMessage(b)
		if err != nil {
			return
		}
		var w Packet
		if json.Unmarshal(d.Packet, &w) == nil {
			_, _ = w.ToParser("/", atts)
		}
		_, _ = ArgsFromWire(d.Packet, atts)
		_, _ = DecodeSocketInfos(d.Sockets)
	})
}

// FuzzTranscode checks JSON → msgpack → JSON on arbitrary JSON input.
func FuzzTranscode(f *testing.F) {
	for _, s := range []string{`[1,"a",{"b":null}]`, `{"_placeholder":true,"num":0}`, `1e400`, `"\ud800"`, `-0.0`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, js []byte) {
		mp, err := JSONToMsgpack(nil, js, [][]byte{{1}})
		if err != nil {
			return
		}
		back, _, n, err := MsgpackToJSON(nil, nil, mp)
		if err != nil || n != len(mp) {
			t.Fatalf("%q → %x: %v", js, mp, err)
		}
		if !json.Valid(back) {
			t.Fatalf("%q → invalid %q", js, back)
		}
	})
}

// FuzzDecodeStreamEntry covers stream entries (JSON and base64 MessagePack
// data) and the classic broadcast peek.
func FuzzDecodeStreamEntry(f *testing.F) {
	f.Add("3", `{"opts":{"rooms":[],"except":[]},"packet":{"type":2,"data":["e"],"nsp":"/"}}`, "1")
	f.Add("3", nodeBinaryData, "")
	f.Add("4", `{"opts":{"rooms":["a"],"except":[]},"rooms":["b"]}`, "x")
	f.Fuzz(func(t *testing.T, typ, data, seq string) {
		m, d, atts, _, err := DecodeStreamEntry(map[string]string{"uid": "u", "nsp": "/", "type": typ, "data": data, "sbseq": seq})
		if err != nil {
			return
		}
		if _, err := EncodeStreamEntry(Message{UID: m.UID, Nsp: m.Nsp, Type: m.Type}, d, atts, 1); err != nil && len(atts) == 0 {
			t.Fatalf("re-encoding %q: %v", data, err)
		}
		_, _, _ = PeekBroadcast([]byte(data))
	})
}

// FuzzDecodeSession checks that session values never panic and that what
// decodes re-encodes.
func FuzzDecodeSession(f *testing.F) {
	f.Add(nodeSession)
	f.Add("gKA=")
	f.Fuzz(func(t *testing.T, v string) {
		s, err := DecodeSession(v)
		if err != nil {
			return
		}
		if _, err := EncodeSession(s); err != nil {
			t.Fatalf("re-encoding %q: %v", v, err)
		}
	})
}
