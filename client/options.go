package client

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gobwas/ws"
)

// Transport names, as they appear in Options.Transports and in the
// transport query parameter.
const (
	TransportPolling   = "polling"
	TransportWebSocket = "websocket"
)

// Options configure a Manager (and the sockets Dial creates). The zero value
// is valid and gives the defaults of Node's socket.io-client 4.8. The
// constructors copy the options; the caller's struct is never modified.
type Options struct {
	// Path is the server's Engine.IO path. Zero means "/socket.io/".
	Path string

	// Transports lists the transports in order: the first one opens the
	// connection; "websocket" listed after "polling" is the upgrade target.
	// Zero means polling then websocket (open with polling, then upgrade).
	// {"websocket"} connects with WebSocket only; {"polling"} never upgrades.
	Transports []string

	// Query holds extra query parameters sent with every request, after
	// the query of the URL given to NewManager or Dial.
	Query url.Values

	// Headers are added to every HTTP request and to the WebSocket
	// handshake, for example Cookie for sticky sessions or Authorization.
	Headers http.Header

	// HTTPClient sends the polling requests. Nil means a client of the
	// Manager's own, with its own connection pool, that dials from
	// LocalAddr; it is closed with the Manager. A client with a cookie jar
	// also supplies the jar's cookies to the WebSocket handshake.
	HTTPClient *http.Client

	// Dialer opens WebSocket connections. Nil means a default ws.Dialer.
	// When its NetDial is nil, LocalAddr is applied to it.
	Dialer *ws.Dialer

	// LocalAddr is the local address of the TCP connections the client
	// dials itself (polling with the default HTTPClient, WebSocket unless
	// Dialer.NetDial is set), for instance &net.TCPAddr{IP: 127.0.0.7} to
	// spread a load test over many source addresses. Nil lets the system
	// choose.
	LocalAddr net.Addr

	// Auth is the payload of the CONNECT packet of every socket that sets
	// no auth of its own (see SocketOptions). It must encode to a JSON
	// object (a struct, a map, json.RawMessage, ...). Nil sends none: the
	// server then sees {}.
	Auth any
	// AuthFunc, when set, is called before every (re)connection of a
	// socket that sets no auth of its own and its result is used as Auth.
	// Its context ends when the connection attempt is abandoned.
	AuthFunc func(ctx context.Context) (any, error)

	// NoReconnection disables automatic reconnection.
	NoReconnection bool
	// ReconnectionAttempts bounds the reconnection attempts after a
	// connection is lost or fails. Zero means unlimited.
	ReconnectionAttempts int
	// ReconnectionDelay is the delay before the first reconnection
	// attempt; it doubles with every attempt. Zero means 1s.
	ReconnectionDelay time.Duration
	// ReconnectionDelayMax caps the reconnection delay. Zero means 5s.
	ReconnectionDelayMax time.Duration
	// RandomizationFactor is the jitter of the reconnection delay: the
	// delay d becomes a random value in [d(1-f), d(1+f)]. Zero means 0.5;
	// a negative value disables the jitter.
	RandomizationFactor float64
	// Timeout bounds each connection attempt (Engine.IO handshake) and
	// each upgrade probe. Zero means 20s.
	Timeout time.Duration

	// SendBuffer bounds the events each socket buffers while it is not
	// connected, sent in order once it connects. Emit returns an error
	// wrapping ErrBufferFull beyond it. Zero means 1000; a negative value
	// disables buffering (Emit then fails with ErrBufferFull whenever the
	// socket is not connected).
	SendBuffer int

	// MaxQueuedBytes bounds the bytes waiting to be written on the
	// connection (a server that does not read fast enough). Emit returns
	// an error wrapping ErrBufferFull beyond it. Zero means 8 MiB.
	MaxQueuedBytes int
}

// config is Options with the defaults applied.
type config struct {
	Options
	upgrade bool // polling first, then websocket
}

const (
	defaultReconnectionDelay    = time.Second
	defaultReconnectionDelayMax = 5 * time.Second
	defaultRandomization        = 0.5
	defaultTimeout              = 20 * time.Second
	defaultSendBuffer           = 1000
	defaultMaxQueuedBytes       = 8 << 20
)

func (o *Options) withDefaults() config {
	var c config
	if o != nil {
		c.Options = *o
	}
	if c.Path == "" {
		c.Path = "/socket.io/"
	}
	c.Path = strings.TrimSuffix(c.Path, "/") + "/"
	if !strings.HasPrefix(c.Path, "/") {
		c.Path = "/" + c.Path
	}
	if len(c.Transports) == 0 {
		c.Transports = []string{TransportPolling, TransportWebSocket}
	}
	c.Transports = slices.Clone(c.Transports)
	c.upgrade = c.Transports[0] == TransportPolling && slices.Contains(c.Transports[1:], TransportWebSocket)
	if c.ReconnectionDelay <= 0 {
		c.ReconnectionDelay = defaultReconnectionDelay
	}
	if c.ReconnectionDelayMax <= 0 {
		c.ReconnectionDelayMax = defaultReconnectionDelayMax
	}
	if c.RandomizationFactor == 0 {
		c.RandomizationFactor = defaultRandomization
	} else if c.RandomizationFactor < 0 {
		c.RandomizationFactor = 0
	}
	c.RandomizationFactor = min(c.RandomizationFactor, 1)
	if c.Timeout <= 0 {
		c.Timeout = defaultTimeout
	}
	if c.SendBuffer == 0 {
		c.SendBuffer = defaultSendBuffer
	} else if c.SendBuffer < 0 {
		c.SendBuffer = 0
	}
	if c.MaxQueuedBytes <= 0 {
		c.MaxQueuedBytes = defaultMaxQueuedBytes
	}
	c.Headers = c.Headers.Clone()
	return c
}

// SocketOptions configure one namespace socket. Nil fields fall back to the
// Manager's Options.
type SocketOptions struct {
	// Auth is the CONNECT payload, as Options.Auth.
	Auth any
	// AuthFunc is called before every (re)connection, as Options.AuthFunc.
	AuthFunc func(ctx context.Context) (any, error)
}
