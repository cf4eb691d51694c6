package engineio

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/switchboard-io/switchboard/eio"
)

// Router serves requests naming a session that this server does not hold,
// typically by getting them to the node that does. ServeForeign returns
// false when it did not serve the request; the server then answers as Node
// does for an unknown session (code 1, "Session ID unknown").
type Router interface {
	ServeForeign(w http.ResponseWriter, r *http.Request, sid string) bool
}

// ErrNotMovable is returned by Release for a session that cannot move to
// another node: the handler has seen it, or it is upgrading or closing.
var ErrNotMovable = errors.New("engine.io: session cannot move")

// Handoff is the state of a session that moves to another node before the
// handler has seen it (see Options.OpenDelay): its handshake request and
// the messages received so far. It is encoded as JSON between nodes.
type Handoff struct {
	SID        string        `json:"sid"`
	Method     string        `json:"method"`
	URL        string        `json:"url"`
	Host       string        `json:"host"`
	Header     http.Header   `json:"header"`
	RemoteAddr string        `json:"remoteAddr"`
	Created    time.Time     `json:"created"`
	Messages   []HandoffItem `json:"messages"`
}

// HandoffItem is one message received before the handoff.
type HandoffItem struct {
	Data   []byte `json:"data"`
	Binary bool   `json:"binary,omitempty"`
}

// Release gives up the polling session sid so that another node can adopt
// it: it returns the session's state and closes it here without telling the
// handler (which never saw it); a pending GET is released with a noop. It
// fails with ErrNotMovable when the handler has seen the session already.
func (s *Server) Release(sid string) (*Handoff, error) {
	c := s.Conn(sid)
	if c == nil {
		return nil, ErrNotMovable
	}
	s.upgradeArrived(c) // at another node
	c.recvMu.Lock()     // no message is being handled or held back meanwhile
	defer c.recvMu.Unlock()
	c.mu.Lock()
	if c.opened.Load() || c.state != stateOpen || c.transport != TransportPolling || c.ws != nil || c.upgrading {
		c.mu.Unlock()
		return nil, ErrNotMovable
	}
	c.moved, c.noopOnExit = true, true
	c.mu.Unlock()
	h := &Handoff{SID: c.id, Method: c.req.Method, URL: c.req.URL.String(), Host: c.req.Host,
		Header: c.req.Header.Clone(), RemoteAddr: c.remoteAddr, Created: c.created}
	for _, p := range c.pendingIn {
		h.Messages = append(h.Messages, HandoffItem{Data: p.data, Binary: p.binary})
	}
	c.pendingIn = nil
	c.srv.stats.movedOut.Add(1)
	c.closeNow(ReasonMoved)
	return h, nil
}

// ReasonMoved closes a session handed over to another node.
const ReasonMoved = "moved"

// Rehome closes the polling session sid, which the handler has seen, so
// that its client reconnects: the node that received its WebSocket upgrade
// could not take it over, and a WebSocket proxied through that node would
// tie the client to two nodes. The client gets a close packet (it sees a
// transport close and reconnects; with connection state recovery it gets
// its sockets back); the handler sees ReasonForcedClose. It returns false,
// and leaves the session alone, when the session is not open, not on
// polling, or upgrading here.
func (s *Server) Rehome(sid string) bool {
	c := s.Conn(sid)
	if c == nil {
		return false
	}
	c.mu.Lock()
	ok := c.state == stateOpen && c.transport == TransportPolling && c.ws == nil && !c.upgrading
	c.mu.Unlock()
	if !ok {
		return false
	}
	s.upgradeArrived(c) // too late: the hold widens for the next sessions
	c.srv.stats.rehomed.Add(1)
	c.Close()
	return true
}

// Adopt creates a polling session from the state another node released and
// serves r, the WebSocket upgrade request that triggered the move, on it.
// The session opens to the handler when the upgrade completes (or after
// Options.OpenDelay). registered, when not nil, is called once the session
// is registered here (or could not be).
func (s *Server) Adopt(h *Handoff, w http.ResponseWriter, r *http.Request, registered func()) {
	req, err := h.request()
	if err != nil {
		if registered != nil {
			registered()
		}
		s.refuse(w, r, requestError(CodeUnknownSID, "BAD_HANDOFF"), true)
		return
	}
	c := newConn(s, h.SID, req, req.URL.Query(), TransportPolling)
	c.created = h.Created
	for _, m := range h.Messages {
		c.pendingIn = append(c.pendingIn, inPacket{typ: eio.PacketMessage, data: m.Data, binary: m.Binary})
	}
	rerr := s.register(c, false, false)
	if registered != nil {
		registered()
	}
	if rerr != nil {
		s.refuse(w, r, rerr, true)
		return
	}
	s.stats.movedIn.Add(1)
	c.start()
	s.serveUpgrade(c, w, r, r.URL.Query())
}

// request rebuilds the handshake request of a handoff.
func (h *Handoff) request() (*http.Request, error) {
	u, err := url.ParseRequestURI(h.URL)
	if err != nil {
		return nil, err
	}
	r := &http.Request{Method: h.Method, URL: u, Host: h.Host, Header: h.Header, RemoteAddr: h.RemoteAddr,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Body: http.NoBody, RequestURI: h.URL}
	if r.Header == nil {
		r.Header = http.Header{}
	}
	return r, nil
}

// MarshalHandoff and UnmarshalHandoff encode a handoff between nodes.
func MarshalHandoff(h *Handoff) ([]byte, error) { return json.Marshal(h) }

// UnmarshalHandoff decodes a handoff encoded by MarshalHandoff.
func UnmarshalHandoff(b []byte) (*Handoff, error) {
	var h Handoff
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, err
	}
	if h.SID == "" || h.URL == "" {
		return nil, errors.New("engine.io: incomplete handoff")
	}
	return &h, nil
}
