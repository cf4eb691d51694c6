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
// counted; a send never blocks. A Packet is immutable and may be sent to any
// number of connections: its WebSocket frame (server frames are unmasked, so
// one frame fits every recipient) and its polling form are built once. On
// WebSocket, a short-lived goroutine drains the queue, writing everything
// queued meanwhile in one vectored write; on polling, a pending GET takes the
// whole queue as one payload.
//
// # Concurrency
//
// Every method of Server and Conn is safe for concurrent use. Each session
// has at most one reading goroutine (the WebSocket reader, or the POST being
// served) and at most one writing goroutine (the flusher, or the pending GET).
// Every goroutine the server starts is tracked; Shutdown waits for them.
//
// # Polling payloads
//
// AppendPayload and DecodePayload are the v4 polling payload codec (packets
// joined by 0x1e, binary messages as "b<base64>"). The server's polling
// transport uses them, and so does the Go client (package client).
package engineio
