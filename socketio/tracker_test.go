package socketio

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestTrackerStartsDuringWait checks that goroutines may start while Wait
// waits (a sync.WaitGroup forbids it: the race detector reports it), and
// that Wait returns only once all of them ended.
func TestTrackerStartsDuringWait(t *testing.T) {
	t.Parallel()
	var tr tracker
	release := make(chan struct{})
	tr.Go(func() { <-release })
	waited := make(chan error, 1)
	go func() { waited <- tr.Wait(context.Background()) }()
	late := make(chan struct{})
	for range 100 {
		tr.Go(func() { <-late })
	}
	close(release)
	select {
	case err := <-waited:
		t.Fatalf("Wait returned (%v) with 100 goroutines running", err)
	default:
	}
	close(late)
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	if err := tr.Wait(context.Background()); err != nil {
		t.Fatalf("Wait with nothing running: %v", err)
	}
}

func TestTrackerWaitContext(t *testing.T) {
	t.Parallel()
	var tr tracker
	stop := make(chan struct{})
	defer close(stop)
	tr.Go(func() { <-stop })
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if err := tr.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want DeadlineExceeded", err)
	}
}
