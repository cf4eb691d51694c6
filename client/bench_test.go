package client

import (
	"context"
	"testing"
)

// BenchmarkEmit measures Emit on a connected socket (the server ignores
// the event), the load generator's hot path.
func BenchmarkEmit(b *testing.B) {
	for _, mode := range transportModes[:2] {
		b.Run(mode.name, func(b *testing.B) {
			srv := startSwitchboard(b, pingOpts{})
			m, err := NewManager(srv.url, &Options{Transports: mode.transports, MaxQueuedBytes: 64 << 20})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			s := m.Socket("/", nil)
			if err := s.Connect(context.Background()); err != nil {
				b.Fatal(err)
			}
			payload := map[string]any{"x": 1, "y": 2, "color": "#ff0000"}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				for s.Emit("drawing", payload) != nil {
					// queue full: let it drain
				}
			}
		})
	}
}
