package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-io/switchboard/client"
)

// result is one measurement: one scenario configuration, one server, one run.
type result struct {
	Scenario string             `json:"scenario"`
	Config   string             `json:"config"`
	Server   string             `json:"server"` // switchboard, node, mixed
	Run      int                `json:"run"`
	M        map[string]float64 `json:"metrics"`
}

type scenarioFunc func(e *env, runs int) ([]result, error)

var scenarioFuncs = map[string]scenarioFunc{
	"S1": scenarioIdle,
	"S2": scenarioBroadcast,
	"S3": scenarioCluster,
	"S4": scenarioRooms,
	"S5": scenarioAcks,
	"S6": scenarioChurn,
	// The whiteboard against the classic Node whiteboard (whiteboard.go);
	// not in the default matrix: bench/whiteboard/run.sh runs them.
	"WB":    scenarioWhiteboard,
	"WBpin": scenarioWhiteboardPinned,
}

const (
	payloadSize    = 100  // bytes of the tick argument
	perWorker      = 7000 // connections per worker process (the file limit is 20,000)
	connectConc    = 100  // connections opened in parallel per worker
	deliveryWarmup = 1 * time.Second
	deliveryWindow = 4 * time.Second
)

// order alternates the servers that run scenario sc, run by run: A B,
// B A, A B...
func order(e *env, sc string, run int) []string {
	var s []string
	for _, k := range e.servers {
		if _, no := whyNot[k][sc]; !no {
			s = append(s, k)
		}
	}
	if run%2 == 0 {
		slices.Reverse(s)
	}
	return s
}

// protoFor returns the protocol of the workers' clients of server kind.
func protoFor(kind string) string {
	if kind == "centrifugo" {
		return protoCentrifugo
	}
	return ""
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// ---- servers ----

var goserverArgs = flag.String("goserver-args", "", "extra arguments of the Go server, such as \"-write-delay 2ms\"")

func startServer(e *env, kind, redisURL string, maxQueue int) (*server, error) {
	name := fmt.Sprintf("%s-%d", kind, time.Now().UnixNano()%1e9)
	s := &server{kind: kind}
	ready := func(line string) bool {
		rest, ok := strings.CutPrefix(line, "listening ")
		if !ok {
			return false
		}
		s.setAddrs(rest, "http=")
		return true
	}
	var argv []string
	switch kind {
	case "switchboard":
		argv = []string{e.goserver}
		if redisURL != "" {
			argv = append(argv, "-redis", redisURL)
		}
		if maxQueue > 0 {
			argv = append(argv, "-max-queue", strconv.Itoa(maxQueue))
		}
		argv = append(argv, strings.Fields(*goserverArgs)...)
	case "node":
		argv = []string{e.node, "bench/node-server.mjs"}
		if redisURL != "" {
			argv = append(argv, "--redis", redisURL)
		}
	case "zishang":
		argv = []string{e.peers[kind]}
		if redisURL != "" {
			argv = append(argv, "-redis", redisURL)
		}
	case "centrifugo":
		return startCentrifugo(e, redisURL)
	default:
		return nil, fmt.Errorf("unknown server %q", kind)
	}
	p, err := startProc(name, e.tmp, nil, ready, argv...)
	if err != nil {
		return nil, err
	}
	s.proc = p
	return s, nil
}

func startRedis(e *env) (*proc, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	p, err := startProc(fmt.Sprintf("redis-%d", port), e.tmp, nil,
		func(l string) bool { return strings.Contains(l, "Ready to accept connections") },
		"/usr/bin/redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--protected-mode", "no", "--loglevel", "notice")
	if err != nil {
		return nil, "", err
	}
	return p, fmt.Sprintf("redis://127.0.0.1:%d", port), nil
}

// setAddrs reads the server's addresses from the fields of its "ready"
// line: the public one after addrKey, the internal one after internal=.
func (s *server) setAddrs(line, addrKey string) {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, addrKey); ok {
			s.addr = v
		}
		if v, ok := strings.CutPrefix(f, "internal="); ok {
			s.internal = v
		}
	}
}

// ---- client groups ----

// group is the raw clients of one measurement, over several workers.
type group struct {
	e       *env
	proto   string // the clients' protocol (command.Proto)
	workers []*workerProc
	loads   []int // clients held by each worker
	n       int
}

