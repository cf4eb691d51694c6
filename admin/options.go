package admin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Mode selects how much the instrumentation reports, as instrument()'s
// mode option.
type Mode string

const (
	// Development, the default (Node's when NODE_ENV is unset), reports
	// every socket, room change and event: each costs a broadcast to the
	// admin namespace.
	Development Mode = "development"
	// Production sends only the configuration and the servers' statistics,
	// with the aggregated events.
	Production Mode = "production"
)

// BasicAuth is the username and bcrypt password hash the UI must give.
type BasicAuth struct {
	Username string
	// PasswordHash is a bcrypt hash ($2a$, $2b$ or $2y$), as made by
	// bcrypt.GenerateFromPassword or `htpasswd -nbB`: never the password.
	PasswordHash string
}

// Options configure Instrument; Instrument copies them.
type Options struct {
	// Auth, when set, requires the UI's username and password. Nil needs
	// NoAuth: as in Node, disabling authentication is a choice to state.
	Auth *BasicAuth
	// NoAuth lets anyone connect to the admin namespace (Node's auth:
	// false).
	NoAuth bool
	// NamespaceName is the admin namespace. Empty means "/admin".
	NamespaceName string
	// ReadOnly offers no actions: the UI can look, not emit, join, leave
	// or disconnect.
	ReadOnly bool
	// ServerID names this node in the UI. Empty means "hostname#pid", what
	// Node uses for a cluster worker, so that nodes of one host differ.
	ServerID string
	// Mode is Development (empty) or Production.
	Mode Mode
	// Store keeps the session ids handed to authenticated UIs, which they
	// give back when they reconnect. Nil means a MemoryStore of this node.
	// A session id unknown to it is asked of the other nodes of the
	// cluster, so that a UI reconnecting to another node is let in.
	Store Store
	// StatsInterval is the period of "server_stats". Zero means 2s, Node's.
	StatsInterval time.Duration
	// QueueSize bounds the admin events waiting to be broadcast; beyond
	// it events are dropped (and counted, see Instrumentation.Dropped)
	// rather than slowing the sockets they describe. Zero means 4096.
	QueueSize int
}

func (o Options) withDefaults() (Options, error) {
	if o.Auth == nil && !o.NoAuth {
		return o, errors.New("admin: Options.Auth must be set, or NoAuth to disable authentication")
	}
	if o.Auth != nil && o.NoAuth {
		return o, errors.New("admin: Options.Auth and NoAuth are both set")
	}
	if o.Auth != nil {
		if _, err := bcrypt.Cost([]byte(o.Auth.PasswordHash)); err != nil {
			return o, fmt.Errorf("admin: the password hash must be a valid bcrypt hash: %w", err)
		}
		a := *o.Auth
		o.Auth = &a
	}
	if o.NamespaceName == "" {
		o.NamespaceName = "/admin"
	}
	if o.ServerID == "" {
		host, _ := os.Hostname()
		o.ServerID = fmt.Sprintf("%s#%d", host, os.Getpid())
	}
	switch o.Mode {
	case "":
		o.Mode = Development
	case Development, Production:
	default:
		return o, fmt.Errorf("admin: unknown mode %q (development or production)", o.Mode)
	}
	if o.Store == nil {
		o.Store = NewMemoryStore(0)
	}
	if o.StatsInterval <= 0 {
		o.StatsInterval = 2 * time.Second
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 4096
	}
	return o, nil
}

// Store keeps the session ids of authenticated UIs. Implementations must be
// safe for concurrent use; a store shared by the nodes of a cluster lets
// the UI reconnect to any node.
type Store interface {
	// SessionExists reports whether id was saved and has not expired.
	SessionExists(ctx context.Context, id string) (bool, error)
	// SaveSession records id.
	SaveSession(ctx context.Context, id string) error
}

// MemoryStore is a Store in this node's memory.
type MemoryStore struct {
	ttl time.Duration
	mu  sync.Mutex
	ids map[string]time.Time // id → expiry
}

// NewMemoryStore returns a store whose sessions last ttl; zero means 24 h,
// the default of the npm package's RedisStore.
func NewMemoryStore(ttl time.Duration) *MemoryStore {
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	return &MemoryStore{ttl: ttl, ids: map[string]time.Time{}}
}

// SessionExists reports whether id was saved less than the ttl ago.
func (m *MemoryStore) SessionExists(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	exp, ok := m.ids[id]
	if ok && time.Now().After(exp) {
		delete(m.ids, id)
		return false, nil
	}
	return ok, nil
}

// SaveSession records id, and forgets the expired sessions.
func (m *MemoryStore) SaveSession(_ context.Context, id string) error {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, exp := range m.ids {
		if now.After(exp) {
			delete(m.ids, k)
		}
	}
	m.ids[id] = now.Add(m.ttl)
	return nil
}
