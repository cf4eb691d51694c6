package redis_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/parser"
)

// tally is a client that stays connected to one node: it records the
// values of the "s" events it gets and dials again whenever the node
// closes it (after a loss), counting those reconnections.
type tally struct {
	mu         sync.Mutex
	got        map[int]bool
	reconnects int
	stop       chan struct{}
	done       chan struct{}
}

func newTally(t *testing.T, n *node) *tally {
	tl := &tally{got: map[int]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	c := dial(t, n)
	go func() {
		defer close(tl.done)
		for {
			select {
			case <-tl.stop:
				return
			case p := <-c.packets:
				tl.record(p)
			case <-c.closed:
				for len(c.packets) > 0 { // what arrived before the close
					tl.record(<-c.packets)
				}
				if t.Context().Err() != nil { // the test's cleanup closed it
					return
				}
				tl.mu.Lock()
				tl.reconnects++
				tl.mu.Unlock()
				c = dial(t, n)
			}
		}
	}()
	t.Cleanup(func() { close(tl.stop); <-tl.done })
	return tl
}

// record notes the value of an "s" event.
func (tl *tally) record(p *parser.Packet) {
	name, args, err := p.Event()
	if err != nil || name != "s" || len(args) != 1 {
		return
	}
	var v int
	if args[0].Decode(&v) == nil {
		tl.mu.Lock()
		tl.got[v] = true
		tl.mu.Unlock()
	}
}

// has reports whether the client got v.
func (tl *tally) has(v int) bool {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return tl.got[v]
}

// stream has every node broadcast "s" events (node i sends i*1e6, i*1e6+1,
// ...) every interval to clients that stay connected, one per node, while
// cut runs; it reports per client how many of the events published after
// the start were lost, how often the client was disconnected, and the
// time from cut's start until every client got every node's events again
// (five in a row).
type stream struct {
	t        *testing.T
	nodes    []*node
	tallies  []*tally
	interval time.Duration

	mu     sync.Mutex
	sent   [][]int // by node
	failed int     // Emit errors
	stop   chan struct{}
	wg     sync.WaitGroup
}

func startStream(t *testing.T, nodes []*node, interval time.Duration) *stream {
	s := &stream{t: t, nodes: nodes, interval: interval, sent: make([][]int, len(nodes)), stop: make(chan struct{})}
	for _, n := range nodes {
		s.tallies = append(s.tallies, newTally(t, n))
	}
	for i, n := range nodes {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for v := i * 1_000_000; ; v++ {
				select {
				case <-s.stop:
					return
				case <-tick.C:
				}
				err := emit(n.ns(), "s", v)
				s.mu.Lock()
				if err != nil {
					s.failed++
				} else {
					s.sent[i] = append(s.sent[i], v)
				}
				s.mu.Unlock()
			}
		}()
	}
	t.Cleanup(s.halt)
	return s
}

func (s *stream) halt() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	s.wg.Wait()
}

// flowing reports whether every client got the last k events that each
// node published, k of them at least.
func (s *stream) flowing(k int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sent := range s.sent {
		if len(sent) < k {
			return false
		}
		for _, v := range sent[len(sent)-k:] {
			for _, tl := range s.tallies {
				if !tl.has(v) {
					return false
				}
			}
		}
	}
	return true
}

// streamResult is what a stream measured.
type streamResult struct {
	lost, reconnects []int
	published        int
	emitErrors       int
	whole            time.Duration
}

func (r streamResult) String() string {
	return fmt.Sprintf("%d broadcasts, %d refused at the sender; per client lost %v, reconnections %v; whole again %v after the cut",
		r.published, r.emitErrors, r.lost, r.reconnects, r.whole.Round(10*time.Millisecond))
}

// run waits for the stream to flow, runs cut, waits until it flows again
// and for 20 more events per node, then stops and counts.
func (s *stream) run(cut func()) streamResult {
	t := s.t
	t.Helper()
	waitFor(t, 20*time.Second, func() bool { return s.flowing(5) })
	start := time.Now()
	cut()
	s.mu.Lock()
	marks := make([]int, len(s.sent))
	for i := range s.sent {
		marks[i] = len(s.sent[i])
	}
	s.mu.Unlock()
	waitFor(t, 60*time.Second, func() bool { return s.flowing(5) && s.after(marks, 5) })
	r := streamResult{whole: time.Since(start)}
	s.mu.Lock()
	for i := range s.sent {
		marks[i] = len(s.sent[i])
	}
	s.mu.Unlock()
	waitFor(t, 60*time.Second, func() bool { return s.after(marks, 20) })
	s.halt()
	waitFor(t, 10*time.Second, func() bool { return s.flowing(1) })
	s.mu.Lock()
	defer s.mu.Unlock()
	r.emitErrors = s.failed
	for _, sent := range s.sent {
		r.published += len(sent)
	}
	for _, tl := range s.tallies {
		lost := 0
		for _, sent := range s.sent {
			for _, v := range sent {
				if !tl.has(v) {
					lost++
				}
			}
		}
		tl.mu.Lock()
		r.reconnects = append(r.reconnects, tl.reconnects)
		tl.mu.Unlock()
		r.lost = append(r.lost, lost)
	}
	return r
}

// after reports whether each node published k events since marks.
func (s *stream) after(marks []int, k int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, sent := range s.sent {
		if len(sent)-marks[i] < k {
			return false
		}
	}
	return true
}
