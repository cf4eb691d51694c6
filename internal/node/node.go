// Package node runs one Switchboard node: the Socket.IO server with the
// whiteboard app on the public listener, and health, readiness, metrics and
// pprof on the internal listener, with a graceful drain on shutdown.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/admin"
	"github.com/switchboard-io/switchboard/cluster"
	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/internal/config"
	"github.com/switchboard-io/switchboard/internal/realip"
	"github.com/switchboard-io/switchboard/internal/whiteboard"
	"github.com/switchboard-io/switchboard/socketio"
)

// Cluster is what joins a node to a cluster: the namespaces' adapter, and
// for stickiness-free mode the router that serves other nodes' sessions.
type Cluster struct {
	// Adapter creates each namespace's cluster adapter.
	Adapter adapter.Factory
	// Router, when set, makes the node stickiness-free.
	Router *cluster.Node
	// TakeoverWindow is engineio.Options.OpenDelay in stickiness-free mode.
	TakeoverWindow time.Duration
	// TakeoverWindowMax is engineio.Options.MaxOpenDelay in stickiness-free
	// mode.
	TakeoverWindowMax time.Duration
	// Boards keeps the whiteboard's boards for every node (nil: in this
	// node's memory).
	Boards whiteboard.Store
	// WriteMetrics adds the cluster's metrics to an exposition.
	WriteMetrics func(w MetricsWriter)
	// Close releases the cluster's resources, after the node has drained.
	Close func(ctx context.Context) error
}

// newBoards returns the store of the whiteboard's boards: the cluster's,
// or one in this node's memory bounded by cfg.
func newBoards(cfg *config.Config, cluster *Cluster) whiteboard.Store {
	if cluster != nil && cluster.Boards != nil {
		return cluster.Boards
	}
	return whiteboard.NewMemoryStore(whiteboard.MemoryOptions{MaxEntries: cfg.MaxBoardEntries, MaxBoards: cfg.MaxBoards})
}

// Node is one running Switchboard node.
type Node struct {
	cfg *config.Config
	log *slog.Logger

	io      *socketio.Server
	app     *whiteboard.App
	admin   *admin.Instrumentation // with --admin-ui
	hist    *histograms
	cluster *Cluster
	ready   atomic.Bool
	started time.Time
	// abandonedAfter is Drain's idle: abandonedAfter but in tests.
	abandonedAfter time.Duration

	public, internal     *http.Server
	publicLn, internalLn net.Listener
}

