// Package bloop is the broadcast loop of the benchmark harness, the same in
// every Go server it measures (bench/goserver, bench/peers/zishang) and in
// the driver's publisher for Centrifugo, and the same as
// bench/node-server.mjs's: every 5 ms it emits the broadcasts due since
// the start (rate × elapsed), each with a fresh timestamp, so that a
// server that falls behind catches up in bursts and the offered rate is
// kept.
package bloop

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-io/switchboard/bench/internal/mono"
)

// Loop runs one broadcast loop at a time. The zero Loop is ready.
type Loop struct {
	mu   sync.Mutex
	quit chan struct{}
	done chan struct{}
}

// Start stops the loop running, if any, and starts one that calls
// burst(from, to) every 5 ms for d, to emit broadcasts from to to-1 (the
// k-th is due k/rate seconds after the start). Nothing starts unless rate
// and d are positive.
func (l *Loop) Start(rate float64, d time.Duration, burst func(from, to int)) {
	l.Stop()
	if !(rate > 0) || d <= 0 {
		return
	}
	quit, done := make(chan struct{}), make(chan struct{})
	l.mu.Lock()
	l.quit, l.done = quit, done
	l.mu.Unlock()
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		start := time.Now()
		sent := 0
		for {
			select {
			case <-quit:
				return
			case <-t.C:
			}
			el := time.Since(start)
			if el >= d {
				return
			}
			if due := int(el.Seconds() * rate); due > sent {
				burst(sent, due)
				sent = due
			}
		}
	}()
}

// Stop stops the loop and waits until its last burst has returned.
func (l *Loop) Stop() {
	l.mu.Lock()
	quit, done := l.quit, l.done
	l.quit, l.done = nil, nil
	l.mu.Unlock()
	if quit != nil {
		close(quit)
		<-done
	}
}

// Ticks is Start for the servers' "tick" broadcasts: it calls emit(room,
// tick) for each, with a Tick of size bytes, room "" for every client
// (rooms = 0) or rooms r0..r(rooms-1) in turn.
func (l *Loop) Ticks(rate float64, d time.Duration, size, rooms int, emit func(room, tick string)) {
	pad := strings.Repeat("x", max(size, 1))
	names := Rooms(rooms)
	l.Start(rate, d, func(from, to int) {
		for k := from; k < to; k++ {
			room := ""
			if rooms > 0 {
				room = names[k%rooms]
			}
			emit(room, Tick(pad, size))
		}
	})
}

// Tick returns the argument of one "tick" event: "<CLOCK_MONOTONIC µs>:"
// followed by x's up to size bytes (pad holds at least size of them).
func Tick(pad string, size int) string {
	ts := strconv.FormatInt(mono.Micros(), 10) + ":"
	return ts + pad[:max(0, min(len(pad), size-len(ts)))]
}

// Rooms returns the names of rooms r0..r(n-1), the rooms the load
// generator's clients join.
func Rooms(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = "r" + strconv.Itoa(i)
	}
	return names
}

// Handle registers the servers' /bench/broadcast?rate=R&duration=MS&size=B&rooms=K,
// which calls start (a server's broadcast loop, returning at once), and
// /bench/stop, which calls stop, on mux.
func Handle(mux *http.ServeMux, start func(rate float64, d time.Duration, size, rooms int), stop func()) {
	mux.HandleFunc("/bench/broadcast", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		rate, _ := strconv.ParseFloat(q.Get("rate"), 64)
		ms, _ := strconv.Atoi(q.Get("duration"))
		size, _ := strconv.Atoi(q.Get("size"))
		rooms, _ := strconv.Atoi(q.Get("rooms"))
		start(rate, time.Duration(ms)*time.Millisecond, size, rooms)
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/bench/stop", func(w http.ResponseWriter, _ *http.Request) {
		stop()
		_, _ = w.Write([]byte("ok\n"))
	})
}
