package main

import (
	"net"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
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
	var read atomic.Int64
	cs, stop, err := loopbackPeers(conns, &read)
	if err != nil {
		return 0, err
	}
	defer stop()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := threadCPU()
	for i := range writes {
		if _, err := cs[i%conns].Write(frame); err != nil {
			return 0, err
		}
	}
	return float64(threadCPU()-start) / 1e3 / float64(writes), nil
}

// frame is the write of both floors: a 113-byte WebSocket text frame.
var frame = append([]byte{0x81, 111}, make([]byte, 111)...)

// loopbackPeers opens conns loopback TCP connections whose peers, a
// goroutine each, read everything and count the bytes in read. stop closes
// them all.
func loopbackPeers(conns int, read *atomic.Int64) (cs []net.Conn, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 512)
				for {
					n, err := c.Read(buf)
					read.Add(int64(n))
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	stop = func() {
		ln.Close()
		for _, c := range cs {
			c.Close()
		}
	}
	for range conns {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			stop()
			return nil, nil, err
		}
		cs = append(cs, c)
	}
	return cs, stop, nil
}

// threadCPU returns the calling thread's CPU time in ns, from its CPU
// clock: exact, where its rusage lags by up to a scheduler tick.
func threadCPU() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return ts.Nano()
}

// burstFloor is writeFloor as a broadcast meets it: conns connections whose
// peers, goroutines of this process, sleep between bursts. Each burst
// writes one frame to every connection, then waits until the peers have
// read all of it and for gap more, so that every burst finds them asleep
// and its writes pay for waking them, as a server's writes do for clients
// that get a few events a second. It returns µs of the writing thread's
// CPU per write, counted during the bursts only.
func burstFloor(conns, bursts int, gap time.Duration) (float64, error) {
	var read atomic.Int64
	cs, stop, err := loopbackPeers(conns, &read)
	if err != nil {
		return 0, err
	}
	defer stop()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var used int64
	for b := range bursts {
		start := threadCPU()
		for _, c := range cs {
			if _, err := c.Write(frame); err != nil {
				return 0, err
			}
		}
		used += threadCPU() - start
		want := int64((b + 1) * conns * len(frame))
		for read.Load() < want { // the peers read it all, however long that takes
			time.Sleep(time.Millisecond)
		}
		time.Sleep(gap)
	}
	return float64(used) / 1e3 / float64(bursts*conns), nil
}
