// Package memtune holds the memory policy of a Switchboard process: Go's
// soft memory limit taken from the container's (ApplyMemoryLimit), and a
// collection once a burst of new connections is over (SettleGC). The
// binary and the benchmark's Go server both apply it.
package memtune

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// cgroupMemoryLimit returns the memory limit of the container the process
// runs in, read below root (normally /sys/fs/cgroup): cgroup v2's
// memory.max, else cgroup v1's memory.limit_in_bytes. ok is false when
// there is no limit ("max", or v1's near-2^63 "unlimited") or no cgroup
// file. Only the root of the mount is read: inside a container that is
// the container's own cgroup.
func cgroupMemoryLimit(root string) (limit int64, ok bool, err error) {
	for _, name := range []string{"memory.max", "memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(filepath.Join(root, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, false, err
		}
		v := strings.TrimSpace(string(b))
		if v == "max" {
			return 0, false, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return 0, false, fmt.Errorf("%s: unexpected content %q", name, v)
		}
		if n >= math.MaxInt64/2 { // cgroup v1 writes a page-rounded 2^63-1 for "no limit"
			return 0, false, nil
		}
		return n, true, nil
	}
	return 0, false, nil
}

// ApplyMemoryLimit sets Go's soft memory limit to ratio of the container's
// memory limit, unless GOMEMLIMIT is set (the operator's word wins) or
// ratio is 0. The GC then works harder as the heap nears the limit,
// instead of the heap doubling past it and the kernel killing the
// container. It returns the limit set, 0 for none.
func ApplyMemoryLimit(ratio float64, cgroupRoot string, getenv func(string) string, log *slog.Logger) int64 {
	if ratio <= 0 || getenv("GOMEMLIMIT") != "" {
		return 0
	}
	limit, ok, err := cgroupMemoryLimit(cgroupRoot)
	if err != nil {
		log.Warn("container memory limit unreadable; Go's memory limit left unset", "err", err)
		return 0
	}
	if !ok {
		return 0
	}
	soft := int64(float64(limit) * ratio)
	debug.SetMemoryLimit(soft)
	log.Info("Go memory limit set from the container's", "container_bytes", limit, "ratio", ratio, "limit_bytes", soft)
	return soft
}

// The defaults of SettleGC: a burst is at least SettleBurst sessions opened
// since the last collection, and it is over when a tick of SettleTick saw
// none.
const (
	SettleBurst = 1000
	SettleTick  = 500 * time.Millisecond
)

// SettleGC runs collect once each burst of new sessions is over, until ctx
// ends: at a tick that saw no session opened since the one before, when
// burst or more were opened since the last collection. opened returns the
// sessions opened since start.
//
// A connection storm (a deploy, a reconnect wave) leaves the garbage of
// every handshake behind, up to as much again as the live heap. An idle
// node allocates too little to start the GC again, so that memory stays in
// the process for minutes (Go's forced collection runs every two minutes,
// and the scavenger returns pages slowly). Collecting once, right after
// the burst, gives it back while nothing else competes for the CPU.
func SettleGC(ctx context.Context, ticks <-chan time.Time, opened func() int64, burst int64, collect func()) {
	base := opened() // the sessions opened at the last collection
	last := base
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
		}
		now := opened()
		if now == last && now-base >= burst {
			collect()
			base = now
		}
		last = now
	}
}

// Settle runs SettleGC with its defaults until ctx ends: a tick every
// SettleTick, bursts of SettleBurst, and debug.FreeOSMemory as the
// collection (then done, if not nil).
func Settle(ctx context.Context, opened func() int64, done func()) {
	t := time.NewTicker(SettleTick)
	defer t.Stop()
	SettleGC(ctx, t.C, opened, SettleBurst, func() {
		debug.FreeOSMemory()
		if done != nil {
			done()
		}
	})
}
