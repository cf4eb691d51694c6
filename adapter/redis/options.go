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
	//
	// Several seeds go in addr parameters
	// (redis://host1:6379?addr=host2:6379): the nodes of a Redis Cluster,
	// or with master_set=<name> the Sentinels of a master. See NewClient
	// for the parameters of TLS.
	URL string
	// TLS configures TLS (a client certificate, CAs, the server name)
	// when the adapter connects from URL. Ignored when Client is set.
	TLS *TLSOptions
	// Client is an existing rueidis client to use. The adapter takes a
	// dedicated connection from it for subscriptions (on a Redis Cluster
	// in sharded mode, one per master) and never closes it.
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
	// the message format of Node's createShardedAdapter: on a Redis
	// Cluster a message then reaches only the shard of its channel rather
	// than every node (a standalone Redis 7 serves it too). The default is
	// the classic adapter of Node's createAdapter.
	Sharded bool
	// SubscriptionMode applies to sharded mode. The zero value is Dynamic.
	SubscriptionMode SubscriptionMode
	// PublishOnSpecificResponseChannel makes this node publish responses
	// on the requester's own response channel rather than the shared one
	// (classic mode), as Node's option of the same name.
	PublishOnSpecificResponseChannel bool
	// Streams, when set, selects the Redis Streams mode, wire-compatible
	// with Node's @socket.io/redis-streams-adapter 0.3: durable messages in
	// a stream, ephemeral ones over pub/sub, and connection state recovery
	// (the namespace adapters implement adapter.SessionStore). It takes
	// precedence over Sharded.
	Streams *StreamsOptions
	// KeepClientsOnLoss keeps the local clients connected when the adapter
	// detects that this node missed messages (a lost subscription, a gap in
	// another node's sequence, trimmed stream entries). By default their
	// transport is closed, so that they reconnect (and recover, in streams
	// mode) instead of silently missing events. Losses are counted either
	// way (Stats.LossesDetected).
	KeepClientsOnLoss bool
	// Logger receives diagnostics. Nil means slog.Default().
	Logger *slog.Logger
}

// StreamsOptions configure the Redis Streams mode. The zero value gives
// Node's defaults. Key (Options.Key) is the pub/sub channel prefix, as
// Node's channelPrefix.
type StreamsOptions struct {
	// StreamName is the stream's key. Zero means "socket.io".
	StreamName string
	// StreamCount spreads the namespaces over this many streams
	// (<StreamName>-<i>, i chosen by a hash of the namespace name, as Node
	// computes it). Zero means 1: one stream, named StreamName. One
	// namespace always lives in exactly one stream, which orders it.
	StreamCount int
	// MaxLen caps the stream (XADD MAXLEN ~). Zero means 10,000. A client
	// whose offset was trimmed cannot recover.
	MaxLen int64
	// ReadCount is the XREAD COUNT. Zero means 100.
	ReadCount int64
	// BlockTime is the XREAD BLOCK time. Zero means 5s.
	BlockTime time.Duration
	// SessionKeyPrefix prefixes the session keys. Zero means "sio:session:".
	SessionKeyPrefix string
	// UseShardedPubSub sends the ephemeral messages with SPUBLISH.
	UseShardedPubSub bool
	// MaxPending bounds the messages waiting to be appended (Redis slow or
	// unreachable); beyond it Broadcast fails (counted in
	// Stats.AppendsRefused). Zero means 100,000.
	MaxPending int
}

func (o *StreamsOptions) withDefaults() *StreamsOptions {
	c := *o
	if c.StreamName == "" {
		c.StreamName = "socket.io"
	}
	if c.StreamCount <= 0 {
		c.StreamCount = 1
	}
	if c.MaxLen <= 0 {
		c.MaxLen = 10_000
	}
	if c.ReadCount <= 0 {
		c.ReadCount = 100
	}
	if c.BlockTime <= 0 {
		c.BlockTime = 5 * time.Second
	}
	if c.SessionKeyPrefix == "" {
		c.SessionKeyPrefix = "sio:session:"
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 100_000
	}
	return &c
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
	if o.Streams != nil {
		o.Streams = o.Streams.withDefaults()
	}
	return o
}
