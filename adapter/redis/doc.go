// Package redis is a Socket.IO cluster adapter over Redis pub/sub that
// speaks the wire format of Node's @socket.io/redis-adapter 8.3, so Go and
// Node nodes (and @socket.io/redis-emitter processes) serve one cluster.
//
// Three modes, as in Node:
//
//   - classic (the default, Node's createAdapter): broadcasts are
//     MessagePack [uid, packet, opts] arrays on <key>#<nsp># (or
//     <key>#<nsp>#<room># for exactly one room, PSUBSCRIBEd), requests on
//     <key>-request#<nsp>#, responses on <key>-response#<nsp>#[<uid>#];
//   - sharded (Options.Sharded, Node's createShardedAdapter, Redis ≥ 7):
//     socket.io-adapter ClusterAdapter messages over SPUBLISH/SSUBSCRIBE on
//     <key>#<nsp>#, per-room channels in Dynamic and DynamicPrivate
//     subscription modes, responses on <key>#<nsp>#<uid>#;
//   - streams (Options.Streams, Node's @socket.io/redis-streams-adapter
//     0.3, Redis ≥ 6.2, 7 for trim detection): durable messages in a Redis
//     stream, the others over pub/sub, and connection state recovery that
//     survives the death of the client's node (see below).
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
// # Connecting: seeds, TLS
//
// Options.URL (or NewClient, for a client shared with other uses) names a
// standalone Redis, the nodes of a Redis Cluster, or with master_set the
// Sentinels of a master; further seeds go in addr parameters. The adapter
// starts when any seed answers, and uses the seeds only to find the
// cluster's nodes. rediss:// turns TLS on; TLSOptions (or the URL's
// tls_cert_file, tls_key_file, tls_ca_file and tls_server_name) add a
// client certificate, CAs and the server name, the files read again when
// they change on disk. A start that fails says why: no seed answered, a
// wrong password, an untrusted server certificate, a client certificate
// missing or refused.
//
// # Redis outages and failovers
//
// Publishing uses rueidis's auto-pipelined client. The subscriptions live
// on a dedicated connection that is re-established with backoff and
// resubscribed whenever it is lost. On a Redis Cluster the shard channels
// of sharded mode hash to slots of every master, so they live on one
// dedicated connection per master, to the master of their slot (from
// CLUSTER SLOTS), as Node's sharded adapter subscribes; losing any of
// these connections, or a slot that moves (its master drops the channels
// or answers MOVED), resubscribes everything with the new owners. Classic
// subscriptions on a Redis Cluster sit on one master, and classic
// publishes go to one node of the topology (never to a seed the topology
// no longer lists) and, when it fails, to the next one that takes them.
// Behind Sentinel the subscription connection follows the master: when
// the client learns of a new master (+switch-master, or its periodic
// check), the subscriptions move to it at once instead of staying on the
// old master, deaf, until it is demoted.
//
// A publish that fails for a reason a failover may cure (a network error,
// CLUSTERDOWN, TRYAGAIN, LOADING, READONLY, MASTERDOWN) is retried for up
// to 1.5 s after the outage began (Stats.PublishRetries), less than the 2 s
// other nodes give a gap in this node's numbers, so a message that gets
// through late is not taken for lost; later in an outage publishes fail at
// once. Messages that could not be published are counted
// (Stats.PublishErrors) and logged, and the failing call returns an error:
// nothing is lost silently. Messages that other nodes published while
// this node's subscriptions were moving are lost, as with any Redis
// pub/sub adapter, but not silently (see Loss detection): a failover costs
// each client of a node whose subscriptions moved one reconnection. The
// streams mode loses nothing the cluster accepted.
//
// ServerCount on a Redis Cluster asks every node that CLUSTER SLOTS lists
// now (masters and replicas, as Node counts), skipping those that cannot
// be reached (their subscribers are cut off too); a listed node the
// client does not know yet makes it an error rather than an undercount.
//
// # Streams mode and connection state recovery
//
// Broadcasts without acks, socketsJoin/Leave and disconnectSockets are
// appended to the stream (XADD <stream> MAXLEN ~ <maxLen> * uid nsp type
// data, as Node writes them) and every node, this one included, applies
// them only from its reader (XREAD BLOCK), in stream order: local and
// remote broadcasts reach every client in one order, and the stream entry
// id is the offset appended to eligible events. Broadcasts with acks,
// fetchSockets and serverSideEmit, with their responses, go through
// pub/sub as MessagePack ClusterAdapter messages on <key>#<nsp># and
// <key>#<nsp>#<uid>#, as in Node. One namespace lives in one stream
// (StreamCount spreads namespaces over streams with Node's hash); splitting
// one namespace over several streams would need an offset per stream
// (vector offsets) that the client cannot carry, so it is not done.
//
// Sessions ({sid, pid, rooms, data}, base64 MessagePack under
// <SessionKeyPrefix><pid>, as Node stores them) are written when a socket
// connects and whenever its rooms or data change, refreshed while it lives
// (TTL: the recovery window plus two refresh periods), and written a last
// time when it disconnects (TTL: the window). So any node recovers any
// client, even after its node was killed. A restore takes the session
// (GETDEL), reads the stream from the client's offset (XRANGE), then, under
// the lock of its reader, hands over exactly the entries up to the one the
// reader delivered last and attaches the socket: later entries reach it
// live. Nothing is lost or repeated between replay and live delivery.
//
// Appends never block the caller: each stream has an appender that sends
// the queued messages in order (a Lua script, batched) and retries with
// backoff while Redis fails (Stats.AppendRetries); beyond
// StreamsOptions.MaxPending waiting messages a broadcast fails
// (Stats.AppendsRefused). Each message carries this node's sequence number
// (field "sbseq", ignored by Node): the script skips numbers Redis already
// took, so a retry whose first attempt landed is not appended twice, and
// readers skip repeated numbers. When Redis lost the node's state (a
// restart without persistence), the appender appends its last messages
// again (up to a minute old) and readers deliver only those they missed.
// Readers resume from their last entry after any failure, read a reset
// stream anew, and rewrite the sessions of local sockets. With Redis
// without persistence a restart still loses the sessions of sockets that
// were disconnected at that moment and makes the clients' offsets of the
// old stream useless: a client disconnected then cannot recover.
//
// # Loss detection
//
// A node that finds it missed messages counts it (Stats.LossesDetected)
// and, unless KeepClientsOnLoss, closes the transport of its clients in
// the namespace (Stats.ClientsReconnected), so that they reconnect (and
// recover, in streams mode) instead of silently missing events. It finds
// out through: in classic and sharded modes, a lost and restored
// subscription; in classic mode, a gap in another Go node's broadcast
// numbers (a 4th element of the MessagePack array, which Node nodes
// ignore; holes are given 2 s to fill, pub/sub may reorder concurrent
// publishes); in streams mode, a gap in another node's numbers or entries
// trimmed before they were read.
//
// # Concurrency
//
// Adapter and the per-namespace adapters are safe for concurrent use.
// Messages from Redis are handled one at a time, in arrival order, on one
// goroutine per Adapter; server-side event handlers run on their own
// goroutines (see socketio.Namespace.OnServerSideEmit).
package redis
