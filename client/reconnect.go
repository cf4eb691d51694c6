package client

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// backoff returns the delay before reconnection attempt number attempt+1,
// computed as Node's socket.io-client does (backo2): delay·2^attempt, moved
// up or down by a random fraction of at most RandomizationFactor, capped at
// ReconnectionDelayMax.
func (c *config) backoff(attempt int, rnd float64) time.Duration {
	ms := float64(c.ReconnectionDelay) / float64(time.Millisecond) * math.Pow(2, float64(attempt))
	if f := c.RandomizationFactor; f > 0 {
		dev := math.Floor(rnd * f * ms)
		if int(math.Floor(rnd*10))&1 == 0 {
			ms -= dev
		} else {
			ms += dev
		}
	}
	return time.Duration(min(ms, float64(c.ReconnectionDelayMax)/float64(time.Millisecond)) * float64(time.Millisecond))
}

// startLoopLocked starts the connecting goroutine unless one runs. m.mu is
// held.
func (m *Manager) startLoopLocked(reconnect bool) {
	if m.connecting || m.closed.Load() {
		return
	}
	ctx, cancel := context.WithCancel(m.ctx)
	m.loopGen++
	gen := m.loopGen
	m.connecting, m.loopCancel = true, cancel
	ok := m.goTracked(func() {
		defer cancel()
		m.connectLoop(ctx, gen, reconnect)
	})
	if !ok {
		m.connecting, m.loopCancel = false, nil
		cancel()
	}
}

// stopLoopLocked abandons the connecting goroutine, if any. m.mu is held.
func (m *Manager) stopLoopLocked() {
	if m.loopCancel != nil {
		m.loopCancel()
		m.loopCancel = nil
	}
	m.connecting = false
	m.loopGen++
}

// loopDone marks the loop gen finished, if it is still the current one.
func (m *Manager) loopDone(gen uint64) {
	m.mu.Lock()
	if m.loopGen == gen {
		m.connecting, m.loopCancel = false, nil
	}
	m.mu.Unlock()
}

// connectLoop opens a connection: at once for a first connection, after a
// backoff delay for a reconnection; failed attempts are retried with
// growing delays unless reconnection is off or the attempts are exhausted.
func (m *Manager) connectLoop(ctx context.Context, gen uint64, reconnect bool) {
	var lastErr error
	if !reconnect {
		var done bool
		if done, lastErr = m.tryOpen(ctx, gen, 0); done {
			return
		}
		if m.cfg.NoReconnection {
			m.giveUp(ctx, gen, lastErr, false)
			return
		}
	}
	for retries := 0; ; {
		if max := m.cfg.ReconnectionAttempts; max > 0 && retries >= max {
			m.giveUp(ctx, gen, lastErr, true)
			return
		}
		t := time.NewTimer(m.cfg.backoff(retries, rand.Float64()))
		select {
		case <-ctx.Done():
			t.Stop()
			m.loopDone(gen)
			return
		case <-t.C:
		}
		retries++
		for _, fn := range m.hookSnapshot().attempt {
			fn(retries)
		}
		var done bool
		if done, lastErr = m.tryOpen(ctx, gen, retries); done {
			return
		}
	}
}

// tryOpen makes one connection attempt. done reports that the loop must
// stop: the connection is open, or the loop was abandoned.
func (m *Manager) tryOpen(ctx context.Context, gen uint64, attempt int) (done bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	e, initial, err := m.dialEngine(dctx)
	cancel()
	if err == nil {
		if !m.attach(e, gen, initial) {
			e.closeWith(reasonForcedClose, nil)
			return true, ErrClosed
		}
		if attempt > 0 {
			for _, fn := range m.hookSnapshot().success {
				fn(attempt)
			}
		}
		return true, nil
	}
	if ctx.Err() != nil {
		m.loopDone(gen)
		return true, ctx.Err()
	}
	if dctx.Err() != nil {
		err = fmt.Errorf("socketio client: connection attempt timed out after %v: %w", m.cfg.Timeout, err)
	}
	m.connectFailed(err)
	if attempt > 0 {
		for _, fn := range m.hookSnapshot().failure {
			fn(err)
		}
	}
	return false, err
}

// giveUp ends the loop after failed attempts.
func (m *Manager) giveUp(ctx context.Context, gen uint64, err error, exhausted bool) {
	m.loopDone(gen)
	if ctx.Err() != nil {
		return
	}
	m.mu.Lock()
	socks := m.socketListLocked()
	m.mu.Unlock()
	for _, s := range socks {
		s.onGiveUp(err)
	}
	if exhausted {
		for _, fn := range m.hookSnapshot().gaveUp {
			fn()
		}
	}
}

// dialEngine performs the Engine.IO handshake with the first transport.
func (m *Manager) dialEngine(ctx context.Context) (*engine, []inPacket, error) {
	if m.cfg.Transports[0] == TransportWebSocket {
		return m.openWebSocket(ctx)
	}
	return m.openPolling(ctx)
}

// attach makes e the Manager's connection and starts it. It reports false
// when the loop gen was abandoned meanwhile.
func (m *Manager) attach(e *engine, gen uint64, initial []inPacket) bool {
	m.mu.Lock()
	if m.loopGen != gen || m.closed.Load() || m.skipReconnect {
		m.mu.Unlock()
		return false
	}
	m.eng = e
	m.connecting, m.loopCancel = false, nil
	socks := m.socketListLocked()
	m.mu.Unlock()
	upgrade := e.canUpgrade()
	for _, s := range socks {
		s.engineOpened(e)
	}
	e.start(initial)
	if upgrade {
		m.goTracked(e.probe)
	}
	return true
}

// connectFailed reports a failed connection attempt to the sockets
// waiting to connect.
func (m *Manager) connectFailed(err error) {
	m.mu.Lock()
	socks := m.socketListLocked()
	m.mu.Unlock()
	for _, s := range socks {
		s.onConnectFailed(err)
	}
}
