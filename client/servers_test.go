package client

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/internal/freeport"
	"github.com/switchboard-io/switchboard/socketio"
)

// testServer is a running server under test.
type testServer struct {
	url     string // http://127.0.0.1:port
	stop    func()
	restart func(t *testing.T) // stop, then start again on the same port
}

// pingOpts are the heartbeat settings of a server; zero means Node's.
type pingOpts struct{ interval, timeout time.Duration }

func (p pingOpts) withDefaults() pingOpts {
	if p.interval == 0 {
		p.interval, p.timeout = 25*time.Second, 20*time.Second
	}
	return p
}

// starter starts one kind of server implementing test/compat/CONTRACT.md.
type starter struct {
	name      string
	start     func(t testing.TB, p pingOpts) *testServer
	needsNode bool

	once   sync.Once
	shared *testServer
	errMsg string
}

var starters = []*starter{
	{name: "switchboard", start: startSwitchboard},
	{name: "node", start: startNodeContract, needsNode: true},
}

// sharedServer returns the starter's server with default heartbeat, shared
// by the tests and stopped by TestMain.
func (st *starter) sharedServer(t *testing.T) *testServer {
	st.skipIfUnavailable(t)
	st.once.Do(func() {
		defer func() {
			if r := recover(); r != nil {
				st.errMsg = fmt.Sprint(r)
			}
		}()
		st.shared = st.start(panicTB{t}, pingOpts{})
	})
	if st.shared == nil {
		t.Fatalf("starting %s: %s", st.name, st.errMsg)
	}
	return st.shared
}

func (st *starter) skipIfUnavailable(t *testing.T) {
	if st.needsNode && nodeMissing() {
		t.Skip("node is not installed")
	}
}

// panicTB turns fatal errors into panics, for servers shared by tests.
type panicTB struct{ testing.TB }

func (p panicTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (p panicTB) Cleanup(func())                    {}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startSwitchboard runs the repo's server in-process with the contract's
// handlers (plus "garbage", which sends an invalid packet).
func startSwitchboard(t testing.TB, p pingOpts) *testServer {
	p = p.withDefaults()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	var mu sync.Mutex
	var stopCur func()
	run := func(ln net.Listener) {
		io := socketio.NewServer(&socketio.Options{
			Engine: engineio.Options{PingInterval: p.interval, PingTimeout: p.timeout, Logger: quietLogger()},
			Logger: quietLogger(),
		})
		setupContract(io)
		ts := &httptest.Server{Listener: ln, Config: &http.Server{Handler: io}}
		ts.Start()
		mu.Lock()
		stopCur = func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_ = io.Shutdown(ctx)
			ts.CloseClientConnections()
			ts.Close()
		}
		mu.Unlock()
	}
	run(ln)
	stop := func() {
		mu.Lock()
		f := stopCur
		stopCur = nil
		mu.Unlock()
		if f != nil {
			f()
		}
	}
	srv := &testServer{url: "http://" + addr, stop: stop}
	srv.restart = func(t *testing.T) {
		stop()
		run(listenRetry(t, addr))
	}
	t.Cleanup(stop)
	return srv
}

// listenRetry listens on addr, retrying while the port is still taken.
func listenRetry(t testing.TB, addr string) net.Listener {
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln
		}
		if time.Now().After(deadline) {
			t.Fatalf("listen %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	return freeport.Port(t)
}

func nodeMissing() bool {
	_, err := exec.LookPath("node")
	return err != nil
}

// startNodeContract runs the Node reference server of the compatibility
// suite.
func startNodeContract(t testing.TB, p pingOpts) *testServer {
	return startNodeScript(t, filepath.Join(repoRoot(), "test/compat/servers/node-server.mjs"), p)
}

// startNodeScript runs a Node server script taking --port and the heartbeat
// flags; it skips the test when node is not installed.
func startNodeScript(t testing.TB, script string, p pingOpts) *testServer {
	if nodeMissing() {
		t.Skip("node is not installed")
	}
	p = p.withDefaults()
	port := freePort(t)
	args := []string{script, "--port", fmt.Sprint(port),
		"--ping-interval", fmt.Sprint(p.interval.Milliseconds()),
		"--ping-timeout", fmt.Sprint(p.timeout.Milliseconds())}
	var mu sync.Mutex
	var cur *exec.Cmd
	start := func(t testing.TB) {
		cmd := exec.Command("node", args...)
		cmd.Dir = repoRoot()
		cmd.Stderr = os.Stderr
		killWithParent(cmd)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatalf("stdout pipe: %v", err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting node: %v", err)
		}
		if err := waitListening(out, port); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("node %s: %v", filepath.Base(script), err)
		}
		mu.Lock()
		cur = cmd
		mu.Unlock()
	}
	stop := func() {
		mu.Lock()
		cmd := cur
		cur = nil
		mu.Unlock()
		if cmd != nil {
			stopProcess(cmd)
		}
	}
	start(t)
	t.Cleanup(stop)
	return &testServer{url: fmt.Sprintf("http://127.0.0.1:%d", port), stop: stop,
		restart: func(t *testing.T) { stop(); start(t) }}
}

// waitListening reads the server's stdout until its "listening on" line,
// then keeps draining it.
func waitListening(out io.Reader, port int) error {
	want := fmt.Sprintf("listening on http://127.0.0.1:%d", port)
	found := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if !ok && strings.TrimSpace(sc.Text()) == want {
				ok = true
				found <- true
			}
		}
		if !ok {
			found <- false
		}
	}()
	select {
	case ok := <-found:
		if !ok {
			return fmt.Errorf("exited before listening")
		}
		return nil
	case <-time.After(20 * time.Second):
		return fmt.Errorf("not listening after 20s")
	}
}

// stopProcess sends SIGTERM, then SIGKILL after 3s, and reaps the process.
func stopProcess(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// proxy forwards TCP connections to a server; it can freeze the traffic
// (a silent network) or cut every connection.
type proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	cond   *sync.Cond
	frozen bool
	closed bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func newProxy(t *testing.T, targetURL string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	p := &proxy{ln: ln, target: strings.TrimPrefix(targetURL, "http://"), conns: map[net.Conn]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[s] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(s, c)
		go p.pipe(c, s)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.frozen && !p.closed {
				p.cond.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			src.Close()
			dst.Close()
			return
		}
	}
}

func (p *proxy) freeze(on bool) {
	p.mu.Lock()
	p.frozen = on
	p.cond.Broadcast()
	p.mu.Unlock()
}

// cut closes every connection made so far.
func (p *proxy) cut() {
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
	p.mu.Unlock()
}

func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	p.cut()
	p.wg.Wait()
}
