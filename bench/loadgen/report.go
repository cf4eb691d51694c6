package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

type report struct {
	Machine    machine `json:"machine"`
	Started    string  `json:"started"`
	Seconds    float64 `json:"seconds"`
	Runs       int     `json:"runs"`
	Smoke      bool    `json:"smoke"`
	LoadBefore string  `json:"loadavgBefore"`
	LoadAfter  string  `json:"loadavgAfter"`
	// WriteFloorMicros is the CPU of one 113-byte write(2) on loopback
	// TCP (see writeFloor).
	WriteFloorMicros float64 `json:"writeFloorMicros"`
	// BurstFloorMicros is the same with 5,000 peers that sleep between
	// broadcasts (see burstFloor).
	BurstFloorMicros float64       `json:"burstFloorMicros,omitempty"`
	Scenarios        []scenarioRun `json:"scenarios"`
	// Skipped are the scenarios a server of the run does not run, and why.
	Skipped []skip   `json:"skipped,omitempty"`
	Results []result `json:"results"`
}

type scenarioRun struct {
	Name       string  `json:"name"`
	Seconds    float64 `json:"seconds"`
	LoadBefore string  `json:"loadavgBefore"`
	LoadAfter  string  `json:"loadavgAfter"`
}

// metricInfo says how a metric is shown and which way is better.
type metricInfo struct {
	label  string
	higher bool // higher is better
	prec   int
}

var metrics = map[string]metricInfo{
	"rss_kb_per_conn":           {"RSS per connection (KB)", false, 2},
	"goroutines_per_conn":       {"goroutines per connection", false, 2},
	"heap_kb_per_conn":          {"Go heap in use per connection (KB)", false, 2},
	"heap_alloc_kb_per_conn":    {"Go heap allocated per connection (KB)", false, 2},
	"stack_kb_per_conn":         {"goroutine stacks per connection (KB)", false, 2},
	"connects_per_s":            {"connects/s", true, 0},
	"cpu_us_per_connect":        {"server CPU per connect (µs)", false, 1},
	"cpu_user_us_per_connect":   {"of which user space (µs)", false, 1},
	"cpu_sys_us_per_connect":    {"of which kernel, system time (µs)", false, 1},
	"gen_cpu_us_per_connect":    {"load generator CPU per connect (µs)", false, 1},
	"rss_mb":                    {"server RSS (MB)", false, 1},
	"slope_kb_per_conn":         {"marginal RSS per connection, 5k→19k (KB)", false, 2},
	"rss_100k_mb":               {"projected RSS at 100k connections (MB)", false, 0},
	"delivered_per_s":           {"delivered/s", true, 0},
	"p50_ms":                    {"latency p50 (ms)", false, 3},
	"p99_ms":                    {"latency p99 (ms)", false, 3},
	"cpu_us_per_delivery":       {"server CPU per delivery (µs)", false, 2},
	"cpu_user_us_per_delivery":  {"of which user space (µs)", false, 2},
	"cpu_sys_us_per_delivery":   {"of which kernel, system time (µs)", false, 2},
	"redis_cpu_us_per_delivery": {"redis-server CPU per delivery (µs)", false, 2},
	"gen_cpu_us_per_delivery":   {"load generator CPU per delivery (µs)", false, 2},
	"acks_per_s":                {"acks/s", true, 0},
	"cpu_us_per_ack":            {"server CPU per ack (µs)", false, 1},
	"cpu_user_us_per_ack":       {"of which user space (µs)", false, 1},
	"cpu_sys_us_per_ack":        {"of which kernel, system time (µs)", false, 1},
	"reconnect_all_s":           {"time until all reconnected (s)", false, 2},
	"reconnects_per_s":          {"reconnects/s", true, 0},
	"baseline_p99_ms":           {"p99, every client reading (ms)", false, 2},
	"fast_p99_ms":               {"p99 of the fast clients, 10% not reading (ms)", false, 2},
	"fast_delivered_per_s":      {"delivered/s to the fast clients", true, 0},
	"rss_growth_mb":             {"server RSS growth while 10% do not read (MB, peak)", false, 0},
	"slow_disconnects":          {"slow-client disconnects", true, 0},
}

