// Package redis is a Socket.IO cluster adapter over Redis pub/sub that
// speaks the wire format of Node's @socket.io/redis-adapter 8.3, so Go and
// Node nodes (and @socket.io/redis-emitter processes) serve one cluster.
//
// Two modes, as in Node:
//
//   - classic (the default, Node's createAdapter): broadcasts are
//     MessagePack [uid, packet, opts] arrays on <key>#<nsp># (or
//     <key>#<nsp>#<room># for exactly one room, PSUBSCRIBEd), requests on
//     <key>-request#<nsp>#, responses on <key>-response#<nsp>#[<uid>#];
//   - sharded (Options.Sharded, Node's createShardedAdapter, Redis ≥ 7):
//     socket.io-adapter ClusterAdapter messages over SPUBLISH/SSUBSCRIBE on
//     <key>#<nsp>#, per-room channels in Dynamic and DynamicPrivate
//     subscription modes, responses on <key>#<nsp>#<uid>#.
//
// Usage:
//
//	a, err := redis.New(ctx, redis.Options{URL: "redis://127.0.0.1:6379"})
//	if err != nil { ... }
//	srv := socketio.NewServer(&socketio.Options{Adapter: a.Factory()})
//	...
//	_ = srv.Shutdown(ctx)
//	_ = a.Close()
//
// Every cluster operation of package socketio works across nodes:
// broadcasts (rooms, except, volatile, compress; local ones are not
// published), broadcasts with acks, SocketsJoin/SocketsLeave,
// DisconnectSockets, FetchSockets, ServerSideEmit with and without acks,
// and ServerCount (PUBSUB NUMSUB / SHARDNUMSUB, so it counts Node nodes
// too).
//
// In classic mode the namespace adapter also answers Node's ALL_ROOMS and
// legacy SOCKETS requests, and offers the cluster-wide room list as
//
//	ns.Adapter().(interface {
//		FetchRooms(context.Context) ([]string, error)
//	})
//
// # Beyond Node's adapter
//
// SocketsJoin, SocketsLeave and DisconnectSockets return once every node
// has applied them. The adapter publishes the operation followed, on the
// same connection, by a fetch request for a room no socket is in (SOCKETS
// in classic mode, FETCH_SOCKETS in sharded mode). Redis delivers a
// channel's messages in order and every node, Go or Node, handles them in
// order, so a node's (empty) answer proves it applied the operation: no
// extension is needed and Node nodes are awaited too.
//
// Requests that wait for the other nodes (FetchSockets, ServerSideEmit
// with acks, the awaited operations) recount the nodes while they wait, so
// a node that is gone (its Redis connection closed) stops being waited
// for. On a timeout they return what they gathered with an
// *adapter.PartialError whose Missing names the silent nodes this node has
// heard from before (Go nodes add their uid to their answers) and counts
// the others as "(unnamed node)".
//
// # Redis outages
//
// Publishing uses rueidis's auto-pipelined client. The subscriptions live
// on a dedicated connection that is re-established with backoff and
// resubscribed whenever it is lost. Messages that could not be published
// are counted (Stats.PublishErrors) and logged, and the failing call
// returns an error: nothing is lost silently. Messages that other nodes
// published while this node was disconnected are lost, as with any Redis
// pub/sub adapter.
//
// # Concurrency
//
// Adapter and the per-namespace adapters are safe for concurrent use.
// Messages from Redis are handled one at a time, in arrival order, on one
// goroutine per Adapter; server-side event handlers run on their own
// goroutines (see socketio.Namespace.OnServerSideEmit).
package redis
