package main

// The whiteboard scenarios (issue 16): the product's own job, `switchboard
// serve` with its embedded whiteboard on one node, against the classic Node
// whiteboard (bench/node-whiteboard.mjs: socket.io 4.8 relaying "drawing"
// with socket.broadcast and nothing else). The clients are the workers' raw
// WebSocket clients: n of them connect from one worker process, then the
// first one draws strokes at a fixed rate and every other one records how
// long each stroke took to come back to it through the server.
//
//	WB     the servers and the worker share the machine's CPUs
//	WBpin  the same with the server on CPU 0 and the worker on CPU 1 (taskset)

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

var (
	switchboardBin = flag.String("switchboard", "", "WB, WBpin: prebuilt switchboard binary (default: go build ./cmd/switchboard, which embeds internal/whiteboard/dist: make assets)")
	wbWindow       = flag.Duration("wb-window", 6*time.Second, "WB, WBpin: measurement window of each stroke rate")
)

func scenarioWhiteboard(e *env, runs int) ([]result, error) {
	return whiteboardRuns(e, runs, "WB", nil, nil)
}

func scenarioWhiteboardPinned(e *env, runs int) ([]result, error) {
	if _, err := exec.LookPath("taskset"); err != nil {
		return nil, fmt.Errorf("WBpin needs taskset (util-linux): %w", err)
	}
	return whiteboardRuns(e, runs, "WBpin", []string{"taskset", "-c", "0"}, []string{"taskset", "-c", "1"})
}

// whiteboardRuns alternates the servers run by run; serverWrap and
// workerWrap prefix the command lines of the server and of the worker.
func whiteboardRuns(e *env, runs int, scenario string, serverWrap, workerWrap []string) ([]result, error) {
	if err := e.buildSwitchboard(); err != nil {
		return nil, err
	}
	n := 5000
	if e.smoke {
		n = 200
	}
	e.workerWrap = workerWrap
	defer func() { e.workerWrap = nil }()
	var out []result
	var errs error
	for run := 1; run <= runs; run++ {
		for _, kind := range order(e, scenario, run) {
			rs, err := whiteboardRun(e, scenario, kind, run, n, []float64{4, 10}, serverWrap)
			out = append(out, rs...)
			errs = errors.Join(errs, err)
		}
	}
	return out, errs
}

// buildSwitchboard sets e.switchboard, building cmd/switchboard the first
// time unless -switchboard gives it.
func (e *env) buildSwitchboard() error {
	if e.switchboard != "" {
		return nil
	}
	if *switchboardBin != "" {
		p, err := filepath.Abs(*switchboardBin)
		e.switchboard = p
		return err
	}
	if _, err := os.Stat("internal/whiteboard/dist/main.js"); err != nil {
		return fmt.Errorf("the whiteboard's assets are not built (make assets): %w", err)
	}
	bin := filepath.Join(e.tmp, "switchboard")
	build := exec.Command("go", "build", "-o", bin, "./cmd/switchboard")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building cmd/switchboard: %w", err)
	}
	e.switchboard = bin
	return nil
}

// startWhiteboard starts one whiteboard server on free loopback ports.
func startWhiteboard(e *env, kind string, wrap []string) (*server, error) {
	s := &server{kind: kind}
	var argv []string
	var ready func(string) bool
	switch kind {
	case "switchboard":
		argv = []string{e.switchboard, "serve", "--listen", "127.0.0.1:0", "--internal-listen", "127.0.0.1:0", "--node-name", "bench"}
		ready = func(line string) bool {
			if !strings.Contains(line, "switchboard node ready") {
				return false
			}
			s.setAddrs(line, "listen=")
			return s.addr != ""
		}
	case "node":
		argv = []string{e.node, "bench/node-whiteboard.mjs"}
		ready = func(line string) bool {
			v, ok := strings.CutPrefix(line, "listening http=")
			s.addr = v
			return ok
		}
	default:
		return nil, fmt.Errorf("unknown server %q", kind)
	}
	p, err := startProc(fmt.Sprintf("wb-%s-%d", kind, time.Now().UnixNano()%1e9), e.tmp, nil, ready,
		slices.Concat(wrap, argv)...)
	if err != nil {
		return nil, err
	}
	s.proc = p
	return s, nil
}

