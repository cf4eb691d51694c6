// Package clusterwire implements the inter-server message formats of Node's
// Socket.IO cluster adapters, so that Go and Node nodes can share a cluster:
//
//   - the classic Redis adapter (@socket.io/redis-adapter 8.x) and the Redis
//     emitter (@socket.io/redis-emitter 5.x): MessagePack broadcast arrays
//     [uid, packet, opts] (AppendBroadcast, DecodeBroadcast), and the JSON or
//     MessagePack requests and responses of types 0–9 (Request, Response);
//   - the socket.io-adapter ClusterAdapter messages {uid, nsp, type, data}
//     used by the sharded Redis adapter (Message, MessageData).
//
// Socket.IO packets carry their binary values as placeholders plus
// attachments (see package parser), while these messages carry them inline
// as MessagePack bin values. JSONToMsgpack and MsgpackToJSON convert between
// the two, keeping key order and numbering placeholders depth-first as
// socket.io-parser does.
//
// Decoders never panic on malformed input: they return an error.
// Everything here is stateless and safe for concurrent use; decoded values
// may alias the input bytes.
package clusterwire
