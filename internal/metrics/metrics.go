// Package metrics writes the Prometheus text exposition format (version
// 0.0.4) without a dependency on a Prometheus client library.
package metrics

import (
	"bufio"
	"io"
	"sort"
	"strconv"
	"strings"
)

// ContentType is the media type of the text format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Writer writes metric families. Errors are sticky: check Flush's result.
type Writer struct {
	w    *bufio.Writer
	seen map[string]bool
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriter(w), seen: map[string]bool{}}
}

// Counter writes one sample of a counter family.
func (m *Writer) Counter(name, help string, value float64, labels ...string) {
	m.sample(name, help, "counter", value, labels)
}

// Gauge writes one sample of a gauge family.
func (m *Writer) Gauge(name, help string, value float64, labels ...string) {
	m.sample(name, help, "gauge", value, labels)
}

// GaugeMap writes one gauge sample per key of values, labelled label=key,
// in key order.
func (m *Writer) GaugeMap(name, help, label string, values map[string]float64) {
	m.familyMap(name, help, "gauge", label, values)
}

// CounterMap is GaugeMap for counters.
func (m *Writer) CounterMap(name, help, label string, values map[string]float64) {
	m.familyMap(name, help, "counter", label, values)
}

func (m *Writer) familyMap(name, help, typ, label string, values map[string]float64) {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	m.header(name, help, typ)
	for _, k := range keys {
		m.sample(name, help, typ, values[k], []string{label, k})
	}
}

// Flush writes out what is buffered and returns the first error.
func (m *Writer) Flush() error { return m.w.Flush() }

func (m *Writer) header(name, help, typ string) {
	if m.seen[name] {
		return
	}
	m.seen[name] = true
	m.w.WriteString("# HELP " + name + " " + escapeHelp(help) + "\n")
	m.w.WriteString("# TYPE " + name + " " + typ + "\n")
}

func (m *Writer) sample(name, help, typ string, value float64, labels []string) {
	m.header(name, help, typ)
	m.w.WriteString(name)
	if len(labels) >= 2 {
		m.w.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				m.w.WriteByte(',')
			}
			m.w.WriteString(labels[i] + `="` + escapeLabel(labels[i+1]) + `"`)
		}
		m.w.WriteByte('}')
	}
	m.w.WriteByte(' ')
	m.w.WriteString(strconv.FormatFloat(value, 'g', -1, 64))
	m.w.WriteByte('\n')
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeLabel(s string) string { return labelEscaper.Replace(s) }
