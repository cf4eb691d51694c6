// Package engineio implements the server side of the Engine.IO protocol,
// version 4, as Node's engine.io 6.6 speaks it: HTTP long-polling, WebSocket,
// the polling → WebSocket upgrade, the server-driven heartbeat, and Node's
// error codes, statuses and bodies byte for byte.
//
// A Server is an http.Handler; mount it at the path clients use:
//
//	srv := engineio.NewServer(handler, nil) // nil: Node's defaults
//	http.Handle("/engine.io/", srv)
//
// The Handler receives each session's open, messages and close. Sessions
// are Conns: Conn.Send queues packets without blocking on the network.
//
// # Outbound path
//
// Every Conn has one outbound queue bounded in bytes (Options.MaxQueueBytes).
// A client that does not keep up is closed with ReasonSlowClient and
// counted; a send never blocks. An eio.Packet is immutable and may be sent
// to any number of connections: its WebSocket frame (server frames are
// unmasked, so one frame fits every recipient) and its polling form are
// built once. On
// an idle WebSocket, Send writes at once from the caller's goroutine with
// one non-blocking vectored write. Enqueue, meant for fan-outs, puts the
// connection in line for the server's writers instead, one goroutine per
// core, which write everything queued the same way: a broadcast only
// appends to queues, its writes run on every core, and packets that come
// faster than they are written are batched (Options.WriteDelay trades
// latency for more batching). A socket that does not take a write whole gets a
// flush goroutine of its own, which waits (up to Options.WriteTimeout). On
// polling, a pending GET takes the whole queue as one payload.
//
// # Inbound path
//
// On Linux, idle WebSocket connections are watched by one epoll instance
// (itself parked in Go's network poller): a connection costs no goroutine
// and no read buffer until data arrives; then a goroutine reads every
// message that came, with a buffer borrowed from a pool, and hands each to
// the Handler; a handler may block, holding up only its own connection.
// The goroutine waits 2 ms for a next message before it gives the
// connection back to the poller, so a client that talks back and forth is
// not passed between them for every message.
// Elsewhere, and for connections without a descriptor of their own (TLS
// served by the http.Server), a goroutine per connection reads.
//
// # Concurrency
//
// Every method of Server and Conn is safe for concurrent use. Each session
// has at most one reading goroutine (the WebSocket reader, or the POST being
// served) and at most one writing goroutine (a writer or the flush
// goroutine, or the pending GET). Every goroutine the server starts is
// tracked; Shutdown waits for them.
//
// # Wire codec
//
// Packets, their encoded forms and the polling payload format are package
// eio, the codec this server shares with the Go client (package client),
// the cluster adapters and the emitter. Conn.Send takes an *eio.Packet.
package engineio
