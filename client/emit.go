package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/switchboard-io/switchboard/parser"
)

// Emit sends an event to the server. Arguments are encoded as JSON:
// []byte values (at the top level, or inside []any and map[string]any)
// travel as binary attachments, json.RawMessage is written verbatim, and
// parser.Arg values received from the server are relayed unchanged. Emit
// copies what it needs: the arguments may be modified once it returns.
//
// When the socket is not connected the event is buffered (Options.
// SendBuffer) and sent in order once it connects. Emit returns an error
// wrapping ErrBufferFull when it can neither send nor buffer, and
// ErrClosed once the Manager is closed.
func (s *Socket) Emit(event string, args ...any) error {
	return Emitter{s: s}.Emit(event, args...)
}

// EmitWithAck sends an event with an ack id and waits for the server's
// acknowledgement, returning its arguments. It returns an error wrapping
// ErrAckTimeout and ctx.Err() when ctx ends first, ErrDisconnected when
// the socket disconnects after sending the event, and ErrClosed when the
// Manager closes. An event buffered while disconnected waits for the
// connection (within ctx).
func (s *Socket) EmitWithAck(ctx context.Context, event string, args ...any) ([]parser.Arg, error) {
	return Emitter{s: s}.EmitWithAck(ctx, event, args...)
}

// Volatile returns an Emitter whose events are dropped (ErrDropped) rather
// than buffered when the socket is not connected or its transport is busy
// writing, like Node's socket.volatile.
func (s *Socket) Volatile() Emitter { return Emitter{s: s, volatile: true} }

// Emitter emits on a socket with per-call modifiers. It is an immutable
// value: modifiers return a modified copy.
type Emitter struct {
	s        *Socket
	volatile bool
}

// Volatile returns a copy of e whose events are volatile.
func (e Emitter) Volatile() Emitter { e.volatile = true; return e }

// Emit sends an event as Socket.Emit does, with e's modifiers.
func (e Emitter) Emit(event string, args ...any) error {
	p, err := eventPacket(e.s.nsp, event, args)
	if err != nil {
		return err
	}
	return e.s.emitPacket(p, e.volatile, nil)
}

// EmitWithAck sends an event as Socket.EmitWithAck does, with e's
// modifiers.
func (e Emitter) EmitWithAck(ctx context.Context, event string, args ...any) ([]parser.Arg, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAckTimeout, err)
	}
	s := e.s
	p, err := eventPacket(s.nsp, event, args)
	if err != nil {
		return nil, err
	}
	p.ID, p.HasID = s.ackSeq.Add(1)-1, true
	w := &ackWait{ch: make(chan ackResult, 1)}
	if err := s.emitPacket(p, e.volatile, w); err != nil {
		return nil, err
	}
	select {
	case r := <-w.ch:
		return r.args, r.err
	case <-ctx.Done():
	}
	s.forgetAck(p.ID)
	select {
	case r := <-w.ch: // arrived meanwhile
		return r.args, r.err
	default:
		return nil, fmt.Errorf("%w: %w", ErrAckTimeout, ctx.Err())
	}
}

// eventPacket encodes an event and its arguments.
func eventPacket(nsp, event string, args []any) (*parser.Packet, error) {
	if parser.IsReservedEvent(event) {
		return nil, fmt.Errorf("%w: %q", ErrReservedEvent, event)
	}
	values := make([]any, 0, len(args)+1)
	values = append(values, event)
	values = append(values, args...)
	data, atts, err := parser.AppendData(make([]byte, 0, 64), nil, values...)
	if err != nil {
		return nil, fmt.Errorf("socketio client: encoding %q: %w", event, err)
	}
	return &parser.Packet{Type: parser.Event, Namespace: nsp, Data: data, Attachments: atts}, nil
}

// emitPacket sends p, or buffers it while the socket is not connected. w,
// when not nil, is registered for p's ack id.
func (s *Socket) emitPacket(p *parser.Packet, volatile bool, w *ackWait) error {
	frames := packetFrames(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m.closed.Load() {
		return ErrClosed
	}
	if w != nil {
		s.acks[p.ID] = w
	}
	if s.connected {
		err := s.eng.send(frames, volatile)
		switch {
		case err == nil:
			if w != nil {
				w.sent = true
			}
			return nil
		case !errors.Is(err, errEngineClosed):
			delete(s.acks, p.ID)
			return err
		}
	}
	var err error
	switch {
	case volatile:
		err = ErrDropped
	case len(s.sendBuf) >= s.m.cfg.SendBuffer:
		err = fmt.Errorf("%w: %d events buffered while disconnected (Options.SendBuffer)",
			ErrBufferFull, len(s.sendBuf))
	default:
		s.sendBuf = append(s.sendBuf, pendingPacket{frames: frames, ackID: p.ID, hasAck: p.HasID})
		return nil
	}
	if w != nil {
		delete(s.acks, p.ID)
	}
	return err
}

// forgetAck drops a pending ack and its event if it is still buffered.
func (s *Socket) forgetAck(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.acks, id)
	for i, pp := range s.sendBuf {
		if pp.hasAck && pp.ackID == id {
			s.sendBuf = append(s.sendBuf[:i], s.sendBuf[i+1:]...)
			return
		}
	}
}

