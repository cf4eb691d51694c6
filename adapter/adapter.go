package adapter

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/switchboard-io/switchboard/eio"
	"github.com/switchboard-io/switchboard/parser"
)

// Rooms is room membership of the local sockets of one namespace.
type Rooms interface {
	// Join adds socket id to rooms.
	Join(id string, rooms ...string)
	// Leave removes socket id from room.
	Leave(id string, room string)
	// LeaveAll removes socket id from every room.
	LeaveAll(id string)
	// RoomsOf returns the rooms socket id is in (nil if none).
	RoomsOf(id string) []string
	// Size returns the number of local sockets in room.
	Size(room string) int
}

// Broadcaster sends packets to the sockets that match a set of options, on
// this node and, for cluster adapters, on every other node.
type Broadcaster interface {
	// Broadcast sends an event packet to the matching sockets.
	Broadcast(ctx context.Context, p *parser.Packet, opts Options) error
	// BroadcastWithAck sends an event packet carrying an ack id to the
	// matching sockets. clientCount is called once per node with the number
	// of sockets it targeted; ack is called with each client's first ack
	// argument. Both may be called from any goroutine.
	BroadcastWithAck(ctx context.Context, p *parser.Packet, opts Options,
		clientCount func(n int), ack func(parser.Arg)) error
}

// Cluster operations act on the sockets of every node. On a single node
// they act on the local sockets. The methods that change state return once
// every node has applied the change, or with an error naming what is
// missing.
type Cluster interface {
	// AddSockets makes the matching sockets join rooms.
	AddSockets(ctx context.Context, opts Options, rooms []string) error
	// DelSockets makes the matching sockets leave rooms.
	DelSockets(ctx context.Context, opts Options, rooms []string) error
	// DisconnectSockets disconnects the matching sockets; close also closes
	// their underlying connections.
	DisconnectSockets(ctx context.Context, opts Options, close bool) error
	// FetchSockets returns the matching sockets of every node. On a timeout
	// it returns what it gathered together with a *PartialError.
	FetchSockets(ctx context.Context, opts Options) ([]SocketInfo, error)
	// ServerSideEmit sends an event to the other nodes' namespace handlers.
	// When ack is true it waits for one reply per other node and returns
	// their first arguments.
	ServerSideEmit(ctx context.Context, data []any, ack bool) ([]parser.Arg, error)
	// ServerCount returns the number of nodes serving the namespace.
	ServerCount(ctx context.Context) (int, error)
}

// Adapter is the whole seam between a namespace and the cluster.
type Adapter interface {
	Rooms
	Broadcaster
	Cluster
	// Close releases the adapter's resources.
	Close() error
}

// Factory creates the adapter of one namespace.
type Factory func(ns Namespace) Adapter

// Namespace is what an adapter sees of its namespace on this node. The
// socketio package hands its adapters a view of each namespace that
// implements it; these methods are not on socketio.Namespace itself.
type Namespace interface {
	// Name returns the namespace name, such as "/".
	Name() string
	// Socket returns the local socket with the given id, or nil.
	Socket(id string) Socket
	// NextAckID returns a fresh ack id of the namespace. Ids are shared by
	// its sockets and broadcasts; cluster adapters number the broadcasts
	// with acks that other nodes start with them.
	NextAckID() uint64
	// RecoveryWindow is how long the session of a disconnected socket
	// stays recoverable, zero when connection state recovery is off.
	// Adapters that store sessions expire them after it.
	RecoveryWindow() time.Duration
	// HandleServerSideEmit runs the namespace's server-side handlers for an
	// event sent by another node. reply, when not nil, sends the handler's
	// first argument back (once).
	HandleServerSideEmit(event string, args []parser.Arg, reply func(arg any))
}

// Socket is what an adapter sees of one local socket.
type Socket interface {
	// ID returns the socket id.
	ID() string
	// Deliver writes an encoded packet to the socket. The message is shared
	// by every recipient and must not be modified.
	Deliver(m *Message)
	// ExpectAck registers fn for the ack with the given id.
	ExpectAck(id uint64, fn func(args []parser.Arg))
	// Disconnect disconnects the socket; close also closes its connection.
	Disconnect(close bool)
	// Info describes the socket for FetchSockets.
	Info() SocketInfo
}

