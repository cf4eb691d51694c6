package socketio

import "sync/atomic"

// counters are the server's Socket.IO statistics, updated atomically.
type counters struct {
	connects, disconnects atomic.Int64
	eventsIn, packetsOut  atomic.Int64
	broadcasts            atomic.Int64
	volatileDropped       atomic.Int64
	dropped               atomic.Int64
	decodeErrors          atomic.Int64
	recovered             atomic.Int64
	recoveryFailed        atomic.Int64
}

// Stats is a snapshot of a server's Socket.IO counters.
type Stats struct {
	// Connects and Disconnects count namespace connections since start.
	Connects, Disconnects int64
	// EventsIn counts events received from clients; PacketsOut counts
	// packets queued to clients: events, acks and connection replies
	// (each recipient of a broadcast counts).
	EventsIn, PacketsOut int64
	// Broadcasts counts broadcast operations started on this node.
	Broadcasts int64
	// VolatileDropped counts volatile packets dropped.
	VolatileDropped int64
	// Dropped counts packets that did not fit in a client's outbound
	// queue (ErrQueueFull): each closed its connection.
	Dropped int64
	// DecodeErrors counts connections closed for an undecodable packet.
	DecodeErrors int64
	// Recovered and RecoveryFailed count connection state recovery
	// attempts that restored a session or did not.
	Recovered, RecoveryFailed int64
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{Connects: c.connects.Load(), Disconnects: c.disconnects.Load(),
		EventsIn: c.eventsIn.Load(), PacketsOut: c.packetsOut.Load(), Broadcasts: c.broadcasts.Load(),
		VolatileDropped: c.volatileDropped.Load(), Dropped: c.dropped.Load(), DecodeErrors: c.decodeErrors.Load(),
		Recovered: c.recovered.Load(), RecoveryFailed: c.recoveryFailed.Load()}
}

// SocketCounts returns the number of local sockets of each namespace.
func (s *Server) SocketCounts() map[string]int {
	nsps := s.Namespaces()
	out := make(map[string]int, len(nsps))
	for _, ns := range nsps {
		out[ns.name] = ns.Len()
	}
	return out
}
