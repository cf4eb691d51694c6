// Package socketio implements a Socket.IO v4 server (protocol v5) on top of
// package engineio, wire-compatible with Node's socket.io 4.8: the official
// clients connect unchanged.
//
//	type Message struct{ Text string }
//
//	srv := socketio.NewServer(nil) // Node's defaults, path /socket.io/
//	srv.OnConnection(func(s *socketio.Socket) {
//		socketio.On(s, "chat", func(e *socketio.Event, m Message) {
//			_ = s.Broadcast().Emit(s.Context(), "chat", m)
//		})
//	})
//	http.Handle("/socket.io/", srv)
//
// # Model
//
// A Server holds Namespaces ("/" always exists; OfRegexp and OfFunc create
// namespaces on demand). A client's connection to a namespace is a Socket.
// Events arrive as *Event values whose arguments are raw JSON (Arg) that
// Decode reads into typed Go values; Emit takes Go values, []byte for binary,
// or received Args to relay byte for byte. Acks go both ways: Event.Ack
// answers a client; EmitWithAck(ctx, ...) waits for one.
//
// Broadcasts go through a BroadcastOperator (To, Except, Volatile, Local,
// Compress, Timeout), an immutable value; its Emit encodes the packet once
// and queues the same bytes to every recipient. Rooms, broadcasts and the
// cluster operations (SocketsJoin, SocketsLeave, DisconnectSockets,
// FetchSockets, ServerSideEmit) go through each namespace's adapter: the
// in-memory adapter on one node, a cluster adapter (such as adapter/redis)
// across nodes.
//
// # Concurrency
//
// Every exported method is safe for concurrent use; Emit may be called from
// any goroutine. Each callback runs on a known goroutine:
//
//   - Connection middlewares (Use) run on a goroutine of the connection
//     attempt, never on the network reader; their context ends if the
//     client leaves.
//   - A socket's connection, event and disconnect handlers, and its socket
//     middlewares and catch-all handlers, run one at a time and in order,
//     on a goroutine started when there is work and gone when there is
//     none. For an event read from a WebSocket that is the goroutine that
//     read it (no hand-off), and the connection is read by another one
//     meanwhile: a handler may block, even waiting for an ack or an event
//     of the same client, without stalling the connection or other
//     sockets.
//   - Outgoing handlers (OnAnyOutgoing) run on the goroutine that emits.
//   - Server-side handlers (OnServerSideEmit) run on a goroutine each.
//   - Socket.Go runs a function of yours on a goroutine of its own.
//
// Each connection has one outbound queue bounded in bytes; a client that
// cannot keep up is disconnected with ReasonSlowClient and counted. Every
// goroutine the server starts is tracked and Shutdown waits for them.
//
// # Contexts and errors
//
// Calls that may wait on the network or on a client take a
// context.Context: broadcasts (Emit hands the packet to the adapter, which
// may publish to Redis), EmitWithAck, the cluster operations. Socket.Emit
// only queues and does not. Errors form one vocabulary for errors.Is and
// errors.As: ErrTimeout and *PartialError for waits that ran out,
// ErrDisconnected, ErrQueueFull, ErrReservedEvent.
package socketio
