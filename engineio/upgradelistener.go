package engineio

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

// UpgradeListenerOptions configure NewUpgradeListener.
type UpgradeListenerOptions struct {
	// Path is the prefix of the requests served directly: WebSocket
	// upgrades (GET with "Upgrade: websocket") under it. Zero means
	// "/socket.io/".
	Path string
	// ReadHeaderTimeout bounds reading a request's head, as
	// http.Server.ReadHeaderTimeout does. Zero means 10s.
	ReadHeaderTimeout time.Duration
	// Logger receives the panics of the handler, which, as http.Server
	// does, the listener recovers from: the connection is closed and the
	// process goes on. Nil means slog.Default().
	Logger *slog.Logger
}

// headBufferSize is the read buffer of a request's head: a WebSocket
// upgrade whose head does not fit goes to net/http, as does anything else.
const headBufferSize = 4096

var headReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, headBufferSize) }}

// UpgradeListener is a net.Listener for an http.Server that serves
// WebSocket upgrades itself. A connection whose first request is a
// WebSocket upgrade under Options.Path is served by the handler directly,
// on the accepted connection, with a request read by http.ReadRequest and
// a response writer that hijacks: no net/http connection state, buffers or
// goroutine is kept or grown for it. Every other connection, with the
// bytes already read from it, is returned by Accept for the http.Server to
// serve as usual; so are TLS connections, untouched (HTTP/2 included).
//
// The handler is the http.Server's: middleware in front of the Engine.IO
// server runs for both paths. An upgrade the handler does not hijack (a
// refusal) gets its response and a closed connection.
type UpgradeListener struct {
	net.Listener
	handler http.Handler
	opts    UpgradeListenerOptions
	prefix  []byte // "GET " + Path

	handoff chan net.Conn
	errc    chan error
	done    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

// NewUpgradeListener returns a listener over ln that serves the WebSocket
// upgrades of its connections with h, and hands every other connection to
// its caller. Pass it to http.Server.Serve with the same handler.
func NewUpgradeListener(ln net.Listener, h http.Handler, opts UpgradeListenerOptions) *UpgradeListener {
	if opts.Path == "" {
		opts.Path = "/socket.io/"
	}
	if opts.ReadHeaderTimeout <= 0 {
		opts.ReadHeaderTimeout = 10 * time.Second
	}
	l := &UpgradeListener{Listener: ln, handler: h, opts: opts, prefix: []byte("GET " + opts.Path),
		handoff: make(chan net.Conn), errc: make(chan error), done: make(chan struct{})}
	go l.acceptLoop()
	return l
}

// Accept returns the next connection that is not a WebSocket upgrade under
// the path, with its first bytes still to be read.
func (l *UpgradeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.handoff:
		return c, nil
	case err := <-l.errc:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close closes the listener. Upgrades already served are not affected;
// connections still being read are closed.
func (l *UpgradeListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() { close(l.done) })
	return err
}

// Wait blocks until no connection is being read or served by the
// listener itself (after Close, to let them finish).
func (l *UpgradeListener) Wait() { l.wg.Wait() }

func (l *UpgradeListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			var ne net.Error
			select {
			case l.errc <- err: // Accept's caller decides (http.Server retries temporary errors)
			case <-l.done:
				return
			}
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if _, ok := c.(*tls.Conn); ok {
			l.handOver(c)
			continue
		}
		l.wg.Add(1)
		go l.serveConn(c)
	}
}

// handOver gives c to Accept's caller, or closes it once the listener is
// closed.
func (l *UpgradeListener) handOver(c net.Conn) {
	select {
	case l.handoff <- c:
	case <-l.done:
		c.Close()
	}
}

