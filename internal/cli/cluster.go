package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/redis/rueidis"

	"github.com/switchboard-io/switchboard/adapter/redis"
	"github.com/switchboard-io/switchboard/cluster"
	"github.com/switchboard-io/switchboard/internal/config"
	"github.com/switchboard-io/switchboard/internal/metrics"
	"github.com/switchboard-io/switchboard/internal/node"
)

// newCluster connects to the Redis named by cfg and sets up the adapter and,
// in stickiness-free mode, the router; nil for a single node.
func newCluster(ctx context.Context, cfg *config.Config, log *slog.Logger) (*node.Cluster, error) {
	if cfg.RedisURL == "" {
		return nil, nil
	}
	opt, err := rueidis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("--redis: %w", err)
	}
	opt.DisableCache = true
	client, err := rueidis.NewClient(opt)
	if err != nil {
		return nil, fmt.Errorf("--redis: connecting: %w", err)
	}
	ad, err := redis.New(ctx, redis.Options{Client: client, Key: cfg.RedisKey, Sharded: cfg.RedisSharded, Logger: log})
	if err != nil {
		client.Close()
		return nil, err
	}
	c := &node.Cluster{Adapter: ad.Factory(), TakeoverWindow: cfg.TakeoverWindow}
	if cfg.StickinessFree {
		router, err := cluster.New(cluster.Options{AdvertiseAddr: cfg.AdvertiseAddr, Secret: []byte(cfg.ClusterSecret),
			Registry: cluster.NewRedisRegistry(client, cfg.RedisKey+":switchboard:node:"), Logger: log})
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
	c.Close = func(ctx context.Context) error {
		var errs []error
		if c.Router != nil {
			errs = append(errs, c.Router.Close(ctx))
		}
		errs = append(errs, ad.Close())
		client.Close()
		return errors.Join(errs...)
	}
	return c, nil
}

func writeRedisMetrics(m *metrics.Writer, s redis.Stats) {
	up := 0.0
	if s.Connected {
		up = 1
	}
	m.Gauge("switchboard_redis_connected", "1 while the Redis subscription connection is up.", up)
	m.Counter("switchboard_redis_published_total", "Messages published to Redis.", float64(s.Published))
	m.Counter("switchboard_redis_publish_errors_total", "Messages that could not be published (other nodes did not get them).", float64(s.PublishErrors))
	m.Counter("switchboard_redis_received_total", "Messages received from Redis.", float64(s.Received))
	m.Counter("switchboard_redis_decode_errors_total", "Received messages that could not be decoded.", float64(s.DecodeErrors))
	m.Counter("switchboard_redis_disconnects_total", "Losses of the Redis subscription connection.", float64(s.Disconnects))
	m.Counter("switchboard_redis_resubscribes_total", "Re-subscriptions after a loss.", float64(s.Resubscribes))
	m.Counter("switchboard_redis_partial_requests_total", "Cluster requests that ended without every node's answer.", float64(s.PartialRequests))
}
