package parser

import (
	"encoding/json"
	"testing"
)

type drawing struct {
	X0    float64 `json:"x0"`
	Y0    float64 `json:"y0"`
	X1    float64 `json:"x1"`
	Y1    float64 `json:"y1"`
	Color string  `json:"color"`
}

const drawingJSON = `{"x0":0.1,"y0":0.2,"x1":0.3,"y1":0.4,"color":"black"}`

// BenchmarkEncodeEvent encodes 2["drawing",{...}] (about 70 bytes) into
// reused buffers, from three kinds of argument.
func BenchmarkEncodeEvent(b *testing.B) {
	args := map[string]any{
		"map":    map[string]any{"x0": 0.1, "y0": 0.2, "x1": 0.3, "y1": 0.4, "color": "black"},
		"struct": drawing{0.1, 0.2, 0.3, 0.4, "black"},
		"raw":    json.RawMessage(drawingJSON),
	}
	for _, name := range []string{"map", "struct", "raw"} {
		arg := args[name]
		want := `2["drawing",` + drawingJSON + `]`
		if name == "map" {
			want = `2["drawing",{"color":"black","x0":0.1,"x1":0.3,"y0":0.2,"y1":0.4}]`
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var data, out []byte
			var atts [][]byte
			for b.Loop() {
				var err error
				data, atts, err = AppendData(data[:0], atts[:0], "drawing", arg)
				if err != nil {
					b.Fatal(err)
				}
				p := Packet{Type: Event, Namespace: "/", Data: data, Attachments: atts}
				out = p.AppendEncode(out[:0])
			}
			if string(out) != want {
				b.Fatalf("encoded %s, want %s", out, want)
			}
		})
	}
}

// BenchmarkDecodeEvent decodes the same event: the packet alone, then with
// Event() splitting it, then also decoding the argument into a struct.
func BenchmarkDecodeEvent(b *testing.B) {
	msg := []byte(`2["drawing",` + drawingJSON + `]`)
	var d Decoder
	b.Run("packet", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if p, err := d.DecodeText(msg); err != nil || p == nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("event", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, _ := d.DecodeText(msg)
			if name, args, err := p.Event(); err != nil || name != "drawing" || len(args) != 1 {
				b.Fatal(name, err)
			}
		}
	})
	b.Run("struct", func(b *testing.B) {
		b.ReportAllocs()
		var v drawing
		for b.Loop() {
			p, _ := d.DecodeText(msg)
			_, args, err := p.Event()
			if err != nil {
				b.Fatal(err)
			}
			if err := args[0].Decode(&v); err != nil || v.Color != "black" {
				b.Fatal(err)
			}
		}
	})
}