// serveConn reads c's first request head and serves it when it is an
// upgrade under the path; otherwise it hands c over with what was read.
func (l *UpgradeListener) serveConn(c net.Conn) {
	defer l.wg.Done()
	br := headReaders.Get().(*bufio.Reader)
	br.Reset(c)
	_ = c.SetReadDeadline(time.Now().Add(l.opts.ReadHeaderTimeout))
	head, complete := readHead(br)
	if !complete && len(head) < headBufferSize {
		// The deadline passed, or the client closed or failed, before a
		// whole head: net/http would only give a slow client its own
		// ReadHeaderTimeout again.
		br.Reset(nil)
		headReaders.Put(br)
		c.Close()
		return
	}
	if !complete || !l.isUpgrade(head) {
		// Not ours (another request, or a head too big for the buffer):
		// net/http serves it, from its first byte.
		read := bytes.Clone(head)
		br.Reset(nil)
		headReaders.Put(br)
		_ = c.SetReadDeadline(time.Time{})
		l.handOver(&replayConn{Conn: c, pending: read})
		return
	}
	req, err := http.ReadRequest(br)
	if err != nil {
		br.Reset(nil)
		headReaders.Put(br)
		writeStatus(c, http.StatusBadRequest)
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	req.RemoteAddr = c.RemoteAddr().String()
	req = req.WithContext(context.WithValue(context.Background(), http.LocalAddrContextKey, c.LocalAddr()))
	w := &upgradeResponse{conn: c, br: br, header: http.Header{}}
	if l.serve(w, req) {
		w.finish()
	}
}

// serve runs the handler, recovering from a panic as http.Server does: the
// panic is logged (unless it is http.ErrAbortHandler), the connection
// closed unless hijacked, and false returned.
func (l *UpgradeListener) serve(w *upgradeResponse, r *http.Request) (ok bool) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v != http.ErrAbortHandler {
			log := l.opts.Logger
			if log == nil {
				log = slog.Default()
			}
			log.Error("engine.io: panic serving a WebSocket upgrade", "remote", r.RemoteAddr, "panic", v, "stack", string(debug.Stack()))
		}
		if !w.hijacked {
			w.conn.Close()
		}
		ok = false
	}()
	l.handler.ServeHTTP(w, r)
	return true
}

// readHead reads from br until it holds a whole request head (up to the
// blank line), the buffer is full, or reading fails. It returns what br
// holds (unread) and whether that has a whole head.
func readHead(br *bufio.Reader) (head []byte, complete bool) {
	for {
		_, err := br.Peek(br.Buffered() + 1) // reads once more
		b, _ := br.Peek(br.Buffered())
		if bytes.Contains(b, []byte("\r\n\r\n")) {
			return b, true
		}
		if err != nil { // a full buffer (bufio.ErrBufferFull), EOF, a deadline
			return b, false
		}
	}
}

// isUpgrade reports whether head is a GET under the path that asks for a
// WebSocket.
func (l *UpgradeListener) isUpgrade(head []byte) bool {
	if !bytes.HasPrefix(head, l.prefix) {
		return false
	}
	for line := range bytes.SplitSeq(head, []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(name), []byte("Upgrade")) {
			return bytes.EqualFold(bytes.TrimSpace(value), []byte("websocket"))
		}
	}
	return false
}

// replayConn is a connection whose first bytes were already read: Read
// returns them first.
type replayConn struct {
	net.Conn
	pending []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// hijackWriterSize is the buffer of a hijacked connection's writer: a 101
// with its usual headers fits.
const hijackWriterSize = 256

// upgradeResponse is the http.ResponseWriter of a request served by an
// UpgradeListener: an http.Hijacker for the upgrade, or a plain HTTP/1.1
// response followed by a close for anything else.
type upgradeResponse struct {
	conn     net.Conn
	br       *bufio.Reader
	header   http.Header
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (w *upgradeResponse) Header() http.Header { return w.header }

func (w *upgradeResponse) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *upgradeResponse) Write(p []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// Hijack hands the connection over. The reader holds what the client sent
// after the request (a client that did not wait for the 101); without any,
// a minimal reader is returned and the head buffer goes back to its pool.
func (w *upgradeResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	w.hijacked = true
	br := w.br
	if br.Buffered() == 0 {
		br.Reset(nil)
		headReaders.Put(br)
		br = bufio.NewReaderSize(w.conn, 16)
	}
	w.br = nil
	return w.conn, bufio.NewReadWriter(br, bufio.NewWriterSize(w.conn, hijackWriterSize)), nil
}

// finish writes the response of a request that was not hijacked, then
// closes the connection.
func (w *upgradeResponse) finish() {
	if w.hijacked {
		return
	}
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var out bytes.Buffer
	out.WriteString("HTTP/1.1 " + strconv.Itoa(w.status) + " " + http.StatusText(w.status) + "\r\n")
	w.header.Set("Content-Length", strconv.Itoa(w.body.Len()))
	w.header.Set("Connection", "close")
	_ = w.header.Write(&out)
	out.WriteString("\r\n")
	out.Write(w.body.Bytes())
	_, _ = w.conn.Write(out.Bytes())
	w.conn.Close()
	w.br.Reset(nil)
	headReaders.Put(w.br)
}

// writeStatus answers a request that could not be parsed.
func writeStatus(c net.Conn, code int) {
	_, _ = c.Write([]byte("HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) +
		"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
}
