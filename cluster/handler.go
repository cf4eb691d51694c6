package cluster

import (
	"errors"
	"net/http"
	"strings"

	"github.com/switchboard-io/switchboard/engineio"
)

// Handler serves the requests other nodes send this one: forwarded
// Engine.IO requests and session releases. Mount it on the internal
// listener at Options.Prefix (default "/cluster/"). Every request must be
// signed with the cluster secret, for this node, and served once; others
// get 403.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+n.opts.Prefix+"release", n.serveRelease)
	mux.HandleFunc(n.opts.Prefix+"forward/", n.serveForwarded)
	return n.authenticated(mux)
}

func (n *Node) authenticated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := n.verify(r); err != nil {
			n.refuse(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// refuse answers a request that failed verify, and counts it. A request
// refused for its signature, its body digest, as a replay or for a full
// replay cache gets 403.
func (n *Node) refuse(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errBodyTooLarge):
		w.WriteHeader(http.StatusRequestEntityTooLarge) // as the engine answers
		return
	case errors.Is(err, errBadSignature):
		n.stats.refusedUnsigned.Add(1)
	case errors.Is(err, errBadDigest):
		n.stats.refusedDigests.Add(1)
	case errors.Is(err, errReplay):
		n.stats.refusedReplays.Add(1)
	case errors.Is(err, errNoncesFull):
		n.stats.replayCacheFull.Add(1)
	default: // the body could not be read: the sender went away
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	n.log.Warn("refused a cluster request", "reason", err, "remote", r.RemoteAddr, "uri", r.URL.RequestURI())
	http.Error(w, "forbidden", http.StatusForbidden)
}

// serveRelease hands a session that the application has not seen yet to
// the node that received its WebSocket upgrade. A session the application
// has seen cannot move; with Options.Rehome it is closed instead, so that
// its client reconnects (410 Gone), rather than have its WebSocket proxied
// (409 Conflict). The query's adopt=0 (a draining sender) asks for the
// re-home only.
func (n *Node) serveRelease(w http.ResponseWriter, r *http.Request) {
	engine := n.engine.Load()
	sid := r.URL.Query().Get("sid")
	if engine == nil || sid == "" {
		http.Error(w, "no such session", http.StatusNotFound)
		return
	}
	err := engineio.ErrNotMovable
	if r.URL.Query().Get("adopt") != "0" {
		var h *engineio.Handoff
		if h, err = n.release(engine, sid, r.Header.Get(headerNode)); err == nil {
			body, merr := engineio.MarshalHandoff(h)
			if merr != nil {
				http.Error(w, merr.Error(), http.StatusInternalServerError)
				return
			}
			n.stats.released.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
			return
		}
	}
	switch {
	case errors.Is(err, engineio.ErrNotMovable) && n.opts.Rehome && engine.Rehome(sid):
		http.Error(w, "rehomed", http.StatusGone)
	case errors.Is(err, engineio.ErrNotMovable):
		http.Error(w, err.Error(), http.StatusConflict)
	default:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// release gives sid up to the node at to.
func (n *Node) release(engine *engineio.Server, sid, to string) (*engineio.Handoff, error) {
	// The record comes first: a request for sid that arrives while the
	// session moves must find it, not an unknown session.
	if to != "" {
		n.recordMoved(sid, to)
	}
	h, err := engine.Release(sid)
	if err != nil {
		n.forgetMoved(sid)
	}
	return h, err
}

// serveForwarded serves an Engine.IO request another node forwarded.
func (n *Node) serveForwarded(w http.ResponseWriter, r *http.Request) {
	engine := n.engine.Load()
	if engine == nil {
		writeUnknownSession(w, isUpgrade(r))
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = strings.TrimPrefix(r.URL.Path, n.opts.Prefix+"forward")
	r2.URL.RawPath = ""
	r2.RequestURI = r2.URL.RequestURI()
	n.stats.served.Add(1)
	engine.ServeHTTP(w, r2)
}
