package whiteboard

import (
	"context"
	_ "embed" // the Lua script
	"fmt"
	"strconv"
	"time"

	"github.com/redis/rueidis"
)

// DefaultBoardTTL is how long the Redis store keeps a board nobody draws
// on.
const DefaultBoardTTL = 7 * 24 * time.Hour

// RedisOptions configures a RedisStore.
type RedisOptions struct {
	// Client is the connection to Redis (standalone, sentinel or cluster),
	// typically the one the node's adapter uses. Required.
	Client rueidis.Client
	// Prefix starts every board's key: a board is the stream
	// Prefix + name. Zero means "whiteboard:".
	Prefix string
	// MaxEntries is the number of entries a board keeps; the oldest are
	// dropped beyond it. Zero means DefaultMaxEntries.
	MaxEntries int
	// TTL is how long a board is kept after its last write. Zero means
	// DefaultBoardTTL.
	TTL time.Duration
}

// RedisStore is a Store in Redis, shared by the nodes of a cluster: each
// board is a stream capped at MaxEntries (XADD MAXLEN) that expires TTL
// after its last write. Every command touches one key, so it works on a
// Redis Cluster too.
type RedisStore struct {
	client rueidis.Client
	prefix string
	cap    string // MaxEntries, as XADD MAXLEN takes it
	ttlMs  int64
}

//go:embed clear.lua
var clearLua string

var clearScript = rueidis.NewLuaScript(clearLua)

// NewRedisStore returns a RedisStore; it does not own the client.
func NewRedisStore(opts RedisOptions) *RedisStore {
	if opts.Prefix == "" {
		opts.Prefix = "whiteboard:"
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = DefaultMaxEntries
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultBoardTTL
	}
	return &RedisStore{client: opts.Client, prefix: opts.Prefix,
		cap: strconv.Itoa(opts.MaxEntries), ttlMs: opts.TTL.Milliseconds()}
}

// Append implements Store: XADD and PEXPIRE in one round trip.
func (r *RedisStore) Append(ctx context.Context, board string, s Stroke) (ID, error) {
	key := r.prefix + board
	res := r.client.DoMulti(ctx,
		r.client.B().Xadd().Key(key).Maxlen().Threshold(r.cap).Id("*").FieldValue().
			FieldValue("s", rueidis.BinaryString(s.JSON())).Build(),
		r.client.B().Pexpire().Key(key).Milliseconds(r.ttlMs).Build())
	raw, err := res[0].ToString()
	if err != nil {
		return ID{}, fmt.Errorf("whiteboard: append: %w", err)
	}
	return ParseID(raw)
}

// Clear implements Store.
func (r *RedisStore) Clear(ctx context.Context, board string) (ID, error) {
	raw, err := clearScript.Exec(ctx, r.client, []string{r.prefix + board}, []string{r.cap, strconv.FormatInt(r.ttlMs, 10)}).ToString()
	if err != nil {
		return ID{}, fmt.Errorf("whiteboard: clear: %w", err)
	}
	return ParseID(raw)
}

// Range implements Store (XRANGE from after, exclusive). An entry that
// does not read as a stroke is skipped.
func (r *RedisStore) Range(ctx context.Context, board string, after ID, limit int) ([]Entry, error) {
	if limit <= 0 {
		return nil, nil
	}
	start := "-"
	if !after.IsZero() {
		start = "(" + after.String()
	}
	xs, err := r.client.Do(ctx, r.client.B().Xrange().Key(r.prefix+board).Start(start).End("+").
		Count(int64(limit)).Build()).AsXRange()
	if err != nil {
		return nil, fmt.Errorf("whiteboard: range: %w", err)
	}
	out := make([]Entry, 0, len(xs))
	for _, x := range xs {
		id, err := ParseID(x.ID)
		if err != nil {
			continue
		}
		if _, ok := x.FieldValues["c"]; ok {
			out = append(out, Entry{ID: id, Clear: true})
			continue
		}
		s, err := ParseStroke([]byte(x.FieldValues["s"]))
		if err != nil {
			continue
		}
		out = append(out, Entry{ID: id, Stroke: s})
	}
	return out, nil
}
