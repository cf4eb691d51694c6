package engineio

import (
	"runtime"
	"sync"
	"time"
)

// writers are the goroutines that write WebSocket queues for the senders,
// one per core. Enqueue (and Send with a write delay) queues its packets
// and, when the connection has no write under way, puts the connection in
// line; a writer takes it, writes
// everything queued with one non-blocking writev and moves on. So a
// broadcast to thousands of connections costs the broadcaster a queue
// append per recipient, its writes run on every core, and a connection
// that receives faster than the writers get round to it has its packets
// batched into one write. A connection whose socket does not take
// everything at once gets a flush goroutine of its own, which waits.
type writers struct {
	delay time.Duration // Options.WriteDelay

	mu      sync.Mutex
	cond    sync.Cond
	line    []inLine // connections waiting for a writer, from line[head]
	head    int
	stopped bool
	done    sync.WaitGroup
}

// inLine is a connection waiting for a writer, not to be written before
// due (zero: at once). Writers take the line in order, so an entry waits
// for the due times of those ahead of it.
type inLine struct {
	c   *Conn
	due time.Time
}

// writerBatch is how many connections a writer takes from the line at once.
const writerBatch = 32

func newWriters(delay time.Duration) *writers {
	w := &writers{delay: delay}
	w.cond.L = &w.mu
	n := runtime.GOMAXPROCS(0)
	w.done.Add(n)
	for range n {
		go w.loop()
	}
	return w
}

// push puts c in line, to be written after the write delay.
// c.flushing, set by the caller, passes to the writer.
func (w *writers) push(c *Conn) {
	var due time.Time
	if w.delay > 0 {
		due = time.Now().Add(w.delay)
	}
	w.pushDue(c, due)
}

func (w *writers) pushDue(c *Conn, due time.Time) {
	w.mu.Lock()
	w.line = append(w.line, inLine{c, due})
	w.mu.Unlock()
	w.cond.Signal()
}

// take waits for connections in line and moves up to writerBatch of them
// to batch. It returns false once the writers are stopped and the line is
// empty.
func (w *writers) take(batch []inLine) ([]inLine, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.head == len(w.line) && !w.stopped {
		w.cond.Wait()
	}
	if w.head == len(w.line) {
		return batch, false
	}
	k := min(len(w.line)-w.head, writerBatch)
	batch = append(batch, w.line[w.head:w.head+k]...)
	clear(w.line[w.head : w.head+k])
	if w.head += k; w.head == len(w.line) {
		w.line, w.head = w.line[:0], 0
	}
	return batch, true
}

func (w *writers) loop() {
	defer w.done.Done()
	batch := make([]inLine, 0, writerBatch)
	for {
		var ok bool
		if batch, ok = w.take(batch[:0]); !ok {
			return
		}
		for i, e := range batch {
			if !e.due.IsZero() {
				if wait := time.Until(e.due); wait > 0 {
					time.Sleep(wait)
				}
			}
			e.c.writeQueued(w)
			batch[i] = inLine{}
		}
	}
}

// stop ends the writers once the line is empty.
func (w *writers) stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
	w.cond.Broadcast()
	w.done.Wait()
}

// writeQueued writes c's queue without waiting, for a writer or for Send.
// c.flushing is held; it passes on to a flush goroutine when the socket
// does not take everything, or to the writers' line when more was queued
// meanwhile.
func (c *Conn) writeQueued(w *writers) {
	c.mu.Lock()
	t := c.ws
	switch {
	case c.state == stateClosed || t == nil:
		c.flushing = false
		c.mu.Unlock()
		return
	case c.state == stateClosing || t.rw == nil:
		c.mu.Unlock()
		c.srv.goTracked(c.flushWebSocket) // closes once the queue is out
		return
	case len(c.queue) == 0:
		c.flushing = false
		c.mu.Unlock()
		return
	}
	packets := c.takeQueueLocked()
	c.mu.Unlock()
	n, done, err := t.writeNow(packets)
	c.srv.stats.packetsOut.Add(int64(len(packets)))
	c.srv.stats.bytesOut.Add(n)
	c.srv.stats.writerWrites.Add(1)
	c.recycleQueue(packets)
	if !done || err != nil {
		c.srv.stats.partialWrites.Add(1)
		c.srv.goTracked(c.flushWebSocket) // a write error shows again there
		return
	}
	c.mu.Lock()
	if len(c.queue) > 0 || c.state != stateOpen {
		c.mu.Unlock()
		w.pushDue(c, time.Time{}) // behind the others, who get their turn first
		return
	}
	c.flushing = false
	c.mu.Unlock()
}
