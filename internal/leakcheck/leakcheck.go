// Package leakcheck fails a test binary whose tests leave goroutines
// running: servers must be shut down and clients closed by the end.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Main runs the tests of m and then exits non-zero if goroutines started
// meanwhile still run code that contains one of the markers (package
// paths or function prefixes) after a grace period. Call it from TestMain.
func Main(m *testing.M, markers ...string) { MainAfter(m, nil, markers...) }

// MainAfter is Main with a clean-up that runs after the tests and before
// the check (stopping a server the whole package shared, for instance).
func MainAfter(m *testing.M, cleanup func(), markers ...string) {
	before := ids()
	code := m.Run()
	if cleanup != nil {
		cleanup()
	}
	if code == 0 {
		if leaked := wait(before, markers, 10*time.Second); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "goroutines leaked by the tests:\n\n%s\n", strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// wait returns the suspicious goroutines left after timeout (nil as soon
// as there are none).
func wait(before map[string]bool, markers []string, timeout time.Duration) []string {
	deadline := time.Now().Add(timeout)
	for {
		leaked := suspicious(before, markers)
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// suspicious lists the stacks of goroutines not in before that run code
// matching a marker.
func suspicious(before map[string]bool, markers []string) []string {
	var out []string
	for _, g := range stacks() {
		id, _, _ := strings.Cut(g, " [")
		if before[id] || strings.Contains(g, "leakcheck.suspicious") {
			continue
		}
		for _, m := range markers {
			if strings.Contains(g, m) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

func ids() map[string]bool {
	out := map[string]bool{}
	for _, g := range stacks() {
		id, _, _ := strings.Cut(g, " [")
		out[id] = true
	}
	return out
}

func stacks() []string {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Split(strings.TrimSpace(string(buf[:n])), "\n\n")
		}
		buf = make([]byte, 2*len(buf))
	}
}
