// Package config holds the settings of a Switchboard node and reads them
// from command-line flags and SWITCHBOARD_* environment variables. A flag
// given on the command line wins over its environment variable, which wins
// over the default.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-io/switchboard/internal/realip"
	"github.com/switchboard-io/switchboard/internal/whiteboard"
)

// Config is the configuration of `switchboard serve`.
type Config struct {
	// Listen is the public address: Socket.IO and the whiteboard page.
	Listen string
	// InternalListen serves /healthz, /readyz, /metrics and /debug/pprof.
	InternalListen string
	// NodeName names this node (shown on the whiteboard, used in logs).
	NodeName string
	// Path is the Socket.IO path.
	Path string
	// PingInterval and PingTimeout are the Engine.IO heartbeat settings.
	PingInterval, PingTimeout time.Duration
	// MaxPayload is the largest message or POST body in bytes.
	MaxPayload int64
	// MaxQueueBytes bounds each connection's outbound queue; a client that
	// falls further behind is disconnected ("slow client").
	MaxQueueBytes int
	// WriteDelay lets a WebSocket's packets wait this long for more before
	// they are written together (0: write at once).
	WriteDelay time.Duration
	// MaxAttachments bounds the binary attachments of one packet.
	MaxAttachments int
	// Parser is the Socket.IO packet format: "json" (default) or
	// "msgpack" (socket.io-msgpack-parser).
	Parser string
	// AllowEIO3 accepts Socket.IO v2 clients (Engine.IO v3), as Node's
	// allowEIO3 does.
	AllowEIO3 bool
	// ReadHeaderTimeout bounds reading a request's headers (slow-loris).
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes keep-alive HTTP connections idle this long.
	IdleTimeout time.Duration
	// HandshakeRate limits new sessions per client IP per second (0: no
	// limit).
	HandshakeRate float64
	// MaxSessionsPerIP bounds the open sessions of one client IP (0: no
	// limit).
	MaxSessionsPerIP int
	// TrustedProxies are the load balancers and reverse proxies whose word
	// on the client's address is believed (ForwardedHeader, and the PROXY
	// protocol with ProxyProtocol); empty trusts nobody, and the client is
	// the TCP peer.
	TrustedProxies realip.Proxies
	// ForwardedHeader is the header in which the trusted proxies pass the
	// client's address on: X-Forwarded-For or Forwarded.
	ForwardedHeader realip.Header
	// ProxyProtocol accepts PROXY protocol headers (v1 and v2) from the
	// trusted proxies on the public listener.
	ProxyProtocol bool
	// CORSCredentials allows credentials (cookies) on cross-origin
	// requests; it needs explicit origins, not "*".
	CORSCredentials bool
	// CORSOrigins lists the origins allowed to connect cross-origin ("*"
	// for any); empty disables CORS headers.
	CORSOrigins []string
	// Cookie, when set, names the cookie that carries the session id on the
	// polling handshake (Node's cookie option, for cookie-sticky balancers).
	Cookie string
	// LogLevel is debug, info, warn or error; LogFormat is text or json.
	LogLevel, LogFormat string
	// ShutdownGrace bounds the whole shutdown after SIGTERM.
	ShutdownGrace time.Duration
	// DrainWindow spreads the closing of existing connections over this
	// long after SIGTERM (zero closes them all at once).
	DrainWindow time.Duration
	// RedisURL, when set, makes the node a cluster member.
	RedisURL string
	// RedisKey is the key prefix of the Redis adapter's channels.
	RedisKey string
	// RedisSharded selects Redis 7 sharded pub/sub.
	RedisSharded bool
	// RedisTLSCert and RedisTLSKey are a client certificate and its key
	// for a Redis that requires one; RedisTLSCA the CAs trusted to sign
	// the server's certificate; RedisTLSServerName the name checked in
	// it. Any of them turns TLS on. The files are read again when they
	// change.
	RedisTLSCert, RedisTLSKey, RedisTLSCA, RedisTLSServerName string
	// StickinessFree serves sessions owned by other nodes (forwarding and
	// takeover), so any load balancer works without sticky sessions.
	StickinessFree bool
	// ClusterSecret authenticates requests between nodes.
	ClusterSecret string
	// AdvertiseAddr is the host:port other nodes reach this node's
	// internal listener at.
	AdvertiseAddr string
	// TakeoverWindow is how long a new polling session waits for its
	// WebSocket upgrade, which may land on another node, before the
	// application sees it.
	TakeoverWindow time.Duration
	// TakeoverWindowMax lets the window grow, up to it, when upgrades
	// arrive late (a busy node); at most TakeoverWindow disables that.
	TakeoverWindowMax time.Duration
	// Recovery turns connection state recovery on; with RedisURL it
	// selects the Redis Streams adapter, which keeps sessions and missed
	// events in Redis so that any node recovers any client.
	Recovery bool
	// RecoveryWindow is how long a disconnected client can recover.
	RecoveryWindow time.Duration
	// MemoryLimitRatio, when GOMEMLIMIT is unset, sets Go's soft memory
	// limit to this share of the container's memory limit (0: off).
	MemoryLimitRatio float64
	// SettleGC collects and returns freed memory to the OS once a burst of
	// new connections is over.
	SettleGC bool
	// DirectWebSocket serves WebSocket upgrades on the accepted connection
	// (engineio.UpgradeListener) instead of through net/http's server.
	DirectWebSocket bool
	// AdminUI serves the Socket.IO Admin UI's namespace (/admin) on the
	// public listener and the UI's page on the internal one.
	AdminUI bool
	// AdminUsername and AdminPasswordHash are the UI's credentials, from
	// --admin-auth user:bcrypt-hash; both empty means no authentication.
	AdminUsername, AdminPasswordHash string
	// AdminUIPath is where the internal listener serves the UI's page.
	AdminUIPath string
	// AdminMode is the instrumentation's mode: development or production.
	AdminMode string
	// MaxBoardEntries is the number of entries (strokes, clears) a
	// whiteboard board keeps; the oldest are dropped beyond it.
	MaxBoardEntries int
	// BoardTTL is how long a cluster (Redis) keeps a board after its last
	// write.
	BoardTTL time.Duration
	// MaxBoards is the number of boards a single node (no Redis) keeps in
	// memory; the least recently drawn on is dropped for a new one.
	MaxBoards int
}

