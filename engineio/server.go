package engineio

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-io/switchboard/eio"
)

// Handler receives the events of every connection of a Server. For one
// connection, OnOpen comes first, then OnMessage for each message, one call
// at a time and in order, and OnClose exactly once. OnClose may run while a
// last OnMessage call is still in progress (a timeout or a slow-client close
// happens on another goroutine), so handlers guard their own state.
type Handler interface {
	// OnOpen is called when a connection is established, before the
	// handshake response is written; packets sent from it are delivered
	// after the open packet.
	OnOpen(c *Conn)
	// OnMessage is called for every message. data belongs to the handler:
	// the server never reuses it.
	OnMessage(c *Conn, data []byte, binary bool)
	// OnClose is called once when the connection is gone, with one of the
	// Reason constants.
	OnClose(c *Conn, reason string)
}

// Close reasons, as Node's engine.io names them, plus ReasonSlowClient.
const (
	ReasonTransportError = "transport error"
	ReasonTransportClose = "transport close"
	ReasonForcedClose    = "forced close"
	ReasonPingTimeout    = "ping timeout"
	ReasonParseError     = "parse error"
	// ReasonSlowClient is Switchboard's own: the client did not read fast
	// enough and its outbound queue reached Options.MaxQueueBytes.
	ReasonSlowClient = "slow client"
)

// ErrServerClosed is returned by Shutdown when called twice.
var ErrServerClosed = errors.New("engine.io: server closed")

// Server is an Engine.IO v4 server. It is an http.Handler that serves every
// request it is given, whatever the path: mount it where the clients expect it
// (Socket.IO clients use /socket.io/).
type Server struct {
	opts    Options
	handler Handler
	log     *slog.Logger
	delays  *upgradeDelays // nil unless the hold adapts (Options.MaxOpenDelay)

	mu       sync.RWMutex
	conns    map[string]*Conn
	perAddr  map[string]int // open sessions by client address (Options.MaxSessionsPerAddress)
	draining bool
	closed   bool

	goroutines sync.WaitGroup
	stats      counters

	pollOnce sync.Once
	poll     *poller // nil until the first WebSocket, or without epoll

	writersOnce sync.Once
	wr          *writers // nil until the first WebSocket send
}

// writers returns the server's WebSocket writers, starting them on first
// use.
func (s *Server) writers() *writers {
	s.writersOnce.Do(func() { s.wr = newWriters(s.opts.WriteDelay) })
	return s.wr
}

// poller returns the server's poller of idle WebSocket connections,
// starting it on first use, or nil when the system has none (connections
// are then read by a goroutine each) or the server is shut down.
func (s *Server) poller() *poller {
	s.pollOnce.Do(func() {
		if !usePoller {
			return
		}
		p, err := newPoller()
		if err != nil {
			s.log.Debug("engine.io: no poller, one goroutine per WebSocket", "err", err)
			return
		}
		s.poll = p
	})
	return s.poll
}

// usePoller can be turned off by tests to run the goroutine-per-connection
// reader on Linux too.
var usePoller = true

// stopIO stops the poller and the writers, if they started, and any later
// start.
func (s *Server) stopIO() {
	s.pollOnce.Do(func() {})
	if s.poll != nil {
		s.poll.close()
	}
	s.writersOnce.Do(func() {})
	if s.wr != nil {
		s.wr.stop()
	}
}

// NewServer returns a server that reports its connections' events to h.
func NewServer(h Handler, opts *Options) *Server {
	o := opts.withDefaults()
	s := &Server{opts: o, handler: h, log: o.Logger, conns: make(map[string]*Conn),
		perAddr: make(map[string]int)}
	if o.OpenDelay > 0 && o.MaxOpenDelay > o.OpenDelay {
		s.delays = newUpgradeDelays(o.OpenDelay, o.MaxOpenDelay)
	}
	return s
}

// Options returns the server's effective options, defaults filled in.
func (s *Server) Options() Options {
	o := s.opts
	o.Transports = slices.Clone(o.Transports)
	return o
}

