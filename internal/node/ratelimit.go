package node

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// handshakeLimiter is a token bucket per client IP for new sessions. The
// IP is the request's RemoteAddr: the client's behind trusted proxies,
// since the public handler rewrites it first (internal/realip).
type handshakeLimiter struct {
	rate  float64 // tokens per second
	burst float64

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// errTooManyHandshakes refuses a handshake (Engine.IO code 4, Forbidden).
var errTooManyHandshakes = errors.New("too many handshakes")

func newHandshakeLimiter(rate float64) *handshakeLimiter {
	return &handshakeLimiter{rate: rate, burst: max(1, 2*rate), buckets: map[string]*bucket{}, swept: time.Now()}
}

// allow fits engineio.Options.AllowRequest.
func (l *handshakeLimiter) allow(r *http.Request) error {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	if !l.take(ip, time.Now()) {
		return errTooManyHandshakes
	}
	return nil
}

func (l *handshakeLimiter) take(ip string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		l.sweep(now)
	}
	b := l.buckets[ip]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[ip] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// sweep forgets buckets that are full again (idle clients).
func (l *handshakeLimiter) sweep(now time.Time) {
	for ip, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.buckets, ip)
		}
	}
	l.swept = now
}
