package node

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReadHeaderTimeoutEdge: a client that sends its request headers within
// --read-header-timeout is served; one that stalls past it (slow-loris) is
// cut off, and does not hold the node.
func TestReadHeaderTimeoutEdge(t *testing.T) {
	t.Parallel()
	n := startNode(t, "--read-header-timeout", "400ms")
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	}()
	request := "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n"
	send := func(pause time.Duration) (string, error) {
		conn, err := net.Dial("tcp", n.Addr().String())
		if err != nil {
			return "", err
		}
		defer conn.Close()
		if _, err := conn.Write([]byte(request)); err != nil {
			return "", err
		}
		time.Sleep(pause)
		_, _ = conn.Write([]byte("\r\n")) // may fail once the server hung up
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		return bufio.NewReader(conn).ReadString('\n')
	}
	if line, err := send(50 * time.Millisecond); err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Fatalf("headers within the timeout: %q %v", line, err)
	}
	start := time.Now()
	line, _ := send(1500 * time.Millisecond)
	if strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Fatalf("headers finished after the timeout were served: %q", line)
	}
	if time.Since(start) > 4*time.Second {
		t.Fatal("the stalled connection was not cut")
	}
}

// TestIdleTimeoutEdge: a keep-alive connection idle past --idle-timeout is
// closed; one used again before it is not.
func TestIdleTimeoutEdge(t *testing.T) {
	t.Parallel()
	n := startNode(t, "--idle-timeout", "500ms")
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	}()
	conn, err := net.Dial("tcp", n.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	get := func() error {
		if _, err := conn.Write([]byte("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			return err
		}
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		line, err := r.ReadString('\n')
		if err == nil && !strings.HasPrefix(line, "HTTP/1.1 200") {
			t.Fatalf("status line %q", line)
		}
		length := 0
		for err == nil && line != "\r\n" { // the headers
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				length, _ = strconv.Atoi(strings.TrimSpace(v))
			}
			line, err = r.ReadString('\n')
		}
		if err == nil {
			_, err = r.Discard(length) // the handshake body
		}
		return err
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // well within the timeout
	if err := get(); err != nil {
		t.Fatalf("reused before the idle timeout: %v", err)
	}
	time.Sleep(1500 * time.Millisecond) // past it
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := r.ReadByte(); err == nil {
		t.Fatal("the idle connection was not closed")
	}
}
