// Package metrics serves a node's metrics through the Prometheus Go client
// (github.com/prometheus/client_golang): a registry with the standard Go
// runtime and process collectors, and a Writer for the series that are
// read from counters kept elsewhere (socketio, engineio, the Redis adapter)
// at each scrape, with the same calls the hand-written exposition had.
package metrics

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry holding the Go runtime collector (go_*),
// the process collector (process_*) and cs.
func NewRegistry(cs ...prometheus.Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(cs...)
	return reg
}

// Handler serves g's metrics in the format the scraper asks for (the text
// format by default). A collector's error is logged and the other metrics
// are still served.
func Handler(g prometheus.Gatherer, log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:      slogPrinter{log},
		ErrorHandling: promhttp.ContinueOnError,
	})
}

type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Error("metrics: " + fmt.Sprint(v...)) }

// Func is a collector that writes its metrics with a Writer at each scrape.
// It is unchecked (it describes nothing up front), so its series may come
// and go between scrapes; the registry still checks that each family keeps
// one type, help and set of labels within a scrape.
type Func func(w *Writer)

// Describe describes nothing: Func is an unchecked collector.
func (Func) Describe(chan<- *prometheus.Desc) {}

// Collect runs f with a Writer sending to ch.
func (f Func) Collect(ch chan<- prometheus.Metric) {
	f(&Writer{ch: ch, families: map[string]*family{}})
}

// Writer writes the samples of metric families during one collection. The
// first sample of a family fixes its help, type and label names; later
// samples of the family may leave help empty.
type Writer struct {
	ch       chan<- prometheus.Metric
	families map[string]*family
}

type family struct {
	desc   *prometheus.Desc
	typ    prometheus.ValueType
	labels []string
}

// Counter writes one sample of a counter family; labels alternate names
// and values.
func (m *Writer) Counter(name, help string, value float64, labels ...string) {
	m.sample(name, help, prometheus.CounterValue, value, labels)
}

// Gauge writes one sample of a gauge family; labels alternate names and
// values.
func (m *Writer) Gauge(name, help string, value float64, labels ...string) {
	m.sample(name, help, prometheus.GaugeValue, value, labels)
}

// GaugeMap writes one gauge sample per key of values, labelled label=key.
func (m *Writer) GaugeMap(name, help, label string, values map[string]float64) {
	m.familyMap(name, help, prometheus.GaugeValue, label, values)
}

// CounterMap is GaugeMap for counters.
func (m *Writer) CounterMap(name, help, label string, values map[string]float64) {
	m.familyMap(name, help, prometheus.CounterValue, label, values)
}

func (m *Writer) familyMap(name, help string, typ prometheus.ValueType, label string, values map[string]float64) {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.sample(name, help, typ, values[k], []string{label, k})
	}
}

func (m *Writer) sample(name, help string, typ prometheus.ValueType, value float64, labels []string) {
	names := make([]string, 0, len(labels)/2)
	values := make([]string, 0, len(labels)/2)
	for i := 0; i+1 < len(labels); i += 2 {
		names, values = append(names, labels[i]), append(values, labels[i+1])
	}
	f := m.families[name]
	if f == nil {
		f = &family{desc: prometheus.NewDesc(name, help, names, nil), typ: typ, labels: names}
		m.families[name] = f
	}
	if f.typ != typ || !slices.Equal(f.labels, names) {
		m.ch <- prometheus.NewInvalidMetric(f.desc, fmt.Errorf("metric %s written with another type or other labels", name))
		return
	}
	s, err := prometheus.NewConstMetric(f.desc, typ, value, values...)
	if err != nil {
		s = prometheus.NewInvalidMetric(f.desc, err)
	}
	m.ch <- s
}
