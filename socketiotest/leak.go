package socketiotest

import (
	"testing"

	"github.com/switchboard-io/switchboard/internal/leakcheck"
)

// VerifyTestMain runs the tests of m and then fails the test binary if
// goroutines started meanwhile are still running code of Switchboard,
// net/http or gobwas/ws after a grace period: every server must be shut
// down and every client closed. Call it from TestMain:
//
//	func TestMain(m *testing.M) { socketiotest.VerifyTestMain(m) }
//
// It calls os.Exit.
func VerifyTestMain(m *testing.M) {
	leakcheck.Main(m, "switchboard-io/switchboard/", "net/http.", "gobwas/ws")
}
