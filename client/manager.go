package client

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// Manager is one Engine.IO connection to a server, shared by the Sockets of
// any number of namespaces (multiplexing), and its reconnection logic: when
// the connection is lost it reconnects with exponential backoff and every
// active Socket joins its namespace again.
//
// Create Sockets with Socket and connect them with Socket.Connect; the
// connection opens when the first one connects and closes when none is
// active any more. Close must be called to release a Manager.
type Manager struct {
	cfg     config
	httpURL *url.URL // scheme://host, for cookies
	base    string   // scheme://host/path/?<query>EIO=4
	wsBase  string   // the same with ws:// or wss://
	httpc   *http.Client
	ownHTTP *http.Transport // closed by Close
	dialer  ws.Dialer
	tseq    atomic.Uint64 // polling cache buster

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc
	closed atomic.Bool

	goMu     sync.Mutex
	goClosed bool
	wg       sync.WaitGroup

	mu            sync.Mutex
	sockets       map[string]*Socket
	eng           *engine
	connecting    bool
	loopGen       uint64
	loopCancel    context.CancelFunc
	skipReconnect bool
	closeDone     chan struct{}
	hooks         hooks
}

type hooks struct {
	attempt []func(attempt int)
	success []func(attempt int)
	failure []func(err error)
	gaveUp  []func()
}

// NewManager returns a Manager for the server at rawURL (http, https, ws or
// wss; the path is ignored, namespaces are chosen with Socket). It does not
// connect yet. opts may be nil.
func NewManager(rawURL string, opts *Options) (*Manager, error) {
	cfg := opts.withDefaults()
	for _, t := range cfg.Transports {
		if t != TransportPolling && t != TransportWebSocket {
			return nil, fmt.Errorf("socketio client: unknown transport %q", t)
		}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("socketio client: %w", err)
	}
	secure := false
	switch u.Scheme {
	case "http", "ws":
	case "https", "wss":
		secure = true
	default:
		return nil, fmt.Errorf("socketio client: unsupported URL scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("socketio client: URL %q has no host", rawURL)
	}
	m := &Manager{cfg: cfg, sockets: make(map[string]*Socket)}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.buildURLs(u, secure)
	m.httpc = cfg.HTTPClient
	if m.httpc == nil {
		m.ownHTTP = newHTTPTransport(cfg.LocalAddr)
		m.httpc = &http.Client{Transport: m.ownHTTP}
	}
	if cfg.Dialer != nil {
		m.dialer = *cfg.Dialer
	}
	if m.dialer.NetDial == nil && cfg.LocalAddr != nil {
		nd := &net.Dialer{LocalAddr: cfg.LocalAddr}
		m.dialer.NetDial = nd.DialContext
	}
	return m, nil
}

func (m *Manager) buildURLs(u *url.URL, secure bool) {
	q := u.Query()
	for k, vs := range m.cfg.Query {
		q[k] = append(q[k], vs...)
	}
	for _, k := range []string{"EIO", "transport", "sid", "t"} {
		q.Del(k)
	}
	qs := q.Encode()
	if qs != "" {
		qs += "&"
	}
	scheme, wsScheme := "http", "ws"
	if secure {
		scheme, wsScheme = "https", "wss"
	}
	m.httpURL = &url.URL{Scheme: scheme, Host: u.Host, Path: m.cfg.Path}
	rest := "://" + u.Host + m.cfg.Path + "?" + qs + "EIO=4"
	m.base, m.wsBase = scheme+rest, wsScheme+rest
}

func newHTTPTransport(local net.Addr) *http.Transport {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, LocalAddr: local}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     false,
	}
}

// engineURL is the polling URL of a session, or of a handshake when sid is
// empty; the request adds "t=...".
func (m *Manager) engineURL(transport, sid string) string {
	s := m.base + "&transport=" + transport
	if sid != "" {
		s += "&sid=" + url.QueryEscape(sid)
	}
	return s
}

func (m *Manager) wsURL(sid string) string {
	s := m.wsBase + "&transport=websocket"
	if sid != "" {
		s += "&sid=" + url.QueryEscape(sid)
	}
	return s
}

// Socket returns the socket of namespace nsp ("/" when empty), creating it
// on first use; later calls return the same Socket and ignore opts. The
// socket is not connected: call Connect.
func (m *Manager) Socket(nsp string, opts *SocketOptions) *Socket {
	nsp = normalizeNamespace(nsp)
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.sockets[nsp]; s != nil {
		return s
	}
	s := newSocket(m, nsp, opts)
	m.sockets[nsp] = s
	return s
}

func normalizeNamespace(nsp string) string {
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	return nsp
}

// Transport returns the name of the current transport, or "" when not
// connected.
func (m *Manager) Transport() string {
	m.mu.Lock()
	e := m.eng
	m.mu.Unlock()
	if e == nil {
		return ""
	}
	return e.transportName()
}

// SessionID returns the Engine.IO session id, or "" when not connected.
func (m *Manager) SessionID() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.eng == nil {
		return ""
	}
	return m.eng.sid
}

// OnReconnectAttempt registers fn, called before each reconnection attempt
// with its number (from 1). Manager hooks run on the connecting goroutine
// and must not block.
func (m *Manager) OnReconnectAttempt(fn func(attempt int)) {
	m.mu.Lock()
	m.hooks.attempt = append(m.hooks.attempt, fn)
	m.mu.Unlock()
}

