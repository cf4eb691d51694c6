package memtune

import (
	"context"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"
)

func TestCgroupMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name, file, content string
		limit               int64
		ok, err             bool
	}{
		{"v2 limit", "memory.max", "536870912\n", 536870912, true, false},
		{"v2 no limit", "memory.max", "max\n", 0, false, false},
		{"v1 limit", "memory/memory.limit_in_bytes", "1073741824\n", 1073741824, true, false},
		{"v1 no limit", "memory/memory.limit_in_bytes", "9223372036854771712\n", 0, false, false},
		{"no cgroup", "", "", 0, false, false},
		{"garbage", "memory.max", "lots\n", 0, false, true},
		{"zero", "memory.max", "0\n", 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if tc.file != "" {
				p := filepath.Join(root, tc.file)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			limit, ok, err := cgroupMemoryLimit(root)
			if limit != tc.limit || ok != tc.ok || (err != nil) != tc.err {
				t.Errorf("got %d, %v, %v; want %d, %v, error %v", limit, ok, err, tc.limit, tc.ok, tc.err)
			}
		})
	}
}

func TestApplyMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(math.MaxInt64)
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "memory.max"), []byte("1000000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	noEnv := func(string) string { return "" }
	if got := ApplyMemoryLimit(0.9, root, noEnv, log); got != 900_000_000 || debug.SetMemoryLimit(-1) != 900_000_000 {
		t.Errorf("limit %d, runtime's %d; want 900000000 (0.9 of the container's)", got, debug.SetMemoryLimit(-1))
	}
	debug.SetMemoryLimit(math.MaxInt64)
	withEnv := func(k string) string {
		if k == "GOMEMLIMIT" {
			return "2GiB"
		}
		return ""
	}
	if got := ApplyMemoryLimit(0.9, root, withEnv, log); got != 0 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Errorf("with GOMEMLIMIT set: limit %d, runtime's %d; want none set", got, debug.SetMemoryLimit(-1))
	}
	if got := ApplyMemoryLimit(0, root, noEnv, log); got != 0 {
		t.Errorf("ratio 0: limit %d, want none", got)
	}
	if got := ApplyMemoryLimit(0.9, t.TempDir(), noEnv, log); got != 0 {
		t.Errorf("no container limit: limit %d, want none", got)
	}
}

// TestSettleGC drives SettleGC tick by tick: a send on the unbuffered tick
// channel returns only once the loop took it, so after the next send the
// previous tick's decision has been made.
func TestSettleGC(t *testing.T) {
	var opened, collected atomic.Int64
	ticks := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		SettleGC(ctx, ticks, opened.Load, 1000, func() { collected.Add(1) })
	}()
	tick := func() { ticks <- time.Time{}; ticks <- time.Time{} }
	ticks <- time.Time{} // settleGC has read its base count: 0
	step := func(open int64, want int64, what string) {
		t.Helper()
		opened.Add(open)
		tick()
		if got := collected.Load(); got != want {
			t.Fatalf("%s: %d collections, want %d", what, got, want)
		}
	}
	step(999, 0, "999 sessions, then quiet")
	step(0, 0, "still 999 sessions since start")
	opened.Add(1)
	ticks <- time.Time{} // the burst is still growing at this tick
	if got := collected.Load(); got != 0 {
		t.Fatalf("collected during a burst: %d", got)
	}
	ticks <- time.Time{} // quiet: 1000 since the last collection
	ticks <- time.Time{}
	if got := collected.Load(); got != 1 {
		t.Fatalf("after a burst of 1000: %d collections, want 1", got)
	}
	step(0, 1, "quiet after the collection")
	step(500, 1, "a burst of 500")
	step(600, 2, "1100 since the last collection")
	cancel()
	<-done
}
