package socketio

import (
	"context"
	"fmt"
)

// Typed handlers and acks. Go methods cannot have type parameters, so these
// are functions taking the socket. The raw forms (Socket.On with e.Decode,
// EmitWithAck returning []Arg) stay for relays and variadic events.

// On registers a handler of event whose first argument is decoded into a
// T, as Event.Decode does. An event whose argument does not decode is
// dropped (and logged at debug level) without calling h. The returned
// function removes the handler.
//
//	socketio.On(s, "chat", func(e *socketio.Event, m Message) { ... })
func On[T any](s *Socket, event string, h func(e *Event, v T)) (off func()) {
	return s.On(event, func(e *Event) {
		var v T
		if err := e.Decode(&v); err != nil {
			s.nsp.srv.log.Debug("event dropped: its argument does not decode", "socket", s.id,
				"event", e.Name, "type", fmt.Sprintf("%T", v), "err", err)
			return
		}
		h(e, v)
	})
}

// OnAck registers a handler of event that answers the client's ack with
// what it returns (Node's callback(result)). Its first argument is decoded
// into a T; an event that does not decode is dropped without an answer. An
// event sent without an ack still runs h; its result is then discarded.
//
//	socketio.OnAck(s, "add", func(e *socketio.Event, p Pair) int { return p.A + p.B })
func OnAck[T, R any](s *Socket, event string, h func(e *Event, v T) R) (off func()) {
	return On(s, event, func(e *Event, v T) {
		r := h(e, v)
		if err := e.Ack(r); err != nil {
			s.nsp.srv.log.Debug("ack not sent", "socket", s.id, "event", e.Name, "err", err)
		}
	})
}

// DecodeAck decodes the first argument of an ack into an R. It takes the
// results of a socket's EmitWithAck as they are:
//
//	sum, err := socketio.DecodeAck[int](s.Timeout(time.Second).EmitWithAck(ctx, "add", 1, 2))
//
// An error from EmitWithAck is returned as is; an ack without arguments
// leaves the zero R.
func DecodeAck[R any](args []Arg, err error) (R, error) {
	var r R
	if err != nil {
		return r, err
	}
	if len(args) > 0 {
		if derr := args[0].Decode(&r); derr != nil {
			return r, fmt.Errorf("socketio: decoding an ack into %T: %w", r, derr)
		}
	}
	return r, nil
}

// DecodeAcks decodes the acks of a broadcast (each client's first
// argument) into Rs. It takes the results of BroadcastOperator.EmitWithAck
// as they are, and keeps its error: on a timeout it returns the decoded
// acks that arrived with the *PartialError. An ack that does not decode
// fails the whole call.
//
//	votes, err := socketio.DecodeAcks[Vote](srv.Timeout(5*time.Second).EmitWithAck(ctx, "vote"))
func DecodeAcks[R any](acks []Arg, err error) ([]R, error) {
	out := make([]R, 0, len(acks))
	for i, a := range acks {
		var r R
		if derr := a.Decode(&r); derr != nil {
			return out, fmt.Errorf("socketio: decoding ack %d into %T: %w", i, r, derr)
		}
		out = append(out, r)
	}
	return out, err
}

// Go runs f on a goroutine that Server.Shutdown waits for (a panic in f is
// logged, as in a handler), with a context
// that ends when the socket disconnects (Socket.Context). It is the form of
// Node's emit(..., callback): wait for an ack without blocking the
// socket's handlers.
//
//	s.Go(func(ctx context.Context) {
//		res, err := s.Timeout(5 * time.Second).EmitWithAck(ctx, "confirm")
//		...
//	})
func (s *Socket) Go(f func(ctx context.Context)) {
	ctx := s.Context()
	s.nsp.srv.goTracked(func() { s.run(func() { f(ctx) }) }) // a panic is logged
}
