// Package freeport picks loopback TCP ports that tests and benchmarks hand
// to the servers they start.
//
// The usual way, listening on port 0 and closing, yields a port of the
// kernel's ephemeral range: the pool that every other listener on port 0
// and every outbound connection on the machine also draws from. Between
// the close and the server's own bind, another process may take the port,
// and the server fails to start (go test runs packages in parallel, so it
// happens). Pick chooses below that range instead, at random, and checks
// that the port is free: only another Pick choosing the same port at the
// same moment can collide.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// lowest is the smallest port Pick chooses.
const lowest = 10000

// Pick returns a loopback TCP port that was free when it was checked,
// outside the kernel's ephemeral range when the range leaves room below it.
func Pick() (int, error) {
	top := ephemeralStart()
	for i := 0; i < 100 && top-lowest >= 1000; i++ {
		port := lowest + rand.IntN(top-lowest)
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			l.Close()
			return port, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0") // the range is too low, or crowded
	if err != nil {
		return 0, fmt.Errorf("freeport: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Port is Pick for a test, which it fails when no port can be had.
func Port(t testing.TB) int {
	t.Helper()
	port, err := Pick()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// Addr is Port as a 127.0.0.1 host:port.
func Addr(t testing.TB) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(Port(t)))
}

// ephemeralStart is the first port of the kernel's ephemeral range (Linux
// reports it in /proc), or Linux's default start when it cannot be read.
func ephemeralStart() int {
	const linuxDefault = 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return linuxDefault
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return linuxDefault
	}
	start, err := strconv.Atoi(fields[0])
	if err != nil {
		return linuxDefault
	}
	return start
}
