package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/client"
	"github.com/switchboard-io/switchboard/internal/redistest"
)

// runMainEnv makes the test binary run the switchboard command instead of
// the tests (see TestMain), so that tests can run it as its own process.
const runMainEnv = "SWITCHBOARD_CLI_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) != "" {
		os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// lockedBuffer is a bytes.Buffer safe for a process to write while a test
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startCommand runs the switchboard command with args in a process of its
// own, its output going to out; the process is killed if the test ends
// first.
func startCommand(t *testing.T, out *lockedBuffer, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// connectClients connects n Socket.IO clients, which do not reconnect, to
// the node at addr; the returned channel gets a value per disconnection.
func connectClients(t *testing.T, addr string, n int) <-chan client.DisconnectReason {
	t.Helper()
	gone := make(chan client.DisconnectReason, n)
	for range n {
		m, err := client.NewManager("http://"+addr, &client.Options{NoReconnection: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Close() })
		s := m.Socket("/", nil)
		s.OnDisconnect(func(reason client.DisconnectReason, _ error) { gone <- reason })
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err = s.Connect(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	return gone
}

// TestShutdownWithRedisGone runs a stickiness-free node with recovery and
// clients, makes its Redis unreachable (killed: connections refused;
// frozen: requests never answered) and sends it SIGTERM. The node must
// still drain its clients, warn that Redis was unreachable, and exit 0 well
// before its shutdown grace ends, without "shutdown incomplete".
func TestShutdownWithRedisGone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cut  func(*redistest.Server)
	}{{"killed", (*redistest.Server).Kill}, {"frozen", (*redistest.Server).Freeze}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := redistest.Start(t)
			pub, internal := freeAddr(t), freeAddr(t)
			var out lockedBuffer
			cmd := startCommand(t, &out, "serve", "--redis", r.URL(), "--listen", pub, "--internal-listen", internal,
				"--stickiness-free", "--cluster-secret", "test-secret", "--recovery",
				"--drain-window", "200ms", "--shutdown-grace", "30s", "--node-name", "redis-gone-"+tc.name)
			waitReady(t, internal, 20*time.Second)
			const clients = 3
			gone := connectClients(t, pub, clients)
			tc.cut(r)
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			go func() { _ = cmd.Wait(); close(exited) }()
			select {
			case <-exited:
			case <-time.After(time.Minute):
				t.Fatalf("the node did not exit within a minute of SIGTERM:\n%s", out.String())
			}
			log := out.String()
			if code := cmd.ProcessState.ExitCode(); code != 0 || strings.Contains(log, "shutdown incomplete") {
				t.Fatalf("exit code %d, want 0 and no \"shutdown incomplete\":\n%s", code, log)
			}
			if !strings.Contains(log, "connections=3") || !strings.Contains(log, "level=WARN msg=\"redis unreachable") {
				t.Fatalf("no drain of the %d clients or no warning that Redis was unreachable:\n%s", clients, log)
			}
			for range clients {
				<-gone // closed by the drain or, at the latest, by the process's exit
			}
		})
	}
}