// setting describes one flag and its environment variable.
type setting struct {
	name, env, usage string
	bind             func(fs *flag.FlagSet, name, usage string)
}

// Setting documents one setting: its flag, environment variable, default
// and meaning.
type Setting struct {
	Flag, Env, Default, Usage string
}

// Settings lists every setting in the order of the README's flags table.
func Settings() []Setting {
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	var out []Setting
	for _, s := range settings(&Config{}) {
		s.bind(fs, s.name, s.usage)
		out = append(out, Setting{Flag: s.name, Env: s.env, Default: fs.Lookup(s.name).DefValue, Usage: s.usage})
	}
	return out
}

func settings(c *Config) []setting {
	str := func(p *string, def string) func(*flag.FlagSet, string, string) {
		return func(fs *flag.FlagSet, n, u string) { fs.StringVar(p, n, def, u) }
	}
	dur := func(p *time.Duration, def time.Duration) func(*flag.FlagSet, string, string) {
		return func(fs *flag.FlagSet, n, u string) { fs.DurationVar(p, n, def, u) }
	}
	boolean := func(p *bool) func(*flag.FlagSet, string, string) {
		return func(fs *flag.FlagSet, n, u string) { fs.BoolVar(p, n, false, u) }
	}
	integer := func(p *int, def int) func(*flag.FlagSet, string, string) {
		return func(fs *flag.FlagSet, n, u string) { fs.IntVar(p, n, def, u) }
	}
	return []setting{
		{"listen", "SWITCHBOARD_LISTEN", "public address (Socket.IO and the whiteboard)", str(&c.Listen, ":3000")},
		{"internal-listen", "SWITCHBOARD_INTERNAL_LISTEN", "internal address: /healthz, /readyz, /metrics, /debug/pprof", str(&c.InternalListen, ":9090")},
		{"node-name", "SWITCHBOARD_NODE_NAME", "node name (default: the host name)", str(&c.NodeName, "")},
		{"path", "SWITCHBOARD_PATH", "Socket.IO path", str(&c.Path, "/socket.io/")},
		{"ping-interval", "SWITCHBOARD_PING_INTERVAL", "Engine.IO ping interval", dur(&c.PingInterval, 25*time.Second)},
		{"ping-timeout", "SWITCHBOARD_PING_TIMEOUT", "Engine.IO ping timeout", dur(&c.PingTimeout, 20*time.Second)},
		{"max-payload", "SWITCHBOARD_MAX_PAYLOAD", "largest message or POST body, bytes", func(fs *flag.FlagSet, n, u string) {
			fs.Int64Var(&c.MaxPayload, n, 1_000_000, u)
		}},
		{"max-queue-bytes", "SWITCHBOARD_MAX_QUEUE_BYTES", "outbound queue per connection, bytes; a client further behind is disconnected (slow client)", func(fs *flag.FlagSet, n, u string) {
			fs.IntVar(&c.MaxQueueBytes, n, 4<<20, u)
		}},
		{"write-delay", "SWITCHBOARD_WRITE_DELAY", "let a WebSocket's packets wait this long for more, to write them together: less CPU, more latency (0: write at once)", dur(&c.WriteDelay, 0)},
		{"max-attachments", "SWITCHBOARD_MAX_ATTACHMENTS", "binary attachments allowed in one packet", func(fs *flag.FlagSet, n, u string) {
			fs.IntVar(&c.MaxAttachments, n, 10, u)
		}},
		{"parser", "SWITCHBOARD_PARSER", "packet format spoken with clients: json (socket.io-parser) or msgpack (socket.io-msgpack-parser); clients must use the same", func(fs *flag.FlagSet, n, u string) {
			fs.StringVar(&c.Parser, n, "json", u)
		}},
		{"allow-eio3", "SWITCHBOARD_ALLOW_EIO3", "accept Socket.IO v2 clients (socket.io-client 2.x, Engine.IO v3), as Node's allowEIO3 does (off: refused, 400 code 5)", boolean(&c.AllowEIO3)},
		{"read-header-timeout", "SWITCHBOARD_READ_HEADER_TIMEOUT", "time allowed to read a request's headers (against slow-loris)", dur(&c.ReadHeaderTimeout, 10*time.Second)},
		{"idle-timeout", "SWITCHBOARD_IDLE_TIMEOUT", "close keep-alive HTTP connections idle this long (WebSockets are kept alive by pings)", dur(&c.IdleTimeout, 120*time.Second)},
		{"handshake-rate", "SWITCHBOARD_HANDSHAKE_RATE", "new sessions allowed per client IP per second, bursts of twice that (0: no limit)", func(fs *flag.FlagSet, n, u string) {
			fs.Float64Var(&c.HandshakeRate, n, 0, u)
		}},
		{"max-sessions-per-ip", "SWITCHBOARD_MAX_SESSIONS_PER_IP", "open sessions allowed per client IP; a handshake beyond is refused (403) until one closes (0: no limit)", func(fs *flag.FlagSet, n, u string) {
			fs.IntVar(&c.MaxSessionsPerIP, n, 0, u)
		}},
		{"trusted-proxies", "SWITCHBOARD_TRUSTED_PROXIES", "comma-separated CIDRs or addresses of the load balancers and proxies believed on the client's address (--forwarded-header, --proxy-protocol); empty: nobody, the client is the TCP peer", func(fs *flag.FlagSet, n, u string) {
			fs.Var(&c.TrustedProxies, n, u)
		}},
		{"forwarded-header", "SWITCHBOARD_FORWARDED_HEADER", "header in which the trusted proxies pass the client's address on: X-Forwarded-For (the default) or Forwarded (RFC 7239); the other is ignored", func(fs *flag.FlagSet, n, u string) {
			fs.Var(&c.ForwardedHeader, n, u)
		}},
		{"proxy-protocol", "SWITCHBOARD_PROXY_PROTOCOL", "accept the PROXY protocol (v1, v2: HAProxy's send-proxy, send-proxy-v2) from --trusted-proxies on the public listener; a connection from anyone else that starts with one is closed", boolean(&c.ProxyProtocol)},
		{"cors-origins", "SWITCHBOARD_CORS_ORIGINS", "comma-separated origins allowed cross-origin (* for any; empty: no CORS)", func(fs *flag.FlagSet, n, u string) {
			fs.Func(n, u, func(v string) error { c.CORSOrigins = splitList(v); return nil })
		}},
		{"cors-credentials", "SWITCHBOARD_CORS_CREDENTIALS", "allow cookies on cross-origin requests (needs --cors-origins without *), e.g. for cookie-sticky balancers", boolean(&c.CORSCredentials)},
		{"cookie", "SWITCHBOARD_COOKIE", "name of a cookie set to the session id on the polling handshake, for cookie-sticky balancers (Node's cookie option; empty: none)", str(&c.Cookie, "")},
		{"log-level", "SWITCHBOARD_LOG_LEVEL", "log level: debug, info, warn, error", str(&c.LogLevel, "info")},
		{"log-format", "SWITCHBOARD_LOG_FORMAT", "log format: text or json", str(&c.LogFormat, "text")},
		{"shutdown-grace", "SWITCHBOARD_SHUTDOWN_GRACE", "longest shutdown after SIGTERM", dur(&c.ShutdownGrace, 30*time.Second)},
		{"drain-window", "SWITCHBOARD_DRAIN_WINDOW", "spread the closing of connections over this long after SIGTERM", dur(&c.DrainWindow, 10*time.Second)},
		{"redis", "SWITCHBOARD_REDIS_URL", "Redis URL: join a cluster. redis://[user:pass@]host:port/db, rediss:// for TLS; more seeds (Redis Cluster nodes, Sentinels) as &addr=host:port, a Sentinel master as &master_set=name (see docs/redis.md)", str(&c.RedisURL, "")},
		{"redis-key", "SWITCHBOARD_REDIS_KEY", "key prefix of the Redis adapter's channels", str(&c.RedisKey, "socket.io")},
		{"redis-sharded", "SWITCHBOARD_REDIS_SHARDED", "use Redis 7 sharded pub/sub (SPUBLISH/SSUBSCRIBE)", boolean(&c.RedisSharded)},
		{"redis-tls-cert", "SWITCHBOARD_REDIS_TLS_CERT", "PEM client certificate for a Redis that requires one (tls-auth-clients), with --redis-tls-key; read again when it changes; turns TLS on", str(&c.RedisTLSCert, "")},
		{"redis-tls-key", "SWITCHBOARD_REDIS_TLS_KEY", "PEM private key of --redis-tls-cert", str(&c.RedisTLSKey, "")},
		{"redis-tls-ca", "SWITCHBOARD_REDIS_TLS_CA", "PEM CA certificates trusted for the Redis server's certificate (default: the system's); read again when it changes; turns TLS on", str(&c.RedisTLSCA, "")},
		{"redis-tls-server-name", "SWITCHBOARD_REDIS_TLS_SERVER_NAME", "name the Redis server's certificate must carry (default: the host of --redis); turns TLS on", str(&c.RedisTLSServerName, "")},
		{"stickiness-free", "SWITCHBOARD_STICKINESS_FREE", "serve sessions owned by other nodes, so no sticky sessions are needed (needs --redis and --cluster-secret)", boolean(&c.StickinessFree)},
		{"cluster-secret", "SWITCHBOARD_CLUSTER_SECRET", "secret that authenticates requests between nodes", str(&c.ClusterSecret, "")},
		{"advertise-addr", "SWITCHBOARD_ADVERTISE_ADDR", "host:port other nodes reach this node's internal listener at (default: the internal listener's address)", str(&c.AdvertiseAddr, "")},
		{"takeover-window", "SWITCHBOARD_TAKEOVER_WINDOW", "how long a new polling session waits for its WebSocket upgrade before the application sees it (stickiness-free mode)", dur(&c.TakeoverWindow, 300*time.Millisecond)},
		{"takeover-window-max", "SWITCHBOARD_TAKEOVER_WINDOW_MAX", "how far the takeover window may grow when upgrades arrive late (twice their recent 90th percentile; at most --takeover-window: fixed)", dur(&c.TakeoverWindowMax, 3*time.Second)},
		{"recovery", "SWITCHBOARD_RECOVERY", "connection state recovery: reconnecting clients get their session and missed events back (with --redis: the Redis Streams adapter, any node recovers any client)", boolean(&c.Recovery)},
		{"recovery-window", "SWITCHBOARD_RECOVERY_WINDOW", "how long a disconnected client can recover (with --recovery)", dur(&c.RecoveryWindow, 2*time.Minute)},
		{"memory-limit-ratio", "SWITCHBOARD_MEMORY_LIMIT_RATIO", "with GOMEMLIMIT unset, set Go's soft memory limit to this share of the container's memory limit (cgroup memory.max), so the GC works harder before the kernel's OOM killer does (0: off)", func(fs *flag.FlagSet, n, u string) {
			fs.Float64Var(&c.MemoryLimitRatio, n, 0.9, u)
		}},
		{"settle-gc", "SWITCHBOARD_SETTLE_GC", "after a burst of new connections (1,000 or more, then half a second without one), collect and return the burst's garbage to the OS at once instead of at Go's own pace (idle nodes keep it for minutes)", func(fs *flag.FlagSet, n, u string) {
			fs.BoolVar(&c.SettleGC, n, true, u)
		}},
		{"direct-websocket", "SWITCHBOARD_DIRECT_WEBSOCKET", "serve WebSocket upgrades on the accepted connection, without net/http's per-connection state: less memory and CPU per connection; everything else, TLS and HTTP/2 included, still goes to net/http (off: net/http serves all)", func(fs *flag.FlagSet, n, u string) {
			fs.BoolVar(&c.DirectWebSocket, n, true, u)
		}},
		{"admin-ui", "SWITCHBOARD_ADMIN_UI", "serve the Socket.IO Admin UI: its /admin namespace on the public listener, its page on the internal one (docs/admin-ui.md)", boolean(&c.AdminUI)},
		{"admin-auth", "SWITCHBOARD_ADMIN_AUTH", "the Admin UI's credentials as user:bcrypt-hash (htpasswd -nbB user password); empty: no authentication", func(fs *flag.FlagSet, n, u string) {
			fs.Func(n, u, func(v string) error { return c.setAdminAuth(v) })
		}},
		{"admin-ui-path", "SWITCHBOARD_ADMIN_UI_PATH", "where the internal listener serves the Admin UI's page (with --admin-ui)", str(&c.AdminUIPath, "/admin/")},
		{"admin-mode", "SWITCHBOARD_ADMIN_MODE", "Admin UI reports: development (every socket, room and event) or production (server statistics only)", str(&c.AdminMode, "development")},
		{"max-board-entries", "SWITCHBOARD_MAX_BOARD_ENTRIES", "entries (strokes, clears) a whiteboard board keeps; the oldest are dropped beyond it", integer(&c.MaxBoardEntries, whiteboard.DefaultMaxEntries)},
		{"board-ttl", "SWITCHBOARD_BOARD_TTL", "how long a cluster (--redis) keeps a board after its last stroke", dur(&c.BoardTTL, whiteboard.DefaultBoardTTL)},
		{"max-boards", "SWITCHBOARD_MAX_BOARDS", "boards a node without --redis keeps in memory; the least recently drawn on goes for a new one", integer(&c.MaxBoards, whiteboard.DefaultMaxBoards)},
	}
}

