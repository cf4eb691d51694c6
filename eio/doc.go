// Package eio is the Engine.IO v4 wire codec: packet types, the polling
// payload format, text packet decoding, and the WebSocket frames of
// outbound packets, as Node's engine.io-parser 5 writes and reads them.
//
// It holds no connection state and does no I/O, so the server (package
// engineio), the Go client (package client), the cluster adapters and the
// emitter share it without depending on one another.
//
// # Packets
//
// A Packet is one outbound packet: a type (PacketOpen … PacketNoop) and
// its data, text or, for a message, binary. On the wire a text packet is
// "<type digit><data>"; a binary message is a binary WebSocket frame of the
// raw bytes, or "b<base64>" in a polling payload. DecodeText and
// DecodePacket decode one inbound packet; DecodePayload and AppendPayload
// are the polling payload codec (packets joined by RecordSeparator, 0x1e).
//
// # Encode once
//
// A Packet is immutable once sent and may be queued to any number of
// connections. Its encoded forms, WebSocketFrame (server frames are
// unmasked, so one frame fits every recipient), CompressedFrame
// (permessage-deflate without context takeover), Base64Frame (for
// WebSocket clients that asked for base64) and the base64 form used by
// AppendPolling, are built on first use, cached in the packet, and shared:
// a broadcast to many recipients encodes each form once, and once built the
// forms are returned without allocating.
//
// # Concurrency
//
// Every function and method is safe for concurrent use; a Packet's fields
// must not change after it is first encoded or handed to a connection.
package eio
