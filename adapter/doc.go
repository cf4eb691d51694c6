// Package adapter is the seam between a Socket.IO namespace and the
// cluster: room membership, broadcasts, the cluster-wide operations
// (socketsJoin/Leave, disconnectSockets, fetchSockets, serverSideEmit, the
// server count) and, for connection state recovery, the session store.
//
// Data flows one way. Package socketio creates one Adapter per namespace
// through a Factory and calls it; the adapter reaches back only through
// the Namespace and Socket interfaces, which socketio implements on views
// of its own types (so that this plumbing stays off the user's API).
//
// Memory is the adapter of a single node and the default: rooms in maps,
// a broadcast encoded once (Encode) and its bytes queued to every
// recipient, in parallel for large rooms. NewRecoveringMemory adds an
// in-process session store and packet log (SessionStore), for recovery on
// one node. Cluster adapters, such as package adapter/redis, embed a Memory
// for their local part and carry the rest over the network.
//
// Errors: an operation that did not hear from every node in time returns
// what it gathered with a *PartialError, which wraps ErrTimeout (package
// socketio re-exports both). ErrNotRecoverable reports a session that
// cannot be restored.
package adapter
