package redis

import (
	"testing"
	"time"
)

func TestSeqTrackerOrdered(t *testing.T) {
	tr := newSeqTracker(true)
	now := time.Now()
	steps := []struct {
		seq  uint64
		dup  bool
		lost uint64
	}{{5, false, 0}, {6, false, 0}, {6, true, 0}, {4, true, 0}, {9, false, 2}, {10, false, 0}}
	for _, s := range steps {
		dup, lost := tr.observe("a", s.seq, now)
		if dup != s.dup || lost != s.lost {
			t.Fatalf("seq %d: dup %v lost %d, want %v %d", s.seq, dup, lost, s.dup, s.lost)
		}
	}
	if dup, lost := tr.observe("b", 100, now); dup || lost != 0 {
		t.Fatal("a new publisher starts anywhere")
	}
}

func TestSeqTrackerUnordered(t *testing.T) {
	tr := newSeqTracker(false)
	t0 := time.Now()
	for _, seq := range []uint64{1, 3, 2, 5, 4, 6} { // reordered, complete
		if _, lost := tr.observe("a", seq, t0); lost != 0 {
			t.Fatalf("seq %d: lost %d", seq, lost)
		}
	}
	if _, lost := tr.observe("a", 9, t0); lost != 0 { // 7 and 8 may still come
		t.Fatal("a hole is not a loss at once")
	}
	if _, lost := tr.observe("a", 7, t0.Add(time.Second)); lost != 0 {
		t.Fatal(lost)
	}
	if lost := tr.sweep(t0.Add(reorderWait + time.Second)); lost != 1 { // 8 never came
		t.Fatalf("sweep lost %d, want 1", lost)
	}
	if _, lost := tr.observe("a", 10, t0.Add(5*time.Second)); lost != 0 {
		t.Fatal("after the loss, the sequence goes on")
	}
}

func TestEntryID(t *testing.T) {
	a, ok := parseID("1700000000000-5")
	b, _ := parseID("1700000000001-0")
	if !ok || a.String() != "1700000000000-5" || !a.less(b) || b.less(a) || a.next().String() != "1700000000000-6" {
		t.Fatal(a, b)
	}
	for _, bad := range []string{"", "1", "a-1", "1-", "-1", "1-2-3"} {
		if _, ok := parseID(bad); ok {
			t.Errorf("parsed %q", bad)
		}
	}
}

// TestStreamKey checks Node's computeStreamName (values from Node's
// hashCode), negative remainders included.
func TestStreamKey(t *testing.T) {
	h := &streamsHub{o: (&StreamsOptions{StreamCount: 4}).withDefaults()}
	for nsp, want := range map[string]string{"/": "socket.io-3", "/notifications": "socket.io--3",
		"/admin": "socket.io-0", "/é😀": "socket.io-1"} {
		if got := h.streamKey(nsp); got != want {
			t.Errorf("%s: %s, want %s", nsp, got, want)
		}
	}
	h.o.StreamCount = 1
	if got := h.streamKey("/admin"); got != "socket.io" {
		t.Error(got)
	}
}
