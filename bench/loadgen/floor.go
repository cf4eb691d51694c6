package main

import (
	"io"
	"net"
	"runtime"
	"syscall"
)

// writeFloor measures what the kernel alone charges the server for one
// delivery on this machine: the CPU time of the writing thread for one
// write(2) of a 113-byte WebSocket frame (a ~100-byte tick event) on a
// loopback TCP connection, round-robin over conns connections whose peers
// read everything. On loopback the sender's system call also runs the
// receiver's TCP input (softirq), so this is a floor that no server on
// this box can go below with one write per delivery; on a real network
// part of it moves to the clients' machines. It returns µs per write.
func writeFloor(conns, writes int) (float64, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	cs := make([]net.Conn, conns)
	for i := range cs {
		if cs[i], err = net.Dial("tcp", ln.Addr().String()); err != nil {
			return 0, err
		}
		defer cs[i].Close()
	}
	frame := make([]byte, 113)
	frame[0], frame[1] = 0x81, 111
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var a, b syscall.Rusage
	const rusageThread = 1
	_ = syscall.Getrusage(rusageThread, &a)
	for i := range writes {
		if _, err := cs[i%conns].Write(frame); err != nil {
			return 0, err
		}
	}
	_ = syscall.Getrusage(rusageThread, &b)
	used := (b.Utime.Nano() + b.Stime.Nano()) - (a.Utime.Nano() + a.Stime.Nano())
	return float64(used) / 1e3 / float64(writes), nil
}
