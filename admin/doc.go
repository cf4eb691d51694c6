// Package admin instruments a socketio.Server for the Socket.IO Admin UI
// (the npm package @socket.io/admin-ui, 0.5.1), as that package's
// instrument() does for a Node server: it serves the admin namespace
// ("/admin" by default) that the UI connects to, with the same events,
// payloads, authentication and actions, so that the unmodified UI shows and
// drives a Go server.
//
// What the UI gets on connecting: "session" (with basic authentication),
// "config" (the supported features), then, in development mode,
// "all_sockets" (every socket of every namespace, on every node), and every
// 2 s from every node "server_stats" (server id, hostname, pid, uptime,
// client counts, the sockets of each namespace and the aggregated engine
// events of the period). In development mode it also gets
// "socket_connected", "socket_updated" (a transport upgrade),
// "socket_disconnected", "room_joined", "room_left", "event_received" and
// "event_sent" as they happen. Unless ReadOnly, the UI's actions "emit",
// "join", "leave" and "_disconnect" act on the sockets of every node, with
// the namespace's cluster-wide operators.
//
// # Clusters
//
// Every node calls Instrument. As in Node, each node broadcasts its own
// statistics and the events of its own sockets to the admin namespace, and
// the namespace's adapter carries them to the admin clients of every node:
// the UI, connected to any node, sees every node and every socket. The
// actions use the cluster adapter's operations (FetchSockets, SocketsJoin,
// SocketsLeave, DisconnectSockets, and a broadcast to a socket id's room),
// so they reach sockets on other nodes. Authentication sessions live in
// Options.Store; a node that does not know a session id asks the other
// nodes, so the UI reconnects to any node with its session id.
//
// # Differences from Node
//
// The aggregated events are read from the engine's counters
// (engineio.Server.Stats) once per period instead of counted per packet, so
// each period is one bucket. A socket's client id and transport are sent
// by the node that holds the socket (a request to every node, next to
// FetchSockets); Node carries them in socket.data._admin, which this
// package reads too, for Node nodes in a mixed cluster. Actions name
// namespaces that exist on the node the UI is connected to; unlike Node's
// io.of(), they never create one.
package admin
