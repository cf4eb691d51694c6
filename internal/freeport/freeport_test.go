package freeport

import (
	"net"
	"strconv"
	"testing"
)

// TestPickIsBelowTheEphemeralRange: the port comes from below the range
// listeners on port 0 draw from, and it can be listened on.
func TestPickIsBelowTheEphemeralRange(t *testing.T) {
	top := ephemeralStart()
	if top-lowest < 1000 {
		t.Skipf("the ephemeral range starts at %d: no room below it", top)
	}
	for range 20 {
		port := Port(t)
		if port < lowest || port >= top {
			t.Fatalf("port %d, want one in [%d, %d)", port, lowest, top)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatalf("port %d is not free: %v", port, err)
		}
		l.Close()
	}
}

// TestPickAvoidsTakenPorts: a port held by a listener is never returned.
func TestPickAvoidsTakenPorts(t *testing.T) {
	var held []net.Listener
	taken := map[int]bool{}
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for range 200 {
		port := Port(t)
		if taken[port] {
			t.Fatalf("port %d returned while held", port)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatalf("port %d is not free: %v", port, err)
		}
		held = append(held, l)
		taken[port] = true
	}
}
