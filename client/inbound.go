package client

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/switchboard-io/switchboard/parser"
)

// decodeMessage feeds one Engine.IO message to the connection's decoder.
func decodeMessage(d *parser.Decoder, data []byte, binary bool) (*parser.Packet, error) {
	if binary {
		return d.DecodeBinary(data)
	}
	return d.DecodeText(data)
}

// engineOpened sends the CONNECT packet on a new connection if the socket
// is active. With an AuthFunc, the payload is computed on a goroutine of
// its own, since the function may block.
func (s *Socket) engineOpened(e *engine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.connected && s.eng != e {
		// Still connected on a closed connection whose close is being
		// reported: handle it now.
		reason, cause := s.eng.closeInfo()
		s.eng, s.connected, s.id = nil, false, ""
		s.failAcksLocked(ErrDisconnected, true)
		s.enqueueDisconnectLocked(reason, cause)
	}
	if !s.active || s.connected || s.connectingOn == e {
		return
	}
	s.connectingOn = e
	if s.authFunc == nil {
		s.sendConnectLocked(e, s.auth)
		return
	}
	fn := s.authFunc
	s.m.goTracked(func() {
		auth, err := fn(e.ctx)
		s.mu.Lock()
		if s.connectingOn != e || e.ctx.Err() != nil {
			s.mu.Unlock() // abandoned: the next connection calls fn again
			return
		}
		if err != nil {
			s.refuseLocked(fmt.Errorf("socketio client: auth function: %w", err))
			s.mu.Unlock()
			s.m.maybeIdle()
			return
		}
		s.sendConnectLocked(e, auth)
		s.mu.Unlock()
	})
}

// sendConnectLocked sends CONNECT with the auth payload, plus the private
// id and last offset of connection state recovery once the server gave one.
func (s *Socket) sendConnectLocked(e *engine, auth any) {
	data, err := connectPayload(auth, s.pid, s.offset)
	if err != nil {
		s.refuseLocked(err)
		s.m.goTracked(s.m.maybeIdle)
		return
	}
	_ = e.send(packetFrames(&parser.Packet{Type: parser.Connect, Namespace: s.nsp, Data: data}), false)
}

// refuseLocked ends a connection attempt for good with err.
func (s *Socket) refuseLocked(err error) {
	s.connectingOn, s.active, s.recvBuf, s.lastErr = nil, false, nil, err
	s.enqueueConnectErrorLocked(err)
	s.completeWaitersLocked(err)
}

// onPacket handles a packet for the socket's namespace, on e's reader. An
// error is a malformed packet.
func (s *Socket) onPacket(e *engine, p *parser.Packet) error {
	switch p.Type {
	case parser.Connect:
		s.onConnectReply(e, p.Data)
	case parser.Event, parser.BinaryEvent:
		name, args, err := p.Event()
		if err != nil {
			return err
		}
		ev := &Event{Socket: s, Name: name, Args: args, ackID: p.ID, hasAck: p.HasID}
		s.mu.Lock()
		switch {
		case s.connected && s.eng == e:
			s.deliverLocked(ev)
		case s.connectingOn == e:
			s.recvBuf = append(s.recvBuf, ev) // delivered after the CONNECT reply
		}
		s.mu.Unlock()
	case parser.Ack, parser.BinaryAck:
		args, err := p.Args()
		if err != nil {
			return err
		}
		s.mu.Lock()
		w := s.acks[p.ID]
		delete(s.acks, p.ID)
		s.mu.Unlock()
		if w != nil {
			w.ch <- ackResult{args: args}
		}
	case parser.Disconnect:
		s.onServerDisconnect(e)
	case parser.ConnectError:
		s.onConnectError(e, p.Data)
	}
	return nil
}

// onConnectReply handles the server's CONNECT {"sid":..., "pid":...}.
func (s *Socket) onConnectReply(e *engine, data []byte) {
	var r struct {
		SID string `json:"sid"`
		PID string `json:"pid"`
	}
	if json.Unmarshal(data, &r) != nil || r.SID == "" {
		s.onConnectErrorValue(e, &ConnectError{Namespace: s.nsp,
			Message: "CONNECT without a socket id: the server may speak Socket.IO v2 (protocol 4)"})
		return
	}
	s.mu.Lock()
	if !s.active || s.connectingOn != e {
		s.mu.Unlock()
		return
	}
	s.connectingOn, s.eng, s.connected, s.id = nil, e, true, r.SID
	s.recovered = r.PID != "" && r.PID == s.pid
	s.pid, s.lastErr = r.PID, nil
	for _, ev := range s.recvBuf {
		s.deliverLocked(ev)
	}
	s.recvBuf = nil
	s.flushSendBufLocked()
	s.enqueueLocked(func() {
		s.mu.Lock()
		fns := s.onConnect
		s.mu.Unlock()
		for _, fn := range fns {
			fn()
		}
	})
	s.completeWaitersLocked(nil)
	s.mu.Unlock()
}

