package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/switchboard-io/switchboard/eio"
	"github.com/switchboard-io/switchboard/parser"
)

// Engine.IO packet types (the first byte of a text packet), as bytes.
const (
	pktOpen    = byte(eio.PacketOpen)
	pktClose   = byte(eio.PacketClose)
	pktPing    = byte(eio.PacketPing)
	pktPong    = byte(eio.PacketPong)
	pktMessage = byte(eio.PacketMessage)
	pktUpgrade = byte(eio.PacketUpgrade)
	pktNoop    = byte(eio.PacketNoop)
)

// closeTimeout bounds how long a graceful close waits for queued packets
// to be written.
const closeTimeout = 5 * time.Second

// errEngineClosed is returned by engine.send once the connection is closing.
var errEngineClosed = errors.New("socketio client: engine.io connection closed")

// errParse is the cause of a close for an undecodable Engine.IO packet.
var errParse = errors.New("socketio client: engine.io parse error")

// frame is one outbound Engine.IO packet: a text packet (data starts with
// its type digit) or a binary message.
type frame struct {
	data   []byte
	binary bool
}

// inPacket is one inbound Engine.IO packet. Data may alias a read buffer
// and is only valid while it is being handled.
type inPacket struct {
	typ    byte
	data   []byte
	binary bool
}

type engineState uint8

const (
	stateOpen    engineState = iota
	stateClosing             // graceful close: flushing the queue
	stateClosed
)

// engine is one Engine.IO connection (session). It starts on polling or
// WebSocket and may upgrade from polling to WebSocket.
//
// Goroutines: one reader at a time (the polling GET loop, or the WebSocket
// reader), a flusher that exists only while packets are queued, and a probe
// during an upgrade. Lock order: Manager.mu, Socket.mu, engine.mu.
type engine struct {
	m            *Manager
	sid          string
	pingInterval time.Duration
	pingTimeout  time.Duration
	maxPayload   int
	upgrades     []string

	ctx    context.Context // canceled on close: aborts requests and dials
	cancel context.CancelFunc
	dec    parser.Decoder // owned by the current reader

	mu        sync.Mutex
	cond      sync.Cond // on mu: getting, writing, upgrading, state changes
	state     engineState
	poll      *polling // the transport while polling
	ws        *wsConn  // the transport once on WebSocket
	probeWS   *wsConn  // the WebSocket being probed during an upgrade
	queue     []frame
	queued    int // bytes in queue
	writing   bool
	getting   bool // a polling GET is in flight or being handled
	upgrading bool // probe answered: polling is pausing, writes wait
	drained   chan struct{}
	pingTimer *time.Timer
	reason    DisconnectReason // why the engine closed
	cause     error
}

