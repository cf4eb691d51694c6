package client

import (
	"bytes"
	"testing"
)

// FuzzDecodePayload: the client's polling payload decoder never panics, and
// whatever it decodes encodes back to a payload that decodes the same.
func FuzzDecodePayload(f *testing.F) {
	for _, seed := range []string{"4hello", "4a\x1e4b\x1e2", "bAQID", "b", "6", "0{\"sid\":\"x\"}\x1e40", "", "\x1e", "4\x1e", "9", "b!!"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		packets, err := decodePayload(body)
		if err != nil {
			return
		}
		frames := make([]frame, len(packets))
		for i, p := range packets {
			if p.binary {
				frames[i] = frame{data: p.data, binary: true}
			} else {
				frames[i] = frame{data: append([]byte{p.typ}, p.data...)}
			}
		}
		again, err := decodePayload(appendPayload(nil, frames))
		if err != nil || len(again) != len(packets) {
			t.Fatalf("re-encoded payload: %v (%d packets, want %d)", err, len(again), len(packets))
		}
		for i := range again {
			if again[i].typ != packets[i].typ || again[i].binary != packets[i].binary || !bytes.Equal(again[i].data, packets[i].data) {
				t.Fatalf("packet %d changed: %+v vs %+v", i, again[i], packets[i])
			}
		}
	})
}
