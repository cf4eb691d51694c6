// Package socketiotest provides utilities for testing Socket.IO servers
// built with package socketio, in this repository and in applications.
//
// NewServer starts a socketio.Server on a loopback httptest server and shuts
// it down when the test ends. Client is a minimal raw Socket.IO v5 client
// speaking Engine.IO protocol 4 over WebSocket or HTTP long-polling: it
// connects to namespaces (with an auth payload), sends and receives packets
// (binary attachments included), answers pings, emits with and without
// acks, and reads events with a deadline. It speaks the wire protocol
// directly, with no reconnection and no buffering of its own beyond an
// ordered inbox, so tests see exactly what the server sends.
//
//	srv := socketiotest.NewServer(t, nil)
//	srv.OnConnection(func(s *socketio.Socket) { s.Emit("hello", "world") })
//	c := srv.Connect(t, socketiotest.WebSocket, "/", nil)
//	e, err := c.ReadEvent(socketiotest.Context(t), "/", "hello")
//
// Eventually polls a condition until it holds, for state that settles
// asynchronously (room membership, disconnections), in the manner of
// nats-server's checkFor. VerifyTestMain fails a test binary that leaks
// goroutines.
//
// # Concurrency
//
// A Client's methods are safe for concurrent use. Incoming packets are kept
// in arrival order in the client's inbox; each read (Next, ReadEvent,
// Connect, EmitWithAck) takes the first packet it matches and leaves the
// others for later reads, so a test may wait for an ack while events for
// other namespaces arrive.
package socketiotest
