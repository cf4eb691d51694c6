package metrics

import (
	"strings"
	"testing"
)

func TestWriter(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	m := NewWriter(&b)
	m.Counter("x_total", "Things.\nMore", 3)
	m.GaugeMap("y", "Per key.", "k", map[string]float64{"b": 2, `a"q`: 1.5})
	m.Gauge("z", "Labelled.", 7, "transport", "polling")
	m.Gauge("z", "Labelled.", 8, "transport", "websocket")
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "# HELP x_total Things.\\nMore\n# TYPE x_total counter\nx_total 3\n" +
		"# HELP y Per key.\n# TYPE y gauge\ny{k=\"a\\\"q\"} 1.5\ny{k=\"b\"} 2\n" +
		"# HELP z Labelled.\n# TYPE z gauge\nz{transport=\"polling\"} 7\nz{transport=\"websocket\"} 8\n"
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