// Rows shown per scenario, in order.
var shown = map[string][]string{
	"S1":    {"rss_kb_per_conn", "heap_kb_per_conn", "heap_alloc_kb_per_conn", "stack_kb_per_conn", "goroutines_per_conn", "connects_per_s", "cpu_us_per_connect", "cpu_user_us_per_connect", "cpu_sys_us_per_connect", "gen_cpu_us_per_connect", "rss_mb", "slope_kb_per_conn", "rss_100k_mb"},
	"S2":    {"delivered_per_s", "p50_ms", "p99_ms", "cpu_us_per_delivery", "cpu_user_us_per_delivery", "cpu_sys_us_per_delivery"},
	"S3":    {"delivered_per_s", "p50_ms", "p99_ms", "cpu_us_per_delivery", "cpu_user_us_per_delivery", "cpu_sys_us_per_delivery", "redis_cpu_us_per_delivery"},
	"S4":    {"delivered_per_s", "p50_ms", "p99_ms", "cpu_us_per_delivery", "cpu_user_us_per_delivery", "cpu_sys_us_per_delivery"},
	"S5":    {"p50_ms", "p99_ms", "acks_per_s", "cpu_us_per_ack", "cpu_user_us_per_ack", "cpu_sys_us_per_ack"},
	"S6":    {"reconnect_all_s", "reconnects_per_s", "baseline_p99_ms", "fast_p99_ms", "fast_delivered_per_s", "rss_growth_mb", "slow_disconnects"},
	"WB":    whiteboardShown,
	"WBpin": whiteboardShown,
}

var whiteboardShown = []string{"connects_per_s", "rss_kb_per_conn", "rss_mb", "delivered_per_s", "p50_ms", "p99_ms",
	"cpu_us_per_delivery", "cpu_user_us_per_delivery", "cpu_sys_us_per_delivery"}

// reportOrder is the order of the scenarios' tables in the report.
var reportOrder = []string{"S1", "S2", "S3", "S4", "S5", "S6", "WB", "WBpin"}

var titles = map[string]string{
	"S1":    "S1 — idle footprint (WebSocket clients, one node)",
	"S2":    "S2 — broadcast of ~100-byte events, one node",
	"S3":    "S3 — broadcast over 2 and 3 nodes + Redis",
	"S4":    "S4 — 1,000 rooms of 5 clients, broadcasts to rooms",
	"S5":    "S5 — emit-with-ack round trips (Go client)",
	"S6":    "S6 — churn: reconnect storm and slow clients",
	"WB":    "WB — the whiteboard: switchboard serve against the classic Node whiteboard",
	"WBpin": "WBpin — the same, server on CPU 0 and load generator on CPU 1 (taskset)",
}

type key struct{ scenario, config, server, metric string }

// stats of one metric over the runs.
type stats struct{ min, max, med float64 }

func aggregate(rs []result) (map[key]stats, []string) {
	vals := map[key][]float64{}
	var configs []string
	seen := map[string]bool{}
	for _, r := range rs {
		c := r.Scenario + "|" + r.Config
		if !seen[c] {
			seen[c] = true
			configs = append(configs, c)
		}
		for m, v := range r.M {
			k := key{r.Scenario, r.Config, r.Server, m}
			vals[k] = append(vals[k], v)
		}
	}
	out := map[key]stats{}
	for k, v := range vals {
		sort.Float64s(v)
		med := v[len(v)/2]
		if len(v)%2 == 0 {
			med = (v[len(v)/2-1] + v[len(v)/2]) / 2
		}
		out[k] = stats{v[0], v[len(v)-1], med}
	}
	return out, configs
}

