package engineio

import (
	"testing"
	"time"
)

// TestUpgradeDelaysWindow: the hold is twice the 90th percentile of the
// recent delays, within its bounds, and follows them down again.
func TestUpgradeDelaysWindow(t *testing.T) {
	u := newUpgradeDelays(300*time.Millisecond, 3*time.Second)
	if w := u.window(); w != 300*time.Millisecond {
		t.Fatalf("initial window %v, want the minimum", w)
	}
	for _, step := range []struct {
		delay, want time.Duration
	}{
		{10 * time.Millisecond, 300 * time.Millisecond}, // quick upgrades: the minimum
		{800 * time.Millisecond, 1600 * time.Millisecond},
		{10 * time.Second, 3 * time.Second}, // very late: the maximum
		{time.Millisecond, 300 * time.Millisecond},
	} {
		for range 128 {
			u.record(step.delay)
		}
		if w := u.window(); w != step.want {
			t.Fatalf("window %v after upgrades %v late, want %v", w, step.delay, step.want)
		}
	}
}

// TestOpenDelayAdapts: with MaxOpenDelay, sessions whose upgrades arrive
// late widen the hold of the next ones (Stats.OpenDelay); without it the
// hold is OpenDelay.
func TestOpenDelayAdapts(t *testing.T) {
	for _, max := range []time.Duration{0, 10 * time.Second} {
		ts := newTestServer(t, &Options{OpenDelay: 20 * time.Millisecond, MaxOpenDelay: max})
		var sids []string
		for range 20 {
			sids = append(sids, ts.handshake())
		}
		for range sids {
			ts.h.waitOpen(t) // each held 20 ms, then opened
		}
		waitFor(t, "sessions 200 ms old", func() bool { // their upgrades arrive at least that late
			return time.Since(ts.conn(sids[len(sids)-1]).Created()) >= 200*time.Millisecond
		})
		for _, sid := range sids {
			ts.srv.Rehome(sid)
			ts.get(sid) // the client takes its close packet
		}
		got := ts.srv.Stats().OpenDelay
		switch {
		case max == 0 && got != 20*time.Millisecond:
			t.Fatalf("no MaxOpenDelay: hold %v, want 20ms", got)
		case max > 0 && got < 400*time.Millisecond:
			t.Fatalf("MaxOpenDelay %v: hold %v after upgrades 200 ms late, want at least 400ms", max, got)
		}
	}
}
