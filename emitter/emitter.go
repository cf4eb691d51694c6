// Package emitter publishes into a Switchboard (or Node socket.io) cluster
// from any Go process, through Redis, without being a node: emits to all
// sockets, rooms or all-but-some, room joins and leaves, disconnections and
// server-side events. Its messages are those of Node's
// @socket.io/redis-emitter 5.x, so Go nodes with adapter/redis (classic
// mode) and Node nodes with @socket.io/redis-adapter both act on them.
//
//	client, _ := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{"127.0.0.1:6379"}})
//	e := emitter.New(client, nil)
//	err := e.To("room-1").Emit(ctx, "news", map[string]string{"title": "hello"})
//
// An Emitter is an immutable value: To, Except, Of, Volatile and Compress
// return modified copies, so one can be shared between goroutines.
package emitter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/rueidis"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/internal/clusterwire"
	"github.com/switchboard-io/switchboard/parser"
)

// uid is the sender id every emitter uses, as Node's emitter does.
const uid = "emitter"

// ErrReservedEvent is returned when emitting a reserved event name.
var ErrReservedEvent = errors.New("emitter: reserved event name")

// Options configure an Emitter.
type Options struct {
	// Key prefixes the channels, as the adapters' key. Zero means
	// "socket.io".
	Key string
}

// Emitter publishes to the sockets of one namespace of a cluster.
type Emitter struct {
	client rueidis.Client
	key    string
	nsp    string
	rooms  []string
	except []string
	flags  adapter.Flags
}

// New returns an emitter for the main namespace "/" publishing through
// client.
func New(client rueidis.Client, opts *Options) Emitter {
	key := "socket.io"
	if opts != nil && opts.Key != "" {
		key = opts.Key
	}
	return Emitter{client: client, key: key, nsp: "/"}
}

// Of returns an emitter for namespace nsp (a leading "/" is added if
// missing), with no target rooms.
func (e Emitter) Of(nsp string) Emitter {
	if !strings.HasPrefix(nsp, "/") {
		nsp = "/" + nsp
	}
	return Emitter{client: e.client, key: e.key, nsp: nsp}
}

// To returns an emitter that also targets rooms.
func (e Emitter) To(rooms ...string) Emitter {
	e.rooms = append(slices.Clip(e.rooms), rooms...)
	return e
}

// In is the same as To.
func (e Emitter) In(rooms ...string) Emitter { return e.To(rooms...) }

// Except returns an emitter that excludes the sockets in rooms.
func (e Emitter) Except(rooms ...string) Emitter {
	e.except = append(slices.Clip(e.except), rooms...)
	return e
}

// Volatile returns an emitter whose events may be dropped for clients that
// cannot take them at once.
func (e Emitter) Volatile() Emitter { e.flags.Volatile = true; return e }

// Compress returns an emitter with compression enabled or disabled.
func (e Emitter) Compress(on bool) Emitter { e.flags.NoCompress = !on; return e }

func (e Emitter) opts() adapter.Options {
	return adapter.Options{Rooms: e.rooms, Except: e.except, Flags: e.flags}
}

// Emit sends an event to the selected sockets of every node. Arguments
// follow the rules of socketio.Socket.Emit: []byte values travel as binary.
func (e Emitter) Emit(ctx context.Context, event string, args ...any) error {
	if parser.IsReservedEvent(event) {
		return ErrReservedEvent
	}
	values := append([]any{event}, args...)
	data, atts, err := parser.EncodeData(values...)
	if err != nil {
		return fmt.Errorf("emitter: encoding %q: %w", event, err)
	}
	p := &parser.Packet{Type: parser.Event, Namespace: e.nsp, Data: data, Attachments: atts}
	msg, err := clusterwire.AppendBroadcast(nil, uid, p, e.opts())
	if err != nil {
		return err
	}
	channel := e.key + "#" + e.nsp + "#"
	if len(e.rooms) == 1 {
		channel += e.rooms[0] + "#"
	}
	return e.publish(ctx, channel, msg)
}

// SocketsJoin makes the selected sockets of every node join rooms.
func (e Emitter) SocketsJoin(ctx context.Context, rooms ...string) error {
	return e.request(ctx, &clusterwire.Request{Type: clusterwire.RemoteJoin, Rooms: rooms})
}

// SocketsLeave makes the selected sockets of every node leave rooms.
func (e Emitter) SocketsLeave(ctx context.Context, rooms ...string) error {
	return e.request(ctx, &clusterwire.Request{Type: clusterwire.RemoteLeave, Rooms: rooms})
}

// DisconnectSockets disconnects the selected sockets of every node; close
// also closes their connections.
func (e Emitter) DisconnectSockets(ctx context.Context, close bool) error {
	return e.request(ctx, &clusterwire.Request{Type: clusterwire.RemoteDisconnect, Close: &close})
}

// ServerSideEmit sends an event to the namespace's server-side handlers on
// every node (no acks: an emitter is not a node).
func (e Emitter) ServerSideEmit(ctx context.Context, event string, args ...any) error {
	switch event {
	case "connect", "connection", "new_namespace":
		return ErrReservedEvent
	}
	values := append([]any{event}, args...)
	data, atts, err := parser.EncodeData(values...)
	if err != nil {
		return fmt.Errorf("emitter: encoding %q: %w", event, err)
	}
	payload, err := clusterwire.EncodeRequest(&clusterwire.Request{UID: uid, Type: clusterwire.ServerSideEmit, Data: data}, atts)
	if err != nil {
		return err
	}
	return e.publish(ctx, e.key+"-request#"+e.nsp+"#", payload)
}

// request publishes a join, leave or disconnect request for the selected
// sockets.
func (e Emitter) request(ctx context.Context, r *clusterwire.Request) error {
	opts := clusterwire.OptsToWire(e.opts(), false)
	r.Opts = &opts
	payload, err := clusterwire.EncodeRequest(r, nil)
	if err != nil {
		return err
	}
	return e.publish(ctx, e.key+"-request#"+e.nsp+"#", payload)
}

func (e Emitter) publish(ctx context.Context, channel string, payload []byte) error {
	cmd := e.client.B().Publish().Channel(channel).Message(rueidis.BinaryString(payload)).Build()
	if err := e.client.Do(ctx, cmd).Error(); err != nil {
		return fmt.Errorf("emitter: publishing to %s: %w", channel, err)
	}
	return nil
}
