package realip

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrUntrustedProxyHeader closes a connection that starts with a PROXY
// protocol header but does not come from a trusted proxy: anybody could
// claim any address with one.
var ErrUntrustedProxyHeader = errors.New("realip: PROXY protocol header from an untrusted peer")

// DefaultProxyHeaderTimeout is Listener.Timeout's zero value.
const DefaultProxyHeaderTimeout = 10 * time.Second

// Listener accepts connections that may start with a PROXY protocol header
// (v1 or v2). The RemoteAddr of a connection from a trusted proxy that
// sends one is the client's address the header names; one that sends none
// (or a v2 LOCAL header, as HAProxy's health checks do) keeps its own, so
// that one listener serves both a balancer speaking the PROXY protocol and
// direct connections. A connection from any other peer that starts with a
// PROXY header is closed; without one it is served as it is.
//
// Accept does not wait for the header: it is read on the connection's
// first Read or RemoteAddr, in the goroutine that serves it (net/http's),
// so a silent peer holds only its own connection, for Timeout at most.
type Listener struct {
	net.Listener
	// Proxies may send PROXY headers.
	Proxies Proxies
	// Timeout bounds the wait for the header, or for the first bytes that
	// show there is none. Zero means DefaultProxyHeaderTimeout.
	Timeout time.Duration
	// Refused, when set, is called for each connection closed because of
	// its header (untrusted, malformed, or too slow to arrive).
	Refused func(peer net.Addr, err error)
}

// Accept returns the next connection, its header not read yet.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &proxyConn{Conn: c, l: l}, nil
}

// proxyConn is a connection whose header is read once, first.
type proxyConn struct {
	net.Conn
	l *Listener

	once   sync.Once
	remote net.Addr
	err    error
	// br holds what was read past the header; nil once it is drained,
	// after which reads go to the connection directly.
	br atomic.Pointer[bufio.Reader]
}

func (c *proxyConn) init() {
	c.once.Do(func() {
		c.remote = c.Conn.RemoteAddr()
		err := c.readHeader()
		if err == nil {
			return
		}
		c.err = err
		_ = c.Conn.Close()
		if c.l.Refused != nil && !errors.Is(err, io.EOF) {
			c.l.Refused(c.remote, err)
		}
	})
}

func (c *proxyConn) readHeader() error {
	timeout := c.l.Timeout
	if timeout <= 0 {
		timeout = DefaultProxyHeaderTimeout
	}
	if err := c.Conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	br := bufio.NewReader(c.Conn)
	c.br.Store(br)
	v, err := peekSignature(br)
	if err != nil {
		return err
	}
	if v != 0 {
		if !c.l.Proxies.Trusts(addrPortOf(c.remote).Addr()) {
			return ErrUntrustedProxyHeader
		}
		h, err := ReadProxyHeader(br)
		if err != nil {
			return err
		}
		if !h.Local {
			c.remote = net.TCPAddrFromAddrPort(h.Source)
		}
	}
	return c.Conn.SetReadDeadline(time.Time{})
}

func addrPortOf(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// Read reads past the header.
func (c *proxyConn) Read(p []byte) (int, error) {
	c.init()
	if c.err != nil {
		return 0, c.err
	}
	if br := c.br.Load(); br != nil {
		if br.Buffered() > 0 {
			return br.Read(p)
		}
		c.br.Store(nil)
	}
	return c.Conn.Read(p)
}

// RemoteAddr returns the client's address: the header's, or the peer's.
func (c *proxyConn) RemoteAddr() net.Addr {
	c.init()
	return c.remote
}

// CloseWrite half-closes the connection, as net/http does before closing.
func (c *proxyConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}

// errBuffered refuses the raw connection while bytes read past the header
// wait in the buffer: reading the descriptor directly would skip them.
var errBuffered = errors.New("realip: bytes read past the PROXY header are still buffered")

// SyscallConn returns the raw connection (engineio polls WebSockets with
// it) once nothing read past the header waits in the buffer.
func (c *proxyConn) SyscallConn() (syscall.RawConn, error) {
	c.init()
	if br := c.br.Load(); br != nil && br.Buffered() > 0 {
		return nil, errBuffered
	}
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return sc.SyscallConn()
}
