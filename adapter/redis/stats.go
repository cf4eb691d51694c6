package redis

import "sync/atomic"

// Stats are the adapter's counters since New. The binary exports them as
// metrics.
type Stats struct {
	// Connected reports whether the subscription connection is up and
	// subscribed.
	Connected bool
	// Published counts messages published to Redis.
	Published uint64
	// PublishErrors counts messages that could not be published (Redis
	// unreachable or refusing): each one is a broadcast, request or
	// response that other nodes did not get.
	PublishErrors uint64
	// PublishRetries counts publish attempts that failed and were tried
	// again, on another node of a Redis Cluster or after a short wait (a
	// failover); a message that got through after retries is not in
	// PublishErrors.
	PublishRetries uint64
	// Received counts messages received from Redis.
	Received uint64
	// DecodeErrors counts received messages that could not be decoded.
	DecodeErrors uint64
	// Disconnects counts losses of the subscription connection.
	Disconnects uint64
	// Resubscribes counts successful re-subscriptions after a loss.
	Resubscribes uint64
	// PartialRequests counts cluster requests that ended without every
	// node's answer.
	PartialRequests uint64
	// CountDirect counts the Redis Cluster nodes that the server count
	// asked over a connection of their own, because the client had not
	// learnt them yet (a replica promoted a moment ago).
	CountDirect uint64

	// LossesDetected counts the times this node found that it missed
	// messages meant for its clients: a subscription lost and restored
	// (classic and sharded modes), a gap in another Switchboard node's
	// sequence numbers, or stream entries trimmed before this node read
	// them (streams mode).
	LossesDetected uint64
	// ClientsReconnected counts local clients whose transport was closed
	// after a loss, so that they reconnect (and recover in streams mode).
	ClientsReconnected uint64

	// Appended counts stream entries appended (streams mode).
	Appended uint64
	// AppendRetries counts failed append attempts, each retried with
	// backoff (Redis unreachable or refusing).
	AppendRetries uint64
	// AppendsPending is the number of messages waiting to be appended.
	AppendsPending int64
	// AppendsRefused counts broadcasts refused because MaxPending messages
	// were already waiting; the caller got an error.
	AppendsRefused uint64
	// AppendsDropped counts messages still unappended when the adapter
	// closed (Redis unreachable through the close).
	AppendsDropped uint64
	// EntriesRead counts stream entries read.
	EntriesRead uint64
	// DuplicatesSkipped counts stream entries skipped because they repeat
	// one already delivered (a replay after a stream reset).
	DuplicatesSkipped uint64
	// StreamResets counts the times Redis lost the stream state this node
	// had written (a restart without persistence, a rollback); its recent
	// entries were then appended again.
	StreamResets uint64
	// SessionWriteErrors counts session writes (persist, refresh, drop)
	// that failed.
	SessionWriteErrors uint64
	// LiveSessions is the number of connected sockets whose session this
	// node keeps refreshed in Redis.
	LiveSessions int64
}

type counters struct {
	connected       atomic.Bool
	published       atomic.Uint64
	publishErrors   atomic.Uint64
	received        atomic.Uint64
	decodeErrors    atomic.Uint64
	disconnects     atomic.Uint64
	resubscribes    atomic.Uint64
	partialRequests atomic.Uint64
	countDirect     atomic.Uint64
	failStreak      atomic.Uint64 // publish failures since the last success
	publishRetries  atomic.Uint64
	outage          outage

	lossesDetected     atomic.Uint64
	clientsReconnected atomic.Uint64
	appended           atomic.Uint64
	appendRetries      atomic.Uint64
	appendsPending     atomic.Int64
	appendsRefused     atomic.Uint64
	appendsDropped     atomic.Uint64
	entriesRead        atomic.Uint64
	duplicatesSkipped  atomic.Uint64
	streamResets       atomic.Uint64
	sessionWriteErrors atomic.Uint64
	liveSessions       atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Connected:          c.connected.Load(),
		Published:          c.published.Load(),
		PublishErrors:      c.publishErrors.Load(),
		PublishRetries:     c.publishRetries.Load(),
		Received:           c.received.Load(),
		DecodeErrors:       c.decodeErrors.Load(),
		Disconnects:        c.disconnects.Load(),
		Resubscribes:       c.resubscribes.Load(),
		PartialRequests:    c.partialRequests.Load(),
		CountDirect:        c.countDirect.Load(),
		LossesDetected:     c.lossesDetected.Load(),
		ClientsReconnected: c.clientsReconnected.Load(),
		Appended:           c.appended.Load(),
		AppendRetries:      c.appendRetries.Load(),
		AppendsPending:     c.appendsPending.Load(),
		AppendsRefused:     c.appendsRefused.Load(),
		AppendsDropped:     c.appendsDropped.Load(),
		EntriesRead:        c.entriesRead.Load(),
		DuplicatesSkipped:  c.duplicatesSkipped.Load(),
		StreamResets:       c.streamResets.Load(),
		SessionWriteErrors: c.sessionWriteErrors.Load(),
		LiveSessions:       c.liveSessions.Load(),
	}
}
