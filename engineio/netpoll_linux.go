//go:build linux

package engineio

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// poller watches idle WebSocket connections for readability with one epoll
// instance and one goroutine for all of them, so that an idle connection
// costs no goroutine and no read buffer. When a connection becomes readable
// its ready function runs on a goroutine of its own, which reads what has
// arrived and returns; the connection is then watched again.
//
// Each watch is armed one-shot: an event disarms it until ready has
// returned, so at most one goroutine reads a connection at a time. Every
// epoll_ctl on a connection's descriptor runs inside syscall.RawConn.Control,
// which keeps the descriptor from being closed (and its number reused)
// meanwhile; events carry a generation number as well as the descriptor, so
// an event of a watch that has ended is never taken for a newer one.
type poller struct {
	// The epoll instance is itself watched by Go's network poller (an
	// epoll descriptor is readable while it has events): the loop parks
	// like any network read, with no thread blocked in epoll_wait.
	epfd int
	file *os.File // epfd, for Go's poller
	rc   syscall.RawConn
	done chan struct{}

	mu      sync.Mutex
	closed  bool
	gen     int32
	watches map[int32]*watch
}

// watch is one connection watched by a poller.
type watch struct {
	p     *poller
	rc    syscall.RawConn
	fd    int32
	gen   int32
	ready func(*watch) readResult // reads what is available
	ended func()                  // called once, when the watch ends

	// guarded by p.mu
	reading bool // ready is running
	stopped bool // stop was called
	over    bool // ended has been called (or is about to be)
}

// pollEvents are the events a watch waits for, re-armed after each one.
const pollEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, err
	}
	file := os.NewFile(uintptr(epfd), "epoll")
	rc, err := file.SyscallConn()
	if err != nil {
		file.Close()
		return nil, err
	}
	p := &poller{epfd: epfd, file: file, rc: rc, done: make(chan struct{}), watches: map[int32]*watch{}}
	go p.loop()
	return p, nil
}

// errNotPollable reports a connection without a file descriptor of its own
// (a TLS connection, a pipe in tests): it is read by a goroutine instead.
var errNotPollable = errors.New("engine.io: connection cannot be polled")

// add starts watching conn. ready runs on a new goroutine each time conn
// becomes readable; ended runs once when the watch ends: after stop, or
// when reading ended (readEnded), or when the watch cannot be re-armed. A
// ready that returns readMoved has passed its turn to another goroutine,
// which calls finish in its place. When add fails nothing is watched and
// neither function is ever called.
func (p *poller) add(rc syscall.RawConn, ready func(*watch) readResult, ended func()) (*watch, error) {
	if rc == nil {
		return nil, errNotPollable
	}
	w := &watch{p: p, rc: rc, ready: ready, ended: ended}
	var ctlErr error
	err := rc.Control(func(fd uintptr) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.closed {
			ctlErr = net.ErrClosed
			return
		}
		p.gen++
		w.fd, w.gen = int32(fd), p.gen
		p.watches[w.fd] = w
		ev := unix.EpollEvent{Events: pollEvents, Fd: w.fd, Pad: w.gen}
		if ctlErr = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev); ctlErr != nil {
			delete(p.watches, w.fd)
		}
	})
	if err == nil {
		err = ctlErr
	}
	if err != nil {
		return nil, err
	}
	return w, nil
}

// loop waits for events and starts a reading goroutine for each, until
// the poller is closed.
func (p *poller) loop() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 128)
	var (
		n    int
		werr error
	)
	wait := func(fd uintptr) bool {
		n, werr = unix.EpollWait(int(fd), events, 0)
		if werr == unix.EINTR {
			n, werr = 0, nil
		}
		return n > 0 || werr != nil
	}
	for {
		if err := p.rc.Read(wait); err != nil || werr != nil {
			return // closed
		}
		for _, ev := range events[:n] {
			if w := p.take(ev.Fd, ev.Pad); w != nil {
				go w.run()
			}
		}
		n = 0
	}
}

// take returns the watch an event is for, marked as reading, or nil when
// the event is stale.
func (p *poller) take(fd, gen int32) *watch {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := p.watches[fd]
	if w == nil || w.gen != gen || w.reading || w.stopped {
		return nil
	}
	w.reading = true
	return w
}

// run reads what is available, then re-arms the watch or ends it.
func (w *watch) run() {
	if r := w.ready(w); r != readMoved {
		w.finish(r == readAgain)
	}
}

