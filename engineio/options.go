package engineio

import (
	"log/slog"
	"net/http"
	"slices"
	"time"
)

// Transport names.
const (
	TransportPolling   = "polling"
	TransportWebSocket = "websocket"
)

// Options configure a Server. The zero value is valid: every zero field takes
// the default of Node's engine.io 6.6 where Node has one. NewServer copies the
// options; the caller's struct is never modified.
type Options struct {
	// PingInterval is the time between server pings. Zero means 25s.
	PingInterval time.Duration
	// PingTimeout is how long the server waits for a pong. Zero means 20s.
	PingTimeout time.Duration
	// UpgradeTimeout is the time allowed between the WebSocket opening and
	// the upgrade packet. Zero means 10s.
	UpgradeTimeout time.Duration
	// MaxHTTPBufferSize is the largest POST body and WebSocket message, in
	// bytes, also advertised as maxPayload. Zero means 1,000,000.
	MaxHTTPBufferSize int64
	// Transports lists the enabled transports. Nil means polling and websocket.
	Transports []string
	// DisableUpgrades stops polling sessions from upgrading (Node's
	// allowUpgrades: false).
	DisableUpgrades bool
	// AllowEIO3 accepts Engine.IO v3 clients (Socket.IO v2: handshakes
	// whose EIO parameter is not "4"), as Node's allowEIO3 does: their
	// polling payloads, binary frames and heartbeat (the client pings) are
	// v3's. Off, the default, refuses them with code 5 (Unsupported
	// protocol version).
	AllowEIO3 bool
	// AllowRequest, when set, is called for handshake requests only. A
	// non-nil error refuses the handshake with code 4 (Forbidden); the error
	// text becomes the message.
	AllowRequest func(r *http.Request) error
	// MaxSessionsPerAddress bounds the open sessions of one client address
	// (the host of the handshake request's RemoteAddr, which a resolver of
	// trusted proxies may have set): a handshake beyond it is refused with
	// code 4 (Forbidden). A session handed over by another node (Adopt)
	// counts but is never refused. Zero, the default, means no bound, as
	// in Node.
	MaxSessionsPerAddress int
	// CORS enables CORS headers and preflight answers. Nil means off.
	CORS *CORSOptions
	// Cookie, when set, makes the polling handshake set a cookie holding the
	// session id (for cookie-based sticky load balancers).
	Cookie *CookieOptions
	// HTTPCompressionThreshold is the smallest polling response, in bytes,
	// that is gzip- or deflate-compressed. Zero means 1024; negative disables
	// compression.
	HTTPCompressionThreshold int
	// PerMessageDeflate enables WebSocket compression. Nil means off.
	PerMessageDeflate *DeflateOptions
	// MaxQueueBytes bounds each connection's outbound queue. A connection
	// whose queue would grow beyond it is closed with reason "slow client".
	// Zero means 4 MiB.
	MaxQueueBytes int
	// ObserveQueue, when set, is called with the bytes waiting in a
	// connection's outbound queue each time they are taken to be written
	// (a WebSocket write, a polling response), with the connection's lock
	// held: it must be fast (a histogram's Observe). Nil means none.
	ObserveQueue func(bytes int)
	// WriteTimeout bounds one WebSocket write. Zero means 10s.
	WriteTimeout time.Duration
	// WriteDelay lets a WebSocket connection's packets wait up to this long
	// for more before they are written, so that one write carries several:
	// less CPU per packet for servers that send many small packets to each
	// client (frequent broadcasts), at the cost of that much latency. Zero,
	// the default, writes as soon as a writer is free; Node has no such
	// setting.
	WriteDelay time.Duration
	// CloseTimeout bounds how long a closing polling session waits for a GET
	// to deliver its close packet. Zero means 30s.
	CloseTimeout time.Duration
	// GenerateID returns a new session id. Nil means NewID.
	GenerateID func(r *http.Request) (string, error)
	// Logger receives diagnostic logs. Nil means slog.Default().
	Logger *slog.Logger
	// Router, when set, serves requests naming a session this server does
	// not hold (stickiness-free clusters: see package cluster).
	Router Router
	// OpenDelay holds a new polling session back from the Handler (OnOpen
	// and its messages wait) until it upgrades or OpenDelay passes, so that
	// a WebSocket upgrade landing on another node can take the session over
	// before the application has seen it. Zero opens at once, as Node does.
	OpenDelay time.Duration
	// MaxOpenDelay, when above OpenDelay, lets the hold adapt: new
	// sessions are held for twice the 90th percentile of how long after
	// their handshake recent upgrades arrived (late ones included),
	// between OpenDelay and MaxOpenDelay. A busy machine delays upgrades;
	// the hold follows, instead of letting them miss it.
	MaxOpenDelay time.Duration

	// upgradeCheck is the period of the noops that release a pending GET
	// during an upgrade. Zero means Node's 100 ms; tests set it.
	upgradeCheck time.Duration
}

