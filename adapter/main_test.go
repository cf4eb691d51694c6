package adapter_test

import (
	"testing"

	"github.com/switchboard-io/switchboard/internal/leakcheck"
)

// TestMain fails the run if a test leaves a goroutine of Switchboard
// running, such as the sweeper of an adapter it did not close.
func TestMain(m *testing.M) { leakcheck.Main(m, "switchboard-io/switchboard/") }
