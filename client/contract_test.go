package client

import (
	"context"
	"regexp"
	"sync"
	"time"

	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/socketio"
)

// setupContract installs the behaviour of test/compat/CONTRACT.md that the
// client tests use, as test/compat/goserver does, plus "garbage".
func setupContract(io *socketio.Server) {
	reasons := &reasonLog{byID: map[string]string{}}
	common := func(s *socketio.Socket) {
		s.OnDisconnect(func(reason string) { reasons.set(s.ID(), reason) })
		_ = s.Emit("auth", s.Handshake().Auth)
	}
	io.Of("/").OnConnection(func(s *socketio.Socket) {
		common(s)
		mainHandlers(io, s, reasons)
	})
	io.Of("/custom").OnConnection(common)
	io.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`)).OnConnection(func(s *socketio.Socket) {
		common(s)
		_ = s.Emit("nsp", s.Namespace().Name())
	})
	restricted := io.Of("/restricted")
	restricted.Use(func(s *socketio.Socket) error {
		var auth struct {
			Token string `json:"token"`
		}
		if s.Handshake().DecodeAuth(&auth) != nil || auth.Token != "secret" {
			return &socketio.ConnectError{Message: "not authorized", Data: map[string]string{"reason": "bad token"}}
		}
		return nil
	})
	restricted.OnConnection(common)
}

type reasonLog struct {
	mu   sync.Mutex
	byID map[string]string
}

func (r *reasonLog) set(id, reason string) {
	r.mu.Lock()
	r.byID[id] = reason
	r.mu.Unlock()
}

func (r *reasonLog) get(id string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.byID[id]
	return v, ok
}

func relayArgs(args []socketio.Arg) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = a
	}
	return out
}

type contractOpts struct {
	To       []string `json:"to"`
	Except   []string `json:"except"`
	Event    string   `json:"event"`
	Volatile bool     `json:"volatile"`
	Timeout  int      `json:"timeout"`
	args     []any
}

func decodeContractOpts(e *socketio.Event) contractOpts {
	var o contractOpts
	if len(e.Args) == 0 {
		return o
	}
	_ = e.Args[0].Decode(&o)
	if list, ok := e.Args[0].Field("args"); ok {
		elems, _ := list.Elements()
		o.args = relayArgs(elems)
	}
	return o
}

func mainHandlers(io *socketio.Server, s *socketio.Socket, reasons *reasonLog) {
	s.On("message", func(e *socketio.Event) { _ = s.Emit("message-back", relayArgs(e.Args)...) })
	s.On("message-with-ack", func(e *socketio.Event) { _ = e.Ack(relayArgs(e.Args)...) })
	s.On("join", func(e *socketio.Event) {
		var room string
		_ = e.Decode(&room)
		s.Join(room)
		_ = e.Ack(true)
	})
	s.On("handshake", func(e *socketio.Event) {
		h := s.Handshake()
		query := map[string]string{}
		for k := range h.Query {
			query[k] = h.Query.Get(k)
		}
		_ = e.Ack(map[string]any{"auth": h.Auth, "query": query, "url": h.URL, "address": h.Address})
	})
	s.On("broadcast", func(e *socketio.Event) {
		o := decodeContractOpts(e)
		op := io.Of("/").To(o.To...).Except(o.Except...)
		if o.Volatile {
			op = op.Volatile()
		}
		_ = op.Emit(o.Event, o.args...)
		_ = e.Ack(true)
	})
	s.On("broadcast-others", func(e *socketio.Event) {
		o := decodeContractOpts(e)
		_ = s.Broadcast().Emit(o.Event, o.args...)
		_ = e.Ack(true)
	})
	s.On("server-ack", func(e *socketio.Event) { serverAck(s, e) })
	s.On("broadcast-ack", func(e *socketio.Event) { broadcastAck(io, e) })
	s.On("disconnect-me", func(e *socketio.Event) {
		var closeConn bool
		_ = e.Decode(&closeConn)
		s.Disconnect(closeConn)
	})
	s.On("last-reason", func(e *socketio.Event) {
		var id string
		_ = e.Decode(&id)
		if r, ok := reasons.get(id); ok {
			_ = e.Ack(r)
			return
		}
		_ = e.Ack(nil)
	})
	s.On("garbage", func(*socketio.Event) { _ = s.Conn().Send(engineio.NewMessage([]byte("9"))) })
}

func serverAck(s *socketio.Socket, e *socketio.Event) {
	o := decodeContractOpts(e)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(o.Timeout)*time.Millisecond)
	defer cancel()
	res, err := s.EmitWithAck(ctx, o.Event, o.args...)
	if err != nil {
		_ = e.Ack(map[string]any{"ok": false, "error": "operation has timed out"})
		return
	}
	var value any
	if len(res) > 0 {
		value = res[0]
	}
	_ = e.Ack(map[string]any{"ok": true, "value": value})
}

func broadcastAck(io *socketio.Server, e *socketio.Event) {
	o := decodeContractOpts(e)
	res, err := io.Of("/").To(o.To...).Timeout(time.Duration(o.Timeout)*time.Millisecond).
		EmitWithAck(context.Background(), o.Event, o.args...)
	responses := make([]any, len(res))
	for i, r := range res {
		responses[i] = r
	}
	if err != nil {
		_ = e.Ack(map[string]any{"ok": false, "error": "operation has timed out", "responses": responses})
		return
	}
	_ = e.Ack(map[string]any{"ok": true, "responses": responses})
}
