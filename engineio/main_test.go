package engineio

import (
	"testing"

	"github.com/switchboard-io/switchboard/internal/leakcheck"
)

// TestMain fails the run if goroutines of this package, net/http or gobwas/ws
// are still alive once every test has finished: every test server is shut
// down and every client closed, so nothing may be left.
func TestMain(m *testing.M) {
	leakcheck.Main(m, "switchboard/engineio.", "net/http.", "gobwas/ws")
}
