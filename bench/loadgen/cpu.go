package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ---- CPU accounting ----

const clkTck = 100 // USER_HZ on Linux

// cpuTime is the CPU a process used, in clock ticks, in user space
// (utime) and in the kernel on its behalf (stime): issue 16 asks where a
// delivery's CPU goes, so the two are kept apart.
type cpuTime struct{ user, sys int64 }

func (c cpuTime) total() int64 { return c.user + c.sys }

// cpuTicks returns utime and stime of pid from /proc/<pid>/stat.
func cpuTicks(pid int) cpuTime {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return cpuTime{}
	}
	// The command name may hold spaces: fields count from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return cpuTime{}
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return cpuTime{}
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return cpuTime{u, s}
}

type cpuSnap struct {
	t          time.Time
	ticks      map[int]cpuTime
	busy, tot  int64
	driverTick int64
}

func takeCPU(pids ...int) cpuSnap {
	s := cpuSnap{t: time.Now(), ticks: map[int]cpuTime{}}
	for _, p := range pids {
		s.ticks[p] = cpuTicks(p)
	}
	s.driverTick = cpuTicks(os.Getpid()).total()
	s.busy, s.tot = systemTicks()
	return s
}

// usedSplit returns the user and system CPU time pids used between a and
// b, in µs.
func usedSplit(a, b cpuSnap, pids ...int) (user, sys float64) {
	var u, s int64
	for _, p := range pids {
		u += b.ticks[p].user - a.ticks[p].user
		s += b.ticks[p].sys - a.ticks[p].sys
	}
	return float64(u) * 1e6 / clkTck, float64(s) * 1e6 / clkTck
}

// usedMicros returns the CPU time pids used between a and b, in µs.
func usedMicros(a, b cpuSnap, pids ...int) float64 {
	u, s := usedSplit(a, b, pids...)
	return u + s
}

// perUnit sets m[prefix+"_us_per_"+unit] to the CPU pids used between a
// and b per unit of work (n of them), and the same split into user and
// system time (prefix+"_user_us_per_"+unit, prefix+"_sys_us_per_"+unit).
func perUnit(m map[string]float64, prefix, unit string, a, b cpuSnap, n float64, pids ...int) {
	if !(n > 0) {
		return
	}
	u, s := usedSplit(a, b, pids...)
	m[prefix+"_us_per_"+unit] = (u + s) / n
	m[prefix+"_user_us_per_"+unit] = u / n
	m[prefix+"_sys_us_per_"+unit] = s / n
}

// otherCores returns the CPU used between a and b by every process not
// measured (other users of the machine), in cores.
func otherCores(a, b cpuSnap) float64 {
	var ours int64
	for p := range b.ticks {
		ours += b.ticks[p].total() - a.ticks[p].total()
	}
	ours += b.driverTick - a.driverTick
	other := float64((b.busy-a.busy)-ours) / clkTck
	return max(other, 0) / b.t.Sub(a.t).Seconds()
}
