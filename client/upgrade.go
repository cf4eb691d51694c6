package client

import (
	"context"
	"slices"
)

// canUpgrade reports whether e should try the polling → WebSocket upgrade.
func (e *engine) canUpgrade() bool {
	return e.m.cfg.upgrade && e.poll != nil && slices.Contains(e.upgrades, TransportWebSocket)
}

// probe upgrades a polling engine to WebSocket, as engine.io-client does:
// open a WebSocket with the session id, exchange 2probe/3probe, pause
// polling (wait for the in-flight GET and POST), send the upgrade packet 5
// and go on over the WebSocket. A failed probe leaves the engine on
// polling.
func (e *engine) probe() {
	ctx, cancel := context.WithTimeout(e.ctx, e.m.cfg.Timeout)
	defer cancel()
	w, err := e.m.dialWS(ctx, e.sid)
	if err != nil {
		return
	}
	e.mu.Lock()
	if e.state != stateOpen {
		e.mu.Unlock()
		w.close()
		return
	}
	e.probeWS = w
	e.mu.Unlock()
	if err := w.probe(e.m.cfg.Timeout); err != nil {
		e.abortProbe(w)
		return
	}
	if !e.pausePolling() {
		e.abortProbe(w)
		return
	}
	if err := w.writeText([]byte{pktUpgrade}); err != nil {
		e.abortProbe(w)
		e.closeWith(ReasonTransportError, transportErr(TransportWebSocket, "write", err))
		return
	}
	e.mu.Lock()
	if e.state == stateClosed {
		e.mu.Unlock()
		w.close()
		return
	}
	e.ws, e.poll, e.probeWS, e.upgrading = w, nil, nil, false
	e.kickLocked()
	e.mu.Unlock()
	e.m.goTracked(func() { w.loop(e) })
	e.m.afterUpgrade()
}

// pausePolling stops polling after the probe succeeded: new writes wait,
// and the in-flight GET (released by the server with a noop) and POST
// finish. It reports false if the engine stopped being open meanwhile.
func (e *engine) pausePolling() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.upgrading = true
	for e.state == stateOpen && (e.getting || e.writing) {
		e.cond.Wait()
	}
	return e.state == stateOpen
}

// abortProbe drops the probed WebSocket; the engine goes on with polling
// (or finishes closing).
func (e *engine) abortProbe(w *wsConn) {
	w.close()
	e.mu.Lock()
	if e.probeWS == w {
		e.probeWS = nil
	}
	e.upgrading = false
	e.kickLocked()
	e.mu.Unlock()
}
