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
//	X-Switchboard-Signature:   v1.<unix seconds>.<nonce>.<mac>
//
// where the nonce is 16 random bytes in hex and the mac is the hex
// HMAC-SHA256, keyed with the secret, of these lines, each ended by "\n":
// "v1", the method, the request URI, the receiver's advertised address,
// the X-Switchboard-Node (sender) and X-Switchboard-Hops headers, the
// timestamp, the nonce and the body digest. An empty body has its digest
// too, and WebSocket upgrades carry a nonce like any request. The leading
// version names the scheme: a receiver refuses versions it does not know.
//
// The receiver refuses (403, counted in Stats) a request whose signature
// is missing, of another version, made for another node, or stamped more
// than 30 s from its clock; whose body does not match the digest; or whose
// nonce it has seen in the last 60 s. It reads the body whole, up to the
// engine's largest POST (a larger one gets 413, as from the engine), and
// keeps it for the handler. It remembers at most 2^18 nonces and refuses
// requests beyond that rather than forget one early.
//
// When the owner is gone, the client gets exactly Node's answer for an
// unknown session (400, code 1) and reconnects.
package cluster
