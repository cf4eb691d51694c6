package bloop

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTick(t *testing.T) {
	pad := strings.Repeat("x", 100)
	tick := Tick(pad, 100)
	if len(tick) != 100 {
		t.Fatalf("len %d, want 100: %q", len(tick), tick)
	}
	ts, rest, ok := strings.Cut(tick, ":")
	if _, err := strconv.ParseInt(ts, 10, 64); !ok || err != nil || strings.Trim(rest, "x") != "" {
		t.Fatalf("not <µs>:xxx: %q", tick)
	}
	if short := Tick(pad, 3); !strings.HasSuffix(short, ":") {
		t.Fatalf("a size under the timestamp's keeps the timestamp whole: %q", short)
	}
}

func TestRooms(t *testing.T) {
	if got := strings.Join(Rooms(3), ","); got != "r0,r1,r2" {
		t.Fatalf("Rooms(3) = %s", got)
	}
}

// The bursts cover broadcasts 0, 1, 2... with neither gap nor repeat, and
// none comes after Stop has returned.
func TestLoopBurstsAreContiguous(t *testing.T) {
	var (
		l       Loop
		mu      sync.Mutex
		next    int
		stopped bool
		bad     string
	)
	enough := make(chan struct{})
	l.Start(10000, time.Hour, func(from, to int) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case stopped:
			bad = "a burst after Stop returned"
		case from != next || to <= from:
			bad = "burst [" + strconv.Itoa(from) + "," + strconv.Itoa(to) + ") after " + strconv.Itoa(next)
		}
		if next < 50 && to >= 50 {
			close(enough)
		}
		next = to
	})
	<-enough
	l.Stop()
	mu.Lock()
	stopped = true
	mu.Unlock()
	l.Stop() // stopping a stopped loop is harmless
	mu.Lock()
	defer mu.Unlock()
	if bad != "" {
		t.Fatal(bad)
	}
}

func TestLoopNeedsRateAndDuration(t *testing.T) {
	var l Loop
	called := false
	l.Start(0, time.Hour, func(int, int) { called = true })
	l.Start(100, 0, func(int, int) { called = true })
	l.Stop()
	if called {
		t.Fatal("a loop without rate or duration ran")
	}
}

func TestTicksRooms(t *testing.T) {
	var l Loop
	got := make(chan string, 1000)
	l.Ticks(10000, time.Hour, 20, 3, func(room, tick string) {
		if len(tick) != 20 {
			room = "bad size " + tick
		}
		select {
		case got <- room:
		default:
		}
	})
	want := []string{"r0", "r1", "r2", "r0"}
	for i, w := range want {
		if r := <-got; r != w {
			t.Fatalf("broadcast %d to %q, want %q", i, r, w)
		}
	}
	l.Stop()
}
