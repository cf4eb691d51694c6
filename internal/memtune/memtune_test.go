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

// TestSettleGC drives SettleGC tick by tick, handing it the session count
// each tick reads. SettleGC reads the count once per tick, right after
// taking the tick, so once the next tick has been taken the previous
// tick's decision is made and its collections can be counted.
func TestSettleGC(t *testing.T) {
	var collected atomic.Int64
	ticks, counts := make(chan time.Time), make(chan int64)
	ctx, cancel := context.WithCancel(context.Background())
	opened := func() int64 {
		select {
		case n := <-counts:
			return n
		case <-ctx.Done():
			return 0
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		SettleGC(ctx, ticks, opened, 1000, func() { collected.Add(1) })
	}()
	counts <- 0 // the base count
	steps := []struct {
		opened, want int64
		what         string
	}{
		{999, 0, "999 sessions, growing"},
		{999, 0, "999 sessions, then quiet"},
		{999, 0, "still 999 sessions since start"},
		{1000, 0, "the burst is still growing"},
		{1000, 1, "quiet after a burst of 1000"},
		{1000, 1, "quiet after the collection"},
		{1500, 1, "a burst of 500, growing"},
		{1500, 1, "a burst of 500, then quiet"},
		{2100, 1, "1100 since the last collection, growing"},
		{2100, 2, "1100 since the last collection, then quiet"},
	}
	for i := range steps {
		ticks <- time.Time{}
		if i > 0 { // the previous tick has been decided
			if s, got := steps[i-1], collected.Load(); got != s.want {
				t.Fatalf("%s: %d collections, want %d", s.what, got, s.want)
			}
		}
		counts <- steps[i].opened
	}
	ticks <- time.Time{}
	if s, got := steps[len(steps)-1], collected.Load(); got != s.want {
		t.Fatalf("%s: %d collections, want %d", s.what, got, s.want)
	}
	cancel()
	<-done
}