// CORSOptions mirror the defaults of the npm cors package used by Node.
type CORSOptions struct {
	// Origins lists allowed origins; "*" allows any origin with a literal
	// "*" header. Empty means "*", as in the npm package. Ignored when
	// AllowOrigin is set.
	Origins []string
	// AllowOrigin decides per request; it overrides Origins.
	AllowOrigin func(origin string) bool
	// Credentials sets Access-Control-Allow-Credentials: true.
	Credentials bool
	// Methods answered to preflights. Nil means GET,HEAD,PUT,PATCH,POST,DELETE.
	Methods []string
	// AllowedHeaders answered to preflights. Nil reflects the request's
	// Access-Control-Request-Headers.
	AllowedHeaders []string
	// ExposedHeaders sets Access-Control-Expose-Headers.
	ExposedHeaders []string
	// MaxAge sets Access-Control-Max-Age on preflights when positive.
	MaxAge time.Duration
}

// CookieOptions configure the session cookie. Zero fields take Node's
// defaults: name "io", path "/", HttpOnly, SameSite=Lax.
type CookieOptions struct {
	Name        string
	Path        string
	NotHTTPOnly bool
	SameSite    http.SameSite
	Secure      bool
	Domain      string
	MaxAge      int
}

// DeflateOptions configure WebSocket permessage-deflate. The server always
// negotiates no context takeover in both directions, so compression keeps
// no per-connection state between messages.
type DeflateOptions struct {
	// Threshold is the smallest message, in bytes, that is compressed.
	// Zero means 1024.
	Threshold int
}

func (o *Options) withDefaults() Options {
	c := Options{}
	if o != nil {
		c = *o
	}
	setDefault(&c.PingInterval, 25*time.Second)
	setDefault(&c.PingTimeout, 20*time.Second)
	setDefault(&c.UpgradeTimeout, 10*time.Second)
	setDefault(&c.MaxHTTPBufferSize, 1_000_000)
	setDefault(&c.HTTPCompressionThreshold, 1024)
	setDefault(&c.MaxQueueBytes, 4<<20)
	setDefault(&c.WriteTimeout, 10*time.Second)
	setDefault(&c.CloseTimeout, 30*time.Second)
	setDefault(&c.upgradeCheck, 100*time.Millisecond)
	if c.Transports == nil {
		c.Transports = []string{TransportPolling, TransportWebSocket}
	} else {
		c.Transports = slices.Clone(c.Transports)
	}
	if c.GenerateID == nil {
		c.GenerateID = func(*http.Request) (string, error) { return NewID(), nil }
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.PerMessageDeflate != nil {
		d := *c.PerMessageDeflate
		setDefault(&d.Threshold, 1024)
		c.PerMessageDeflate = &d
	}
	return c
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

func (o *Options) transportEnabled(name string) bool {
	return slices.Contains(o.Transports, name)
}

// upgradesFor lists the upgrades advertised to a session on transport t.
func (o *Options) upgradesFor(t string) []string {
	if t != TransportPolling || o.DisableUpgrades || !o.transportEnabled(TransportWebSocket) {
		return []string{}
	}
	return []string{TransportWebSocket}
}
