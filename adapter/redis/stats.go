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
	failStreak      atomic.Uint64 // publish failures since the last success
}

func (c *counters) snapshot() Stats {
	return Stats{
		Connected:       c.connected.Load(),
		Published:       c.published.Load(),
		PublishErrors:   c.publishErrors.Load(),
		Received:        c.received.Load(),
		DecodeErrors:    c.decodeErrors.Load(),
		Disconnects:     c.disconnects.Load(),
		Resubscribes:    c.resubscribes.Load(),
		PartialRequests: c.partialRequests.Load(),
	}
}