// OnReconnect registers fn, called when a reconnection succeeds, with the
// number of attempts it took.
func (m *Manager) OnReconnect(fn func(attempt int)) {
	m.mu.Lock()
	m.hooks.success = append(m.hooks.success, fn)
	m.mu.Unlock()
}

// OnReconnectError registers fn, called when a reconnection attempt fails.
func (m *Manager) OnReconnectError(fn func(err error)) {
	m.mu.Lock()
	m.hooks.failure = append(m.hooks.failure, fn)
	m.mu.Unlock()
}

// OnReconnectFailed registers fn, called when Options.ReconnectionAttempts
// attempts failed and the Manager gives up.
func (m *Manager) OnReconnectFailed(fn func()) {
	m.mu.Lock()
	m.hooks.gaveUp = append(m.hooks.gaveUp, fn)
	m.mu.Unlock()
}

func (m *Manager) hookSnapshot() hooks {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hooks
}

// Close disconnects every socket (the server sees "client namespace
// disconnect"), closes the connection after writing what is queued, stops
// reconnecting and waits for every goroutine of the Manager and its
// Sockets, handlers included: do not call it from a handler (use
// Socket.Disconnect there, or call Close from another goroutine). Pending
// EmitWithAck calls return ErrClosed. Close is idempotent.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closeDone != nil {
		done := m.closeDone
		m.mu.Unlock()
		<-done
		return nil
	}
	m.closeDone = make(chan struct{})
	m.closed.Store(true)
	m.skipReconnect = true
	m.stopLoopLocked()
	e := m.eng
	m.eng = nil
	socks := m.socketListLocked()
	m.mu.Unlock()
	for _, s := range socks {
		s.shutdown()
	}
	if e != nil {
		e.shutdown()
	}
	m.cancel()
	m.goMu.Lock()
	m.goClosed = true
	m.goMu.Unlock()
	m.wg.Wait()
	if m.ownHTTP != nil {
		m.ownHTTP.CloseIdleConnections()
	}
	close(m.closeDone)
	return nil
}

func (m *Manager) socketListLocked() []*Socket {
	out := make([]*Socket, 0, len(m.sockets))
	for _, s := range m.sockets {
		out = append(out, s)
	}
	return out
}

// goTracked runs f on a goroutine that Close waits for. It reports false
// (and does not run f) once Close is waiting.
func (m *Manager) goTracked(f func()) bool {
	if !m.goEnter() {
		return false
	}
	go func() {
		defer m.wg.Done()
		f()
	}()
	return true
}

// goEnter counts the calling goroutine in the WaitGroup Close waits for;
// the caller must call m.wg.Done. It reports false once Close is waiting.
func (m *Manager) goEnter() bool {
	m.goMu.Lock()
	defer m.goMu.Unlock()
	if m.goClosed {
		return false
	}
	m.wg.Add(1)
	return true
}

// afterUpgrade releases the polling connections after an upgrade.
func (m *Manager) afterUpgrade() {
	if m.ownHTTP != nil {
		m.ownHTTP.CloseIdleConnections()
	}
}

// open makes sure a connection exists or is being established. It returns
// the open engine, or nil while connecting.
func (m *Manager) open() (*engine, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed.Load() {
		return nil, ErrClosed
	}
	m.skipReconnect = false
	if m.eng != nil {
		return m.eng, nil
	}
	m.startLoopLocked(false)
	return nil, nil
}

// maybeIdle closes the connection when no socket is active any more, as
// Node's Manager does; it reopens when a socket connects again.
func (m *Manager) maybeIdle() {
	m.mu.Lock()
	for _, s := range m.sockets {
		if s.isActive() {
			m.mu.Unlock()
			return
		}
	}
	m.skipReconnect = true
	m.stopLoopLocked()
	e := m.eng
	m.eng = nil
	m.mu.Unlock()
	if e != nil {
		m.goTracked(e.shutdown)
	}
}

// onEngineClose is called once per engine when it closes.
func (m *Manager) onEngineClose(e *engine, reason DisconnectReason, cause error) {
	m.mu.Lock()
	if m.eng != e {
		m.mu.Unlock()
		return
	}
	m.eng = nil
	reconnect := !m.cfg.NoReconnection && !m.skipReconnect && !m.closed.Load()
	socks := m.socketListLocked()
	m.mu.Unlock()
	for _, s := range socks {
		s.onEngineClose(e, reason, cause, reconnect)
	}
	if reconnect {
		m.mu.Lock()
		if m.eng == nil && !m.skipReconnect {
			m.startLoopLocked(true)
		}
		m.mu.Unlock()
	}
}

// onMessage decodes one Socket.IO message and routes the packet to its
// namespace's socket. Only e's reader calls it.
func (m *Manager) onMessage(e *engine, data []byte, binary bool) {
	pkt, err := decodeMessage(&e.dec, data, binary)
	if err != nil {
		e.closeWith(ReasonParseError, err)
		return
	}
	if pkt == nil {
		return
	}
	m.mu.Lock()
	s := m.sockets[normalizeNamespace(pkt.Namespace)]
	m.mu.Unlock()
	if s != nil {
		if err := s.onPacket(e, pkt); err != nil {
			e.closeWith(ReasonParseError, err)
		}
	}
}
