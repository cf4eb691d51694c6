//go:build !linux

package engineio

import (
	"errors"
	"syscall"
)

// On systems without epoll every WebSocket connection is read by a
// goroutine of its own and writes go through the flush goroutine.

type poller struct{}

type watch struct{}

var errNotPollable = errors.New("engine.io: connection cannot be polled")

func newPoller() (*poller, error) { return nil, errNotPollable }

func (p *poller) add(syscall.RawConn, func(*watch) readResult, func()) (*watch, error) {
	return nil, errNotPollable
}

func (p *poller) close() {}

func (w *watch) stop() {}

func (w *watch) finish(bool) {}

func (w *watch) lend() bool { return false }

func (w *watch) reclaim() bool { return true }

type rawWriter struct{}

func newRawWriter(syscall.RawConn) *rawWriter { return nil }

func (w *rawWriter) writeNow([][]byte) (int, error) { return 0, errNotPollable }
