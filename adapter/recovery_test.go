package adapter_test

import (
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
)

// sweeper is a goroutine running a RecoveringMemory's sweeper: where in
// the sweeper it is (file:line +offset), and whether it is parked in its
// select.
type sweeper struct {
	pos    string
	parked bool
}

func sweepers(t *testing.T) []sweeper {
	t.Helper()
	var b strings.Builder
	if err := pprof.Lookup("goroutine").WriteTo(&b, 2); err != nil {
		t.Fatal(err)
	}
	var out []sweeper
	for _, g := range strings.Split(b.String(), "\n\n") {
		lines := strings.Split(g, "\n")
		for i, l := range lines[:len(lines)-1] {
			if strings.Contains(l, "adapter.(*RecoveringMemory).sweep(") {
				out = append(out, sweeper{pos: strings.TrimSpace(lines[i+1]), parked: strings.Contains(lines[0], "[select")})
				break
			}
		}
	}
	return out
}

// TestRecoveringMemoryCloseWaitsForSweeper checks, many times over, that
// once Close returns the adapter's sweeper is no longer where it waits for
// its ticker: a sweeper that was only told to stop is still there (woken,
// not yet run) most of the time. A second Close must return too.
func TestRecoveringMemoryCloseWaitsForSweeper(t *testing.T) {
	factory := adapter.NewRecoveringMemory(time.Minute)
	for range 20 {
		a := factory(&fakeNamespace{socks: map[string]*fakeSocket{}})
		waiting := ""
		for waiting == "" {
			for _, s := range sweepers(t) {
				if s.parked {
					waiting = s.pos
				}
			}
			runtime.Gosched()
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		for _, s := range sweepers(t) {
			if s.pos == waiting {
				t.Fatalf("a sweeper is still in its loop after Close (at %s)", s.pos)
			}
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