// connect opens n more clients over urls (client i to urls[i % len]),
// adding workers as needed so that none holds more than perWorker, and
// returns the wall time it took.
func (g *group) connect(n int, urls []string, perRoom, rooms int) (time.Duration, error) {
	return g.connectSlow(n, urls, perRoom, rooms, 0, 0)
}

// connectSlow is connect where clients whose index is a multiple of every
// get a receive buffer of rcvBuf bytes (see command.RcvBuf).
func (g *group) connectSlow(n int, urls []string, perRoom, rooms, every, rcvBuf int) (time.Duration, error) {
	need := (g.n + n + perWorker - 1) / perWorker
	for len(g.workers) < need {
		w, err := startWorker(g.e, g.e.src())
		if err != nil {
			return 0, err
		}
		g.workers = append(g.workers, w)
	}
	for len(g.loads) < len(g.workers) {
		g.loads = append(g.loads, 0)
	}
	// Spread the new clients evenly over every worker with room left.
	shares := make([]int, len(g.workers))
	left := n
	for left > 0 {
		progress := false
		for i := range g.workers {
			if left == 0 {
				break
			}
			if g.loads[i]+shares[i] < perWorker {
				shares[i]++
				left--
				progress = true
			}
		}
		if !progress {
			return 0, errors.New("no worker has room")
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(g.workers))
	base := g.n
	for i, w := range g.workers {
		if shares[i] == 0 {
			continue
		}
		wg.Add(1)
		go func(i int, w *workerProc, base int) {
			defer wg.Done()
			a, err := w.do(command{Op: "connect", Proto: g.proto, URLs: urls, N: shares[i], Base: base, Src: w.src,
				Conc: connectConc, PerRoom: perRoom, Rooms: rooms, Every: every, RcvBuf: rcvBuf})
			if err == nil && a.Failed > 0 {
				err = fmt.Errorf("%d of %d connections failed: %s", a.Failed, shares[i], a.FirstErr)
			}
			errs[i] = err
		}(i, w, base)
		base += shares[i]
	}
	wg.Wait()
	d := time.Since(start)
	for i := range shares {
		g.loads[i] += shares[i]
	}
	g.n += n
	return d, errors.Join(errs...)
}

// all sends c to every worker and returns the merged answers.
func (g *group) all(c command) (answer, hist, error) {
	var (
		mu  sync.Mutex
		sum answer
		h   hist
		wg  sync.WaitGroup
		err error
	)
	for _, w := range g.workers {
		wg.Add(1)
		go func(w *workerProc) {
			defer wg.Done()
			a, e := w.do(c)
			mu.Lock()
			defer mu.Unlock()
			err = errors.Join(err, e)
			sum.Recv += a.Recv
			sum.Open += a.Open
			sum.Closed += a.Closed
			sum.ClosedSlow += a.ClosedSlow
			sum.Stopped += a.Stopped
			h.add(a.Hist)
		}(w)
	}
	wg.Wait()
	return sum, h, err
}

func (g *group) pids() []int {
	var p []int
	for _, w := range g.workers {
		p = append(p, w.pid)
	}
	return p
}

func (g *group) close() {
	var wg sync.WaitGroup
	for _, w := range g.workers {
		wg.Add(1)
		go func(w *workerProc) { defer wg.Done(); w.close() }(w)
	}
	wg.Wait()
}

// ---- broadcast measurement ----

type bcastSpec struct {
	offered   float64 // deliveries per second
	perBcast  int     // deliveries per broadcast (clients, or clients per room)
	rooms     int
	size      int
	warmup    time.Duration
	window    time.Duration
	extraPids []int // counted as "other" otherwise (redis)
	label     string
}

var pprofDir = flag.String("pprof", "", "profile pass: save CPU profiles of Switchboard during every broadcast window and the first second of each S1 connection step, and heap profiles in S1, to this directory (the numbers measured then are perturbed)")

// profile saves a profile of s (Switchboard only) to the -pprof directory.
func profile(s *server, kind, label string) {
	if *pprofDir == "" || s.internal == "" {
		return
	}
	name := strings.NewReplacer(" ", "", "/", "", ",", "_", "×", "x", "%", "").Replace(label)
	resp, err := http.Get("http://" + s.internal + "/debug/pprof/" + kind)
	if err != nil {
		logf("pprof: %v", err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	_ = os.MkdirAll(*pprofDir, 0o755)
	_ = os.WriteFile(filepath.Join(*pprofDir, name+"."+strings.Split(kind, "?")[0]+".pprof"), b, 0o644)
}

// measureBroadcast asks the servers for broadcasts (the offered rate shared
// equally), measures for spec.window after spec.warmup, then waits for the
// tail to drain.
func measureBroadcast(servers []*server, g *group, spec bcastSpec) (map[string]float64, error) {
	bps := spec.offered / float64(spec.perBcast) / float64(len(servers))
	// At a few broadcasts per second, a window cut in the middle of one
	// would count it partly: align the window on whole periods, starting
	// half-way between two broadcasts (the k-th is emitted at k periods).
	if period := time.Duration(float64(time.Second) / bps); period > 20*time.Millisecond {
		k := (spec.window + period - 1) / period
		spec.window = k * period
		k = (spec.warmup + period - 1) / period
		spec.warmup = k*period + period/2
	}
	dur := spec.warmup + spec.window + 200*time.Millisecond
	for _, s := range servers {
		if err := s.broadcast(bps, dur, spec.size, spec.rooms); err != nil {
			return nil, err
		}
	}
	issued := time.Now()
	time.Sleep(spec.warmup)
	var spids []int
	for _, s := range servers {
		spids = append(spids, s.pid)
	}
	all := slices.Concat(spids, g.pids(), spec.extraPids)
	if _, _, err := g.all(command{Op: "reset"}); err != nil {
		return nil, err
	}
	c0 := takeCPU(all...)
	var profiled sync.WaitGroup
	if *pprofDir != "" {
		for i, s := range servers {
			profiled.Add(1)
			go func() {
				defer profiled.Done()
				profile(s, fmt.Sprintf("profile?seconds=%d", int(spec.window.Seconds())), fmt.Sprintf("%s-node%d", spec.label, i))
			}()
		}
	}
	time.Sleep(spec.window)
	snap, h, err := g.all(command{Op: "snap"})
	profiled.Wait()
	c1 := takeCPU(all...)
	if err != nil {
		return nil, err
	}
	el := c1.t.Sub(c0.t).Seconds()
	m := map[string]float64{
		"offered_per_s":   spec.offered,
		"delivered_per_s": float64(snap.Recv) / el,
		"p50_ms":          h.quantile(0.50) / 1000,
		"p99_ms":          h.quantile(0.99) / 1000,
		"other_cores":     otherCores(c0, c1),
		"clients_lost":    float64(snap.Closed),
	}
	perUnit(m, "cpu", "delivery", c0, c1, float64(snap.Recv), spids...)
	if snap.Recv > 0 {
		m["gen_cpu_us_per_delivery"] = usedMicros(c0, c1, g.pids()...) / float64(snap.Recv)
		if len(spec.extraPids) > 0 {
			m["redis_cpu_us_per_delivery"] = usedMicros(c0, c1, spec.extraPids...) / float64(snap.Recv)
		}
	}
	m["server_cores"] = usedMicros(c0, c1, spids...) / 1e6 / el
	// Drain: the loop ends at dur; then wait until nothing more arrives.
	time.Sleep(max(0, dur-time.Since(issued)))
	_, err = g.drain()
	for _, s := range servers {
		s.stopBroadcast()
	}
	return m, err
}

// drain waits, up to 15 s, until the clients receive nothing more (the
// tail of a measurement is over) and returns what they received meanwhile.
func (g *group) drain() (int64, error) {
	last, total := int64(-1), int64(0)
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		a, _, err := g.all(command{Op: "reset"})
		if err != nil {
			return total, err
		}
		total += a.Recv
		if a.Recv == 0 && last == 0 {
			return total, nil
		}
		last = a.Recv
		if smokeRun {
			time.Sleep(100 * time.Millisecond)
		} else {
			time.Sleep(250 * time.Millisecond)
		}
	}
	return total, nil
}

// smokeRun is set for -smoke.
var smokeRun bool

var (
	quietBudget = flag.Duration("quiet-budget", 3*time.Minute, "longest total time to wait, before runs, for other processes to leave the CPUs")
	quietEach   = flag.Duration("quiet-wait", 20*time.Second, "longest wait before one run")
	quietCores  = flag.Float64("quiet-cores", 0.3, "CPU use of other processes (cores) under which a run starts at once")
)

// waitQuiet waits, within -quiet-wait and what is left of -quiet-budget,
// until the machine's CPU use (nothing of the harness runs between runs)
// falls under -quiet-cores, so that runs start on a quiet machine when the
// other users of the machine allow it. The load during each measurement
// is recorded either way.
func (e *env) waitQuiet() {
	if e.smoke {
		return
	}
	start := time.Now()
	for time.Since(start) < *quietEach && *quietBudget > 0 {
		b0, _ := systemTicks()
		time.Sleep(time.Second)
		b1, _ := systemTicks()
		cores := float64(b1-b0) / clkTck
		*quietBudget -= time.Second
		if cores < *quietCores {
			break
		}
		if time.Since(start) < 1500*time.Millisecond {
			logf("waiting for a quieter machine (other processes use %.2f cores)", cores)
		}
	}
}

// pause sleeps d, or a tenth of it in a smoke run.
func (e *env) pause(d time.Duration) {
	if e.smoke {
		d /= 10
	}
	time.Sleep(d)
}

func sizes(e *env, full, smoke []int) []int {
	if e.smoke {
		return smoke
	}
	return full
}

// ---- S1: idle footprint ----

var idleSettle = flag.Duration("idle-settle", 2*time.Second, "S1: how long the connections stay idle before the server's memory is measured")

func scenarioIdle(e *env, runs int) ([]result, error) {
	levels := sizes(e, []int{1000, 5000, 19000}, []int{30, 60})
	var out []result
	var errs error
	for run := 1; run <= runs; run++ {
		for _, kind := range order(e, "S1", run) {
			rs, err := idleRun(e, kind, run, levels)
			out = append(out, rs...)
			errs = errors.Join(errs, err)
		}
	}
	return out, errs
}

func idleRun(e *env, kind string, run int, levels []int) ([]result, error) {
	e.waitQuiet()
	logf("S1 idle footprint: %s, run %d", kind, run)
	s, err := startServer(e, kind, "", 0)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	e.pause(time.Second)
	rss0, g0 := rssBytes(s.pid), s.goroutines()
	heap0, stack0 := s.metric("go_memstats_heap_inuse_bytes"), s.metric("go_memstats_stack_inuse_bytes")
	alloc0 := s.metric("go_memstats_heap_alloc_bytes")
	g := &group{e: e, proto: protoFor(kind)}
	defer g.close()
	// Three workers from the start: the connections of every level come
	// from three processes (three source addresses) in parallel.
	for range 3 {
		w, err := startWorker(e, e.src())
		if err != nil {
			return nil, err
		}
		g.workers = append(g.workers, w)
	}
	var out []result
	have := 0
	for _, level := range levels {
		c0 := takeCPU(slices.Concat([]int{s.pid}, g.pids())...)
		var profiled sync.WaitGroup
		if *pprofDir != "" { // the first second of the connections
			profiled.Go(func() { profile(s, "profile?seconds=1", fmt.Sprintf("S1-connect-%d", level)) })
		}
		d, err := g.connect(level-have, []string{s.url()}, 0, 0)
		cc := takeCPU(slices.Concat([]int{s.pid}, g.pids())...)
		profiled.Wait()
		if err != nil {
			return out, fmt.Errorf("%s: connecting %d: %w", kind, level, err)
		}
		inc := level - have
		have = level
		e.pause(*idleSettle)
		c1 := takeCPU(slices.Concat([]int{s.pid}, g.pids())...)
		rss, gr := rssBytes(s.pid), s.goroutines()
		profile(s, "heap", fmt.Sprintf("S1-%d", level))
		st := s.stats()
		m := map[string]float64{
			"rss_kb_per_conn": float64(rss-rss0) / float64(level) / 1024,
			"rss_mb":          float64(rss) / (1 << 20),
			"rss0_mb":         float64(rss0) / (1 << 20),
			"connects_per_s":  float64(inc) / d.Seconds(),
			"server_clients":  float64(st.Clients),
			"other_cores":     otherCores(c0, c1),
		}
		// Where the connect rate's CPU goes: both sides share the machine.
		perUnit(m, "cpu", "connect", c0, cc, float64(inc), s.pid)
		m["gen_cpu_us_per_connect"] = usedMicros(c0, cc, g.pids()...) / float64(inc)
		if kind == "switchboard" {
			m["goroutines_per_conn"] = float64(gr-g0) / float64(level)
			m["heap_kb_per_conn"] = float64(s.metric("go_memstats_heap_inuse_bytes")-heap0) / float64(level) / 1024
			m["heap_alloc_kb_per_conn"] = float64(s.metric("go_memstats_heap_alloc_bytes")-alloc0) / float64(level) / 1024
			m["stack_kb_per_conn"] = float64(s.metric("go_memstats_stack_inuse_bytes")-stack0) / float64(level) / 1024
		}
		out = append(out, result{Scenario: "S1", Config: fmt.Sprintf("%d clients", level), Server: kind, Run: run, M: m})
		logf("  %d clients: %.2f KB/conn (heap %.2f in use, %.2f allocated; stacks %.2f), %.2f goroutines/conn, %.0f connects/s (CPU per connect: server %.1f µs, clients %.1f µs)", level,
			m["rss_kb_per_conn"], m["heap_kb_per_conn"], m["heap_alloc_kb_per_conn"], m["stack_kb_per_conn"], m["goroutines_per_conn"], m["connects_per_s"],
			m["cpu_us_per_connect"], m["gen_cpu_us_per_connect"])
	}
	return out, nil
}

// ---- S2: single-node broadcast ----

func scenarioBroadcast(e *env, runs int) ([]result, error) {
	clients := sizes(e, []int{1000, 5000}, []int{50})
	rates := []float64{20000, 50000, 100000, 200000}
	if e.smoke {
		rates = []float64{2000}
	}
	var out []result
	var errs error
	for run := 1; run <= runs; run++ {
		for _, n := range clients {
			for _, kind := range order(e, "S2", run) {
				rs, err := broadcastRun(e, "S2", []string{kind}, kind, run, n, rates, 0)
				out = append(out, rs...)
				errs = errors.Join(errs, err)
			}
		}
	}
	return out, errs
}

// broadcastRun starts the servers (kinds: one per node; with Redis when
// more than one), connects n clients spread over them and sweeps rates.
func broadcastRun(e *env, scenario string, kinds []string, label string, run, n int, rates []float64, rooms int) ([]result, error) {
	e.waitQuiet()
	logf("%s broadcast: %s, %d clients, run %d", scenario, label, n, run)
	var redisURL string
	var extra []int
	if len(kinds) > 1 {
		r, url, err := startRedis(e)
		if err != nil {
			return nil, err
		}
		defer r.stop()
		redisURL, extra = url, []int{r.pid}
	}
	var servers []*server
	var urls []string
	for _, k := range kinds {
		s, err := startServer(e, k, redisURL, 0)
		if err != nil {
			return nil, err
		}
		defer s.stop()
		servers = append(servers, s)
		urls = append(urls, s.url())
	}
	g := &group{e: e, proto: protoFor(kinds[0])}
	defer g.close()
	perRoom := 0
	if rooms > 0 {
		perRoom = 5
	}
	if _, err := g.connect(n, urls, perRoom, rooms); err != nil {
		return nil, err
	}
	e.pause(time.Second)
	var out []result
	for _, rate := range rates {
		spec := bcastSpec{offered: rate, perBcast: n, size: payloadSize,
			warmup: deliveryWarmup, window: deliveryWindow, extraPids: extra}
		if rooms > 0 {
			spec.perBcast, spec.rooms = perRoom, rooms
		}
		if e.smoke {
			spec.warmup, spec.window = 200*time.Millisecond, 500*time.Millisecond
		}
		cfg := fmt.Sprintf("%d clients, %s/s", n, kilo(rate))
		if len(kinds) > 1 {
			cfg = fmt.Sprintf("%d nodes, ", len(kinds)) + cfg
		}
		if rooms > 0 {
			cfg = fmt.Sprintf("%d rooms × %d, %s/s", rooms, perRoom, kilo(rate))
		}
		spec.label = scenario + "-" + label + "-" + cfg
		m, err := measureBroadcast(servers, g, spec)
		if err != nil {
			return out, err
		}
		out = append(out, result{Scenario: scenario, Config: cfg, Server: label, Run: run, M: m})
		logf("  %s: delivered %.0f/s, p50 %.2f ms, p99 %.2f ms, %.2f µs CPU/delivery (server %.2f cores, other load %.2f cores)",
			cfg, m["delivered_per_s"], m["p50_ms"], m["p99_ms"], m["cpu_us_per_delivery"], m["server_cores"], m["other_cores"])
	}
	return out, nil
}

func kilo(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v/1000, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// ---- S3: cluster broadcast over Redis ----

func scenarioCluster(e *env, runs int) ([]result, error) {
	n := 5000
	rates := []float64{20000, 50000, 100000, 200000}
	nodes := []int{2, 3}
	mixed := slices.Contains(e.servers, "node") && slices.Contains(e.servers, "switchboard")
	if e.smoke {
		n, rates, nodes = 60, []float64{2000}, []int{2}
	}
	var out []result
	var errs error
	for run := 1; run <= runs; run++ {
		for _, k := range nodes {
			for _, kind := range order(e, "S3", run) {
				if e.smoke && mixed && (kind == "node" || kind == "switchboard") {
					continue // the mixed cluster covers both servers
				}
				kinds := slices.Repeat([]string{kind}, k)
				rs, err := broadcastRun(e, "S3", kinds, kind, run, n, rates, 0)
				out = append(out, rs...)
				errs = errors.Join(errs, err)
			}
		}
		if run == 1 && mixed {
			// The mixed cluster: one Node node and one Switchboard node.
			rs, err := broadcastRun(e, "S3", []string{"node", "switchboard"}, "mixed", run, n, rates, 0)
			out = append(out, rs...)
			errs = errors.Join(errs, err)
		}
	}
	return out, errs
}

// ---- S4: rooms ----

func scenarioRooms(e *env, runs int) ([]result, error) {
	n, rooms := 5000, 1000
	rates := []float64{20000, 50000}
	if e.smoke {
		n, rooms, rates = 50, 10, []float64{1000}
	}
	var out []result
	var errs error
	for run := 1; run <= runs; run++ {
		for _, kind := range order(e, "S4", run) {
			rs, err := broadcastRun(e, "S4", []string{kind}, kind, run, n, rates, rooms)
			out = append(out, rs...)
			errs = errors.Join(errs, err)
		}
	}
	return out, errs
}

// ---- S5: acks, with the Go client ----

func scenarioAcks(e *env, runs int) ([]result, error) {
	concs := []int{1, 10, 100}
	window := 3 * time.Second
	if e.smoke {
		concs, window = []int{1, 4}, 300*time.Millisecond
	}
	var out []result
	var errs error
	for run := 1; run <= runs; run++ {
		for _, kind := range order(e, "S5", run) {
			rs, err := ackRun(e, kind, run, concs, window)
			out = append(out, rs...)
			errs = errors.Join(errs, err)
		}
	}
	return out, errs
}

func ackRun(e *env, kind string, run int, concs []int, window time.Duration) ([]result, error) {
	e.waitQuiet()
	logf("S5 acks: %s, run %d", kind, run)
	s, err := startServer(e, kind, "", 0)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	src := &net.TCPAddr{IP: net.ParseIP(e.src())}
	var out []result
	for _, c := range concs {
		socks := make([]*client.Socket, c)
		for i := range socks {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			socks[i], err = client.Dial(ctx, s.url(), &client.Options{
				Transports: []string{client.TransportWebSocket}, LocalAddr: src, NoReconnection: true})
			cancel()
			if err != nil {
				for _, so := range socks[:i] {
					_ = so.Close()
				}
				return out, fmt.Errorf("%s: dial: %w", kind, err)
			}
		}
		var (
			h        shardedHist
			n        atomic.Int64
			failures atomic.Int64
			measure  atomic.Bool
			wg       sync.WaitGroup
		)
		stop := make(chan struct{})
		for i, so := range socks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					t0 := time.Now()
					_, err := so.EmitWithAck(ctx, "echo-ack", "ping")
					d := time.Since(t0)
					cancel()
					if !measure.Load() {
						continue
					}
					if err != nil {
						failures.Add(1)
						continue
					}
					h.record(i, d.Microseconds())
					n.Add(1)
				}
			}()
		}
		time.Sleep(window / 6) // warm-up
		c0 := takeCPU(s.pid)
		measure.Store(true)
		var profiled sync.WaitGroup
		if *pprofDir != "" && kind == "switchboard" {
			secs := max(1, int(window/time.Second))
			profiled.Go(func() { profile(s, fmt.Sprintf("profile?seconds=%d", secs), fmt.Sprintf("S5-c%d", c)) })
		}
		time.Sleep(window)
		measure.Store(false)
		c1 := takeCPU(s.pid)
		profiled.Wait()
		close(stop)
		wg.Wait()
		for _, so := range socks {
			_ = so.Close()
		}
		var hh hist
		hh.add(h.snapshot())
		el := c1.t.Sub(c0.t).Seconds()
		m := map[string]float64{
			"acks_per_s":  float64(n.Load()) / el,
			"p50_ms":      hh.quantile(0.5) / 1000,
			"p99_ms":      hh.quantile(0.99) / 1000,
			"failures":    float64(failures.Load()),
			"other_cores": otherCores(c0, c1),
		}
		perUnit(m, "cpu", "ack", c0, c1, float64(n.Load()), s.pid)
		cfg := fmt.Sprintf("concurrency %d", c)
		out = append(out, result{Scenario: "S5", Config: cfg, Server: kind, Run: run, M: m})
		logf("  %s: %.0f acks/s, p50 %.3f ms, p99 %.3f ms", cfg, m["acks_per_s"], m["p50_ms"], m["p99_ms"])
	}
	return out, nil
}

