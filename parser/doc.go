// Package parser implements the Socket.IO protocol v5 packet codec, the wire
// format of socket.io-parser 4.2.x.
//
// Every Socket.IO packet travels as one Engine.IO message. Its text form is
//
//	<type digit>[<attachments>-][<namespace>,][<ack id>][<JSON data>]
//
// for example 2["foo"], 3/admin,13["bar"] or 51-["baz",{"_placeholder":true,"num":0}].
// Binary values travel as separate Engine.IO binary messages right after the
// text message; the JSON data refers to them by placeholders.
// This package deals with the Socket.IO part only: the Engine.IO "4" message
// prefix is added and removed by the transport layer.
//
// # Encoding
//
// Build the data array with EncodeData (or AppendData), which turns []byte
// values into placeholders and attachments, then write the packet with
// Packet.AppendEncode and send the attachments as binary messages:
//
//	data, atts, err := parser.EncodeData("chat", msg, fileBytes)
//	p := parser.Packet{Type: parser.Event, Namespace: "/", Data: data, Attachments: atts}
//	text := p.AppendEncode(nil) // 51-["chat",...,{"_placeholder":true,"num":0}]
//
// # Decoding
//
// A Decoder reassembles packets from the messages of one connection:
// DecodeText for text messages, DecodeBinary for binary ones. Every error is
// a *DecodeError, and the server is expected to close the connection on it.
// The decoder validates the payload of each packet type as socket.io-parser
// does, rejects reserved event names (wrapping ErrReservedEvent), bounds the
// attachment count (Decoder.MaxAttachments) and ack ids (2^53-1), and checks
// every placeholder. Binary packets keep their BinaryEvent/BinaryAck type and
// their Data keeps its placeholders; the attachments fill Packet.Attachments.
//
// # Arguments
//
// Packet.Args and Packet.Event split the data array into Arg values without
// unmarshalling it. An Arg keeps the element's JSON exactly as received, so
// it can be decoded into any Go value (Arg.Decode fills []byte from
// attachments) or relayed to other clients unchanged by passing it to
// EncodeData: objects keep their key order and strings their escapes; only
// placeholder numbers are renumbered.
//
// # Concurrency
//
// A Decoder holds per-connection state and must be used by one goroutine at
// a time. Packets are plain values; EncodeData, AppendData, Packet methods
// and Arg methods are safe for concurrent use as long as nobody modifies the
// packets and byte slices involved. Decoded packets do not reference the
// messages they were decoded from; Args and EncodeData results do share
// memory with their inputs (packet data, attachments, []byte values).
package parser
