package cli

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/switchboard-io/switchboard/adapter/redis"
	"github.com/switchboard-io/switchboard/cluster"
	"github.com/switchboard-io/switchboard/internal/config"
	"github.com/switchboard-io/switchboard/internal/metrics"
	"github.com/switchboard-io/switchboard/internal/node"
	"github.com/switchboard-io/switchboard/internal/whiteboard"
)

// newCluster connects to the Redis named by cfg and sets up the adapter and,
// in stickiness-free mode, the router; nil for a single node.
func newCluster(ctx context.Context, cfg *config.Config, log *slog.Logger) (*node.Cluster, error) {
	if cfg.RedisURL == "" {
		return nil, nil
	}
	client, err := redis.NewClient(ctx, redis.Options{URL: cfg.RedisURL, TLS: redisTLS(cfg), Logger: log})
	if err != nil {
		return nil, fmt.Errorf("--redis: %w", err)
	}
	ropts := redis.Options{Client: client, Key: cfg.RedisKey, Sharded: cfg.RedisSharded, Logger: log}
	if cfg.Recovery {
		ropts.Streams = &redis.StreamsOptions{} // sessions and missed events in Redis
	}
	ad, err := redis.New(ctx, ropts)
	if err != nil {
		client.Close()
		return nil, err
	}
	c := &node.Cluster{Adapter: ad.Factory(), TakeoverWindow: cfg.TakeoverWindow, TakeoverWindowMax: cfg.TakeoverWindowMax,
		// The boards live in the same Redis, so that every node serves them
		// and they outlive every node.
		Boards: whiteboard.NewRedisStore(whiteboard.RedisOptions{Client: client, Prefix: cfg.RedisKey + ":whiteboard:",
			MaxEntries: cfg.MaxBoardEntries, TTL: cfg.BoardTTL})}
	if cfg.StickinessFree {
		router, err := cluster.New(cluster.Options{AdvertiseAddr: cfg.AdvertiseAddr, Secret: []byte(cfg.ClusterSecret),
			Registry: cluster.NewRedisRegistry(client, cfg.RedisKey+":switchboard:node:"), Logger: log,
			Rehome: cfg.Recovery}) // recovered sockets lose nothing by reconnecting
		if err == nil {
			err = router.Start(ctx)
		}
		if err != nil {
			_ = ad.Close()
			client.Close()
			return nil, fmt.Errorf("stickiness-free routing: %w", err)
		}
		c.Router = router
	}
	c.WriteMetrics = func(w *metrics.Writer) { writeRedisMetrics(w, ad.Stats()) }
	// Closing runs after the drain and only talks to Redis: each step is
	// bounded and best effort, so that a Redis that is gone neither holds
	// the exit until the shutdown grace ends nor fails the shutdown.
	c.Close = func(ctx context.Context) error {
		if c.Router != nil {
			deregister(ctx, c.Router, log)
		}
		_ = ad.Close() // bounded: it drops (and counts) what Redis does not take in time
		client.Close()
		return nil
	}
	return c, nil
}

// redisTLS returns the TLS options of the redis-tls-* settings, nil when
// none is set.
func redisTLS(cfg *config.Config) *redis.TLSOptions {
	t := &redis.TLSOptions{CertFile: cfg.RedisTLSCert, KeyFile: cfg.RedisTLSKey, CAFile: cfg.RedisTLSCA,
		ServerName: cfg.RedisTLSServerName}
	if *t == (redis.TLSOptions{}) {
		return nil
	}
	return t
}

// deregisterTimeout bounds the removal of the node's registration at
// shutdown, once the node has drained: with Redis unreachable it cannot
// succeed, and the registration expires on its own.
const deregisterTimeout = 2 * time.Second

// deregister removes router's registration, best effort: a Redis that is
// gone is logged, and does not hold the exit or fail the shutdown.
func deregister(ctx context.Context, router *cluster.Node, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, deregisterTimeout)
	defer cancel()
	if err := router.Close(ctx); err != nil {
		log.Warn("redis unreachable at shutdown: the node's registration is left to expire", "err", err)
	}
}

func writeRedisMetrics(m *metrics.Writer, s redis.Stats) {
	up := 0.0
	if s.Connected {
		up = 1
	}
	m.Gauge("switchboard_redis_connected", "1 while the Redis subscription connection is up.", up)
	m.Counter("switchboard_redis_published_total", "Messages published to Redis.", float64(s.Published))
	m.Counter("switchboard_redis_publish_errors_total", "Messages that could not be published (other nodes did not get them).", float64(s.PublishErrors))
	m.Counter("switchboard_redis_publish_retries_total", "Publish attempts that failed and were tried again (another Redis Cluster node, a failover).", float64(s.PublishRetries))
	m.Counter("switchboard_redis_received_total", "Messages received from Redis.", float64(s.Received))
	m.Counter("switchboard_redis_decode_errors_total", "Received messages that could not be decoded.", float64(s.DecodeErrors))
	m.Counter("switchboard_redis_disconnects_total", "Losses of the Redis subscription connection.", float64(s.Disconnects))
	m.Counter("switchboard_redis_resubscribes_total", "Re-subscriptions after a loss.", float64(s.Resubscribes))
	m.Counter("switchboard_redis_partial_requests_total", "Cluster requests that ended without every node's answer.", float64(s.PartialRequests))
	m.Counter("switchboard_redis_count_direct_total", "Redis Cluster nodes the server count asked over a connection of their own (not learnt by the client yet).", float64(s.CountDirect))
	m.Counter("switchboard_redis_losses_detected_total", "Times this node found it missed adapter messages (lost subscription, sequence gap, trimmed stream entries).", float64(s.LossesDetected))
	m.Counter("switchboard_redis_loss_reconnects_total", "Clients disconnected (transport close) after a loss, so that they reconnect and recover.", float64(s.ClientsReconnected))
	m.Counter("switchboard_redis_stream_appended_total", "Stream entries appended (streams mode).", float64(s.Appended))
	m.Counter("switchboard_redis_stream_append_retries_total", "Failed stream appends, retried with backoff.", float64(s.AppendRetries))
	m.Gauge("switchboard_redis_stream_appends_pending", "Messages waiting to be appended to the stream.", float64(s.AppendsPending))
	m.Counter("switchboard_redis_stream_appends_refused_total", "Broadcasts refused because too many messages were waiting for Redis.", float64(s.AppendsRefused))
	m.Counter("switchboard_redis_stream_appends_dropped_total", "Messages never appended because the adapter closed while Redis was unreachable.", float64(s.AppendsDropped))
	m.Counter("switchboard_redis_stream_entries_read_total", "Stream entries read.", float64(s.EntriesRead))
	m.Counter("switchboard_redis_stream_duplicates_skipped_total", "Stream entries skipped as repeats of delivered ones.", float64(s.DuplicatesSkipped))
	m.Counter("switchboard_redis_stream_resets_total", "Times Redis lost the stream state (restart without persistence); recent entries were appended again.", float64(s.StreamResets))
	m.Counter("switchboard_redis_session_write_errors_total", "Session writes to Redis that failed.", float64(s.SessionWriteErrors))
	m.Gauge("switchboard_redis_live_sessions", "Sessions of connected sockets kept in Redis for recovery.", float64(s.LiveSessions))
}
