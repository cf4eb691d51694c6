package socketiotest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/socketio"
)

// DefaultTimeout bounds the waits of the helpers: Context's deadline and the
// shutdown at cleanup. It is an upper bound for what should happen much
// sooner, never a measure of speed: generous, for a busy machine.
const DefaultTimeout = 20 * time.Second

// Server is a socketio.Server served by a loopback httptest.Server.
type Server struct {
	*socketio.Server
	// HTTP is the underlying httptest server.
	HTTP *httptest.Server
	// URL is the Socket.IO endpoint, such as "http://127.0.0.1:1234/socket.io/".
	URL string
}

// NewServer starts a socketio.Server with opts on a loopback HTTP server.
// When the test ends, the server is shut down (its Shutdown must return
// within DefaultTimeout, or the test fails) and the HTTP server closed.
func NewServer(tb testing.TB, opts *socketio.Options) *Server {
	tb.Helper()
	return Serve(tb, socketio.NewServer(opts), false)
}

// NewTLSServer is NewServer over HTTPS.
func NewTLSServer(tb testing.TB, opts *socketio.Options) *Server {
	tb.Helper()
	return Serve(tb, socketio.NewServer(opts), true)
}

// Serve serves an existing server on a loopback HTTP (or HTTPS) server,
// with the same cleanup as NewServer.
func Serve(tb testing.TB, srv *socketio.Server, useTLS bool) *Server {
	tb.Helper()
	mux := http.NewServeMux()
	mux.Handle(srv.Path(), srv)
	hs := httptest.NewUnstartedServer(mux)
	if useTLS {
		hs.StartTLS()
	} else {
		hs.Start()
	}
	s := &Server{Server: srv, HTTP: hs, URL: hs.URL + srv.Path()}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, engineio.ErrServerClosed) {
			tb.Errorf("socketiotest: Shutdown: %v", err)
		}
		hs.Close()
	})
	return s
}

// Dial opens a raw client session over transport ("polling" or
// "websocket"), failing the test on error. The client is closed when the
// test ends. For an HTTPS server the client trusts the server's
// certificate.
func (s *Server) Dial(tb testing.TB, transport string, opts *DialOptions) *Client {
	tb.Helper()
	var o DialOptions
	if opts != nil {
		o = *opts
	}
	if s.HTTP.TLS != nil && o.TLSConfig == nil {
		o.TLSConfig = s.HTTP.Client().Transport.(*http.Transport).TLSClientConfig
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	c, err := Dial(ctx, s.URL, transport, &o)
	if err != nil {
		tb.Fatalf("socketiotest: dial %s: %v", transport, err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Connect dials over transport and joins namespace nsp with auth (see
// Client.Connect), failing the test on error.
func (s *Server) Connect(tb testing.TB, transport, nsp string, auth any) *Client {
	tb.Helper()
	c := s.Dial(tb, transport, nil)
	if _, err := c.Connect(Context(tb), nsp, auth); err != nil {
		tb.Fatalf("socketiotest: connect to %s over %s: %v", nsp, transport, err)
	}
	return c
}

// Context returns a context that ends after DefaultTimeout or when the test
// ends, for the reads of a test.
func Context(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	tb.Cleanup(cancel)
	return ctx
}

// Eventually calls cond until it returns nil, sleeping a little between
// calls, and fails the test with cond's last error if timeout passes first.
// Use it for state that settles asynchronously, such as room membership or
// disconnection, instead of sleeping a fixed time.
func Eventually(tb testing.TB, cond func() error, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	sleep := time.Millisecond
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("socketiotest: condition not met within %v: %v", timeout, err)
			return
		}
		time.Sleep(sleep)
		sleep = min(2*sleep, 20*time.Millisecond)
	}
}
