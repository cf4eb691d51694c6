package emitter_test

import (
	"bufio"
	"context"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/switchboard-io/switchboard/emitter"
	"github.com/switchboard-io/switchboard/internal/redistest"
)

// startNodeJS runs a Node socket.io node with @socket.io/redis-adapter on
// the cluster and returns its URL.
func startNodeJS(t *testing.T, redisAddr string) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("node", "emitter/testdata/node-server.mjs", strconv.Itoa(port), "redis://"+redisAddr)
	cmd.Dir = ".."
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(line) == "listening"
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("the Node server did not start")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the Node server did not start in time")
	}
	return "http://127.0.0.1:" + strconv.Itoa(port)
}

// TestEmitterDrivesNodeJS: the Go emitter's messages are understood by Node
// nodes running @socket.io/redis-adapter.
func TestEmitterDrivesNodeJS(t *testing.T) {
	addr := redistest.Start(t).Addr
	c := connect(t, startNodeJS(t, addr))
	rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	e := emitter.New(rc, nil)
	ctx := context.Background()
	if err := e.Emit(ctx, "news", "from go"); err != nil {
		t.Fatal(err)
	}
	c.expect(t, "from go")
	if err := e.Emit(ctx, "news", []byte{0x68, 0x69}); err != nil {
		t.Fatal(err)
	}
	c.expect(t, "binary:hi")
	if err := e.In(c.sock.ID()).SocketsJoin(ctx, "vip"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := e.To("vip").Emit(ctx, "news", "vip only"); err != nil {
		t.Fatal(err)
	}
	c.expect(t, "vip only")
	if err := e.Except("vip").Emit(ctx, "news", "not for vips"); err != nil {
		t.Fatal(err)
	}
	c.nothing(t)
	if err := e.ServerSideEmit(ctx, "tick", "42"); err != nil {
		t.Fatal(err)
	}
	c.expect(t, "server-side:42")
	if err := e.DisconnectSockets(ctx, false); err != nil {
		t.Fatal(err)
	}
	c.expect(t, "disconnected")
}