// Conn returns the open connection with the given id, or nil.
func (s *Server) Conn(id string) *Conn {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.conns[id]
}

// Count returns the number of open connections.
func (s *Server) Count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.conns)
}

// Conns returns a snapshot of the open connections.
func (s *Server) Conns() []*Conn {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Conn, 0, len(s.conns))
	for _, c := range s.conns {
		out = append(out, c)
	}
	return out
}

// StopAccepting makes the server refuse new handshakes (HTTP 503) while its
// existing connections go on. It is the first step of a drain.
func (s *Server) StopAccepting() {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
}

// Accepting reports whether the server accepts new handshakes.
func (s *Server) Accepting() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return !s.draining && !s.closed
}

// Shutdown refuses new handshakes, closes every connection gracefully (its
// queued packets are sent first, then a close packet, so clients reconnect),
// and waits until every connection is closed, its Handler.OnClose returned,
// and every goroutine the server started has finished, or ctx is done; then
// it closes what is left at once and returns ctx's error. As in
// Node, an idle polling session (nothing queued, no GET waiting) is closed
// at once: its next request gets error 1 and the client reconnects.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.closed, s.draining = true, true
	conns := make([]*Conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.shutdown()
	}
	done := make(chan struct{})
	go func() {
		s.waitConns(ctx, conns)
		s.goroutines.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.stopIO()
		return nil
	case <-ctx.Done():
		for _, c := range s.Conns() {
			c.closeNow(ReasonForcedClose)
		}
		s.stopIO()
		return ctx.Err()
	}
}

// CloseAbandoned closes at once every polling session whose client has
// stopped polling: no GET pending, no POST being read, no WebSocket probe
// or upgrade under way, and no request for at least idle. A live polling
// client keeps a GET pending all the time but for one round trip after each
// response, so such a session would otherwise hold a graceful close (see
// Conn.Close) for up to Options.CloseTimeout. Its client, should it come
// back, gets error 1 (unknown session) and reconnects. OnClose gets
// ReasonForcedClose. It returns how many sessions it closed.
func (s *Server) CloseAbandoned(idle time.Duration) int {
	now, closed := time.Now(), 0
	for _, c := range s.Conns() {
		if c.abandoned(now, idle) {
			c.closeNow(ReasonForcedClose)
			closed++
		}
	}
	return closed
}

// waitConns waits until every connection of conns is closed and its
// OnClose has returned, or ctx is done. (Waiting only for the connections
// still registered would miss those whose close is under way.)
func (s *Server) waitConns(ctx context.Context, conns []*Conn) {
	for _, c := range conns {
		select {
		case <-c.finished:
		case <-ctx.Done():
			return
		}
	}
}

// goTracked runs f in a goroutine that Shutdown waits for.
func (s *Server) goTracked(f func()) {
	s.goroutines.Add(1)
	go func() {
		defer s.goroutines.Done()
		f()
	}()
}

func (s *Server) remove(c *Conn) {
	s.mu.Lock()
	if s.conns[c.id] == c {
		delete(s.conns, c.id)
		if s.perAddr[c.addrKey]--; s.perAddr[c.addrKey] <= 0 {
			delete(s.perAddr, c.addrKey)
		}
	}
	s.mu.Unlock()
}

// errTooManySessions refuses a handshake beyond Options.MaxSessionsPerAddress.
var errTooManySessions = &RequestError{Code: CodeForbidden, Message: "too many sessions from this address"}

// addressKey is the client address a session counts against: the host of
// a request's RemoteAddr.
func addressKey(remoteAddr string) string {
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return host
	}
	return remoteAddr
}

