// Package redistest runs redis-server processes for tests, and makes them
// unreachable the two ways a Redis goes away: killed (connections are
// refused) or frozen (requests are never answered, as behind a network
// partition).
package redistest

import (
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Server is a redis-server process on a free loopback port, without
// persistence, ended when its test ends.
type Server struct {
	// Addr is the server's host:port.
	Addr string
	cmd  *exec.Cmd
}

// Start runs a redis-server and waits until it accepts connections. It
// skips the test when redis-server is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	s.cmd = exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGCONT) // a frozen server must run to die
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", s.Addr); err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// URL returns the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr }

// Kill ends the server at once: connections to it are refused from then on.
func (s *Server) Kill() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// Freeze stops the server without closing anything: connections stay open
// (new ones are even accepted by the kernel) but no request is answered.
func (s *Server) Freeze() { _ = s.cmd.Process.Signal(syscall.SIGSTOP) }
