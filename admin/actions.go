package admin

import (
	"context"
	"time"

	"github.com/switchboard-io/switchboard/socketio"
)

// actionTimeout bounds one action of the UI across the cluster.
const actionTimeout = 10 * time.Second

// registerActions handles the UI's actions on an admin socket. Each names
// a namespace and, optionally, a filter: a room, or a socket id (its own
// room) for an action on one socket. They act on every node.
func (in *Instrumentation) registerActions(s *socketio.Socket) {
	s.On("emit", func(e *socketio.Event) {
		var nsp, filter, event string
		if len(e.Args) < 3 || e.Decode(&nsp, &filter, &event) != nil || event == "" {
			return
		}
		args := make([]any, 0, len(e.Args)-3)
		for _, a := range e.Args[3:] {
			args = append(args, a)
		}
		in.act(nsp, filter, func(ctx context.Context, op socketio.BroadcastOperator) error {
			return op.Emit(ctx, event, args...)
		})
	})
	rooms := func(join bool) socketio.EventHandler {
		return func(e *socketio.Event) {
			var nsp, room, filter string
			if e.Decode(&nsp, &room, &filter) != nil || room == "" {
				return
			}
			in.act(nsp, filter, func(ctx context.Context, op socketio.BroadcastOperator) error {
				if join {
					return op.SocketsJoin(ctx, room)
				}
				return op.SocketsLeave(ctx, room)
			})
		}
	}
	s.On("join", rooms(true))
	s.On("leave", rooms(false))
	s.On("_disconnect", func(e *socketio.Event) {
		var nsp, filter string
		var close bool
		if e.Decode(&nsp, &close, &filter) != nil {
			return
		}
		in.act(nsp, filter, func(ctx context.Context, op socketio.BroadcastOperator) error {
			return op.DisconnectSockets(ctx, close)
		})
	})
}

// act runs an action on the sockets of namespace nsp in room filter (all
// of them when empty), if nsp exists on this node.
func (in *Instrumentation) act(nsp, filter string, do func(context.Context, socketio.BroadcastOperator) error) {
	ns := in.namespace(nsp)
	if ns == nil {
		return
	}
	op := ns.To() // no room: the whole namespace
	if filter != "" {
		op = ns.In(filter)
	}
	ctx, cancel := context.WithTimeout(in.ctx, actionTimeout)
	defer cancel()
	if err := do(ctx, op); err != nil {
		in.io.Engine().Options().Logger.Warn("admin: action failed", "namespace", nsp, "filter", filter, "err", err)
	}
}

// namespace returns the existing namespace named nsp, or nil.
func (in *Instrumentation) namespace(nsp string) *socketio.Namespace {
	for _, ns := range in.io.Namespaces() {
		if ns.Name() == nsp {
			return ns
		}
	}
	return nil
}
