// Package contract is the behaviour of test/compat/CONTRACT.md on a
// Switchboard server: the compatibility suite's Go server (test/compat/goserver)
// and the Go client's tests run it, and Node's reference server
// (test/compat/servers/node-server.mjs) implements the same.
package contract

import (
	"context"
	"regexp"
	"sync"
	"time"

	"github.com/switchboard-io/switchboard/eio"
	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/socketio"
)

// Echo is the raw Engine.IO echo of the contract, served at /engine.io/: it
// sends every message back to its sender.
type Echo struct{}

// OnOpen implements engineio.Handler.
func (Echo) OnOpen(*engineio.Conn) {}

// OnMessage implements engineio.Handler: the message goes back.
func (Echo) OnMessage(c *engineio.Conn, data []byte, binary bool) {
	p := eio.NewMessage(data)
	if binary {
		p = eio.NewBinaryMessage(data)
	}
	_ = c.Send(p)
}

// OnClose implements engineio.Handler.
func (Echo) OnClose(*engineio.Conn, string) {}

// reasons keeps the last disconnect reasons by socket id.
type reasons struct {
	mu    sync.Mutex
	byID  map[string]string
	order []string
}

func (r *reasons) record(id, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byID[id] = reason
	r.order = append(r.order, id)
	for len(r.order) > 1000 {
		delete(r.byID, r.order[0])
		r.order = r.order[1:]
	}
}

func (r *reasons) get(id string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.byID[id]
	return v, ok
}

func relay(args []socketio.Arg) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = a
	}
	return out
}

// Setup installs the contract on io: namespaces "/", "/custom", the dynamic
// "/dyn-<digits>" and "/restricted", and the events of CONTRACT.md on "/".
func Setup(io *socketio.Server) {
	last := &reasons{byID: map[string]string{}}
	common := func(s *socketio.Socket) {
		s.OnDisconnect(func(reason string) { last.record(s.ID(), reason) })
		_ = s.Emit("auth", s.Handshake().Auth)
	}
	main := io.Of("/")
	main.OnConnection(func(s *socketio.Socket) {
		common(s)
		mainHandlers(io, s, last)
	})
	io.Of("/custom").OnConnection(common)
	io.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`)).OnConnection(func(s *socketio.Socket) {
		common(s)
		_ = s.Emit("nsp", s.Namespace().Name())
	})
	restricted := io.Of("/restricted")
	restricted.Use(func(_ context.Context, s *socketio.Socket) error {
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

type broadcastOpts struct {
	To       []string `json:"to"`
	Except   []string `json:"except"`
	Event    string   `json:"event"`
	Volatile bool     `json:"volatile"`
	Timeout  int      `json:"timeout"`
	list     []any    // the "args" member, binary values kept
}

// decodeOpts reads the options object of the contract's broadcast events.
func decodeOpts(e *socketio.Event) broadcastOpts {
	var o broadcastOpts
	if len(e.Args) == 0 {
		return o
	}
	_ = e.Args[0].Decode(&o)
	if list, ok := e.Args[0].Field("args"); ok {
		elems, _ := list.Elements()
		o.list = relay(elems)
	}
	return o
}

func (o broadcastOpts) args() []any { return o.list }

func mainHandlers(io *socketio.Server, s *socketio.Socket, last *reasons) {
	s.On("message", func(e *socketio.Event) { _ = s.Emit("message-back", relay(e.Args)...) })
	s.On("message-with-ack", func(e *socketio.Event) { _ = e.Ack(relay(e.Args)...) })
	s.On("join", func(e *socketio.Event) {
		var room string
		_ = e.Decode(&room)
		s.Join(room)
		_ = e.Ack(true)
	})
	s.On("leave", func(e *socketio.Event) {
		var room string
		_ = e.Decode(&room)
		s.Leave(room)
		_ = e.Ack(true)
	})
	s.On("rooms", func(e *socketio.Event) { _ = e.Ack(s.Rooms()) })
	s.On("handshake", func(e *socketio.Event) {
		h := s.Handshake()
		query := map[string]string{}
		for k := range h.Query {
			query[k] = h.Query.Get(k)
		}
		_ = e.Ack(map[string]any{"auth": h.Auth, "query": query, "headersHasHost": h.Headers.Get("Host") != "", "host": h.Headers.Get("Host"),
			"address": h.Address, "xdomain": h.XDomain, "secure": h.Secure, "issued": h.Time.UnixMilli(), "url": h.URL})
	})
	s.On("broadcast", func(e *socketio.Event) {
		o := decodeOpts(e)
		op := io.Of("/").To(o.To...).Except(o.Except...)
		if o.Volatile {
			op = op.Volatile()
		}
		_ = op.Emit(context.Background(), o.Event, o.args()...)
		_ = e.Ack(true)
	})
	s.On("broadcast-others", func(e *socketio.Event) {
		o := decodeOpts(e)
		_ = s.Broadcast().Emit(context.Background(), o.Event, o.args()...)
		_ = e.Ack(true)
	})
	s.On("server-ack", func(e *socketio.Event) {
		o := decodeOpts(e)
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(o.Timeout)*time.Millisecond)
		defer cancel()
		res, err := s.EmitWithAck(ctx, o.Event, o.args()...)
		if err != nil {
			_ = e.Ack(map[string]any{"ok": false, "error": "operation has timed out"})
			return
		}
		var value any = nil
		if len(res) > 0 {
			value = res[0]
		}
		_ = e.Ack(map[string]any{"ok": true, "value": value})
	})
	s.On("broadcast-ack", func(e *socketio.Event) {
		o := decodeOpts(e)
		res, err := io.Of("/").To(o.To...).Timeout(time.Duration(o.Timeout)*time.Millisecond).
			EmitWithAck(context.Background(), o.Event, o.args()...)
		responses := make([]any, len(res))
		for i, r := range res {
			responses[i] = r
		}
		if err != nil {
			_ = e.Ack(map[string]any{"ok": false, "error": "operation has timed out", "responses": responses})
			return
		}
		_ = e.Ack(map[string]any{"ok": true, "responses": responses})
	})
	s.On("disconnect-me", func(e *socketio.Event) {
		var closeConn bool
		_ = e.Decode(&closeConn)
		s.Disconnect(closeConn)
	})
	s.On("last-reason", func(e *socketio.Event) {
		var id string
		_ = e.Decode(&id)
		if r, ok := last.get(id); ok {
			_ = e.Ack(r)
			return
		}
		_ = e.Ack(nil)
	})
}
