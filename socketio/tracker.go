package socketio

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/switchboard-io/switchboard/engineio"
)

// tracker counts the goroutines the server starts, so that Shutdown can
// wait for them. Unlike a sync.WaitGroup, it lets goroutines start while
// Shutdown waits: a connection closing during Shutdown starts its socket's
// cleanup then.
type tracker struct {
	n    atomic.Int64
	mu   sync.Mutex
	idle chan struct{} // closed when n drops to zero; nil when nobody waits
}

// Go runs f on a tracked goroutine.
func (t *tracker) Go(f func()) {
	t.n.Add(1)
	go func() {
		defer t.done()
		f()
	}()
}

// GoOn runs f tracked on a goroutine of c's (engineio.Conn.Go): for work
// of a message c has just read, that is the goroutine that read it.
func (t *tracker) GoOn(c *engineio.Conn, f func()) {
	t.n.Add(1)
	c.Go(func() {
		defer t.done()
		f()
	})
}

func (t *tracker) done() {
	if t.n.Add(-1) != 0 {
		return
	}
	t.mu.Lock()
	if t.idle != nil && t.n.Load() == 0 {
		close(t.idle)
		t.idle = nil
	}
	t.mu.Unlock()
}

// Wait returns once no tracked goroutine runs, or with ctx's error.
func (t *tracker) Wait(ctx context.Context) error {
	t.mu.Lock()
	if t.n.Load() == 0 {
		t.mu.Unlock()
		return nil
	}
	if t.idle == nil {
		t.idle = make(chan struct{})
	}
	idle := t.idle
	t.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
