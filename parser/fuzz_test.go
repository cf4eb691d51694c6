package parser

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// splitN cuts b into n nearly equal chunks (n may exceed len(b): chunks are
// then empty).
func splitN(b []byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range n {
		out[i] = b[i*len(b)/n : (i+1)*len(b)/n]
	}
	return out
}

func FuzzDecode(f *testing.F) {
	for _, tc := range wireExamples {
		f.Add([]byte(tc.text), bytes.Join(tc.p.Attachments, nil), uint8(len(tc.p.Attachments)))
	}
	f.Add([]byte(`40/custom`), []byte(nil), uint8(0))
	f.Add([]byte(`52-/a,3[{"x":{"_placeholder":true,"num":1}},{"_placeholder":true,"num":0}]`), []byte("abcd"), uint8(2))
	f.Add([]byte(`2[1e400,"\u00e9",{"a":[null,true]}]`), []byte(nil), uint8(0))
	f.Add([]byte(`50-["a"]`), []byte("x"), uint8(1))
	f.Fuzz(func(t *testing.T, text, bin []byte, n uint8) {
		var d Decoder
		p, err := d.DecodeText(text)
		for _, b := range splitN(bin, int(n%12)) {
			if err != nil || p != nil {
				break
			}
			p, err = d.DecodeBinary(b)
		}
		if err != nil || p == nil {
			return
		}
		checkRoundTrip(t, p)
		checkArgsRelay(t, p)
	})
}

// checkRoundTrip re-encodes a decoded packet and decodes it again.
func checkRoundTrip(t *testing.T, p *Packet) {
	t.Helper()
	if !strings.HasPrefix(p.Namespace, "/") || strings.Contains(p.Namespace, ",") {
		t.Fatalf("decoded namespace %q", p.Namespace)
	}
	if p.HasID && p.ID > maxAckID {
		t.Fatalf("decoded id %d", p.ID)
	}
	text := p.AppendEncode(nil)
	p2, err := decodeAll(0, string(text), p.Attachments...)
	if err != nil || p2 == nil {
		t.Fatalf("re-decoding %q: %v, %v", text, p2, err)
	}
	if !reflect.DeepEqual(p, p2) {
		t.Fatalf("round trip via %q:\n got %+v\nwant %+v", text, p2, p)
	}
}

// checkArgsRelay checks that the args of an event or ack split, decode and
// relay without loss.
func checkArgsRelay(t *testing.T, p *Packet) {
	t.Helper()
	switch p.Type {
	case Connect, Disconnect, ConnectError:
		return
	case Event, BinaryEvent:
		if _, _, err := p.Event(); err != nil {
			t.Fatalf("Event() of decoded %s: %v", p.Data, err)
		}
	}
	args, err := p.Args()
	if err != nil {
		t.Fatalf("Args() of decoded %s: %v", p.Data, err)
	}
	relay(t, args)
}

// relay encodes args again and checks that the result holds the same values.
func relay(t *testing.T, args []Arg) {
	t.Helper()
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = a
		var v any
		var typeErr *json.UnmarshalTypeError // numbers beyond float64
		if err := a.Decode(&v); err != nil && !errors.As(err, &typeErr) {
			t.Fatalf("Decode(%s): %v", a.JSON(), err)
		}
	}
	data, atts, err := EncodeData(vals...)
	if err != nil {
		t.Fatalf("EncodeData(args): %v", err)
	}
	out := Packet{Type: Ack, Data: data, Attachments: atts}
	again, err := out.Args()
	if err != nil || len(again) != len(args) {
		t.Fatalf("Args of relayed %s: %d, %v", data, len(again), err)
	}
	for i := range args {
		want, _ := args[i].MarshalJSON()
		got, _ := again[i].MarshalJSON()
		if !bytes.Equal(got, want) {
			t.Fatalf("relayed arg %d: %s, want %s", i, got, want)
		}
		if len(args[i].phs) == 0 && !bytes.Equal(again[i].JSON(), args[i].JSON()) {
			t.Fatalf("relayed arg %d not byte-exact: %s, want %s", i, again[i].JSON(), args[i].JSON())
		}
	}
}

func FuzzArgs(f *testing.F) {
	f.Add([]byte(`["a",1,{"b":[true,null]},"\u2028\ud800"]`), 0.5)
	f.Add([]byte(`[{"_placeholder":true,"num":1},{"x":{"_placeholder":true,"num":0}}]`), 1e21)
	f.Add([]byte(` [ "a,]" , [ ] , { } ] `), -1e-7)
	f.Add([]byte(`[1.5e-3,-0,"\\\"",{"a":"\xff"}]`), math.MaxFloat64)
	f.Fuzz(func(t *testing.T, data []byte, fl float64) {
		if got, want := validJSON(data), json.Valid(data); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid = %v", data, got, want)
		}
		checkEncodingParity(t, string(data), fl)
		p := Packet{Type: Ack, Data: data, Attachments: [][]byte{[]byte("a"), {}}}
		args, err := p.Args()
		if err != nil {
			return
		}
		if !json.Valid(data) || data[skipSpace(data, 0)] != '[' {
			t.Fatalf("Args accepted %q", data)
		}
		relay(t, args)
	})
}

// checkEncodingParity compares the string and float fast paths with
// encoding/json.
func checkEncodingParity(t *testing.T, s string, fl float64) {
	t.Helper()
	got, _, err := EncodeData(s, fl, float32(fl))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	wantErr := enc.Encode([]any{s, fl, float32(fl)})
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("EncodeData error %v, encoding/json error %v", err, wantErr)
	}
	if want := strings.TrimSuffix(buf.String(), "\n"); err == nil && string(got) != want {
		t.Fatalf("EncodeData = %s, encoding/json = %s", got, want)
	}
}