// derive adds the S1 slope between 5k and 19k connections and the
// projection to 100k, per server and run.
func derive(rs []result) []result {
	type sr struct {
		server string
		run    int
	}
	at := map[sr]map[string]float64{}
	for _, r := range rs {
		if r.Scenario != "S1" {
			continue
		}
		k := sr{r.Server, r.Run}
		if at[k] == nil {
			at[k] = map[string]float64{}
		}
		at[k][r.Config] = r.M["rss_mb"]
	}
	out := slices.Clone(rs)
	for k, m := range at {
		a, okA := m["5000 clients"]
		b, okB := m["19000 clients"]
		if !okA || !okB {
			continue
		}
		slope := (b - a) * 1024 / 14000 // KB per connection
		out = append(out, result{Scenario: "S1", Config: "5k→19k", Server: k.server, Run: k.run, M: map[string]float64{
			"slope_kb_per_conn": slope,
			"rss_100k_mb":       b + slope*81000/1024,
		}})
	}
	return out
}

func fmtNum(v float64, prec int) string {
	if math.IsNaN(v) {
		return "—"
	}
	if prec == 0 && math.Abs(v) >= 1000 {
		// thousands separators
		s := fmt.Sprintf("%.0f", v)
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 && s[0] != '-' {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		return b.String()
	}
	return fmt.Sprintf("%.*f", prec, v)
}

func fmtRange(s stats, ok bool, prec int) string {
	if !ok {
		return "—"
	}
	if fmtNum(s.min, prec) == fmtNum(s.max, prec) {
		return fmtNum(s.min, prec)
	}
	return fmtNum(s.min, prec) + "–" + fmtNum(s.max, prec)
}

// advantage is how many times better Switchboard's median is.
func advantage(sb, node stats, higher bool) string {
	if sb.med <= 0 || node.med <= 0 {
		return "—"
	}
	r := node.med / sb.med
	if higher {
		r = sb.med / node.med
	}
	if r >= 10 {
		return fmt.Sprintf("×%.0f", r)
	}
	return fmt.Sprintf("×%.1f", r)
}

const (
	beginMarker = "<!-- results:begin (generated by go run ./bench/loadgen; edit outside the markers) -->"
	endMarker   = "<!-- results:end -->"
)

func writeReport(rep *report, path, plot string) error {
	rs := derive(rep.Results)
	agg, configs := aggregate(rs)
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := rep.Machine
	w("%s\n\n", beginMarker)
	w("Generated %s by `go run ./bench/loadgen` in %.0f s (%d run(s) of each scenario per server, alternating).\n\n",
		rep.Started, rep.Seconds, rep.Runs)
	w("| machine | |\n|---|---|\n")
	w("| CPU | %d × %s |\n| memory | %s GiB |\n| kernel | %s |\n| open files per process | %s |\n", m.CPUs, m.CPUModel, m.MemGiB, m.Kernel, m.FDLimit)
	w("| Go | %s |\n| Node | %s, socket.io %s, @socket.io/redis-adapter %s |\n", m.Go, m.Node, m.SocketIO, m.RedisAd)
	for _, k := range allServers {
		if v, ok := m.Peers[k]; ok {
			w("| %s | %s; built with %s |\n", serverNames[k], v, m.Go)
		}
	}
	w("| redis-server | %s |\n| commit | %s |\n", m.Redis, m.Commit)
	w("| load average before → after | %s → %s |\n", rep.LoadBefore, rep.LoadAfter)
	if rep.WriteFloorMicros > 0 {
		w("| kernel floor: CPU of one 113-byte write(2) on loopback TCP (1,000 connections, writer thread) | %.2f µs |\n", rep.WriteFloorMicros)
	}
	if rep.BurstFloorMicros > 0 {
		w("| kernel floor with sleeping peers: the same, one write to each of 5,000 connections per burst, their readers asleep between bursts | %.2f µs |\n", rep.BurstFloorMicros)
	}
	w("\n")

	writeTargets(w, agg, rep.BurstFloorMicros)

	// Other load per scenario.
	w("Other CPU load on the machine (processes other than the servers, redis-server and the load generator), measured from /proc during each window:\n\n")
	w("| scenario | duration (s) | loadavg before → after | other load during windows (cores, min–max) |\n|---|---|---|---|\n")
	for _, s := range rep.Scenarios {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, r := range rep.Results {
			if v, ok := r.M["other_cores"]; ok && r.Scenario == s.Name {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
		other := "—"
		if !math.IsInf(lo, 1) {
			other = fmt.Sprintf("%.2f–%.2f", lo, hi)
		}
		w("| %s | %.0f | %s → %s | %s |\n", s.Name, s.Seconds, s.LoadBefore, s.LoadAfter, other)
	}
	w("\n")

	if plot != "" {
		if err := writePlot(rep, agg, plot); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen: plot:", err)
		} else {
			rel, _ := filepath.Rel(filepath.Dir(path), plot)
			w("![Sweeps: medians, bars from min to max](%s)\n\n", rel)
		}
	}

	cols := columns(rs, rep.Skipped)
	for _, sc := range reportOrder {
		writeScenario(w, sc, cols, configs, rs, agg, rep.Skipped)
	}
	w("%s\n", endMarker)

	old, err := os.ReadFile(path)
	var doc []byte
	if i, j := bytes.Index(old, []byte(beginMarker)), bytes.Index(old, []byte(endMarker)); err == nil && i >= 0 && j > i {
		doc = slices.Concat(old[:i], b.Bytes(), old[j+len(endMarker)+1:])
	} else {
		doc = slices.Concat([]byte("# Benchmarks\n\n"), b.Bytes())
	}
	return os.WriteFile(path, doc, 0o644)
}

// writeScenario writes the table of scenario sc (nothing if it did not run):
// every configuration and metric shown, a column per server of cols, and
// Switchboard's advantage over each of the others. A server that does not
// run sc says why in the first row of its column.
func writeScenario(w func(string, ...any), sc string, cols, configs []string, rs []result, agg map[key]stats, skips []skip) {
	var cfgs []string
	for _, c := range configs {
		if strings.HasPrefix(c, sc+"|") {
			cfgs = append(cfgs, strings.TrimPrefix(c, sc+"|"))
		}
	}
	if sc == "S1" {
		for _, r := range rs {
			if r.Scenario == "S1" && r.Config == "5k→19k" && !slices.Contains(cfgs, r.Config) {
				cfgs = append(cfgs, r.Config)
			}
		}
	}
	if len(cfgs) == 0 {
		return
	}
	why := map[string]string{}
	for _, s := range skips {
		if s.Scenario == sc {
			why[s.Server] = s.Why
		}
	}
	var others []string // compared with Switchboard
	if slices.Contains(cols, "switchboard") {
		others = slices.DeleteFunc(slices.Clone(cols), func(s string) bool { return s == "switchboard" || why[s] != "" })
	}
	w("### %s\n\n| configuration | metric |", titles[sc])
	for _, c := range cols {
		w(" %s (min–max) |", serverNames[c])
	}
	for _, o := range others {
		w(" Switchboard advantage over %s (medians) |", serverNames[o])
	}
	w("\n|---|---|%s\n", strings.Repeat("---|", len(cols)+len(others)))
	mixed, first := false, true
	for _, c := range cfgs {
		for _, metric := range shown[sc] {
			info := metrics[metric]
			if _, ok := agg[key{sc, c, "mixed", metric}]; ok {
				mixed = true
			}
			var cells []string
			measured := false
			for _, col := range cols {
				st, ok := agg[key{sc, c, col, metric}]
				measured = measured || ok
				switch {
				case why[col] != "" && first:
					cells = append(cells, why[col])
				case why[col] != "":
					cells = append(cells, "—")
				default:
					cells = append(cells, fmtRange(st, ok, info.prec))
				}
			}
			if !measured {
				continue
			}
			first = false
			sb, okS := agg[key{sc, c, "switchboard", metric}]
			for _, o := range others {
				adv := "—"
				if st, ok := agg[key{sc, c, o, metric}]; ok && okS {
					adv = advantage(sb, st, info.higher)
				}
				cells = append(cells, adv)
			}
			w("| %s | %s | %s |\n", c, info.label, strings.Join(cells, " | "))
		}
	}
	w("\n")
	if mixed {
		w("Mixed cluster (one Node node and one Switchboard node, one run):\n\n| configuration | metric | value |\n|---|---|---|\n")
		for _, c := range cfgs {
			for _, metric := range shown[sc] {
				if s, ok := agg[key{sc, c, "mixed", metric}]; ok {
					w("| %s | %s | %s |\n", c, metrics[metric].label, fmtRange(s, true, metrics[metric].prec))
				}
			}
		}
		w("\n")
	}
}

// ---- plot (gnuplot) ----

func writePlot(rep *report, agg map[key]stats, out string) error {
	gp, err := exec.LookPath("gnuplot")
	if err != nil {
		return fmt.Errorf("gnuplot not found (apt-get install gnuplot-nox): no plot")
	}
	dir, err := os.MkdirTemp("", "bench-plot-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// One data file per series: offered, median, min, max.
	type series struct{ file, title string }
	write := func(name string, rows [][4]float64) string {
		f := filepath.Join(dir, name+".dat")
		var b strings.Builder
		for _, r := range rows {
			fmt.Fprintf(&b, "%g %g %g %g\n", r[0], r[1], r[2], r[3])
		}
		_ = os.WriteFile(f, []byte(b.String()), 0o644)
		return f
	}
	collect := func(sc string, match func(cfg string) (float64, bool), server, metric string, scale float64) [][4]float64 {
		var rows [][4]float64
		for k, s := range agg {
			if k.scenario != sc || k.server != server || k.metric != metric {
				continue
			}
			if x, ok := match(k.config); ok {
				rows = append(rows, [4]float64{x, s.med * scale, s.min * scale, s.max * scale})
			}
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] })
		return rows
	}
	rateOf := func(prefix string) func(string) (float64, bool) {
		return func(cfg string) (float64, bool) {
			rest, ok := strings.CutPrefix(cfg, prefix)
			if !ok {
				return 0, false
			}
			var k float64
			if _, err := fmt.Sscanf(rest, "%gk/s", &k); err != nil {
				return 0, false
			}
			return k, true
		}
	}
	levelOf := func(cfg string) (float64, bool) {
		var n float64
		if _, err := fmt.Sscanf(cfg, "%g clients", &n); err != nil || strings.Contains(cfg, "→") {
			return 0, false
		}
		return n / 1000, true
	}
	type panel struct {
		title, xlabel, ylabel string
		logy                  bool
		lines                 []series
	}
	// Colour by server (a lighter shade and a dashed line for the second
	// variant), point type by server.
	colors := map[string][2]string{"switchboard": {"#1f4e9c", "#3fa7d6"}, "node": {"#c0392b", "#f39c12"}, "mixed": {"#2ca02c", "#2ca02c"},
		"zishang": {"#6a3d9a", "#b48ed6"}, "centrifugo": {"#555555", "#999999"}}
	points := map[string]int{"switchboard": 7, "node": 5, "mixed": 9, "zishang": 11, "centrifugo": 13}
	var panels []panel
	add := func(p panel, sc string, variants []string, match func(string) func(string) (float64, bool), metric string, scale float64) {
		for vi, v := range variants {
			for _, srv := range append(slices.Clone(allServers), "mixed") {
				rows := collect(sc, match(v), srv, metric, scale)
				if len(rows) == 0 {
					continue
				}
				f := write(fmt.Sprintf("%s-%s-%s-%d", sc, metric, srv, len(p.lines)), rows)
				style := fmt.Sprintf("lc rgb '%s' dt %d pt %d", colors[srv][vi%2], 1+vi%2, points[srv])
				p.lines = append(p.lines, series{f, serverNames[srv] + " " + strings.TrimSuffix(v, ", ") + "|" + style})
			}
		}
		panels = append(panels, p)
	}
	s2 := []string{"1000 clients, ", "5000 clients, "}
	s3 := []string{"2 nodes, 5000 clients, ", "3 nodes, 5000 clients, "}
	add(panel{title: "S2 one node: delivered vs offered", xlabel: "offered (k deliveries/s)", ylabel: "delivered (k/s)"}, "S2", s2, rateOf, "delivered_per_s", 1e-3)
	add(panel{title: "S2 one node: latency p50", xlabel: "offered (k deliveries/s)", ylabel: "p50 (ms)", logy: true}, "S2", s2, rateOf, "p50_ms", 1)
	add(panel{title: "S2 one node: server CPU per delivery", xlabel: "offered (k deliveries/s)", ylabel: "µs", logy: true}, "S2", s2, rateOf, "cpu_us_per_delivery", 1)
	add(panel{title: "S3 cluster: delivered vs offered", xlabel: "offered (k deliveries/s)", ylabel: "delivered (k/s)"}, "S3", s3, rateOf, "delivered_per_s", 1e-3)
	add(panel{title: "S3 cluster: latency p50", xlabel: "offered (k deliveries/s)", ylabel: "p50 (ms)", logy: true}, "S3", s3, rateOf, "p50_ms", 1)
	add(panel{title: "S1 idle: server RSS", xlabel: "connections (k)", ylabel: "RSS (MB)"}, "S1", []string{""},
		func(string) func(string) (float64, bool) { return levelOf }, "rss_mb", 1)

	var g strings.Builder
	fmt.Fprintf(&g, "set terminal pngcairo size 1400,1350 font 'Sans,10'\nset output '%s'\n", out)
	fmt.Fprintf(&g, "set multiplot layout 3,2 title 'Switchboard, Node socket.io %s and the Go peers — %d × %s (medians, bars min–max)'\n",
		rep.Machine.SocketIO, rep.Machine.CPUs, strings.ReplaceAll(rep.Machine.CPUModel, "'", ""))
	g.WriteString("set grid\nset key top left font ',9'\nset style data linespoints\n")
	for _, p := range panels {
		fmt.Fprintf(&g, "set title '%s'\nset xlabel '%s'\nset ylabel '%s'\n", p.title, p.xlabel, p.ylabel)
		if p.logy {
			g.WriteString("set logscale y\n")
		} else {
			g.WriteString("unset logscale y\n")
		}
		if len(p.lines) == 0 {
			g.WriteString("set label 1 'no data' at graph 0.5,0.5 center\nunset logscale y\nplot [0:1][0:1] 2 notitle\nunset label 1\n")
			continue
		}
		var parts []string
		for _, l := range p.lines {
			title, style, _ := strings.Cut(l.title, "|")
			parts = append(parts, fmt.Sprintf("'%s' using 1:2:3:4 with yerrorlines %s title '%s'", l.file, style, title))
		}
		g.WriteString("plot " + strings.Join(parts, ", ") + "\n")
	}
	g.WriteString("unset multiplot\n")
	script := filepath.Join(dir, "plot.gp")
	if err := os.WriteFile(script, []byte(g.String()), 0o644); err != nil {
		return err
	}
	cmd := exec.Command(gp, script)
	cmd.Stderr = os.Stderr
	return cmd.Run()
}

// The issues' targets, checked against the medians and the ranges.
type target struct {
	issue                           int
	label, scenario, config, metric string
	limit                           float64
	higher                          bool    // the target is a minimum
	floors                          float64 // with limit 0: the limit is this many times the burst floor
	node                            string  // what the issue measured for Node
	vsNode                          bool    // with limit 0: the limit is Node's median in the same run
}

var targets = []target{
	{7, "server CPU per delivery (µs), 5,000 clients at 20k/s", "S2", "5000 clients, 20k/s", "cpu_us_per_delivery", 3, false, 0, "15–21", false},
	{16, "server CPU per delivery (µs), 5,000 clients at 20k/s, against the floor with sleeping peers", "S2", "5000 clients, 20k/s", "cpu_us_per_delivery", 0, false, 1.5, "", false},
	{16, "user-space CPU per delivery (µs), 5,000 clients at 20k/s", "S2", "5000 clients, 20k/s", "cpu_user_us_per_delivery", 1, false, 0, "", false},
	{7, "server CPU per delivery (µs), 1,000 clients at 200k/s", "S2", "1000 clients, 200k/s", "cpu_us_per_delivery", 3, false, 0, "15–21", false},
	{7, "delivered/s, one node, 5,000 clients, 200k/s offered", "S2", "5000 clients, 200k/s", "delivered_per_s", 0, true, 0, "~50,000 sustained", false},
	{16, "RSS per idle WebSocket connection at 19k (KB)", "S1", "19000 clients", "rss_kb_per_conn", 4, false, 0, "13.9–14.3", false},
	{7, "projected RSS at 100k connections (MB)", "S1", "5k→19k", "rss_100k_mb", 0, false, 0, "", false},
	{7, "latency p50 (ms), 5,000-client broadcast at 20k/s", "S2", "5000 clients, 20k/s", "p50_ms", 5, false, 0, "39–45", false},
	{16, "WebSocket connects/s (5k→19k)", "S1", "19000 clients", "connects_per_s", 20000, true, 0, "5,600–6,400", false},
	{7, "ack round trip p50 (ms), one client", "S5", "concurrency 1", "p50_ms", 0.1, false, 0, "0.11–0.26", false},
	{16, "server CPU per ack (µs), one client: at most Node's", "S5", "concurrency 1", "cpu_us_per_ack", 0, false, 0, "25–28", true},
}

func writeTargets(w func(string, ...any), agg map[key]stats, burstFloor float64) {
	w("The targets of issues 7 and 16 (Switchboard) and the numbers measured here; \"met\" means every run met the target, \"median\" that the median did:\n\n")
	w("| issue | target | Switchboard target | Switchboard measured | | Node measured here | Node in the issue |\n|---|---|---|---|---|---|---|\n")
	for _, t := range targets {
		info := metrics[t.metric]
		sb, okS := agg[key{t.scenario, t.config, "switchboard", t.metric}]
		nd, okN := agg[key{t.scenario, t.config, "node", t.metric}]
		if !okS && !okN {
			continue
		}
		switch {
		case t.floors > 0 && burstFloor > 0:
			t.limit = t.floors * burstFloor
		case t.floors > 0:
			continue // no floor measured
		case t.vsNode && okN:
			t.limit = nd.med
		}
		goal, verdict := "—", ""
		if t.limit > 0 {
			if t.higher {
				goal = "≥ " + fmtNum(t.limit, info.prec)
			} else {
				goal = "≤ " + fmtNum(t.limit, info.prec)
			}
			meets := func(v float64) bool {
				if t.higher {
					return v >= t.limit
				}
				return v <= t.limit
			}
			switch {
			case !okS:
			case meets(sb.min) && meets(sb.max):
				verdict = "met"
			case meets(sb.med):
				verdict = "median"
			default:
				verdict = "**missed**"
			}
		}
		w("| %d | %s | %s | %s | %s | %s | %s |\n", t.issue, t.label, goal, fmtRange(sb, okS, info.prec), verdict,
			fmtRange(nd, okN, info.prec), t.node)
	}
	w("\n")
}
