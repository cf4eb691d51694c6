package engineio

import (
	"os"
	"testing"

	"github.com/switchboard-io/switchboard/internal/leakcheck"
)

// TestMain fails the run if goroutines of this package, net/http or gobwas/ws
// are still alive once every test has finished: every test server is shut
// down and every client closed, so nothing may be left.
//
// With SWITCHBOARD_TEST_NO_POLLER set, WebSocket connections are read by a
// goroutine each, as on systems without epoll.
func TestMain(m *testing.M) {
	if os.Getenv("SWITCHBOARD_TEST_NO_POLLER") != "" {
		usePoller = false
	}
	leakcheck.Main(m, "switchboard/engineio.", "net/http.", "gobwas/ws")
}
