package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/internal/clientdist"
)

// Observer is told of timings as they happen (the binary feeds its
// /metrics histograms with them). Its methods run on the server's
// goroutines, concurrently: they must be fast and safe for concurrent use.
type Observer interface {
	// Broadcast reports how long handing one broadcast to the adapter
	// took: queueing it to this node's recipients and, with a cluster
	// adapter, publishing it.
	Broadcast(d time.Duration)
	// AckRoundTrip reports the time from sending an event that expects an
	// ack to a client to that client's ack.
	AckRoundTrip(d time.Duration)
}

// Options configure a Server. The zero value is valid and gives Node's
// socket.io 4.8 defaults. NewServer copies the options.
type Options struct {
	// Engine configures the Engine.IO layer.
	Engine engineio.Options
	// Path is where ServeHTTP serves Socket.IO. Zero means "/socket.io/".
	Path string
	// ConnectTimeout closes connections that join no namespace in time.
	// Zero means 45s.
	ConnectTimeout time.Duration
	// MaxAttachments bounds the binary attachments of one packet (with
	// ParserMsgpack, its binary values). Zero means 10.
	MaxAttachments int
	// Parser is the packet format spoken with clients: ParserJSON (the
	// default, Node's socket.io-parser) or ParserMsgpack (Node's
	// socket.io-msgpack-parser). As in Node, one server speaks one; its
	// clients must use the same. Adapters exchange packets in their own
	// format, so nodes with different parsers share a cluster.
	Parser Parser
	// Adapter creates each namespace's adapter. Nil means the in-memory
	// adapter.
	Adapter adapter.Factory
	// AckTimeout bounds the wait for acks (EmitWithAck, of a socket or a
	// broadcast) that set no timeout and whose context has no deadline.
	// Zero means 10s.
	AckTimeout time.Duration
	// PublishTimeout bounds the hand-over of a broadcast to the adapter
	// (for a cluster adapter, a publish to Redis) when the caller's
	// context has no deadline: a broadcast Emit, and Socket.Emit with
	// connection state recovery on (its emits are logged through the
	// adapter). Zero means 10s.
	PublishTimeout time.Duration
	// MaxPendingEvents bounds the events queued for one socket's handlers;
	// a client that floods a slow handler beyond it is disconnected.
	// Zero means 10,000.
	MaxPendingEvents int
	// ConnectionStateRecovery, when set, enables connection state recovery.
	// With no Adapter given, the in-memory adapter then keeps sessions and
	// missed packets; a cluster adapter must implement
	// adapter.SessionStore for recovery to work.
	ConnectionStateRecovery *RecoveryOptions
	// CleanupEmptyChildNamespaces removes a dynamic namespace's child when
	// its last socket leaves.
	CleanupEmptyChildNamespaces bool
	// Logger receives diagnostic logs. Nil means slog.Default().
	Logger *slog.Logger
	// Observer, when set, is told of timings as they happen, to feed
	// histograms. Nil means none.
	Observer Observer
	// ServeClient, Node's serveClient, serves the official browser client
	// below Path, as Node does: socket.io.js, socket.io.min.js,
	// socket.io.esm.min.js, socket.io.msgpack.min.js and their .map files,
	// from the socket.io-client package pinned in package.json, with
	// Node's ETag and cache headers. Nil means true, Node's default;
	// new(false) turns it off. The bundles are embedded when the module's
	// assets were built (make assets); a server built without them
	// answers these paths 503 with how to build them.
	ServeClient *bool
}

func (o *Options) withDefaults() Options {
	c := Options{}
	if o != nil {
		c = *o
	}
	if c.Path == "" {
		c.Path = "/socket.io/"
	}
	c.Path = strings.TrimSuffix(c.Path, "/") + "/"
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 45 * time.Second
	}
	if c.MaxAttachments == 0 {
		c.MaxAttachments = 10
	}
	if c.ConnectionStateRecovery != nil {
		r := *c.ConnectionStateRecovery
		if r.MaxDisconnectionDuration == 0 {
			r.MaxDisconnectionDuration = 2 * time.Minute
		}
		c.ConnectionStateRecovery = &r
		if c.Adapter == nil {
			c.Adapter = adapter.NewRecoveringMemory(r.MaxDisconnectionDuration)
		}
	}
	if c.Adapter == nil {
		c.Adapter = adapter.NewMemory
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = 10 * time.Second
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = 10 * time.Second
	}
	if c.MaxPendingEvents == 0 {
		c.MaxPendingEvents = 10_000
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Engine.Logger == nil {
		c.Engine.Logger = c.Logger
	}
	return c
}

// Server is a Socket.IO v4 server. It is an http.Handler serving Options.Path.
type Server struct {
	opts   Options
	engine *engineio.Server
	log    *slog.Logger

	mu      sync.RWMutex
	nsps    map[string]*Namespace
	parents []*ParentNamespace

	goroutines tracker
	stats      counters

	stopCtx atomic.Pointer[context.Context] // Shutdown's context, once called

	hooksMu  sync.Mutex                         // serialises OnNamespace
	nspHooks atomic.Pointer[[]func(*Namespace)] // see OnNamespace

	testHookRestoreWaits func() // tests: a restore waits for a previous socket
}