// flushSendBufLocked sends the events buffered while disconnected, in
// order, keeping what the connection cannot take.
func (s *Socket) flushSendBufLocked() {
	for i, pp := range s.sendBuf {
		if err := s.eng.send(pp.frames, false); err != nil {
			s.sendBuf = append([]pendingPacket(nil), s.sendBuf[i:]...)
			return
		}
		if w := s.acks[pp.ackID]; pp.hasAck && w != nil {
			w.sent = true
		}
	}
	s.sendBuf = nil
}

// deliverLocked queues an event for the handlers and records its offset
// for connection state recovery: the last argument, when it is a string,
// of an event without ack id once the server gave a private id.
func (s *Socket) deliverLocked(ev *Event) {
	if s.pid != "" && !ev.hasAck && len(ev.Args) > 0 {
		if off, ok := ev.Args[len(ev.Args)-1].String(); ok {
			s.offset = off
		}
	}
	s.enqueueLocked(func() { s.dispatch(ev) })
}

// dispatch runs the catch-all handlers then the event's handler.
func (s *Socket) dispatch(ev *Event) {
	s.mu.Lock()
	anys, h := s.anyHandlers, s.handlers[ev.Name]
	s.mu.Unlock()
	for _, fn := range anys {
		fn(ev)
	}
	switch {
	case h.ack != nil:
		res := h.ack(ev)
		_ = ev.Ack(res...)
	case h.fn != nil:
		h.fn(ev)
	}
}

// onServerDisconnect handles DISCONNECT from the server: the socket stops.
func (s *Socket) onServerDisconnect(e *engine) {
	s.mu.Lock()
	if s.eng != e {
		s.mu.Unlock()
		return
	}
	s.active, s.connected, s.eng, s.id = false, false, nil, ""
	s.failAcksLocked(ErrDisconnected, true)
	s.enqueueDisconnectLocked(ReasonServerDisconnect, nil)
	s.mu.Unlock()
	s.m.maybeIdle()
}

// onConnectError handles CONNECT_ERROR: {"message":..., "data":...}, or a
// plain string from older servers.
func (s *Socket) onConnectError(e *engine, data []byte) {
	ce := &ConnectError{Namespace: s.nsp}
	var obj struct {
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(data, &obj); err == nil {
		ce.Message, ce.Data = obj.Message, obj.Data
	} else if err := json.Unmarshal(data, &ce.Message); err != nil {
		ce.Message = string(data)
	}
	s.onConnectErrorValue(e, ce)
}

func (s *Socket) onConnectErrorValue(e *engine, ce *ConnectError) {
	s.mu.Lock()
	if s.connectingOn != e {
		s.mu.Unlock()
		return
	}
	s.refuseLocked(ce)
	s.mu.Unlock()
	s.m.maybeIdle()
}

// onEngineClose handles the loss of connection e.
func (s *Socket) onEngineClose(e *engine, reason DisconnectReason, cause error, reconnect bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.connectingOn == e {
		s.connectingOn, s.recvBuf = nil, nil
	}
	if s.eng == e {
		s.eng, s.connected, s.id = nil, false, ""
		s.failAcksLocked(ErrDisconnected, true)
		s.enqueueDisconnectLocked(reason, cause)
	}
	if !reconnect && s.active && !s.connected && len(s.waiters) > 0 {
		err := errors.Join(ErrNotConnected, errors.New("connection closed: "+string(reason)), cause)
		s.completeWaitersLocked(err)
	}
}

// onConnectFailed reports a failed connection attempt.
func (s *Socket) onConnectFailed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active && !s.connected {
		s.lastErr = err
		s.enqueueConnectErrorLocked(err)
	}
}

// onGiveUp ends the Connect calls waiting when the Manager stops trying.
func (s *Socket) onGiveUp(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active && !s.connected {
		s.completeWaitersLocked(err)
	}
}

// failAcksLocked ends the pending EmitWithAck calls with err: those whose
// event was sent when sentOnly, all of them otherwise.
func (s *Socket) failAcksLocked(err error, sentOnly bool) {
	for id, w := range s.acks {
		if sentOnly && !w.sent {
			continue
		}
		delete(s.acks, id)
		w.ch <- ackResult{err: err}
	}
}

func (s *Socket) enqueueDisconnectLocked(reason DisconnectReason, cause error) {
	s.enqueueLocked(func() {
		s.mu.Lock()
		fns := s.onDisconnect
		s.mu.Unlock()
		for _, fn := range fns {
			fn(reason, cause)
		}
	})
}

func (s *Socket) enqueueConnectErrorLocked(err error) {
	s.enqueueLocked(func() {
		s.mu.Lock()
		fns := s.onConnectErr
		s.mu.Unlock()
		for _, fn := range fns {
			fn(err)
		}
	})
}

// enqueueLocked queues a job for the socket's handler goroutine, starting
// it if needed.
func (s *Socket) enqueueLocked(job func()) {
	s.jobs = append(s.jobs, job)
	if !s.running && s.m.goTracked(s.drain) {
		s.running = true
	}
}

// drain runs the queued jobs until none is left, then exits.
func (s *Socket) drain() {
	for {
		s.mu.Lock()
		if len(s.jobs) == 0 {
			s.jobs, s.running = nil, false
			s.mu.Unlock()
			return
		}
		job := s.jobs[0]
		s.jobs[0] = nil
		s.jobs = s.jobs[1:]
		s.mu.Unlock()
		job()
	}
}