// addressFull tells whether a handshake from r would exceed
// Options.MaxSessionsPerAddress. register decides for good.
func (s *Server) addressFull(r *http.Request) bool {
	limit := s.opts.MaxSessionsPerAddress
	if limit <= 0 {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.perAddr[addressKey(r.RemoteAddr)] >= limit
}

// ServeHTTP serves one Engine.IO request: a handshake, a poll, a post or a
// WebSocket upgrade.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.CORS != nil && s.opts.CORS.apply(w, r) {
		return // preflight answered
	}
	q := r.URL.Query()
	upgrade := isWebSocketUpgrade(r)
	if sid := last(q["sid"]); sid != "" {
		c, err := s.verifySession(r, sid, last(q["transport"]), upgrade)
		if err != nil && err.Code == CodeUnknownSID && s.opts.Router != nil &&
			s.opts.Router.ServeForeign(w, r, sid) {
			return // served by the session's owner
		}
		if err != nil {
			s.refuse(w, r, err, upgrade)
			return
		}
		switch {
		case upgrade:
			s.serveUpgrade(c, w, r, q)
		case r.Method == http.MethodGet:
			c.servePoll(w, r)
		case r.Method == http.MethodPost:
			c.servePost(w, r)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
		return
	}
	if err := s.verifyHandshake(r, q, upgrade); err != nil {
		s.refuse(w, r, err, upgrade)
		return
	}
	if !s.Accepting() {
		s.stats.refusedDraining.Add(1)
		http.Error(w, "server is draining", http.StatusServiceUnavailable)
		return
	}
	if upgrade {
		s.handshakeWebSocket(w, r, q)
	} else {
		s.handshakePolling(w, r, q)
	}
}

// verifySession applies Node's checks for a request that names a session.
func (s *Server) verifySession(r *http.Request, sid, transport string, upgrade bool) (*Conn, *RequestError) {
	if !s.opts.transportEnabled(transport) {
		return nil, requestError(CodeUnknownTransport, "")
	}
	if !validOrigin(r.Header.Get("Origin")) {
		return nil, requestError(CodeBadRequest, "INVALID_ORIGIN")
	}
	c := s.Conn(sid)
	if c == nil {
		return nil, requestError(CodeUnknownSID, "UNKNOWN_SID")
	}
	if !upgrade && c.Transport() != transport {
		return nil, requestError(CodeBadRequest, "TRANSPORT_MISMATCH")
	}
	if upgrade && transport != TransportWebSocket {
		return nil, requestError(CodeBadRequest, "TRANSPORT_MISMATCH")
	}
	return c, nil
}

// verifyHandshake applies Node's checks for a request without a session.
func (s *Server) verifyHandshake(r *http.Request, q map[string][]string, upgrade bool) *RequestError {
	transport := last(q["transport"])
	if !s.opts.transportEnabled(transport) {
		return requestError(CodeUnknownTransport, "")
	}
	if !validOrigin(r.Header.Get("Origin")) {
		return requestError(CodeBadRequest, "INVALID_ORIGIN")
	}
	if r.Method != http.MethodGet {
		return requestError(CodeBadHandshakeMethod, "")
	}
	if transport == TransportWebSocket && !upgrade {
		return requestError(CodeBadRequest, "TRANSPORT_HANDSHAKE_ERROR")
	}
	if transport == TransportPolling && upgrade {
		return requestError(CodeBadRequest, "TRANSPORT_HANDSHAKE_ERROR")
	}
	if s.opts.AllowRequest != nil {
		if err := s.opts.AllowRequest(r); err != nil {
			e := requestError(CodeForbidden, "")
			if msg := err.Error(); msg != "" {
				e.Message = msg
			}
			return e
		}
	}
	if last(q["EIO"]) != "4" && !s.opts.AllowEIO3 {
		return requestError(CodeUnsupportedVersion, "")
	}
	return nil
}

// last returns the last value of a query parameter: Node reads the query
// as Object.fromEntries(searchParams), so of a repeated key the last
// value wins.
func last(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// refuse answers a refused request: a JSON error for HTTP requests, a plain
// 400 for WebSocket upgrades (as Node does).
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, e *RequestError, upgrade bool) {
	s.stats.requestErrors[min(e.Code, len(s.stats.requestErrors)-1)].Add(1)
	s.log.Debug("engine.io request refused", "code", e.Code, "message", e.Message,
		"context", e.Context, "remote", r.RemoteAddr)
	h := w.Header()
	if upgrade {
		h.Set("Connection", "close")
		h.Set("Content-Type", "text/html")
		h.Set("Content-Length", strconv.Itoa(len(e.Message)))
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(e.Message))
		return
	}
	body := e.body()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status())
	_, _ = w.Write(body)
}

