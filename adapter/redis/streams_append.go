package redis

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
)

// ErrBacklog is returned by a broadcast in streams mode when MaxPending
// messages already wait to be appended (Redis slow or unreachable).
var ErrBacklog = errors.New("redis adapter: too many messages waiting for Redis")

// appendScript appends a batch of one node's messages, each numbered by
// the node (its "sbseq"), idempotently: a message whose number is not above
// the last number recorded for the node (KEYS[2]) landed already, from an
// attempt whose reply was lost, and is skipped. When the record is below
// what the node knows it appended (ARGV[1]), Redis lost the node's state (a
// restart without persistence, a rollback): it appends nothing and returns
// -1, and the node appends its recent messages again.
//
// ARGV: known, maxLen, record TTL (s), then per message: seq, n, n fields.
// Reply: {last recorded number, id or "" per message}.
var appendScript = rueidis.NewLuaScript(`
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
if cur < tonumber(ARGV[1]) then return {-1} end
local out = {0}
local i = 4
while i <= #ARGV do
  local seq = tonumber(ARGV[i])
  local n = tonumber(ARGV[i + 1])
  if seq > cur then
    out[#out + 1] = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, i + 2, i + 1 + n))
    cur = seq
  else
    out[#out + 1] = ''
  end
  i = i + 2 + n
end
redis.call('SET', KEYS[2], cur, 'EX', ARGV[3])
out[1] = cur
return out
`)

const (
	appendBatch  = 128
	replayWindow = 10 * time.Second // the outbox: messages appended this long before the last append
	replayMaxAge = time.Minute      // older ones are not replayed (readers may have forgotten them)
	replayMax    = 20_000
	recordTTL    = 24 * time.Hour
)

var errReset = errors.New("redis adapter: Redis lost this node's stream state")

// appender appends this node's durable messages to one stream, in order,
// retrying with backoff until Redis takes them; nothing is dropped unless
// the adapter closes while Redis is unreachable (counted).
type appender struct {
	st     *stream
	record string // KEYS[2]: the last number appended by this node

	mu     sync.Mutex
	queue  []*pending
	seq    uint64
	closed bool
	wake   chan struct{}
	verify atomic.Bool

	// run goroutine only
	known  uint64     // last number Redis confirmed
	outbox []*pending // recently appended, replayed after a reset
	failed int        // consecutive failures
}

// pending is one message to append.
type pending struct {
	seq    uint64
	fields []string
	at     time.Time
	done   chan entryID // when not nil, receives the entry id (zero if unknown)
}

func newAppender(st *stream) *appender {
	record := st.key + ":switchboard:seq:" + st.h.a.uid
	if !strings.Contains(st.key, "{") {
		record = "{" + st.key + "}:switchboard:seq:" + st.h.a.uid // same slot as the stream
	}
	return &appender{st: st, record: record, wake: make(chan struct{}, 1)}
}

// enqueue numbers a message (the fields of its XADD) and queues it. With
// wait, the returned channel receives its entry id once appended.
func (ap *appender) enqueue(fields []string, wait bool) (<-chan entryID, error) {
	a := ap.st.h.a
	ap.mu.Lock()
	if ap.closed {
		ap.mu.Unlock()
		return nil, ErrClosed
	}
	if len(ap.queue) >= ap.st.h.o.MaxPending {
		ap.mu.Unlock()
		a.stats.appendsRefused.Add(1)
		return nil, ErrBacklog
	}
	ap.seq++
	p := &pending{seq: ap.seq, fields: append(fields, "sbseq", strconv.FormatUint(ap.seq, 10))}
	var done chan entryID
	if wait {
		done = make(chan entryID, 1)
		p.done = done
	}
	ap.queue = append(ap.queue, p)
	ap.mu.Unlock()
	a.stats.appendsPending.Add(1)
	ap.signal()
	return done, nil
}

func (ap *appender) signal() {
	select {
	case ap.wake <- struct{}{}:
	default:
	}
}

// verify asks the appender to check, even with nothing to append, whether
// Redis lost its state (after the reader saw Redis fail).
func (ap *appender) verifyState() {
	ap.verify.Store(true)
	ap.signal()
}

// run appends queued messages until ctx ends. It starts once the reader
// knows where it starts, so that this node delivers its own first entries.
func (ap *appender) run(ctx context.Context) {
	select {
	case <-ap.st.started:
	case <-ctx.Done():
		return
	}
	b := newBackoff()
	for {
		batch, ok := ap.next(ctx)
		if !ok {
			return
		}
		err := ap.append(ctx, batch)
		switch {
		case err == nil:
			b.reset()
			ap.failed = 0
		case errors.Is(err, errReset):
			ap.replay()
		default:
			if ctx.Err() != nil {
				return
			}
			ap.st.h.a.stats.appendRetries.Add(1)
			if ap.failed++; ap.failed == 1 {
				ap.st.h.a.log.Warn("redis adapter: appending to the stream failed; retrying until Redis takes it",
					"stream", ap.st.key, "pending", len(batch), "err", err)
			}
			b.wait(ctx)
		}
	}
}