// Options select the sockets of an operation: those in any of Rooms (every
// socket when empty) and in none of Except.
type Options struct {
	Rooms  []string
	Except []string
	Flags  Flags
}

// Flags modify a broadcast.
type Flags struct {
	// Volatile packets are dropped for clients that cannot take them now.
	Volatile bool
	// Local broadcasts stay on this node.
	Local bool
	// NoCompress disables compression of the packet.
	NoCompress bool
	// Timeout bounds a broadcast with acks (zero: the caller's context).
	Timeout time.Duration
}

// Message is one Socket.IO packet encoded once for all its recipients.
type Message struct {
	Packet   *parser.Packet
	Frames   []*eio.Packet
	Volatile bool
	// Fanout is the number of local sockets the message is being
	// delivered to, set by the adapter before the first delivery (0 when
	// not known).
	Fanout int

	msgpack atomic.Pointer[[]*eio.Packet] // see MsgpackFrames
}

// MsgpackFrames returns the message in the msgpack parser's format: one
// binary message, built on first use and shared by every recipient (the
// slice too), so that a broadcast is encoded at most once per format and
// costs no allocation per recipient. The caller must not modify it.
func (m *Message) MsgpackFrames() ([]*eio.Packet, error) {
	if f := m.msgpack.Load(); f != nil {
		return *f, nil
	}
	b, err := m.Packet.AppendMsgpack(make([]byte, 0, len(m.Packet.Data)+16))
	if err != nil {
		return nil, err
	}
	f := eio.NewBinaryMessage(b)
	f.NoCompress = len(m.Frames) > 0 && m.Frames[0].NoCompress
	frames := []*eio.Packet{f}
	m.msgpack.CompareAndSwap(nil, &frames)
	return *m.msgpack.Load(), nil
}

// Encode encodes p once into Engine.IO packets: a text message followed by
// one binary message per attachment.
func Encode(p *parser.Packet, f Flags) *Message {
	frames := make([]*eio.Packet, 0, 1+len(p.Attachments))
	head := eio.NewMessage(p.AppendEncode(nil))
	head.NoCompress = f.NoCompress
	frames = append(frames, head)
	for _, a := range p.Attachments {
		b := eio.NewBinaryMessage(a)
		b.NoCompress = f.NoCompress
		frames = append(frames, b)
	}
	return &Message{Packet: p, Frames: frames, Volatile: f.Volatile}
}

// SocketInfo describes a socket of any node, as FetchSockets returns it.
type SocketInfo struct {
	ID        string          `json:"id"`
	Handshake Handshake       `json:"handshake"`
	Rooms     []string        `json:"rooms"`
	Data      json.RawMessage `json:"data"`
	// Local is set for sockets of this node.
	Local bool `json:"-"`
}

// Handshake holds the details of a socket's handshake, serialised as Node
// serialises socket.handshake.
type Handshake struct {
	Headers map[string]any  `json:"headers"`
	Time    string          `json:"time"`
	Address string          `json:"address"`
	XDomain bool            `json:"xdomain"`
	Secure  bool            `json:"secure"`
	Issued  int64           `json:"issued"`
	URL     string          `json:"url"`
	Query   map[string]any  `json:"query"`
	Auth    json.RawMessage `json:"auth"`
}

// PartialError reports an operation that did not hear from everyone in
// time: a cluster request missing nodes, or a broadcast with acks missing
// clients. The results gathered are returned with it.
type PartialError struct {
	// Missing names the nodes that did not answer, when known.
	Missing []string
	// Expected and Received count the answers (nodes, or the clients of a
	// broadcast with acks).
	Expected int
	Received int
	// Cause is what ended the wait, such as the context's error, if known.
	Cause error
}

// Error says how many of the expected answers arrived.
func (e *PartialError) Error() string {
	return "operation has timed out: " + strconv.Itoa(e.Received) + " of " + strconv.Itoa(e.Expected) + " responses received"
}

// ErrTimeout is wrapped by the errors of requests that timed out.
var ErrTimeout = errors.New("operation has timed out")

// Unwrap makes errors.Is(err, ErrTimeout) true for a PartialError, and
// errors.Is(err, context.DeadlineExceeded) when its Cause is that.
func (e *PartialError) Unwrap() []error {
	if e.Cause == nil {
		return []error{ErrTimeout}
	}
	return []error{ErrTimeout, e.Cause}
}