// ---- S6: churn and slow clients ----

func scenarioChurn(e *env, runs int) ([]result, error) {
	var out []result
	var errs error
	for run := 1; run <= runs; run++ {
		for _, kind := range order(e, "S6", run) {
			rs, err := reconnectRun(e, kind, run)
			out = append(out, rs...)
			errs = errors.Join(errs, err)
			rs, err = slowRun(e, kind, run)
			out = append(out, rs...)
			errs = errors.Join(errs, err)
		}
	}
	return out, errs
}

// reconnectRun connects 2,500 Go clients (WebSocket), closes every
// connection on the server at once, and times until all are back.
func reconnectRun(e *env, kind string, run int) ([]result, error) {
	e.waitQuiet()
	n := 2500
	if e.smoke {
		n = 40
	}
	logf("S6 reconnect storm: %s, %d clients, run %d", kind, n, run)
	s, err := startServer(e, kind, "", 0)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	src := &net.TCPAddr{IP: net.ParseIP(e.src())}
	var connects atomic.Int64
	allBack := make(chan struct{})
	var armed atomic.Bool
	socks := make([]*client.Socket, 0, n)
	defer func() {
		var wg sync.WaitGroup
		for _, so := range socks {
			wg.Add(1)
			go func() { defer wg.Done(); _ = so.Manager().Close() }()
		}
		wg.Wait()
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var dialErr atomic.Value
	sem := make(chan struct{}, 100)
	t0 := time.Now()
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			m, err := client.NewManager(s.url(), &client.Options{
				Transports: []string{client.TransportWebSocket}, LocalAddr: src,
				// A storm: every client retries at once, 10 ms after the loss.
				ReconnectionDelay: 10 * time.Millisecond, RandomizationFactor: -1,
			})
			if err != nil {
				dialErr.CompareAndSwap(nil, err)
				return
			}
			so := m.Socket("/", nil)
			so.OnConnect(func() {
				if armed.Load() && connects.Add(1) == int64(n) {
					close(allBack)
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err = so.Connect(ctx)
			cancel()
			mu.Lock()
			socks = append(socks, so)
			mu.Unlock()
			if err != nil {
				dialErr.CompareAndSwap(nil, err)
			}
		}()
	}
	wg.Wait()
	if err, ok := dialErr.Load().(error); ok {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	connectRate := float64(n) / time.Since(t0).Seconds()
	e.pause(time.Second)
	armed.Store(true)
	start := time.Now()
	if _, err := s.get("/bench/drop-all"); err != nil {
		return nil, err
	}
	m := map[string]float64{"go_client_connects_per_s": connectRate}
	select {
	case <-allBack:
		d := time.Since(start)
		m["reconnect_all_s"] = d.Seconds()
		m["reconnects_per_s"] = float64(n) / d.Seconds()
	case <-time.After(60 * time.Second):
		return nil, fmt.Errorf("%s: only %d of %d clients reconnected within 60 s", kind, connects.Load(), n)
	}
	cfg := fmt.Sprintf("%d clients reconnecting at once", n)
	logf("  %s: all back in %.2f s", cfg, m["reconnect_all_s"])
	return []result{{Scenario: "S6", Config: cfg, Server: kind, Run: run, M: m}}, nil
}

// Slow clients: 10% of the clients stop reading while broadcasts of
// slowSize bytes go on at slowRate deliveries/s. The server's RSS is
// sampled; fast clients' latency is compared with a first phase where
// every client reads.
var (
	slowClients = flag.Int("slow-clients", 200, "S6: clients of the slow-client run")
	slowSize    = flag.Int("slow-size", 16000, "S6: bytes per event in the slow-client run")
	slowRate    = flag.Float64("slow-rate", 10000, "S6: offered deliveries/s in the slow-client run")
	slowPhase   = flag.Duration("slow-phase", 15*time.Second, "S6: how long 10% of the clients do not read")
)

// slowRcvBuf is the receive buffer of the clients that will stop reading.
const slowRcvBuf = 16 << 10

func slowRun(e *env, kind string, run int) ([]result, error) {
	e.waitQuiet()
	n, size, rate, phase := *slowClients, *slowSize, *slowRate, *slowPhase
	if e.smoke {
		n, size, rate, phase = 50, 1000, 2000, 500*time.Millisecond
	}
	logf("S6 slow clients: %s, %d clients (10%% not reading), %d-byte events, %s deliveries/s, run %d",
		kind, n, size, kilo(rate), run)
	s, err := startServer(e, kind, "", 0)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	g := &group{e: e}
	defer g.close()
	if _, err := g.connectSlow(n, []string{s.url()}, 0, 0, 10, slowRcvBuf); err != nil {
		return nil, err
	}
	e.pause(time.Second)
	window := 3 * time.Second
	if e.smoke {
		window = 500 * time.Millisecond
	}
	base, err := measureBroadcast([]*server{s}, g, bcastSpec{offered: rate, perBcast: n, size: size,
		warmup: 500 * time.Millisecond, window: window})
	if err != nil {
		return nil, err
	}
	rss0 := rssBytes(s.pid)
	if _, _, err := g.all(command{Op: "stopread", Every: 10}); err != nil {
		return nil, err
	}
	// Sample RSS while measuring the fast clients.
	peak := rss0
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-t.C:
				peak = max(peak, rssBytes(s.pid))
			}
		}
	}()
	slow, err := measureBroadcast([]*server{s}, g, bcastSpec{offered: rate * 0.9, perBcast: n * 9 / 10, size: size,
		warmup: 500 * time.Millisecond, window: phase})
	close(stopSampling)
	<-sampled
	if err != nil {
		return nil, err
	}
	rssEnd := rssBytes(s.pid)
	st := s.stats()
	m := map[string]float64{
		"baseline_p50_ms":      base["p50_ms"],
		"baseline_p99_ms":      base["p99_ms"],
		"fast_p50_ms":          slow["p50_ms"],
		"fast_p99_ms":          slow["p99_ms"],
		"fast_delivered_per_s": slow["delivered_per_s"],
		"rss_growth_mb":        float64(peak-rss0) / (1 << 20),
		"rss_end_mb":           float64(rssEnd) / (1 << 20),
		"rss_end_growth_mb":    float64(rssEnd-rss0) / (1 << 20),
		"slow_disconnects":     float64(st.SlowClients),
		"server_clients_end":   float64(st.Clients),
		"other_cores":          slow["other_cores"],
	}
	cfg := fmt.Sprintf("%d clients, 10%% not reading, %d B at %s/s", n, size, kilo(rate))
	logf("  %s: fast p99 %.2f → %.2f ms, RSS +%.0f MB (peak), %v slow-client disconnects, %d clients left",
		cfg, m["baseline_p99_ms"], m["fast_p99_ms"], m["rss_growth_mb"], st.SlowClients, st.Clients)
	return []result{{Scenario: "S6", Config: cfg, Server: kind, Run: run, M: m}}, nil
}

// smokeCheck verifies that every scenario run measured something: the
// harness works. It checks no speed.
func smokeCheck(r *report) error {
	seen := map[string]bool{}
	for _, x := range r.Results {
		seen[x.Scenario] = true
		for _, k := range []string{"delivered_per_s", "acks_per_s", "connects_per_s", "reconnect_all_s"} {
			if k == "delivered_per_s" && x.M["relayed_total"] > 0 {
				continue // strokes relayed, if not within the window on a busy machine (WB)
			}
			if v, ok := x.M[k]; ok && !(v > 0) {
				return fmt.Errorf("%s %s %s: %s = %v", x.Scenario, x.Config, x.Server, k, v)
			}
		}
	}
	for _, s := range r.Scenarios {
		if !seen[s.Name] {
			return fmt.Errorf("%s measured nothing", s.Name)
		}
	}
	return nil
}