// stopContext is the context of a Shutdown in progress (work done for
// closing sockets must not outlive it), or context.Background().
func (s *Server) stopContext() context.Context {
	if p := s.stopCtx.Load(); p != nil {
		return *p
	}
	return context.Background()
}

// NewServer returns a server with the main namespace "/" created.
func NewServer(opts *Options) *Server {
	o := opts.withDefaults()
	s := &Server{opts: o, log: o.Logger, nsps: make(map[string]*Namespace)}
	s.engine = engineio.NewServer(engineHandler{s}, &o.Engine)
	s.Of("/")
	return s
}

// Engine returns the underlying Engine.IO server.
func (s *Server) Engine() *engineio.Server { return s.engine }

// ServeHTTP serves Socket.IO requests under Options.Path and answers 404
// elsewhere.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, s.opts.Path) {
		http.NotFound(w, r)
		return
	}
	if name := r.URL.Path[len(s.opts.Path):]; (s.opts.ServeClient == nil || *s.opts.ServeClient) && clientdist.IsFile(name) {
		clientdist.Serve(w, r, name)
		return
	}
	s.engine.ServeHTTP(w, r)
}

// Path returns the path the server serves.
func (s *Server) Path() string { return s.opts.Path }

// Of returns the namespace with the given name, creating it if needed.
// Names get a leading "/" if they lack one.
func (s *Server) Of(name string) *Namespace {
	name = normalizeNamespace(name)
	s.mu.Lock()
	if ns := s.nsps[name]; ns != nil {
		s.mu.Unlock()
		return ns
	}
	ns := newNamespace(s, name, nil)
	s.nsps[name] = ns
	hooks := s.newNamespaceHooks()
	s.mu.Unlock()
	runNamespaceHooks(hooks, ns)
	return ns
}

func normalizeNamespace(name string) string {
	if !strings.HasPrefix(name, "/") {
		return "/" + name
	}
	return name
}

// OfRegexp returns a parent namespace: any namespace whose name matches re
// is created on demand as its child.
func (s *Server) OfRegexp(re *regexp.Regexp) *ParentNamespace {
	return s.OfFunc(func(name string, _ json.RawMessage) bool { return re.MatchString(name) })
}

// OfFunc returns a parent namespace: any namespace for which match returns
// true (given the name and the client's auth payload) is created on demand
// as its child.
func (s *Server) OfFunc(match func(name string, auth json.RawMessage) bool) *ParentNamespace {
	p := &ParentNamespace{srv: s, match: match, children: map[string]*Namespace{}}
	s.mu.Lock()
	s.parents = append(s.parents, p)
	s.mu.Unlock()
	return p
}

// namespaceFor finds or creates (for a matching parent) the namespace a
// client asks to connect to.
func (s *Server) namespaceFor(name string, auth json.RawMessage) *Namespace {
	s.mu.RLock()
	ns := s.nsps[name]
	parents := s.parents
	s.mu.RUnlock()
	if ns != nil {
		return ns
	}
	for _, p := range parents {
		if p.match(name, auth) {
			return p.child(name)
		}
	}
	return nil
}

// Shutdown stops the server in order: the engine stops accepting new
// sessions; every socket is closed with reason "server shutting down" (its
// disconnect handlers run, and with recovery its session is persisted);
// the Engine.IO server closes its connections; Shutdown waits for every
// goroutine the server started; then the adapters close. It returns when
// that is done or ctx ends (with ctx's error). Call http.Server.Shutdown
// first when the server is mounted on one (see the example), so that no
// request is being served meanwhile.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopCtx.CompareAndSwap(nil, &ctx)
	s.engine.StopAccepting()
	s.mu.RLock()
	nsps := make([]*Namespace, 0, len(s.nsps))
	for _, ns := range s.nsps {
		nsps = append(nsps, ns)
	}
	for _, p := range s.parents {
		nsps = append(nsps, p.childNamespaces()...)
	}
	s.mu.RUnlock()
	for _, ns := range nsps {
		for _, sock := range ns.snapshot() {
			sock.onClose(ReasonServerShuttingDown)
		}
	}
	err := s.engine.Shutdown(ctx)
	if werr := s.goroutines.Wait(ctx); werr != nil && !errors.Is(err, werr) {
		err = errors.Join(err, werr)
	}
	// Last: the sockets' cleanup (sessions persisted) used the adapters.
	for _, ns := range nsps {
		_ = ns.adapter.Close()
	}
	return err
}

// goTracked runs f in a goroutine that Shutdown waits for.
func (s *Server) goTracked(f func()) {
	s.goroutines.Go(f)
}

// engineHandler adapts the server to engineio.Handler.
type engineHandler struct{ s *Server }

func (h engineHandler) OnOpen(c *engineio.Conn) {
	cl := newClient(h.s, c)
	c.SetUserData(cl)
	if cl.v3() {
		// As Node does, a v2 client is connected to "/" at once: it
		// never sends CONNECT for it.
		cl.connect("/", nil)
	}
}

func (h engineHandler) OnMessage(c *engineio.Conn, data []byte, binary bool) {
	if cl, ok := c.UserData().(*client); ok {
		cl.onMessage(data, binary)
	}
}

func (h engineHandler) OnClose(c *engineio.Conn, reason string) {
	if cl, ok := c.UserData().(*client); ok {
		cl.onClose(reason)
	}
}
