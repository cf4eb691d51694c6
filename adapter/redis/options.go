package redis

import (
	"log/slog"
	"time"

	"github.com/redis/rueidis"
)

// SubscriptionMode selects which channels a sharded adapter subscribes to,
// as the subscriptionMode option of Node's createShardedAdapter.
type SubscriptionMode int

const (
	// Dynamic subscribes to the namespace channel plus one channel per
	// public room (a room that is not a socket id) with local members.
	// It is the default.
	Dynamic SubscriptionMode = iota
	// Static subscribes only to the namespace channel and the node's
	// response channel.
	Static
	// DynamicPrivate subscribes to one channel per room with local
	// members, socket-id rooms included.
	DynamicPrivate
)

// String returns the mode's name as Node spells it.
func (m SubscriptionMode) String() string {
	switch m {
	case Static:
		return "static"
	case DynamicPrivate:
		return "dynamic-private"
	}
	return "dynamic"
}

// Options configure an Adapter. The zero value connects to
// redis://127.0.0.1:6379 with Node's defaults. New copies the options.
type Options struct {
	// URL of the Redis server, such as "redis://user:pass@host:6379/0".
	// Ignored when Client is set. Empty means redis://127.0.0.1:6379.
	URL string
	// Client is an existing rueidis client to use. The adapter takes a
	// dedicated connection from it for subscriptions and never closes it.
	Client rueidis.Client
	// Key prefixes every channel (Node's key, or channelPrefix in sharded
	// mode). Zero means "socket.io".
	Key string
	// RequestsTimeout bounds cluster requests (fetchSockets,
	// serverSideEmit with acks, awaited socketsJoin/Leave and
	// disconnectSockets) whose context has no earlier deadline.
	// Zero means 5s.
	RequestsTimeout time.Duration
	// Sharded selects Redis 7 sharded pub/sub (SPUBLISH/SSUBSCRIBE) with
	// the message format of Node's createShardedAdapter. The default is
	// the classic adapter of Node's createAdapter.
	Sharded bool
	// SubscriptionMode applies to sharded mode. The zero value is Dynamic.
	SubscriptionMode SubscriptionMode
	// PublishOnSpecificResponseChannel makes this node publish responses
	// on the requester's own response channel rather than the shared one
	// (classic mode), as Node's option of the same name.
	PublishOnSpecificResponseChannel bool
	// Logger receives diagnostics. Nil means slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.URL == "" {
		o.URL = "redis://127.0.0.1:6379"
	}
	if o.Key == "" {
		o.Key = "socket.io"
	}
	if o.RequestsTimeout <= 0 {
		o.RequestsTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
