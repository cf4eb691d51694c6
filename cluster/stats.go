package cluster

import "sync/atomic"

type counters struct {
	forwarded, forwardedPosts, forwardErrors atomic.Int64
	forwardNanos                             atomic.Int64
	takeovers, takeoversRefused, released    atomic.Int64
	rehomedUpgrades                          atomic.Int64
	takeoverNanos                            atomic.Int64
	proxiedWebSockets, served                atomic.Int64
	unknownOwner, refusedUnsigned            atomic.Int64
	refusedDigests, refusedReplays           atomic.Int64
	refusedTooOld, replayCacheFull           atomic.Int64
	registryErrors                           atomic.Int64
}

// Stats is a snapshot of a node's routing counters.
type Stats struct {
	// Forwarded counts requests sent on to the session's owner; Served
	// counts requests other nodes forwarded here.
	Forwarded, Served int64
	// ForwardErrors counts forwards and releases that failed to reach the
	// owner.
	ForwardErrors int64
	// ForwardedPosts and ForwardSeconds give the time added by forwarding
	// a POST (total seconds over ForwardedPosts requests).
	ForwardedPosts int64
	ForwardSeconds float64
	// Takeovers counts WebSocket upgrades that took their session over;
	// TakeoversRefused those whose owner kept it (they are proxied).
	Takeovers, TakeoversRefused int64
	// RehomedUpgrades counts WebSocket upgrades refused because their
	// owner closed the session instead (Options.Rehome): their clients
	// reconnect rather than be proxied.
	RehomedUpgrades int64
	// TakeoverSeconds is the total time spent asking owners to release.
	TakeoverSeconds float64
	// Released counts sessions this node handed to another.
	Released int64
	// ProxiedWebSockets counts WebSockets served through a lasting hop.
	ProxiedWebSockets int64
	// UnknownOwner counts requests whose owner is not registered.
	UnknownOwner int64
	// RefusedUnsigned counts cluster requests refused for a missing, bad
	// or stale signature.
	RefusedUnsigned int64
	// RefusedDigests counts cluster requests whose body did not match
	// the digest their signature covers.
	RefusedDigests int64
	// RefusedReplays counts cluster requests refused as replays: a
	// request with their sender's boot id and sequence number was served
	// already, or their number is below their sender's window.
	RefusedReplays int64
	// RefusedTooOld counts the part of RefusedReplays refused for a
	// number below the window: replays of older requests, or requests
	// that fell behind more than the window's size of those their sender
	// signed after them.
	RefusedTooOld int64
	// ReplayCacheFull counts cluster requests refused because they came
	// from a new sender and the replay cache tracked as many senders as
	// it can.
	ReplayCacheFull int64
	// RegistryErrors counts failed registration renewals.
	RegistryErrors int64
}

// Stats returns a snapshot of the node's counters.
func (n *Node) Stats() Stats {
	c := &n.stats
	return Stats{
		Forwarded: c.forwarded.Load(), Served: c.served.Load(), ForwardErrors: c.forwardErrors.Load(),
		ForwardedPosts: c.forwardedPosts.Load(), ForwardSeconds: float64(c.forwardNanos.Load()) / 1e9,
		Takeovers: c.takeovers.Load(), TakeoversRefused: c.takeoversRefused.Load(),
		TakeoverSeconds: float64(c.takeoverNanos.Load()) / 1e9, Released: c.released.Load(),
		ProxiedWebSockets: c.proxiedWebSockets.Load(), UnknownOwner: c.unknownOwner.Load(),
		RefusedUnsigned: c.refusedUnsigned.Load(), RegistryErrors: c.registryErrors.Load(),
		RefusedDigests: c.refusedDigests.Load(), RefusedReplays: c.refusedReplays.Load(),
		RefusedTooOld: c.refusedTooOld.Load(), ReplayCacheFull: c.replayCacheFull.Load(),
		RehomedUpgrades: c.rehomedUpgrades.Load(),
	}
}
