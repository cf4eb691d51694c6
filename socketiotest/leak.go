package socketiotest

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
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
	before := goroutineIDs()
	code := m.Run()
	if code == 0 {
		if leaked := waitForLeaks(before, 10*time.Second); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "goroutines leaked by the tests:\n\n%s\n", strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// waitForLeaks returns the suspicious goroutines left after timeout (nil as
// soon as there are none).
func waitForLeaks(before map[string]bool, timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	for {
		leaked := suspiciousGoroutines(before)
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// suspiciousGoroutines lists the stacks of goroutines not in before that run
// code of Switchboard, net/http or gobwas/ws.
func suspiciousGoroutines(before map[string]bool) []string {
	var out []string
	for _, g := range goroutineStacks() {
		id, _, _ := strings.Cut(g, " [")
		if before[id] || strings.Contains(g, "socketiotest.suspiciousGoroutines") {
			continue
		}
		if strings.Contains(g, "switchboard-io/switchboard/") || strings.Contains(g, "net/http.") ||
			strings.Contains(g, "gobwas/ws") {
			out = append(out, g)
		}
	}
	return out
}

func goroutineIDs() map[string]bool {
	ids := map[string]bool{}
	for _, g := range goroutineStacks() {
		id, _, _ := strings.Cut(g, " [")
		ids[id] = true
	}
	return ids
}

func goroutineStacks() []string {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Split(strings.TrimSpace(string(buf[:n])), "\n\n")
		}
		buf = make([]byte, 2*len(buf))
	}
}
