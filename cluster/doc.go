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
// Requests between nodes carry an HMAC-SHA256 signature made with the
// cluster secret and a timestamp; unsigned, badly signed or stale requests
// are refused, so nobody outside the cluster can make a node act for a
// session. When the owner is gone, the client gets exactly Node's answer
// for an unknown session (400, code 1) and reconnects.
package cluster
