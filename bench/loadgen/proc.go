package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/switchboard-io/switchboard/internal/freeport"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ---- /proc readings ----

// rssBytes returns VmRSS of pid.
func rssBytes(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

// systemTicks returns the busy and total clock ticks of all CPUs.
func systemTicks() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i, s := range f[1:] {
		v, _ := strconv.ParseInt(s, 10, 64)
		if i >= 8 { // guest time is already in user
			break
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// ---- processes ----

// proc is a child process: a server, redis-server or a worker.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	pid  int
	done chan struct{}
}

// startProc starts argv with stdout piped; ready reads stdout lines until
// it returns true (and may keep what it needs), then stdout goes to the log.
// With a nil ready, stdout goes to the log from the start.
func startProc(name, logDir string, env []string, ready func(line string) bool, argv ...string) (*proc, error) {
	logf, err := os.Create(filepath.Join(logDir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logf, pid: cmd.Process.Pid, done: make(chan struct{})}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
				fmt.Fprintln(logf, sc.Text())
			}
		}
		close(lines)
	}()
	go func() { _ = cmd.Wait(); close(p.done) }()
	if ready == nil { // the caller finds out itself when p is ready
		go func() {
			for l := range lines {
				fmt.Fprintln(logf, l)
			}
		}()
		return p, nil
	}
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				p.stop()
				return nil, fmt.Errorf("%s exited before it was ready (see %s)", name, logf.Name())
			}
			fmt.Fprintln(logf, l)
			if ready(l) {
				go func() {
					for l := range lines {
						fmt.Fprintln(logf, l)
					}
				}()
				return p, nil
			}
		case <-timeout:
			p.stop()
			return nil, fmt.Errorf("%s not ready after 20s (see %s)", name, logf.Name())
		}
	}
}

// stop sends SIGTERM, then SIGKILL after 3 s.
func (p *proc) stop() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.log.Close()
}

// server is one running node under test.
type server struct {
	*proc
	kind     string // one of allServers
	addr     string // public host:port
	internal string // Switchboard only: /metrics and /debug/pprof
	// pub is Centrifugo's broadcast loop, which the driver runs (the
	// other servers run theirs, started by /bench/broadcast).
	pub *publisher
}

// broadcast starts the server's broadcast loop: rate broadcasts a second
// for d, of size bytes, to everyone (rooms = 0) or to rooms r0..r(rooms-1)
// in turn.
func (s *server) broadcast(rate float64, d time.Duration, size, rooms int) error {
	if s.pub != nil {
		s.pub.start(rate, d, size, rooms)
		return nil
	}
	_, err := s.get(fmt.Sprintf("/bench/broadcast?rate=%g&duration=%d&size=%d&rooms=%d", rate, d.Milliseconds(), size, rooms))
	return err
}

// stopBroadcast stops the broadcast loop.
func (s *server) stopBroadcast() {
	if s.pub != nil {
		s.pub.stop()
		return
	}
	_, _ = s.get("/bench/stop")
}

func (s *server) url() string { return "http://" + s.addr + "/" }

func (s *server) get(path string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+s.addr+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return string(b), err
}

// goroutines reads switchboard_goroutines from /metrics (Switchboard only).
func (s *server) goroutines() int64 { return s.metric("switchboard_goroutines") }

// metric reads an unlabelled metric from /metrics (Switchboard only).
func (s *server) metric(name string) int64 {
	if s.internal == "" {
		return 0
	}
	resp, err := http.Get("http://" + s.internal + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64) // large values come as 1.234567e+06
			return int64(f)
		}
	}
	return 0
}

type serverStats struct {
	Clients     int   `json:"clients"`
	Goroutines  int   `json:"goroutines"`
	SlowClients int64 `json:"slowClients"`
}

func (s *server) stats() serverStats {
	var st serverStats
	if s.kind == "centrifugo" {
		st.Clients = s.centrifugoClients()
		return st
	}
	if b, err := s.get("/bench/stats"); err == nil {
		_ = json.Unmarshal([]byte(b), &st)
	}
	return st
}

// ---- workers ----

// workerProc is a worker process and its command channel.
type workerProc struct {
	*proc
	mu  sync.Mutex
	in  io.WriteCloser
	out *bufio.Scanner
	src string
}

func startWorker(env *env, src string) (*workerProc, error) {
	logf, err := os.Create(filepath.Join(env.tmp, fmt.Sprintf("worker-%s.log", src)))
	if err != nil {
		return nil, err
	}
	argv := append(slices.Clone(env.workerWrap), env.self, "-worker")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{name: "worker", cmd: cmd, log: logf, pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	return &workerProc{proc: p, in: in, out: sc, src: src}, nil
}

func (w *workerProc) do(c command) (answer, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	b, _ := json.Marshal(c)
	if _, err := w.in.Write(append(b, '\n')); err != nil {
		return answer{}, fmt.Errorf("worker %s: %w", w.src, err)
	}
	if !w.out.Scan() {
		return answer{}, fmt.Errorf("worker %s: exited (see %s)", w.src, w.log.Name())
	}
	var a answer
	if err := json.Unmarshal(w.out.Bytes(), &a); err != nil {
		return a, err
	}
	if a.Err != "" {
		return a, errors.New(a.Err)
	}
	return a, nil
}

func (w *workerProc) close() {
	_, _ = w.do(command{Op: "close"})
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
	}
	w.log.Close()
}

// freePort returns a TCP port free on 127.0.0.1 now.
func freePort() (int, error) { return freeport.Pick() }