// sendNow writes p if the socket is connected, without buffering.
func (s *Socket) sendNow(p *parser.Packet) error {
	frames := packetFrames(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.connected {
		return ErrNotConnected
	}
	if err := s.eng.send(frames, false); err != nil {
		if errors.Is(err, errEngineClosed) {
			return ErrNotConnected
		}
		return err
	}
	return nil
}

// packetFrames encodes p as Engine.IO frames: the text message, then one
// binary message per attachment. Everything is copied into one buffer.
func packetFrames(p *parser.Packet) []frame {
	size := 24 + len(p.Namespace) + len(p.Data)
	for _, a := range p.Attachments {
		size += len(a)
	}
	buf := make([]byte, 0, size)
	buf = append(buf, pktMessage)
	buf = p.AppendEncode(buf)
	frames := make([]frame, 1, 1+len(p.Attachments))
	frames[0] = frame{data: buf[:len(buf):len(buf)]}
	for _, a := range p.Attachments {
		start := len(buf)
		buf = append(buf, a...)
		frames = append(frames, frame{data: buf[start:len(buf):len(buf)], binary: true})
	}
	return frames
}

// connectPayload builds the CONNECT data: the auth object, preceded by
// "pid" and "offset" once the server gave a private id, as Node's client
// does ({pid, offset, ...auth}).
func connectPayload(auth any, pid, offset string) (json.RawMessage, error) {
	var obj []byte
	if auth != nil {
		data, atts, err := parser.EncodeData(auth)
		if err != nil {
			return nil, fmt.Errorf("socketio client: encoding auth: %w", err)
		}
		if len(atts) > 0 {
			return nil, errors.New("socketio client: auth cannot carry binary values")
		}
		obj = bytes.TrimSpace(data[1 : len(data)-1])
		switch {
		case string(obj) == "null":
			obj = nil
		case len(obj) == 0 || obj[0] != '{':
			return nil, fmt.Errorf("socketio client: auth must encode to a JSON object, not %.40s", obj)
		}
	}
	if pid == "" {
		return obj, nil
	}
	out := append([]byte(`{"pid":`), jsonString(pid)...)
	if offset != "" {
		out = append(out, `,"offset":`...)
		out = append(out, jsonString(offset)...)
	}
	if obj != nil {
		if inner := bytes.TrimSpace(obj[1 : len(obj)-1]); len(inner) > 0 {
			out = append(append(out, ','), inner...)
		}
	}
	return append(out, '}'), nil
}

func jsonString(s string) []byte {
	data, _, _ := parser.EncodeData(s)
	return data[1 : len(data)-1]
}

// Event is one event received from the server.
type Event struct {
	// Socket is the socket that received the event.
	Socket *Socket
	// Name is the event name (a numeric name is given as its decimal text).
	Name string
	// Args are the arguments, raw JSON with their binary attachments; with
	// connection state recovery the last one is the server's offset.
	Args []parser.Arg

	ackID  uint64
	hasAck bool
	acked  atomic.Bool
}

// Decode decodes the arguments into the values ptrs point to, in order. A
// nil pointer skips its argument; a missing argument leaves its value
// untouched. []byte values, at any depth, receive binary attachments.
func (e *Event) Decode(ptrs ...any) error {
	if err := parser.DecodeArgs(e.Args, ptrs...); err != nil {
		return fmt.Errorf("socketio client: event %q %w", e.Name, err)
	}
	return nil
}

// WantsAck reports whether the server asked for an acknowledgement.
func (e *Event) WantsAck() bool { return e.hasAck }

// Ack sends the acknowledgement with args, encoded as Emit encodes them.
// Only the first call sends anything; without a requested ack it does
// nothing. It returns ErrNotConnected if the socket disconnected meanwhile.
func (e *Event) Ack(args ...any) error {
	if !e.hasAck || !e.acked.CompareAndSwap(false, true) {
		return nil
	}
	data, atts, err := parser.AppendData(make([]byte, 0, 32), nil, args...)
	if err != nil {
		return fmt.Errorf("socketio client: encoding ack of %q: %w", e.Name, err)
	}
	return e.Socket.sendNow(&parser.Packet{Type: parser.Ack, Namespace: e.Socket.nsp,
		ID: e.ackID, HasID: true, Data: data, Attachments: atts})
}