// generateID returns a new session id for the handshake request r.
func (s *Server) generateID(r *http.Request) (string, *RequestError) {
	id, err := s.opts.GenerateID(r)
	if err != nil || id == "" || s.Conn(id) != nil { // register checks again
		return "", requestError(CodeBadRequest, "ID_GENERATION_ERROR")
	}
	return id, nil
}

// register adds the new session c to the server, unless the server is
// closing or, with bounded set, c's address has its
// Options.MaxSessionsPerAddress sessions already. With track set, it also counts the caller's goroutine (which
// must call s.goroutines.Done) in the same critical section, so that no
// goroutine is added once Shutdown has started waiting.
func (s *Server) register(c *Conn, track, bounded bool) *RequestError {
	c.addrKey = addressKey(c.remoteAddr)
	s.mu.Lock()
	if s.closed || s.draining {
		s.mu.Unlock()
		return requestError(CodeBadRequest, "SERVER_CLOSING")
	}
	if _, dup := s.conns[c.id]; dup { // a custom GenerateID repeated an id
		s.mu.Unlock()
		return requestError(CodeBadRequest, "ID_GENERATION_ERROR")
	}
	if limit := s.opts.MaxSessionsPerAddress; bounded && limit > 0 && s.perAddr[c.addrKey] >= limit {
		s.mu.Unlock()
		return errTooManySessions
	}
	s.conns[c.id] = c
	s.perAddr[c.addrKey]++
	if track {
		s.goroutines.Add(1)
	}
	s.mu.Unlock()
	s.stats.opened.Add(1)
	return nil
}

// openPacket builds the handshake packet for c: exactly the five keys Node
// sends, in Node's order.
func (s *Server) openPacket(c *Conn) *eio.Packet {
	upgrades, _ := json.Marshal(s.opts.upgradesFor(c.Transport()))
	b := make([]byte, 0, 128)
	b = append(b, `{"sid":`...)
	b = appendJSONString(b, c.id)
	b = append(b, `,"upgrades":`...)
	b = append(b, upgrades...)
	b = append(b, `,"pingInterval":`...)
	b = strconv.AppendInt(b, s.opts.PingInterval.Milliseconds(), 10)
	b = append(b, `,"pingTimeout":`...)
	b = strconv.AppendInt(b, s.opts.PingTimeout.Milliseconds(), 10)
	b = append(b, `,"maxPayload":`...)
	b = strconv.AppendInt(b, s.opts.MaxHTTPBufferSize, 10)
	b = append(b, '}')
	return &eio.Packet{Type: eio.PacketOpen, Data: b}
}

func (s *Server) handshakePolling(w http.ResponseWriter, r *http.Request, q url.Values) {
	id, rerr := s.generateID(r)
	if rerr == nil {
		c := newConn(s, id, r, q, TransportPolling)
		if rerr = s.register(c, false, true); rerr == nil {
			s.openPolling(c, w, r)
			return
		}
	}
	s.refuse(w, r, rerr, false)
}

// openPolling starts the polling session c and answers its handshake.
func (s *Server) openPolling(c *Conn, w http.ResponseWriter, r *http.Request) {
	open := s.openPacket(c)
	if s.opts.Cookie != nil {
		http.SetCookie(w, s.opts.Cookie.cookie(c.id))
	}
	c.start()
	body := c.appendPayload(make([]byte, 0, len(open.Data)+8), []*eio.Packet{open})
	if c.jsonp != nil {
		body = c.wrapJSONP(body)
	}
	writePollingBody(w, r, body, false, s.opts.HTTPCompressionThreshold)
}