// finish ends a turn of reading: it re-arms the watch, or with !ok (reading
// ended) ends it.
func (w *watch) finish(ok bool) {
	p := w.p
	p.mu.Lock()
	w.reading = false
	if !ok || w.stopped || p.closed {
		w.endLocked()
		return // endLocked unlocked p.mu
	}
	p.mu.Unlock()
	// Re-arm after clearing reading: an event may come at once.
	var ctlErr error
	err := w.rc.Control(func(fd uintptr) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.closed {
			ctlErr = net.ErrClosed
			return
		}
		ctlErr = w.modLocked(fd, pollEvents)
	})
	if err == nil && ctlErr == nil {
		return
	}
	p.mu.Lock()
	if w.reading { // re-armed by an earlier event: that reader ends it
		p.mu.Unlock()
		return
	}
	w.endLocked()
}

// lend gives the watch back to the poller while its reader does other
// work (runInline): the watch is armed again, so that an event starts a new
// reader meanwhile. It reports false when the watch could not be armed;
// the reader then keeps its turn.
func (w *watch) lend() bool {
	p := w.p
	var ctlErr error
	err := w.rc.Control(func(fd uintptr) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.closed || w.stopped {
			ctlErr = net.ErrClosed
			return
		}
		w.reading = false
		if ctlErr = w.modLocked(fd, pollEvents); ctlErr != nil {
			w.reading = true
		}
	})
	return err == nil && ctlErr == nil
}

// reclaim takes back a watch its reader lent, disarming it again. It
// reports false when an event came meanwhile (the turn is the new
// reader's) or the watch ended: the reader's turn is over.
func (w *watch) reclaim() bool {
	p := w.p
	claim := func(fd uintptr, disarm bool) bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		if w.reading || w.over {
			return false
		}
		w.reading = true
		if disarm && !p.closed {
			// Without EPOLLIN the watch reports nothing but a hang-up
			// or an error, which take drops while the turn is held.
			_ = w.modLocked(fd, unix.EPOLLONESHOT)
		}
		return true
	}
	var ok bool
	if err := w.rc.Control(func(fd uintptr) { ok = claim(fd, true) }); err != nil {
		ok = claim(0, false) // the descriptor is closed: the next read fails
	}
	return ok
}

// modLocked sets the events the watch waits for on its descriptor fd. p.mu
// must be held, inside w.rc.Control.
func (w *watch) modLocked(fd uintptr, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: w.fd, Pad: w.gen}
	return unix.EpollCtl(w.p.epfd, unix.EPOLL_CTL_MOD, int(fd), &ev)
}

// stop ends the watch, at once when no reader runs, else when it returns.
// The connection should be closed right after.
func (w *watch) stop() {
	p := w.p
	p.mu.Lock()
	w.stopped = true
	if w.reading {
		p.mu.Unlock()
		return
	}
	w.endLocked()
}

// endLocked removes the watch and calls ended, once. p.mu must be held; it
// is released.
func (w *watch) endLocked() {
	p := w.p
	if w.over {
		p.mu.Unlock()
		return
	}
	w.over = true
	if p.watches[w.fd] == w {
		delete(p.watches, w.fd)
	}
	closed := p.closed
	p.mu.Unlock()
	if !closed {
		_ = w.rc.Control(func(fd uintptr) {
			p.mu.Lock()
			if !p.closed {
				_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
			}
			p.mu.Unlock()
		})
	}
	w.ended()
}

// close stops the loop and releases the epoll instance. Watches still
// registered are not ended: their connections are being closed, and each
// ends its watch with stop.
func (p *poller) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true // no epoll_ctl from now on: the descriptor goes
	p.mu.Unlock()
	p.file.Close() // ends the loop's wait
	<-p.done
}

// maxIovecs is the most buffers one writev takes (IOV_MAX).
const maxIovecs = 1024

// rawWriter makes one non-blocking writev on a connection's descriptor. It
// is kept per connection so that a write allocates nothing.
type rawWriter struct {
	rc   syscall.RawConn
	bufs [][]byte
	n    int
	err  error
	fn   func(fd uintptr) bool
}

func newRawWriter(rc syscall.RawConn) *rawWriter {
	w := &rawWriter{rc: rc}
	w.fn = w.attempt
	return w
}

func (w *rawWriter) attempt(fd uintptr) bool {
	for {
		w.n, w.err = unix.Writev(int(fd), w.bufs)
		if w.err != unix.EINTR {
			return true // one attempt: never wait for the socket
		}
	}
}

// writeNow writes bufs with one non-blocking writev and returns how many
// bytes went out. It never waits: a full socket buffer gives 0 and no
// error. It must not be called concurrently.
func (w *rawWriter) writeNow(bufs [][]byte) (int, error) {
	if len(bufs) > maxIovecs {
		bufs = bufs[:maxIovecs]
	}
	w.bufs, w.n, w.err = bufs, 0, nil
	err := w.rc.Write(w.fn)
	n, werr := max(w.n, 0), w.err
	w.bufs, w.err = nil, nil
	if werr == unix.EAGAIN {
		werr = nil
	}
	if err == nil {
		err = werr
	}
	return n, err
}
