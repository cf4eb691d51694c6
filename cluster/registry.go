package cluster

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/rueidis"
)

// ErrUnknownNode is returned by a Registry for a tag no live node holds.
var ErrUnknownNode = errors.New("cluster: unknown node")

// Registry maps node tags to the addresses of the nodes' internal
// listeners. Registrations expire unless renewed, so a dead node stops
// being found.
type Registry interface {
	// Register records addr for tag for ttl.
	Register(ctx context.Context, tag, addr string, ttl time.Duration) error
	// Deregister removes tag.
	Deregister(ctx context.Context, tag string) error
	// Lookup returns the address of tag, or ErrUnknownNode.
	Lookup(ctx context.Context, tag string) (string, error)
}

// RedisRegistry keeps registrations in Redis as keys "<prefix><tag>" with a
// TTL.
type RedisRegistry struct {
	client rueidis.Client
	prefix string
}

// NewRedisRegistry returns a registry using client; prefix defaults to
// "switchboard:node:".
func NewRedisRegistry(client rueidis.Client, prefix string) *RedisRegistry {
	if prefix == "" {
		prefix = "switchboard:node:"
	}
	return &RedisRegistry{client: client, prefix: prefix}
}

// Register implements Registry.
func (r *RedisRegistry) Register(ctx context.Context, tag, addr string, ttl time.Duration) error {
	return r.client.Do(ctx, r.client.B().Set().Key(r.prefix+tag).Value(addr).Px(ttl).Build()).Error()
}

// Deregister implements Registry.
func (r *RedisRegistry) Deregister(ctx context.Context, tag string) error {
	return r.client.Do(ctx, r.client.B().Del().Key(r.prefix+tag).Build()).Error()
}

// Lookup implements Registry.
func (r *RedisRegistry) Lookup(ctx context.Context, tag string) (string, error) {
	addr, err := r.client.Do(ctx, r.client.B().Get().Key(r.prefix+tag).Build()).ToString()
	if rueidis.IsRedisNil(err) {
		return "", ErrUnknownNode
	}
	return addr, err
}

// MemoryRegistry is a Registry for nodes in one process (tests, examples).
type MemoryRegistry struct {
	mu    sync.Mutex
	nodes map[string]memoryEntry
}

type memoryEntry struct {
	addr    string
	expires time.Time
}

// NewMemoryRegistry returns an empty in-process registry.
func NewMemoryRegistry() *MemoryRegistry { return &MemoryRegistry{nodes: map[string]memoryEntry{}} }

// Register implements Registry.
func (m *MemoryRegistry) Register(_ context.Context, tag, addr string, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nodes[tag] = memoryEntry{addr: addr, expires: time.Now().Add(ttl)}
	return nil
}

// Deregister implements Registry.
func (m *MemoryRegistry) Deregister(_ context.Context, tag string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.nodes, tag)
	return nil
}

// Lookup implements Registry.
func (m *MemoryRegistry) Lookup(_ context.Context, tag string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.nodes[tag]
	if !ok || time.Now().After(e.expires) {
		return "", ErrUnknownNode
	}
	return e.addr, nil
}
