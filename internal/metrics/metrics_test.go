package metrics

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestWriter: the Writer's series come out of a registry under their names
// and types, labels in order, the first help kept, next to the Go and
// process collectors' series.
func TestWriter(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(Func(func(m *Writer) {
		m.Counter("x_total", "Things.\nMore", 3)
		m.GaugeMap("y", "Per key.", "k", map[string]float64{"b": 2, `a"q`: 1.5})
		m.Gauge("z", "Labelled.", 7, "transport", "polling")
		m.Gauge("z", "", 8, "transport", "websocket")
		m.CounterMap("empty_total", "No samples.", "reason", nil)
	}))
	body := scrape(t, reg)
	for _, want := range []string{
		"# HELP x_total Things.\\nMore\n# TYPE x_total counter\nx_total 3\n",
		"# HELP y Per key.\n# TYPE y gauge\ny{k=\"a\\\"q\"} 1.5\ny{k=\"b\"} 2\n",
		"# HELP z Labelled.\n# TYPE z gauge\nz{transport=\"polling\"} 7\nz{transport=\"websocket\"} 8\n",
		"# TYPE go_goroutines gauge\n", "# TYPE go_gc_duration_seconds summary\n",
		"# TYPE process_cpu_seconds_total counter\n", "# TYPE process_resident_memory_bytes gauge\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("missing from the exposition:\n%s", want)
		}
	}
	if strings.Contains(body, "empty_total") {
		t.Error("a family without samples was written")
	}
}

// TestWriterInconsistentFamily: a family written again with another type or
// other labels is an error for that sample; the rest is served.
func TestWriterInconsistentFamily(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(Func(func(m *Writer) {
		m.Gauge("a", "A.", 1, "l", "x")
		m.Gauge("a", "A.", 2, "other", "y")
		m.Counter("a", "A.", 3, "l", "z")
		m.Gauge("b", "B.", 4)
	}))
	if _, err := reg.Gather(); err == nil {
		t.Fatal("no error for an inconsistent family")
	}
	body := scrape(t, reg)
	if !strings.Contains(body, "a{l=\"x\"} 1\n") || !strings.Contains(body, "b 4\n") || strings.Contains(body, "a{other") {
		t.Fatalf("exposition:\n%s", body)
	}
}

func scrape(t *testing.T, g prometheus.Gatherer) string {
	t.Helper()
	srv := httptest.NewServer(Handler(g, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("content type %q", ct)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
