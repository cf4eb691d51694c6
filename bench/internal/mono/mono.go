// Package mono reads the system-wide CLOCK_MONOTONIC, the clock Node's
// process.hrtime.bigint() reads too, so that a timestamp written into a
// payload by one process (a Go or a Node server) can be compared with the
// time of arrival read by another (the load generator) on the same machine.
package mono

import (
	"syscall"
	"time"
	"unsafe"
)

const clockMonotonic = 1 // CLOCK_MONOTONIC on Linux

var (
	base  int64 // CLOCK_MONOTONIC at start, ns
	start time.Time
)

func init() {
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockMonotonic, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		panic("mono: clock_gettime: " + errno.Error())
	}
	start = time.Now()
	base = ts.Nano()
}

// Micros returns CLOCK_MONOTONIC in microseconds. Go's monotonic time is
// CLOCK_MONOTONIC too, so the offset read once at start stays exact and no
// system call is needed per reading.
func Micros() int64 { return (base + int64(time.Since(start))) / 1000 }
