package cluster

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"time"

	"github.com/switchboard-io/switchboard/engineio"
)

// ServeForeign serves a request for a session this node does not hold: it
// forwards polling requests to the owner and takes WebSocket upgrades over
// (or proxies them when the owner cannot let the session go). It returns
// false, so that the engine answers "Session ID unknown", when the owner is
// unknown, gone or unreachable. It implements engineio.Router.
func (n *Node) ServeForeign(w http.ResponseWriter, r *http.Request, sid string) bool {
	if n.waitAdopted(sid) {
		// The session was being taken over here: serve it locally now.
		if engine := n.engine.Load(); engine != nil && engine.Conn(sid) != nil {
			engine.ServeHTTP(w, r)
			return true
		}
	}
	hops, _ := strconv.Atoi(r.Header.Get(headerHops))
	if hops >= maxHops {
		return false
	}
	addr, ok := n.movedAddr(sid)
	if !ok {
		tag := TagOf(sid)
		if tag == "" || tag == n.opts.Tag {
			return false // ours, and gone; or not a cluster id
		}
		var err error
		ctx, cancel := context.WithTimeout(r.Context(), n.opts.DialTimeout)
		addr, err = n.lookup(ctx, tag)
		cancel()
		if err != nil {
			n.stats.unknownOwner.Add(1)
			return false
		}
	}
	if isUpgrade(r) && n.takeover(w, r, sid, addr) {
		return true
	}
	return n.forward(w, r, addr, hops+1)
}

func isUpgrade(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" && r.Method == http.MethodGet
}

// takeover asks the owner at addr to release sid and, when it does, adopts
// the session here and serves the upgrade on it. An owner whose
// application has seen the session already may close it instead (see
// Options.Rehome): its client reconnects, and this upgrade is refused, so
// that no WebSocket is proxied through a node that is not its session's
// owner. A draining node does not adopt, but may still have the owner
// re-home the client. It returns false when the upgrade is left to a proxy.
func (n *Node) takeover(w http.ResponseWriter, r *http.Request, sid, addr string) bool {
	engine := n.engine.Load()
	if engine == nil {
		return false
	}
	adopt := engine.Accepting()
	start := time.Now()
	end := func() {}
	if adopt {
		end = n.beginAdopt(sid)
	}
	h, err := n.requestRelease(r.Context(), sid, addr, adopt)
	n.stats.takeoverNanos.Add(time.Since(start).Nanoseconds())
	var se *statusError
	switch {
	case err == nil:
		n.stats.takeovers.Add(1)
		engine.Adopt(h, w, r, end)
		return true
	case errors.As(err, &se) && se.code == http.StatusGone:
		end()
		n.stats.rehomedUpgrades.Add(1)
		writeUnknownSession(w, true) // the client's probe fails; it reconnects on the close
		return true
	default:
		end()
		n.stats.takeoversRefused.Add(1)
		n.log.Debug("takeover refused", "sid", sid, "owner", addr, "err", err)
		return false
	}
}

// requestRelease calls the owner's release endpoint.
// Without adopt, the owner is asked to re-home the client only.
func (n *Node) requestRelease(ctx context.Context, sid, addr string, adopt bool) (*engineio.Handoff, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*n.opts.DialTimeout)
	defer cancel()
	uri := n.opts.Prefix + "release?sid=" + url.QueryEscape(sid)
	if !adopt {
		uri += "&adopt=0"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set(headerNode, n.opts.AdvertiseAddr)
	n.sign(req, addr, uri, nil)
	resp, err := n.client.Do(req)
	if err != nil {
		n.stats.forwardErrors.Add(1)
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &statusError{resp.StatusCode, string(bytes.TrimSpace(body))}
	}
	return engineio.UnmarshalHandoff(body)
}

type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return "cluster: " + strconv.Itoa(e.code) + " " + e.msg }

// forward proxies r to the node at addr, over its internal listener, and
// streams the answer back. A failure to reach the owner gives the client
// Node's answer for an unknown session.
func (n *Node) forward(w http.ResponseWriter, r *http.Request, addr string, hops int) bool {
	// The signature covers the body: read it first, bounded as the owner
	// bounds it.
	body, err := readBody(r, n.maxBody())
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, errBodyTooLarge) {
			status = http.StatusRequestEntityTooLarge // as the engine answers
		}
		w.WriteHeader(status)
		return true
	}
	setBody(r, body)
	start := time.Now()
	failed := false
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			uri := n.opts.Prefix + "forward" + pr.In.URL.RequestURI()
			pr.Out.URL = &url.URL{Scheme: "http", Host: addr, Path: n.opts.Prefix + "forward" + pr.In.URL.Path,
				RawQuery: pr.In.URL.RawQuery}
			pr.Out.Host = addr
			pr.SetXForwarded()
			pr.Out.Header.Set(headerNode, n.opts.AdvertiseAddr)
			pr.Out.Header.Set(headerHops, strconv.Itoa(hops))
			n.sign(pr.Out, addr, uri, body)
		},
		Transport:     n.client.Transport,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			failed = true
			n.stats.forwardErrors.Add(1)
			n.log.Debug("forward failed", "owner", addr, "err", err)
			if r.Context().Err() != nil {
				return // the client went away
			}
			writeUnknownSession(w, isUpgrade(r))
		},
	}
	n.stats.forwarded.Add(1)
	if isUpgrade(r) {
		n.stats.proxiedWebSockets.Add(1)
	}
	proxy.ServeHTTP(w, r)
	if r.Method == http.MethodPost && !failed {
		n.stats.forwardNanos.Add(time.Since(start).Nanoseconds())
		n.stats.forwardedPosts.Add(1)
	}
	return true
}

// writeUnknownSession answers as Node does for an unknown session id.
func writeUnknownSession(w http.ResponseWriter, upgrade bool) {
	msg := engineio.CodeMessage(engineio.CodeUnknownSID)
	if upgrade {
		w.Header().Set("Connection", "close")
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, msg)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = io.WriteString(w, `{"code":1,"message":"`+msg+`"}`)
}