// whiteboardRun measures one server: the connections, then each rate.
func whiteboardRun(e *env, scenario, kind string, run, n int, rates []float64, wrap []string) ([]result, error) {
	e.waitQuiet()
	logf("%s whiteboard: %s, %d clients, run %d", scenario, kind, n, run)
	s, err := startWhiteboard(e, kind, wrap)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	e.pause(time.Second)
	rss0 := rssBytes(s.pid)
	g := &group{e: e}
	defer g.close()
	d, err := g.connect(n, []string{s.url()}, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: connecting %d: %w", kind, n, err)
	}
	rss1 := rssBytes(s.pid)
	cfg := fmt.Sprintf("%d clients, connected", n)
	m := map[string]float64{
		"connects_per_s":  float64(n) / d.Seconds(),
		"rss_kb_per_conn": float64(rss1-rss0) / 1024 / float64(n),
		"rss_mb":          float64(rss1) / (1 << 20),
	}
	out := []result{{Scenario: scenario, Config: cfg, Server: kind, Run: run, M: m}}
	logf("  %s: %.0f connects/s, RSS %.1f MB, %.2f KB per connection", cfg, m["connects_per_s"], m["rss_mb"], m["rss_kb_per_conn"])
	// Switchboard's pages get one "clients" update at most 500 ms after
	// the last connection: let it pass before the strokes.
	e.pause(time.Second)
	for _, rate := range rates {
		m, err := measureDrawing(e, s, g, rate, n)
		if err != nil {
			return out, err
		}
		cfg := fmt.Sprintf("%d clients, %g strokes/s (%s deliveries/s)", n, rate, kilo(math.Round(rate*float64(n-1)/100)*100))
		out = append(out, result{Scenario: scenario, Config: cfg, Server: kind, Run: run, M: m})
		logf("  %s: delivered %.0f/s, p50 %.2f ms, p99 %.2f ms, %.2f µs CPU/delivery (server %.2f cores, other load %.2f cores)",
			cfg, m["delivered_per_s"], m["p50_ms"], m["p99_ms"], m["cpu_us_per_delivery"], m["server_cores"], m["other_cores"])
	}
	return out, nil
}

// measureDrawing has the first client draw rate strokes a second and
// measures, after a warm-up, the relayed strokes' deliveries, latency and
// the server's CPU over a window of whole stroke periods.
func measureDrawing(e *env, s *server, g *group, rate float64, n int) (map[string]float64, error) {
	warmup, window := deliveryWarmup, *wbWindow
	if e.smoke {
		warmup, window = 300*time.Millisecond, time.Second
	}
	// Stroke k leaves at k periods: start the window half-way between two.
	period := time.Duration(float64(time.Second) / rate)
	window = (window + period - 1) / period * period
	warmup = (warmup+period-1)/period*period + period/2
	dur := warmup + window + 200*time.Millisecond
	if _, err := g.workers[0].do(command{Op: "draw", Rate: rate, DurMS: int(dur.Milliseconds())}); err != nil {
		return nil, err
	}
	issued := time.Now()
	time.Sleep(warmup)
	all := slices.Concat([]int{s.pid}, g.pids())
	if _, _, err := g.all(command{Op: "reset"}); err != nil {
		return nil, err
	}
	c0 := takeCPU(all...)
	time.Sleep(window)
	snap, h, err := g.all(command{Op: "snap"})
	c1 := takeCPU(all...)
	if err != nil {
		return nil, err
	}
	el := c1.t.Sub(c0.t).Seconds()
	m := map[string]float64{
		"offered_per_s":   rate * float64(n-1),
		"delivered_per_s": float64(snap.Recv) / el,
		"p50_ms":          h.quantile(0.50) / 1000,
		"p99_ms":          h.quantile(0.99) / 1000,
		"other_cores":     otherCores(c0, c1),
		"clients_lost":    float64(snap.Closed),
		"server_cores":    usedMicros(c0, c1, s.pid) / 1e6 / el,
	}
	perUnit(m, "cpu", "delivery", c0, c1, float64(snap.Recv), s.pid)
	if snap.Recv > 0 {
		m["gen_cpu_us_per_delivery"] = usedMicros(c0, c1, g.pids()...) / float64(snap.Recv)
	}
	time.Sleep(max(0, dur-time.Since(issued)))
	// The first reset of the drain counts from the window's start: every
	// stroke relayed from then on, whenever it arrived.
	total, err := g.drain()
	m["relayed_total"] = float64(total)
	return m, err
}

// printWhiteboard writes the tables of the whiteboard scenarios run to
// stdout, with what was measured where, if any ran.
func printWhiteboard(rep *report) {
	var rs []result
	other := [2]float64{math.Inf(1), math.Inf(-1)}
	for _, r := range rep.Results {
		if strings.HasPrefix(r.Scenario, "WB") {
			rs = append(rs, r)
			if v, ok := r.M["other_cores"]; ok {
				other = [2]float64{min(other[0], v), max(other[1], v)}
			}
		}
	}
	if len(rs) == 0 {
		return
	}
	agg, configs := aggregate(rs)
	w := func(format string, args ...any) { fmt.Printf(format, args...) }
	m := rep.Machine
	w("\n%s, %d run(s) per server, alternating; %d × %s, %s GiB, kernel %s, %s, Node %s with socket.io %s; commit %s; loadavg %s → %s",
		rep.Started, rep.Runs, m.CPUs, m.CPUModel, m.MemGiB, m.Kernel, m.Go, m.Node, m.SocketIO, m.Commit, rep.LoadBefore, loadavg())
	if !math.IsInf(other[0], 1) {
		w("; other processes' load during the windows %.2f–%.2f cores", other[0], other[1])
	}
	w("\n\n")
	for _, sc := range []string{"WB", "WBpin"} {
		writeScenario(w, sc, columns(rs, nil), configs, rs, agg, nil)
	}
}
