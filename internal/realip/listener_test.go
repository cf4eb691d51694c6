package realip

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// served is what the server side of one connection saw.
type served struct {
	remote string
	data   string
	err    error
	raw    error // SyscallConn's error once the data was read
}

// listen starts a Listener on 127.0.0.1 whose server side reads want
// bytes of each connection and reports them; refused gets the Refused
// calls.
func listen(t *testing.T, trusted string, timeout time.Duration, want int) (addr string, conns <-chan served, refused <-chan error) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ref := make(chan error, 10)
	l := &Listener{Listener: inner, Proxies: mustProxies(t, trusted), Timeout: timeout,
		Refused: func(_ net.Addr, err error) { ref <- err }}
	ch := make(chan served, 10)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s := served{remote: c.RemoteAddr().String()}
				buf := make([]byte, want)
				_, s.err = io.ReadFull(c, buf)
				s.data = string(buf)
				if s.err == nil {
					_, s.raw = c.(syscall.Conn).SyscallConn()
				}
				ch <- s
			}()
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return inner.Addr().String(), ch, ref
}

// send dials addr from the local address from and writes b.
func send(t *testing.T, addr, from string, b []byte) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestListenerTrustedPeer(t *testing.T) {
	t.Parallel()
	addr, conns, refused := listen(t, "127.0.0.1", 0, len(request))
	cases := []struct {
		name, from string
		header     []byte
		want       string
	}{
		{"v2", "127.0.0.1", encodeV2(t, header("203.0.113.7:4711", "10.0.0.1:3000"), nil), "203.0.113.7:4711"},
		{"v1", "127.0.0.1", encodeV1(t, header("[2001:db8::7]:4711", "[2001:db8::1]:3000")), "[2001:db8::7]:4711"},
		{"v2 LOCAL: the peer", "127.0.0.1", encodeV2(t, &ProxyHeader{Local: true}, nil), "127.0.0.1:"},
		{"no header: the peer", "127.0.0.1", nil, "127.0.0.1:"},
		{"untrusted peer without a header", "127.0.0.2", nil, "127.0.0.2:"},
	}
	for _, tc := range cases {
		c := send(t, addr, tc.from, append(tc.header, request...))
		s := <-conns
		if s.err != nil || s.data != request {
			t.Errorf("%s: read %q, %v", tc.name, s.data, s.err)
		}
		want := tc.want
		if want[len(want)-1] == ':' {
			want = c.LocalAddr().String()
		}
		if s.remote != want {
			t.Errorf("%s: RemoteAddr %s, want %s", tc.name, s.remote, want)
		}
		if s.raw != nil {
			t.Errorf("%s: SyscallConn after the buffered bytes were read: %v", tc.name, s.raw)
		}
	}
	select {
	case err := <-refused:
		t.Fatalf("refused: %v", err)
	default:
	}
}

func TestListenerRefuses(t *testing.T) {
	t.Parallel()
	addr, conns, refused := listen(t, "127.0.0.1", 0, len(request))
	cases := []struct {
		name, from string
		in         []byte
		want       error
	}{
		{"untrusted v2", "127.0.0.2", encodeV2(t, header("203.0.113.7:4711", "10.0.0.1:3000"), nil), ErrUntrustedProxyHeader},
		{"untrusted v1", "127.0.0.2", encodeV1(t, header("203.0.113.7:4711", "10.0.0.1:3000")), ErrUntrustedProxyHeader},
		{"untrusted v2 LOCAL", "127.0.0.2", encodeV2(t, &ProxyHeader{Local: true}, nil), ErrUntrustedProxyHeader},
		{"malformed from a trusted peer", "127.0.0.1", []byte("PROXY TCP4 nonsense\r\n"), nil},
	}
	for _, tc := range cases {
		c := send(t, addr, tc.from, append(tc.in, request...))
		err := <-refused
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: refused with %v, want %v", tc.name, err, tc.want)
		}
		if s := <-conns; s.err == nil {
			t.Errorf("%s: the server read %q", tc.name, s.data)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := c.Read(make([]byte, 1)); err == nil {
			t.Errorf("%s: the connection is open (%d bytes read)", tc.name, n)
		}
	}
}

// TestListenerTimeout: a peer that sends nothing is closed after Timeout;
// meanwhile the listener accepts and serves others.
func TestListenerTimeout(t *testing.T) {
	t.Parallel()
	addr, conns, refused := listen(t, "127.0.0.1", 300*time.Millisecond, len(request))
	silent := send(t, addr, "127.0.0.1", nil)
	send(t, addr, "127.0.0.1", []byte(request))
	if s := <-conns; s.err != nil || s.data != request {
		t.Fatalf("a connection behind a silent one: %q, %v", s.data, s.err)
	}
	if err := <-refused; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("refused with %v, want a deadline", err)
	}
	_ = silent.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err == nil {
		t.Fatal("the silent connection is still open")
	}
	if s := <-conns; s.err == nil {
		t.Fatal("the silent connection was read")
	}
}

// TestListenerBufferedRaw: while bytes read past the header wait in the
// buffer, the raw connection is refused (its reads would skip them).
func TestListenerBufferedRaw(t *testing.T) {
	t.Parallel()
	addr, conns, _ := listen(t, "127.0.0.1", 0, 3)
	send(t, addr, "127.0.0.1", append(encodeV2(t, header("203.0.113.7:1", "10.0.0.1:2"), nil), request...))
	s := <-conns
	if s.err != nil || s.data != "GET" || !errors.Is(s.raw, errBuffered) {
		t.Fatalf("read %q, %v; SyscallConn: %v", s.data, s.err, s.raw)
	}
}
