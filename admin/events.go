package admin

import (
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/socketio"
)

// watchNamespace reports, in development mode, the sockets of ns as they
// connect, disconnect, change rooms and receive or send events. The admin
// namespace's own sockets are reported too, but not their events.
func (in *Instrumentation) watchNamespace(ns *socketio.Namespace) {
	name := ns.Name()
	if w, ok := ns.Adapter().(adapter.RoomWatcher); ok {
		w.WatchRooms(func(room, id string, joined bool) {
			if joined {
				in.emit("room_joined", name, room, id, jsDate(time.Now()))
			} else {
				in.emit("room_left", name, room, id, jsDate(time.Now()))
			}
		})
	}
	ns.OnConnection(func(s *socketio.Socket) {
		transport := s.Conn().Transport()
		in.mu.Lock()
		in.transports[s] = transport
		in.mu.Unlock()
		in.emit("socket_connected", in.serializeLocal(s, transport), jsDate(time.Now()))
		if ns != in.ns {
			s.OnAny(func(e *socketio.Event) {
				in.emit("event_received", name, s.ID(), eventArgs(e.Name, e.Args), jsDate(time.Now()))
			})
			s.OnAnyOutgoing(func(event string, args []socketio.Arg) {
				in.emit("event_sent", name, s.ID(), eventArgs(event, args), jsDate(time.Now()))
			})
		}
		s.OnDisconnect(func(reason string) {
			in.mu.Lock()
			delete(in.transports, s)
			in.mu.Unlock()
			in.emit("socket_disconnected", name, s.ID(), reason, jsDate(time.Now()))
		})
	})
}

// reportUpgrades sends "socket_updated" for the local sockets whose
// transport changed (a polling socket upgraded to WebSocket) since the
// last call.
func (in *Instrumentation) reportUpgrades() {
	type update struct {
		s         *socketio.Socket
		transport string
	}
	var updates []update
	in.mu.Lock()
	for s, was := range in.transports {
		if now := s.Conn().Transport(); now != was {
			in.transports[s] = now
			updates = append(updates, update{s, now})
		}
	}
	in.mu.Unlock()
	for _, u := range updates {
		in.emit("socket_updated", map[string]any{"id": u.s.ID(), "nsp": u.s.Namespace().Name(), "transport": u.transport})
	}
}

// eventArgs is an event as the UI shows it: its name, then its arguments.
func eventArgs(event string, args []socketio.Arg) []any {
	out := make([]any, 0, 1+len(args))
	out = append(out, event)
	for _, a := range args {
		out = append(out, a)
	}
	return out
}
