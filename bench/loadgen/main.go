// Command loadgen is Switchboard's side-by-side benchmark harness (issue 7):
// it runs the same scenarios with the same load generator against
// Switchboard (bench/goserver), Node's socket.io 4.8
// (bench/node-server.mjs) and the Go peers of issue 16 (peers.go:
// zishang520/socket.io and Centrifugo) on this machine, alternating, and
// writes docs/benchmarks.md, its raw data and a plot of the sweeps.
//
//	go run ./bench/loadgen                   # the full matrix (about 40 minutes)
//	go run ./bench/loadgen -smoke            # the harness works (< 30 s, nothing written)
//	go run ./bench/loadgen -scenarios S2,S5 -runs 1 -out /tmp/b.md
//
// Run it from the repository root (it builds bench/goserver and starts
// node bench/node-server.mjs and /usr/bin/redis-server itself). The clients
// are minimal WebSocket Socket.IO clients (gobwas/ws) in worker processes
// (this binary with -worker), each on its own 127.x.y.z source address,
// for the scenarios at scale, and the Go client package (client.Dial) for
// acks and reconnections. See docs/benchmarks.md for the method.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

func main() {
	var (
		workerMode = flag.Bool("worker", false, "run as a worker process (started by the driver)")
		smoke      = flag.Bool("smoke", false, "tiny configuration that checks the harness runs (< 30 s); writes nothing unless -out is given")
		scenarios  = flag.String("scenarios", "S1,S2,S3,S4,S5,S6", "scenarios to run, comma-separated")
		runs       = flag.Int("runs", 3, "runs of each scenario per server")
		servers    = flag.String("servers", strings.Join(allServers, ","), "servers to compare: "+strings.Join(allServers, ", "))
		out        = flag.String("out", "docs/benchmarks.md", "report to write (empty: none)")
		jsonOut    = flag.String("json", "", "raw results to write (default: the report's name with .json)")
		plot       = flag.String("plot", "", "PNG plot of the sweeps (default: the report's name with .png; needs gnuplot)")
		keep       = flag.Bool("keep", false, "keep the temporary directory (server logs)")
		goserver   = flag.String("goserver", "", "prebuilt bench/goserver binary (default: go build ./bench/goserver)")
		fromJSON   = flag.String("report-only", "", "write the report and plot from this raw results file (docs/benchmarks.json) without measuring")
		commit     = flag.String("commit", "", "what the Go server was built from, for the report (default: git rev-parse HEAD)")
	)
	flag.Parse()
	if *workerMode {
		runWorker()
		return
	}
	smokeRun = *smoke
	if *fromJSON != "" {
		b, err := os.ReadFile(*fromJSON)
		var rep report
		if err == nil {
			err = json.Unmarshal(b, &rep)
		}
		if err == nil {
			base := strings.TrimSuffix(*out, filepath.Ext(*out))
			if *plot == "" {
				*plot = base + ".png"
			}
			err = writeReport(&rep, *out, *plot)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		return
	}
	if *smoke && !isFlagSet("out") {
		*out = ""
	}
	base := strings.TrimSuffix(*out, filepath.Ext(*out))
	if *jsonOut == "" && *out != "" {
		*jsonOut = base + ".json"
	}
	if *plot == "" && *out != "" {
		*plot = base + ".png"
	}
	env, err := newEnv(*smoke, strings.Split(*servers, ","), *goserver)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	if !*keep {
		defer os.RemoveAll(env.tmp)
	} else {
		fmt.Println("temporary directory:", env.tmp)
	}
	mi := machineInfo()
	if *commit != "" {
		mi.Commit = *commit
	}
	for k, v := range peerVersions() {
		if _, ok := env.peers[k]; ok {
			if mi.Peers == nil {
				mi.Peers = map[string]string{}
			}
			mi.Peers[k] = v
		}
	}
	rep := &report{Machine: mi, Started: time.Now().UTC().Format(time.RFC3339),
		Runs: *runs, Smoke: *smoke, LoadBefore: loadavg()}
	if *smoke {
		rep.Runs = 1
	} else {
		if f, err := writeFloor(1000, 200000); err == nil {
			rep.WriteFloorMicros = f
			logf("kernel floor: %.2f µs of CPU per 113-byte write(2) on loopback TCP", f)
		}
		if f, err := burstFloor(5000, 20, 50*time.Millisecond); err == nil {
			rep.BurstFloorMicros = f
			logf("kernel floor, bursts to sleeping peers: %.2f µs of CPU per write", f)
		} else {
			logf("kernel floor, bursts to sleeping peers: %v", err)
		}
	}
	start := time.Now()
	var failures []string // repeated last: a log's tail is often all one sees
	fail := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		fmt.Fprintln(os.Stderr, "loadgen:", msg)
		failures = append(failures, msg)
	}
	for _, sc := range strings.Split(*scenarios, ",") {
		fn, ok := scenarioFuncs[strings.TrimSpace(sc)]
		if !ok {
			fmt.Fprintln(os.Stderr, "loadgen: unknown scenario", sc)
			os.Exit(2)
		}
		rep.Skipped = append(rep.Skipped, skipsOf(env.servers, strings.TrimSpace(sc))...)
		t0 := time.Now()
		la := loadavg()
		rs, err := fn(env, rep.Runs)
		rep.Results = append(rep.Results, rs...)
		rep.Scenarios = append(rep.Scenarios, scenarioRun{Name: sc, Seconds: time.Since(t0).Seconds(),
			LoadBefore: la, LoadAfter: loadavg()})
		if err != nil {
			fail("%s: %v", sc, err)
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	rep.LoadAfter = loadavg()
	printWhiteboard(rep)
	if *smoke {
		if err := smokeCheck(rep); err != nil {
			fail("smoke: %v", err)
		} else {
			fmt.Printf("smoke: the harness works (%d measurements in %.1f s)\n", len(rep.Results), rep.Seconds)
		}
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", " ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
		}
	}
	if *out != "" {
		if err := writeReport(rep, *out, *plot); err != nil {
			fail("%v", err)
		}
	}
	if len(failures) > 0 {
		fmt.Fprintf(os.Stderr, "loadgen: %d failure(s):\n", len(failures))
		for _, f := range failures {
			fmt.Fprintln(os.Stderr, "  -", f)
		}
		os.Exit(1)
	}
}

func isFlagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// env is what every scenario needs: binaries, a temporary directory, and
// a supply of fresh source addresses.
type env struct {
	smoke    bool
	tmp      string
	self     string // this binary, for workers
	goserver string
	node     string
	servers  []string
	nextSrc  int

	// workerWrap prefixes the workers' command line (taskset in the
	// pinned whiteboard configuration).
	workerWrap []string
	// peers are the peers' binaries (peers.go), by kind.
	peers map[string]string
	// switchboard is the `switchboard` binary of the whiteboard scenarios,
	// built on first use unless -switchboard names one.
	switchboard string
}

func newEnv(smoke bool, servers []string, goserver string) (*env, error) {
	if _, err := os.Stat("bench/node-server.mjs"); err != nil {
		return nil, fmt.Errorf("run from the repository root: %w", err)
	}
	tmp, err := os.MkdirTemp("", "switchboard-bench-")
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	e := &env{smoke: smoke, tmp: tmp, self: self, servers: servers}
	if goserver != "" {
		if e.goserver, err = filepath.Abs(goserver); err != nil {
			return nil, err
		}
	} else {
		e.goserver = filepath.Join(tmp, "goserver")
		build := exec.Command("go", "build", "-o", e.goserver, "./bench/goserver")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("building bench/goserver: %w", err)
		}
	}
	e.peers = map[string]string{}
	for _, k := range servers {
		if _, ok := peers[k]; ok {
			if e.peers[k], err = peerBinary(k); err != nil {
				return nil, err
			}
		} else if !slices.Contains(allServers, k) {
			return nil, fmt.Errorf("unknown server %q (servers: %s)", k, strings.Join(allServers, ", "))
		}
	}
	if slices.Contains(servers, "node") {
		if e.node, err = exec.LookPath("node"); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// src returns a source address never used before in this run, so that
// connections closed by an earlier scenario (TIME_WAIT) never collide.
func (e *env) src() string {
	e.nextSrc++
	return fmt.Sprintf("127.1.%d.%d", e.nextSrc/250, e.nextSrc%250+1)
}

// machine describes where the numbers come from.
type machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpuModel"`
	MemGiB   string `json:"memGiB"`
	Kernel   string `json:"kernel"`
	Go       string `json:"go"`
	Node     string `json:"node"`
	SocketIO string `json:"socketio"`
	RedisAd  string `json:"redisAdapter"`
	Redis    string `json:"redis"`
	Commit   string `json:"commit"`
	FDLimit  string `json:"fdLimit"`
	// Peers are the versions of the peers run (peers.go), by kind.
	Peers map[string]string `json:"peers,omitempty"`
}

func machineInfo() machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(strings.TrimPrefix(strings.Split(string(b), "\n")[0], "MemTotal:"), "%d", &kb)
		m.MemGiB = fmt.Sprintf("%.1f", float64(kb)/(1<<20))
	}
	run := func(name string, args ...string) string {
		b, err := exec.Command(name, args...).Output()
		if err != nil {
			return "?"
		}
		return strings.TrimSpace(string(b))
	}
	m.Kernel = run("uname", "-r")
	if goV := run("go", "env", "GOVERSION"); goV != "?" {
		m.Go = goV
	}
	m.Node = run("node", "--version")
	m.SocketIO = npmVersion("socket.io")
	m.RedisAd = npmVersion("@socket.io/redis-adapter")
	m.Redis = run("/usr/bin/redis-server", "--version")
	if f := strings.Fields(m.Redis); len(f) > 2 {
		m.Redis = strings.TrimPrefix(f[2], "v=")
	}
	m.Commit = run("git", "rev-parse", "--short", "HEAD")
	if st := run("git", "status", "--porcelain"); st != "" && st != "?" {
		m.Commit += " + work tree"
	}
	m.FDLimit = run("sh", "-c", "ulimit -n")
	return m
}

func npmVersion(pkg string) string {
	b, err := os.ReadFile(filepath.Join("node_modules", pkg, "package.json"))
	if err != nil {
		return "?"
	}
	var p struct{ Version string }
	_ = json.Unmarshal(b, &p)
	return p.Version
}