func splitList(v string) []string {
	var out []string
	for part := range strings.SplitSeq(v, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Parse reads the configuration from args (flags, without the program and
// subcommand names) and the environment given by getenv. Usage and errors
// go to out.
func Parse(args []string, getenv func(string) string, out io.Writer) (*Config, error) {
	c := &Config{}
	fs := flag.NewFlagSet("switchboard serve", flag.ContinueOnError)
	fs.SetOutput(out)
	list := settings(c)
	for _, s := range list {
		s.bind(fs, s.name, s.usage+" (env "+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, s := range list {
		if v := getenv(s.env); v != "" && !given[s.name] {
			if err := fs.Set(s.name, v); err != nil {
				return nil, fmt.Errorf("%s=%q: %w", s.env, v, err)
			}
		}
	}
	return c, c.finish()
}

// setAdminAuth reads --admin-auth: empty, or user:hash with a bcrypt hash.
func (c *Config) setAdminAuth(v string) error {
	if v == "" {
		c.AdminUsername, c.AdminPasswordHash = "", ""
		return nil
	}
	user, hash, ok := strings.Cut(v, ":")
	if !ok || user == "" {
		return errors.New("want user:bcrypt-hash")
	}
	if _, err := bcrypt.Cost([]byte(hash)); err != nil {
		return errors.New("the password must be given as a bcrypt hash ($2a$..., made by htpasswd -nbB user password), never in plain text")
	}
	c.AdminUsername, c.AdminPasswordHash = user, hash
	return nil
}

// finish fills derived defaults and validates.
func (c *Config) finish() error {
	if c.NodeName == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "switchboard"
		}
		c.NodeName = host
	}
	var errs []error
	if c.PingInterval <= 0 || c.PingTimeout <= 0 {
		errs = append(errs, errors.New("ping-interval and ping-timeout must be positive"))
	}
	if c.MaxPayload <= 0 || c.MaxQueueBytes <= 0 || c.MaxAttachments <= 0 || c.ReadHeaderTimeout <= 0 || c.IdleTimeout <= 0 {
		errs = append(errs, errors.New("max-payload, max-queue-bytes, max-attachments, read-header-timeout and idle-timeout must be positive"))
	}
	if c.CORSCredentials && (len(c.CORSOrigins) == 0 || slices.Contains(c.CORSOrigins, "*")) {
		errs = append(errs, errors.New("cors-credentials needs explicit --cors-origins (browsers refuse credentials with *)"))
	}
	if c.Parser != "json" && c.Parser != "msgpack" {
		errs = append(errs, fmt.Errorf("parser must be json or msgpack, not %q", c.Parser))
	}
	if c.HandshakeRate < 0 {
		errs = append(errs, errors.New("handshake-rate must not be negative"))
	}
	if c.MaxSessionsPerIP < 0 {
		errs = append(errs, errors.New("max-sessions-per-ip must not be negative"))
	}
	if c.ProxyProtocol && c.TrustedProxies.Empty() {
		errs = append(errs, errors.New("proxy-protocol needs --trusted-proxies (the balancers allowed to send it)"))
	}
	if c.WriteDelay < 0 {
		errs = append(errs, errors.New("write-delay must not be negative"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log-format %q: want text or json", c.LogFormat))
	}
	if !strings.HasPrefix(c.Path, "/") {
		errs = append(errs, fmt.Errorf("path %q must start with /", c.Path))
	}
	if c.ShutdownGrace <= 0 {
		errs = append(errs, errors.New("shutdown-grace must be positive"))
	}
	if (c.RedisTLSCert == "") != (c.RedisTLSKey == "") {
		errs = append(errs, errors.New("redis-tls-cert and redis-tls-key go together"))
	}
	if c.RedisURL == "" && c.RedisTLSCert+c.RedisTLSCA+c.RedisTLSServerName != "" {
		errs = append(errs, errors.New("the redis-tls-* settings need --redis"))
	}
	if c.StickinessFree && (c.RedisURL == "" || c.ClusterSecret == "") {
		errs = append(errs, errors.New("stickiness-free needs --redis and --cluster-secret"))
	}
	if c.StickinessFree && c.AdvertiseAddr == "" {
		host, _, err := net.SplitHostPort(c.InternalListen)
		if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
			errs = append(errs, errors.New("stickiness-free needs --advertise-addr when the internal listener has no specific host"))
		} else {
			c.AdvertiseAddr = c.InternalListen
		}
	}
	if c.MemoryLimitRatio < 0 || c.MemoryLimitRatio > 1 {
		errs = append(errs, errors.New("memory-limit-ratio must be between 0 and 1"))
	}
	if c.AdminMode != "development" && c.AdminMode != "production" {
		errs = append(errs, fmt.Errorf("admin-mode %q: want development or production", c.AdminMode))
	}
	if !strings.HasPrefix(c.AdminUIPath, "/") || !strings.HasSuffix(c.AdminUIPath, "/") || c.AdminUIPath == "/" {
		errs = append(errs, fmt.Errorf("admin-ui-path %q must start and end with / and not be /", c.AdminUIPath))
	}
	if c.RecoveryWindow <= 0 {
		errs = append(errs, errors.New("recovery-window must be positive"))
	}
	if c.MaxBoardEntries <= 0 || c.MaxBoards <= 0 {
		errs = append(errs, errors.New("max-board-entries and max-boards must be positive"))
	}
	if c.BoardTTL < time.Second {
		errs = append(errs, fmt.Errorf("board-ttl %v: must be at least 1s", c.BoardTTL))
	}
	if c.DrainWindow < 0 || c.DrainWindow >= c.ShutdownGrace {
		errs = append(errs, errors.New("drain-window must be at least 0 and shorter than shutdown-grace"))
	}
	return errors.Join(errs...)
}
