package emitter_test

import (
	"testing"

	"github.com/switchboard-io/switchboard/internal/leakcheck"
)

// TestMain fails the package if its tests leave goroutines behind: every
// emitter and node must be closed.
func TestMain(m *testing.M) {
	leakcheck.Main(m, "switchboard-io/switchboard/", "net/http.", "gobwas/ws", "rueidis")
}
