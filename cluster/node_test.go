package cluster

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// gatedRegistry is a MemoryRegistry whose Deregister announces itself on
// entered and then waits for release, returning err.
type gatedRegistry struct {
	*MemoryRegistry
	entered chan struct{}
	release chan struct{}
	err     error
}

func (g *gatedRegistry) Deregister(ctx context.Context, tag string) error {
	g.entered <- struct{}{}
	<-g.release
	_ = g.MemoryRegistry.Deregister(ctx, tag)
	return g.err
}

func newTestNode(t *testing.T, reg Registry) *Node {
	t.Helper()
	n, err := New(Options{AdvertiseAddr: "127.0.0.1:1", Secret: []byte("s"), Registry: reg, TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCloseConcurrent closes started nodes from many goroutines at once:
// no call may panic (a channel closed twice), and every call must see the
// registration gone once it returns.
func TestCloseConcurrent(t *testing.T) {
	t.Parallel()
	reg := NewMemoryRegistry()
	for range 50 {
		n := newTestNode(t, reg)
		if err := n.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if err := n.Close(context.Background()); err != nil {
					t.Errorf("Close: %v", err)
				}
				if _, err := reg.Lookup(context.Background(), n.Tag()); !errors.Is(err, ErrUnknownNode) {
					t.Errorf("Lookup after Close = %v, want ErrUnknownNode", err)
				}
			}()
		}
		close(start)
		wg.Wait()
	}
}

// TestCloseWaitsForFirst checks that a second Close does not report the
// node closed while the first is still deregistering, and that later calls
// return the first call's result.
func TestCloseWaitsForFirst(t *testing.T) {
	t.Parallel()
	boom := errors.New("registry unreachable")
	reg := &gatedRegistry{MemoryRegistry: NewMemoryRegistry(), entered: make(chan struct{}),
		release: make(chan struct{}), err: boom}
	n := newTestNode(t, reg)
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() { first <- n.Close(context.Background()) }()
	<-reg.entered

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := n.Close(canceled); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close during the first Close = %v, want context.Canceled (it must wait for the first)", err)
	}
	close(reg.release)
	if err := <-first; !errors.Is(err, boom) {
		t.Fatalf("first Close = %v, want %v", err, boom)
	}
	if err := n.Close(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("Close after the first = %v, want its result %v", err, boom)
	}
	if err := n.Start(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close = %v, want context.Canceled", err)
	}
}

// TestCloseUnstarted checks that closing a node that never started returns
// at once instead of waiting for a renewal that never ran.
func TestCloseUnstarted(t *testing.T) {
	t.Parallel()
	n := newTestNode(t, NewMemoryRegistry())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Close(ctx); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Close of an unstarted node waited for its context to end")
	}
}