// handshakeData is the JSON of the open packet.
type handshakeData struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int64    `json:"pingInterval"`
	PingTimeout  int64    `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

// newEngine builds an engine from the open packet's data.
func newEngine(m *Manager, transport string, open []byte) (*engine, error) {
	var h handshakeData
	if err := json.Unmarshal(open, &h); err != nil || h.SID == "" {
		return nil, &TransportError{Transport: transport, Op: "handshake", Code: -1,
			Message: fmt.Sprintf("invalid open packet %.100q", open), Err: err}
	}
	e := &engine{m: m, sid: h.SID, upgrades: h.Upgrades, maxPayload: h.MaxPayload,
		pingInterval: time.Duration(h.PingInterval) * time.Millisecond,
		pingTimeout:  time.Duration(h.PingTimeout) * time.Millisecond}
	e.cond.L = &e.mu
	e.ctx, e.cancel = context.WithCancel(m.ctx)
	return e, nil
}

func (e *engine) transportName() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ws != nil {
		return TransportWebSocket
	}
	return TransportPolling
}

// start arms the heartbeat and starts the reader, which first handles the
// packets that came with the handshake.
func (e *engine) start(initial []inPacket) {
	e.mu.Lock()
	e.pingTimer = time.AfterFunc(e.pingInterval+e.pingTimeout, e.onPingTimeout)
	p, w := e.poll, e.ws
	e.getting = p != nil // the initial packets are handled as a GET's
	e.mu.Unlock()
	switch {
	case p != nil:
		e.m.goTracked(func() { p.loop(initial) })
	case w != nil:
		e.m.goTracked(func() { w.loop(e) })
	}
}

func (e *engine) onPingTimeout() {
	if !e.m.goEnter() {
		return
	}
	defer e.m.wg.Done()
	e.closeWith(ReasonPingTimeout, nil)
}

// handle processes one inbound packet on the reader. It reports whether the
// reader should go on.
func (e *engine) handle(p inPacket) bool {
	if p.binary {
		e.m.onMessage(e, p.data, true)
		return e.alive()
	}
	switch p.typ {
	case pktPing:
		e.mu.Lock()
		if e.state != stateClosed {
			e.pingTimer.Reset(e.pingInterval + e.pingTimeout)
			e.enqueueLocked(frame{data: []byte{pktPong}})
		}
		e.mu.Unlock()
	case pktMessage:
		e.m.onMessage(e, p.data, false)
	case pktClose:
		e.closeWith(ReasonTransportClose, nil)
		return false
	case pktOpen, pktPong, pktUpgrade, pktNoop:
	default:
		e.closeWith(ReasonTransportError, errParse)
		return false
	}
	return e.alive()
}

// closeInfo returns why the engine closed.
func (e *engine) closeInfo() (DisconnectReason, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reason, e.cause
}

func (e *engine) alive() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state != stateClosed
}

// send queues the frames of one packet. A volatile packet is dropped
// (ErrDropped) unless the transport is idle.
func (e *engine) send(frames []frame, volatile bool) error {
	n := 0
	for _, f := range frames {
		n += len(f.data)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.state != stateOpen:
		return errEngineClosed
	case volatile && (e.writing || e.upgrading || len(e.queue) > 0):
		return ErrDropped
	case e.queued > 0 && e.queued+n > e.m.cfg.MaxQueuedBytes:
		return fmt.Errorf("%w: %d bytes are waiting to be written (Options.MaxQueuedBytes)",
			ErrBufferFull, e.queued)
	}
	for _, f := range frames {
		e.enqueueLocked(f)
	}
	return nil
}

// enqueueLocked queues f and starts the flusher if needed. e.mu is held.
func (e *engine) enqueueLocked(f frame) {
	e.queue = append(e.queue, f)
	e.queued += len(f.data)
	e.kickLocked()
}

// kickLocked starts the flusher when packets wait and nothing blocks them.
func (e *engine) kickLocked() {
	if e.writing || e.upgrading || len(e.queue) == 0 || e.state == stateClosed {
		return
	}
	if e.m.goTracked(e.flush) {
		e.writing = true
	}
}

// flush writes the queue until it is empty, then exits.
func (e *engine) flush() {
	for {
		e.mu.Lock()
		if e.state == stateClosed || e.upgrading || len(e.queue) == 0 {
			e.writing = false
			if len(e.queue) == 0 && e.drained != nil {
				close(e.drained)
				e.drained = nil
			}
			e.cond.Broadcast()
			e.mu.Unlock()
			return
		}
		batch := e.takeBatchLocked()
		p, w := e.poll, e.ws
		e.mu.Unlock()
		// As for engine.io-client: a failed POST is a transport error, a
		// broken WebSocket a transport close.
		err, reason := error(nil), ReasonTransportError
		if w != nil {
			if err = w.writeFrames(batch); err != nil {
				err, reason = transportErr(TransportWebSocket, "write", err), ReasonTransportClose
			}
		} else {
			err = p.write(e.ctx, batch)
		}
		if err != nil {
			e.mu.Lock()
			e.writing = false
			e.cond.Broadcast()
			e.mu.Unlock()
			e.closeWith(reason, err)
			return
		}
	}
}

// takeBatchLocked removes the frames of the next write from the queue: all
// of them on WebSocket, up to maxPayload bytes (at least one) on polling.
func (e *engine) takeBatchLocked() []frame {
	n := len(e.queue)
	if e.ws == nil && e.maxPayload > 0 {
		size := 0
		for i, f := range e.queue {
			size += pollingLen(f) + 1
			if i > 0 && size > e.maxPayload {
				n = i
				break
			}
		}
	}
	batch := e.queue[:n:n]
	e.queue = e.queue[n:]
	if len(e.queue) == 0 {
		e.queue = nil
	}
	for _, f := range batch {
		e.queued -= len(f.data)
	}
	return batch
}

// shutdown closes the connection gracefully, as engine.io-client does:
// the queued packets are written first and, on polling, the close packet
// follows in a request of its own (Node's server handles a packet of a
// request on the next tick, after a close in the same request). It takes
// at most closeTimeout.
func (e *engine) shutdown() {
	e.mu.Lock()
	if e.state != stateOpen {
		e.mu.Unlock()
		return
	}
	e.state = stateClosing
	e.cond.Broadcast() // an upgrade waiting for polling to pause gives up
	e.mu.Unlock()
	deadline := time.Now().Add(closeTimeout)
	e.waitDrained(deadline)
	e.mu.Lock()
	w, open := e.ws, e.state == stateClosing
	if open && w == nil {
		e.enqueueLocked(frame{data: []byte{pktClose}})
	}
	e.mu.Unlock()
	if w != nil {
		w.writeClose()
	} else if open {
		e.waitDrained(deadline)
	}
	e.closeWith(reasonForcedClose, nil)
}

// waitDrained waits until the queue is written, the engine closes, or the
// deadline passes.
func (e *engine) waitDrained(deadline time.Time) {
	e.mu.Lock()
	if e.state == stateClosed || len(e.queue) == 0 && !e.writing {
		e.mu.Unlock()
		return
	}
	drained := make(chan struct{})
	if e.drained != nil {
		close(e.drained)
	}
	e.drained = drained
	e.kickLocked()
	e.mu.Unlock()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
	case <-e.ctx.Done():
	}
}

// closeWith closes the connection at once and reports reason to the
// Manager. Only the first call does anything.
func (e *engine) closeWith(reason DisconnectReason, cause error) {
	e.mu.Lock()
	if e.state == stateClosed {
		e.mu.Unlock()
		return
	}
	e.state = stateClosed
	e.reason, e.cause = reason, cause
	e.queue, e.queued = nil, 0
	if e.pingTimer != nil {
		e.pingTimer.Stop()
	}
	if e.drained != nil {
		close(e.drained)
		e.drained = nil
	}
	w, probe := e.ws, e.probeWS
	e.cond.Broadcast()
	e.mu.Unlock()
	e.cancel()
	if w != nil {
		w.close()
	}
	if probe != nil {
		probe.close()
	}
	e.m.onEngineClose(e, reason, cause)
}

// pollingLen is the length of f in a polling payload.
func pollingLen(f frame) int {
	if f.binary {
		return 1 + base64.StdEncoding.EncodedLen(len(f.data))
	}
	return len(f.data)
}

// appendPayload appends frames as a v4 polling payload
// (eio.AppendPayload: packets joined by the record separator, binary
// ones as "b<base64>").
func appendPayload(dst []byte, frames []frame) []byte {
	ps := make([]eio.Packet, len(frames))
	packets := make([]*eio.Packet, len(frames))
	for i, f := range frames {
		p := &ps[i]
		if f.binary {
			p.Type, p.Data, p.Binary = eio.PacketMessage, f.data, true
		} else {
			p.Type, p.Data = eio.PacketType(f.data[0]), f.data[1:]
		}
		packets[i] = p
	}
	return eio.AppendPayload(dst, packets...)
}

// decodePayload splits a v4 polling payload into packets
// (eio.DecodePayload). On the first invalid packet it returns the
// packets before it and errParse, as engine.io-parser does.
func decodePayload(body []byte) ([]inPacket, error) {
	out := make([]inPacket, 0, 1+bytes.Count(body, []byte{0x1e})) // 0x1e: the separator
	err := eio.DecodePayload(body, func(typ eio.PacketType, data []byte, binary bool) error {
		out = append(out, inPacket{typ: byte(typ), data: data, binary: binary})
		return nil
	})
	if err != nil {
		return out, errParse
	}
	return out, nil
}
