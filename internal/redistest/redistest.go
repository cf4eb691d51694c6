// Package redistest runs redis-server processes for tests, and makes them
// unreachable the two ways a Redis goes away: killed (connections are
// refused) or frozen (requests are never answered, as behind a network
// partition).
package redistest

import (
	"bufio"
	"bytes"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/internal/freeport"
)

// Server is a redis-server process on a free loopback port, without
// persistence, ended when its test ends.
type Server struct {
	// Addr is the server's host:port.
	Addr   string
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has ended
}

// Start runs a redis-server and waits until it accepts connections. It
// fails the test when redis-server is not installed: a missing server must
// not pass for a working one.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	s.Addr = s.start(t, func() []string { return nil })
	return s
}

// start runs redis-server on a free plain port with the arguments extra
// returns, and returns that port's address once it accepts connections.
// A process that ends before it serves is started again, up to 5 times, on
// new ports (extra is called again too, so it can choose its own): another
// process may bind a chosen port before redis-server does.
func (s *Server) start(t testing.TB, extra func() []string) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server not installed (Debian package redis-server): the test needs it")
	}
	for attempt := 1; ; attempt++ {
		port := strconv.Itoa(freeport.Port(t))
		var out bytes.Buffer
		cmd := exec.Command(bin, append([]string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}, extra()...)...)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		s.cmd, s.exited = cmd, make(chan struct{})
		go func(exited chan struct{}) { _ = cmd.Wait(); close(exited) }(s.exited)
		plain := net.JoinHostPort("127.0.0.1", port)
		if s.serving(plain) {
			t.Cleanup(func() {
				_ = s.cmd.Process.Signal(syscall.SIGCONT) // a frozen server must run to die
				s.Kill()
			})
			return plain
		}
		early := false // it ended before serving: most often another process bound a chosen port first
		select {
		case <-s.exited:
			early = true
		default:
		}
		s.Kill()
		if !early || attempt == 5 {
			t.Fatalf("redis-server did not start on %s:\n%s", plain, out.String())
		}
	}
}

// serving waits until addr accepts connections (true), or the process
// ends or 10 seconds pass (false).
func (s *Server) serving(addr string) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		select {
		case <-s.exited:
			return false
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// URL returns the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr }

// Kill ends the server at once: connections to it are refused from then on.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Freeze stops the server without closing anything: connections stay open
// (new ones are even accepted by the kernel) but no request is answered.
func (s *Server) Freeze() { _ = s.cmd.Process.Signal(syscall.SIGSTOP) }

// Command sends one inline command to the server's plain port and returns
// the first line of its reply ("+OK", ":1", "-ERR ...").
func (s *Server) Command(t testing.TB, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	return strings.TrimRight(line, "\r\n")
}