// New builds a node from cfg; cluster may be nil (a single node with the
// in-memory adapter).
func New(cfg *config.Config, log *slog.Logger, cluster *Cluster) *Node {
	n := &Node{cfg: cfg, log: log, cluster: cluster, started: time.Now(), abandonedAfter: abandonedAfter}
	eopts := engineio.Options{
		PingInterval: cfg.PingInterval, PingTimeout: cfg.PingTimeout,
		MaxHTTPBufferSize: cfg.MaxPayload, MaxQueueBytes: cfg.MaxQueueBytes, Logger: log,
		WriteDelay: cfg.WriteDelay, MaxSessionsPerAddress: cfg.MaxSessionsPerIP, AllowEIO3: cfg.AllowEIO3,
		// A draining node closes its sessions; one whose client never polls
		// again must not hold the shutdown for Node's 30 s (Drain closes
		// those it finds idle for abandonedAfter at once).
		CloseTimeout: 5 * time.Second,
	}
	if cfg.HandshakeRate > 0 {
		eopts.AllowRequest = newHandshakeLimiter(cfg.HandshakeRate).allow
	}
	if cfg.Cookie != "" {
		eopts.Cookie = &engineio.CookieOptions{Name: cfg.Cookie}
	}
	if len(cfg.CORSOrigins) > 0 {
		eopts.CORS = &engineio.CORSOptions{Origins: cfg.CORSOrigins, Credentials: cfg.CORSCredentials}
	}
	if cfg.AdminUI {
		eopts.CORS = n.adminCORS()
	}
	if cluster != nil && cluster.Router != nil {
		eopts.Router, eopts.GenerateID = cluster.Router, cluster.Router.GenerateID
		eopts.OpenDelay, eopts.MaxOpenDelay = cluster.TakeoverWindow, cluster.TakeoverWindowMax
	}
	n.hist = newHistograms()
	eopts.ObserveQueue = n.hist.observeQueue
	sopts := &socketio.Options{Engine: eopts, Path: cfg.Path, MaxAttachments: cfg.MaxAttachments, Logger: log,
		ServeClient: new(true), Observer: n.hist} // the browser client at /socket.io/socket.io.js, as Node serves it
	if cfg.Parser == "msgpack" {
		sopts.Parser = socketio.ParserMsgpack
	}
	if cfg.Recovery {
		sopts.ConnectionStateRecovery = &socketio.RecoveryOptions{MaxDisconnectionDuration: cfg.RecoveryWindow}
	}
	if cluster != nil {
		sopts.Adapter = cluster.Adapter
	}
	n.io = socketio.NewServer(sopts)
	if cluster != nil && cluster.Router != nil {
		cluster.Router.Attach(n.io.Engine())
	}
	wopts := whiteboard.Options{Node: cfg.NodeName, Store: newBoards(cfg, cluster)}
	n.app = whiteboard.Attach(n.io.Of("/"), wopts)
	if cfg.AdminUI {
		n.instrumentAdmin()
	}
	if log.Enabled(context.Background(), slog.LevelDebug) {
		n.io.Of("/").OnConnection(func(s *socketio.Socket) {
			log.Debug("socket connected", "socket", s.ID(), "address", s.Handshake().Address,
				"transport", s.Conn().Transport())
		})
	}

	mux := http.NewServeMux()
	mux.Handle(n.io.Path(), n.io)
	mux.Handle("/", whiteboard.Handler(cfg.NodeName))
	// The client's address replaces the proxy's first, so that the engine
	// (the handshake's address, a takeover's handoff), the handshake rate
	// limit and the logs all see the client.
	handler := realip.Resolver{Proxies: cfg.TrustedProxies, Header: cfg.ForwardedHeader}.Handler(mux)
	n.public = &http.Server{Handler: handler, ReadHeaderTimeout: cfg.ReadHeaderTimeout, IdleTimeout: cfg.IdleTimeout,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	n.internal = &http.Server{Handler: n.internalMux(), ReadHeaderTimeout: cfg.ReadHeaderTimeout}
	return n
}

// SocketIO returns the node's Socket.IO server.
func (n *Node) SocketIO() *socketio.Server { return n.io }

// Start opens both listeners and starts serving; the node is ready once it
// returns.
func (n *Node) Start() error {
	var err error
	if n.publicLn, err = net.Listen("tcp", n.cfg.Listen); err != nil {
		return fmt.Errorf("public listener: %w", err)
	}
	if n.cfg.ProxyProtocol {
		n.publicLn = &realip.Listener{Listener: n.publicLn, Proxies: n.cfg.TrustedProxies,
			Timeout: n.cfg.ReadHeaderTimeout, Refused: n.proxyHeaderRefused}
	}
	if n.cfg.DirectWebSocket {
		n.publicLn = engineio.NewUpgradeListener(n.publicLn, n.public.Handler, engineio.UpgradeListenerOptions{
			Path: n.cfg.Path, ReadHeaderTimeout: n.cfg.ReadHeaderTimeout, Logger: n.log})
	}
	if n.internalLn, err = net.Listen("tcp", n.cfg.InternalListen); err != nil {
		n.publicLn.Close()
		return fmt.Errorf("internal listener: %w", err)
	}
	go serve(n.public, n.publicLn, n.log)
	go serve(n.internal, n.internalLn, n.log)
	n.ready.Store(true)
	n.log.Info("switchboard node ready", "listen", n.publicLn.Addr().String(),
		"internal", n.internalLn.Addr().String(), "cluster", n.cluster != nil)
	return nil
}

// proxyHeaderRefused logs a connection closed for its PROXY protocol
// header: at warn level for a malformed header (only trusted proxies get
// that far: a misconfiguration), at debug level otherwise (an untrusted
// peer's header, a silent or vanished peer: anyone can cause those).
func (n *Node) proxyHeaderRefused(peer net.Addr, err error) {
	level := slog.LevelDebug
	if errors.Is(err, realip.ErrMalformedProxyHeader) {
		level = slog.LevelWarn
	}
	n.log.Log(context.Background(), level, "connection refused: PROXY protocol", "peer", peer.String(), "err", err)
}

func serve(s *http.Server, ln net.Listener, log *slog.Logger) {
	if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("http server stopped", "err", err)
	}
}

// Addr returns the public listener's address.
func (n *Node) Addr() net.Addr { return n.publicLn.Addr() }

// InternalAddr returns the internal listener's address.
func (n *Node) InternalAddr() net.Addr { return n.internalLn.Addr() }

// Ready reports whether the node accepts new connections.
func (n *Node) Ready() bool { return n.ready.Load() }

// Shutdown drains the node: readiness goes false and new handshakes are
// refused at once, existing connections are closed evenly over the drain
// window (a transport close: clients reconnect elsewhere) but for polling
// sessions whose client has stopped polling, closed at once (see Drain),
// then the servers stop. ctx bounds the whole shutdown.
func (n *Node) Shutdown(ctx context.Context) error {
	n.ready.Store(false)
	n.io.Engine().StopAccepting()
	n.log.Info("draining", "connections", n.io.Engine().Count(), "window", n.cfg.DrainWindow)
	Drain(ctx, n.io.Engine(), n.cfg.DrainWindow, n.abandonedAfter)
	n.app.Close()
	if n.admin != nil {
		n.admin.Close()
	}
	errs := []error{n.io.Shutdown(ctx)}
	errs = append(errs, n.public.Shutdown(ctx), n.internal.Shutdown(ctx))
	if n.cluster != nil && n.cluster.Close != nil {
		errs = append(errs, n.cluster.Close(ctx))
	}
	return errors.Join(errs...)
}

func (n *Node) internalMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !n.Ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("draining\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", n.metricsHandler())
	if n.cluster != nil && n.cluster.Router != nil {
		mux.Handle("/cluster/", n.cluster.Router.Handler())
	}
	if n.cfg.AdminUI {
		n.handleAdminUI(mux)
	}
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