func validOrigin(origin string) bool {
	for i := 0; i < len(origin); i++ {
		b := origin[i]
		if b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}

func isWebSocketUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet &&
		strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		headerHasToken(r.Header, "Connection", "upgrade")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), token) {
				return true
			}
		}
	}
	return false
}

func (o *CookieOptions) cookie(sid string) *http.Cookie {
	c := &http.Cookie{Name: "io", Value: sid, Path: "/", HttpOnly: !o.NotHTTPOnly,
		SameSite: http.SameSiteLaxMode, Secure: o.Secure, Domain: o.Domain, MaxAge: o.MaxAge}
	if o.Name != "" {
		c.Name = o.Name
	}
	if o.Path != "" {
		c.Path = o.Path
	}
	if o.SameSite != 0 {
		c.SameSite = o.SameSite
	}
	return c
}

// counters are the server's statistics, updated atomically.
type counters struct {
	opened, closed        atomic.Int64
	packetsIn, packetsOut atomic.Int64
	bytesIn, bytesOut     atomic.Int64
	slowClients           atomic.Int64
	upgrades              atomic.Int64
	refusedDraining       atomic.Int64
	movedIn, movedOut     atomic.Int64
	rehomed               atomic.Int64
	requestErrors         [6]atomic.Int64
	pollingNow, wsNow     atomic.Int64
	closeReasons          sync.Map // reason → *atomic.Int64
	// writerWrites counts the writers' non-blocking writes, and
	// partialWrites those the socket did not take whole (left to a flush
	// goroutine).
	writerWrites, partialWrites atomic.Int64
}

// Stats is a snapshot of a server's counters.
type Stats struct {
	// Opened and Closed count sessions since start.
	Opened, Closed int64
	// Polling and WebSocket are the sessions open now, by transport.
	Polling, WebSocket int64
	// PacketsIn/Out and BytesIn/Out count Engine.IO packets and their
	// payload bytes (Out counts every recipient).
	PacketsIn, PacketsOut, BytesIn, BytesOut int64
	// SlowClients counts sessions closed because their queue was full.
	SlowClients int64
	// Upgrades counts completed polling→WebSocket upgrades.
	Upgrades int64
	// RefusedDraining counts handshakes refused while draining.
	RefusedDraining int64
	// MovedIn and MovedOut count sessions adopted from and released to
	// other nodes (see Release and Adopt).
	MovedIn, MovedOut int64
	// Rehomed counts sessions closed so that their client reconnects
	// elsewhere (see Rehome).
	Rehomed int64
	// OpenDelay is how long new polling sessions are held back now
	// (Options.OpenDelay, adapted up to Options.MaxOpenDelay).
	OpenDelay time.Duration
	// RequestErrors counts refused requests by error code (0–5).
	RequestErrors [6]int64
	// CloseReasons counts closed sessions by reason.
	CloseReasons map[string]int64
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	st := Stats{Opened: c.opened.Load(), Closed: c.closed.Load(), Polling: c.pollingNow.Load(),
		WebSocket: c.wsNow.Load(), PacketsIn: c.packetsIn.Load(), PacketsOut: c.packetsOut.Load(),
		BytesIn: c.bytesIn.Load(), BytesOut: c.bytesOut.Load(), SlowClients: c.slowClients.Load(),
		Upgrades: c.upgrades.Load(), RefusedDraining: c.refusedDraining.Load(),
		MovedIn: c.movedIn.Load(), MovedOut: c.movedOut.Load(), Rehomed: c.rehomed.Load(), OpenDelay: s.openDelay(),
		CloseReasons: map[string]int64{}}
	for i := range c.requestErrors {
		st.RequestErrors[i] = c.requestErrors[i].Load()
	}
	c.closeReasons.Range(func(k, v any) bool {
		st.CloseReasons[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return st
}

func (c *counters) countClose(reason string) {
	c.closed.Add(1)
	v, ok := c.closeReasons.Load(reason)
	if !ok {
		v, _ = c.closeReasons.LoadOrStore(reason, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}
