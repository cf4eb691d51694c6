// Package client is a Socket.IO v4 client (Engine.IO protocol 4, Socket.IO
// protocol 5) for Go: for tests, load generators and services that talk to
// any socket.io server, Switchboard or Node's.
//
//	s, err := client.Dial(ctx, "http://localhost:3000/", &client.Options{
//		Auth: map[string]string{"token": "secret"},
//	})
//	if err != nil { ... }
//	defer s.Close()
//	s.On("chat", func(e *client.Event) {
//		var msg string
//		_ = e.Decode(&msg)
//	})
//	_ = s.Emit("chat", "hello")
//	res, err := s.EmitWithAck(ctx, "join", "room1") // the server's ack arguments
//
// # Model
//
// A Manager is one Engine.IO connection and its reconnection logic. Its
// Sockets, one per namespace, share that connection (multiplexing). Dial
// creates a Manager with one Socket; NewManager and Manager.Socket build
// several. Handlers are registered on a Socket before Connect so that no
// event is missed.
//
// Transports: HTTP long-polling then an upgrade to WebSocket (the default,
// like Node's client), WebSocket only, or polling only (Options.Transports).
//
// Events arrive as *Event values whose arguments are raw JSON (parser.Arg)
// that Decode reads into Go values, binary attachments included. Emit takes
// Go values, []byte for binary, json.RawMessage, or received Args to relay
// them unchanged. Acknowledgements go both ways: EmitWithAck waits for the
// server's; a handler answers the server's with Event.Ack or by returning
// the arguments (OnAck).
//
// # Connection life
//
// When the connection is lost, the Manager reconnects with exponential
// backoff and jitter (Node's defaults: 1s doubling up to 5s, factor 0.5,
// unlimited attempts, 20s per attempt) and every active Socket joins its
// namespace again, calling Options.AuthFunc anew. Events emitted meanwhile
// are buffered, up to Options.SendBuffer, and sent once connected; volatile
// events are dropped instead. Disconnect reasons are Node's
// (DisconnectReason). A server refusal (CONNECT_ERROR) is a *ConnectError
// with the middleware's data; a server disconnect or Socket.Disconnect
// stops the socket until Connect is called again.
//
// With connection state recovery on the server, the Socket keeps the
// private id of its session and the offset of the last event, presents
// them when it reconnects, and Recovered reports whether the server
// restored the session (the missed events are then delivered).
//
// # Concurrency
//
// Every exported method is safe for concurrent use. A Socket's handlers
// (events, OnConnect, OnDisconnect, OnConnectError) run one at a time and
// in order, on a goroutine of the Socket's own that exists only while there
// is work, never on the network reader; a handler may block, for instance
// in EmitWithAck. Manager hooks (OnReconnect...) run on the goroutine that
// connects and must not block.
//
// Resources: a WebSocket connection has one reading goroutine; a polling
// connection has one goroutine holding the long-polling GET. Writes go
// through a queue bounded in bytes (Options.MaxQueuedBytes) drained by a
// goroutine that exists only while there is something to write, batching
// what was queued meanwhile into one write (one WebSocket write call, one
// POST). Timers use time.AfterFunc, not goroutines. Close must be called:
// it waits for every goroutine of the Manager; do not call it from a
// handler.
package client