// next waits for work: the oldest queued messages, or an empty batch for a
// state check. ok is false when ctx ended.
func (ap *appender) next(ctx context.Context) (batch []*pending, ok bool) {
	for {
		ap.mu.Lock()
		n := min(len(ap.queue), appendBatch)
		batch = append([]*pending(nil), ap.queue[:n]...)
		ap.mu.Unlock()
		verify := ap.verify.Swap(false) && (ap.known > 0 || len(ap.outbox) > 0)
		if n > 0 || verify {
			return batch, true
		}
		select {
		case <-ap.wake:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// append runs the script for batch and, on success, dequeues it.
func (ap *appender) append(ctx context.Context, batch []*pending) error {
	args := make([]string, 0, 3+len(batch)*12)
	args = append(args, strconv.FormatUint(ap.known, 10), strconv.FormatInt(ap.st.h.o.MaxLen, 10),
		strconv.Itoa(int(recordTTL/time.Second)))
	for _, p := range batch {
		args = append(args, strconv.FormatUint(p.seq, 10), strconv.Itoa(len(p.fields)))
		args = append(args, p.fields...)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := appendScript.Exec(ctx, ap.st.h.a.client, []string{ap.st.key, ap.record}, args).ToArray()
	if err != nil {
		return err
	}
	if len(res) == 0 {
		return errors.New("redis adapter: empty append reply")
	}
	cur, err := res[0].AsInt64()
	if err != nil {
		return err
	}
	if cur < 0 {
		return errReset
	}
	ap.known = uint64(cur)
	ap.dequeue(batch, res[1:])
	return nil
}

// dequeue removes an appended batch from the queue, tells its waiters and
// keeps it in the outbox.
func (ap *appender) dequeue(batch []*pending, ids []rueidis.RedisMessage) {
	a := ap.st.h.a
	now := time.Now()
	ap.mu.Lock()
	ap.queue = ap.queue[len(batch):]
	if len(ap.queue) == 0 {
		ap.queue = nil
	}
	ap.mu.Unlock()
	a.stats.appendsPending.Add(-int64(len(batch)))
	for i, p := range batch {
		var id entryID
		if i < len(ids) {
			s, _ := ids[i].ToString()
			if id, _ = parseID(s); s != "" {
				a.stats.appended.Add(1)
			}
		}
		if p.done != nil {
			p.done <- id
			p.done = nil
		}
		p.at = now
	}
	ap.outbox = append(ap.outbox, batch...)
	cut := 0
	for cut < len(ap.outbox) && (now.Sub(ap.outbox[cut].at) > replayWindow || len(ap.outbox)-cut > replayMax) {
		cut++
	}
	ap.outbox = append(ap.outbox[:0:0], ap.outbox[cut:]...)
}

// replay puts the recently appended messages back at the head of the
// queue after Redis lost them: readers that delivered them already skip
// them (same publisher numbers), the others get them.
func (ap *appender) replay() {
	a := ap.st.h.a
	a.stats.streamResets.Add(1)
	var again []*pending
	for _, p := range ap.outbox {
		if time.Since(p.at) < replayMaxAge {
			again = append(again, p)
		}
	}
	a.log.Warn("redis adapter: Redis lost this node's stream state (restarted without persistence?); "+
		"appending recent messages again", "stream", ap.st.key, "replayed", len(again))
	ap.known = 0
	ap.outbox = nil
	ap.mu.Lock()
	ap.queue = append(again, ap.queue...)
	ap.mu.Unlock()
	a.stats.appendsPending.Add(int64(len(again)))
}

// close stops taking messages and gives the queue until deadline to drain;
// what remains is counted as dropped. stop cancels the run goroutine.
func (ap *appender) close(deadline time.Time, stop func()) {
	ap.mu.Lock()
	ap.closed = true
	ap.mu.Unlock()
	for time.Now().Before(deadline) {
		ap.mu.Lock()
		n := len(ap.queue)
		ap.mu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
}

// drop counts the messages left when the appender stopped.
func (ap *appender) drop() {
	ap.mu.Lock()
	n := len(ap.queue)
	for _, p := range ap.queue {
		if p.done != nil {
			close(p.done)
		}
	}
	ap.queue = nil
	ap.mu.Unlock()
	if n > 0 {
		a := ap.st.h.a
		a.stats.appendsDropped.Add(uint64(n))
		a.stats.appendsPending.Add(-int64(n))
		a.log.Error("redis adapter: closing with messages Redis never took", "stream", ap.st.key, "dropped", n)
	}
}
