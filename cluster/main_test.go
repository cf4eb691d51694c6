package cluster

import (
	"testing"

	"github.com/switchboard-io/switchboard/internal/leakcheck"
)

// TestMain fails the package if its tests leave goroutines behind: every
// node must be closed, every hop finished.
func TestMain(m *testing.M) {
	leakcheck.Main(m, "switchboard-io/switchboard/", "net/http.", "gobwas/ws", "rueidis")
}
