// Package cluster makes a set of Switchboard nodes serve Engine.IO sessions
// correctly behind any load balancer, sticky or not: no "Session ID
// unknown", ever.
//
// Every node tags the session ids it issues with its own 4-byte node tag
// (ids stay 20 characters, as Node's tools expect) and registers the tag
// with the address of its internal listener in a Registry (Redis in a
// cluster). A request that lands on a node that does not hold its session
// is handled in one of two ways:
//
//   - Polling requests (GET and POST) are forwarded to the owner over one
//     thin, authenticated HTTP hop and its answer streamed back.
//   - A WebSocket upgrade takes the session over: when the owner has not yet
//     handed the session to the application (engineio.Options.OpenDelay
//     holds it back for a moment after the handshake), it releases it and
//     the node that received the upgrade adopts it, so the WebSocket lives
//     where it landed, with no lasting hop. When the application has seen
//     the session already, the WebSocket is proxied to the owner instead.
//
// Requests between nodes are signed with the cluster secret, so nobody
// outside the cluster can make a node act for a session, and each is
// served once, so a request captured on the network cannot be replayed.
// A request carries two headers:
//
//	X-Switchboard-Body-Sha256: <hex SHA-256 of the exact body bytes>
//	X-Switchboard-Signature:   v2.<unix seconds>.<boot id>.<sequence>.<mac>
//
// where the boot id is 16 random bytes in hex that the sender picks when
// it is made (New), the sequence is a decimal number, 1 for the first
// request the sender signs and one more for each one after, whatever node
// it is for, and the mac is the hex HMAC-SHA256, keyed with the secret, of
// these lines, each ended by "\n": "v2", the method, the request URI, the
// receiver's advertised address, the X-Switchboard-Node (sender) and
// X-Switchboard-Hops headers, the timestamp, the boot id, the sequence and
// the body digest. An empty body has its digest too, and WebSocket
// upgrades are numbered like any request. The leading version names the
// scheme: a receiver refuses versions it does not know, v1 (a random
// nonce where v2 has the boot id and sequence) included.
//
// The receiver refuses (403, counted in Stats) a request whose signature is
// missing, of another version, made for another node, or stamped more than
// 30 s from its clock (when it arrives, and again once its body is read);
// whose body does not match the digest; or whose sequence number it
// accepted from that boot id already. It reads the body whole, up to the
// engine's largest POST (a larger one gets 413, as from the engine), and
// keeps it for the handler. As IPsec and DTLS do, it keeps per boot id the
// highest number accepted and a bitmap of the 32,768 numbers up to it (an
// anti-replay window, 4 KiB): requests signed at the same time may arrive
// out of order, and are accepted in any order within the window; one that
// falls further behind is refused, that request only. The state of a boot
// id is forgotten 60 s after its last request, when all the requests
// accepted from it are stamped more than 30 s ago and refused for that; a
// restarted node has a new boot id. At most 4,096 boot ids are tracked, and
// requests from new ones beyond that refused rather than one forgotten
// early. The cost of a request does not depend on the rate.
//
// When the owner is gone, the client gets exactly Node's answer for an
// unknown session (400, code 1) and reconnects.
package cluster
