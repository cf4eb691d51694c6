package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/socketio"
)

func TestBackoff(t *testing.T) {
	c := (&Options{}).withDefaults()
	for _, tc := range []struct {
		attempt int
		rnd     float64
		want    time.Duration
	}{
		{0, 0, time.Second},                // no deviation
		{0, 0.05, 975 * time.Millisecond},  // floor(0.5) even: minus floor(0.05·0.5·1000)
		{0, 0.15, 1075 * time.Millisecond}, // floor(1.5) odd: plus 75
		{1, 0.99, 2990 * time.Millisecond}, // floor(9.9) odd: 2000 + floor(0.99·0.5·2000)
		{2, 0.25, 3500 * time.Millisecond}, // floor(2.5) even: 4000 - 500
		{3, 0.15, 5 * time.Second},         // 8000 + 600, capped
		{60, 0.5, 5 * time.Second},         // overflow-safe
		{2, 0.999999, 5 * time.Second},     // 4000 + 1999, capped
		{1, 0.0001, 2 * time.Second},       // floor(0.001) even, deviation floor(0.1) = 0
	} {
		if got := c.backoff(tc.attempt, tc.rnd); got != tc.want {
			t.Errorf("backoff(%d, %v) = %v, want %v", tc.attempt, tc.rnd, got, tc.want)
		}
	}
	noJitter := (&Options{RandomizationFactor: -1, ReconnectionDelay: 100 * time.Millisecond,
		ReconnectionDelayMax: time.Second}).withDefaults()
	for i, want := range []time.Duration{100, 200, 400, 800, 1000} {
		if got := noJitter.backoff(i, 0.7); got != want*time.Millisecond && !(want == 1000 && got == time.Second) {
			t.Errorf("no jitter backoff(%d) = %v", i, got)
		}
	}
}

func TestOptionsDefaults(t *testing.T) {
	in := &Options{Path: "engine", Transports: []string{TransportWebSocket}}
	c := in.withDefaults()
	if c.Path != "/engine/" || c.upgrade || c.ReconnectionDelay != time.Second ||
		c.ReconnectionDelayMax != 5*time.Second || c.RandomizationFactor != 0.5 ||
		c.Timeout != 20*time.Second || c.SendBuffer != 1000 || c.MaxQueuedBytes != 8<<20 {
		t.Errorf("defaults: %+v", c)
	}
	c.Transports[0] = "changed"
	if in.Transports[0] != TransportWebSocket {
		t.Error("withDefaults shares the caller's Transports")
	}
	d := (*Options)(nil).withDefaults()
	if d.Path != "/socket.io/" || !d.upgrade || !reflect.DeepEqual(d.Transports, []string{"polling", "websocket"}) {
		t.Errorf("nil options: %+v", d)
	}
	if (&Options{SendBuffer: -1}).withDefaults().SendBuffer != 0 {
		t.Error("negative SendBuffer does not disable buffering")
	}
}

func TestConnectPayload(t *testing.T) {
	type auth struct {
		Token string `json:"token"`
	}
	for _, tc := range []struct {
		auth        any
		pid, offset string
		want        string
	}{
		{nil, "", "", ""},
		{auth{"x"}, "", "", `{"token":"x"}`},
		{map[string]any{"b": 1, "a": "<&>"}, "", "", `{"a":"<&>","b":1}`},
		{nil, "P", "", `{"pid":"P"}`},
		{auth{"x"}, "P", "O", `{"pid":"P","offset":"O","token":"x"}`},
		{map[string]any{}, "P", "O", `{"pid":"P","offset":"O"}`},
	} {
		got, err := connectPayload(tc.auth, tc.pid, tc.offset)
		if err != nil || string(got) != tc.want {
			t.Errorf("connectPayload(%v, %q, %q) = %s, %v; want %s", tc.auth, tc.pid, tc.offset, got, err, tc.want)
		}
	}
	for _, bad := range []any{"a string", []int{1}, map[string]any{"b": []byte{1}}, func() {}} {
		if _, err := connectPayload(bad, "", ""); err == nil {
			t.Errorf("connectPayload(%T) accepted", bad)
		}
	}
}

func TestPayloadCodec(t *testing.T) {
	frames := []frame{{data: []byte("4hello")}, {data: []byte{0, 1, 0x1e, 255}, binary: true}, {data: []byte("2")}}
	body := appendPayload(nil, frames)
	if want := "4hello\x1ebAAEe/w==\x1e2"; string(body) != want {
		t.Fatalf("payload %q, want %q", body, want)
	}
	pkts, err := decodePayload(body)
	if err != nil || len(pkts) != 3 || pkts[0].typ != '4' || string(pkts[0].data) != "hello" ||
		!pkts[1].binary || !bytes.Equal(pkts[1].data, frames[1].data) || pkts[2].typ != '2' {
		t.Fatalf("decoded %+v, %v", pkts, err)
	}
	for _, bad := range []string{"", "4a\x1e", "9x", "4a\x1ebnot base64!", "\x1e4a"} {
		if _, err := decodePayload([]byte(bad)); !errors.Is(err, errParse) {
			t.Errorf("decodePayload(%q): %v", bad, err)
		}
	}
	if n := pollingLen(frames[1]); n != len("bAAEe/w==") {
		t.Errorf("pollingLen %d", n)
	}
}

func TestNewManagerErrors(t *testing.T) {
	for _, tc := range []struct {
		url  string
		opts *Options
	}{
		{"ftp://host/", nil},
		{"http:///path", nil},
		{"http://host/", &Options{Transports: []string{"webtransport"}}},
		{"://bad", nil},
	} {
		if m, err := NewManager(tc.url, tc.opts); err == nil {
			_ = m.Close()
			t.Errorf("NewManager(%q, %+v) accepted", tc.url, tc.opts)
		}
	}
	m, err := NewManager("wss://example.com:8443/ignored?a=1&EIO=3", &Options{Query: map[string][]string{"b": {"2"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got, want := m.engineURL(TransportPolling, "S"), "https://example.com:8443/socket.io/?a=1&b=2&EIO=4&transport=polling&sid=S"; got != want {
		t.Errorf("polling URL %s, want %s", got, want)
	}
	if got, want := m.wsURL(""), "wss://example.com:8443/socket.io/?a=1&b=2&EIO=4&transport=websocket"; got != want {
		t.Errorf("websocket URL %s, want %s", got, want)
	}
}

// closedURL returns the URL of a port nobody listens on.
func closedURL(t *testing.T) string { return fmt.Sprintf("http://127.0.0.1:%d", freePort(t)) }

func TestConnectFailures(t *testing.T) {
	t.Parallel()
	sb := starters[0].sharedServer(t)
	pollingOnly := socketio.NewServer(&socketio.Options{Logger: quietLogger(),
		Engine: engineio.Options{Transports: []string{TransportPolling}, Logger: quietLogger()}})
	ts := httptest.NewServer(pollingOnly)
	t.Cleanup(ts.Close)
	t.Cleanup(func() { _ = pollingOnly.Shutdown(context.Background()) })
	for _, tc := range []struct {
		name, url  string
		transports []string
		path       string
		status     int
		message    string
	}{
		{"refused", closedURL(t), nil, "", 0, ""},
		{"refused_ws", closedURL(t), []string{TransportWebSocket}, "", 0, ""},
		{"wrong_path", sb.url, nil, "/nope/", 404, "404 page not found"},
		{"no_websocket", ts.URL, []string{TransportWebSocket}, "", 400, "Transport unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Dial(ackCtx(t), tc.url, &Options{NoReconnection: true, Transports: tc.transports, Path: tc.path})
			var te *TransportError
			if !errors.As(err, &te) || te.Op != "dial" && te.Op != "handshake" || te.StatusCode != tc.status ||
				te.Message != tc.message {
				t.Errorf("Dial: %v", err)
			}
		})
	}
}

func TestReconnectionAttempts(t *testing.T) {
	t.Parallel()
	m, err := NewManager(closedURL(t), &Options{ReconnectionAttempts: 2,
		ReconnectionDelay: 5 * time.Millisecond, ReconnectionDelayMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var mu sync.Mutex
	var log []string
	add := func(s string) { mu.Lock(); log = append(log, s); mu.Unlock() }
	m.OnReconnectAttempt(func(n int) { add(fmt.Sprint("attempt ", n)) })
	m.OnReconnectError(func(error) { add("error") })
	m.OnReconnectFailed(func() { add("failed") })
	s := m.Socket("/", nil)
	var connectErrors atomic.Int32
	s.OnConnectError(func(err error) { connectErrors.Add(1) })
	err = s.Connect(ackCtx(t))
	var te *TransportError
	if !errors.As(err, &te) {
		t.Errorf("Connect after the attempts: %v", err)
	}
	// The hooks run on the manager's goroutine: "failed" may come after
	// Connect returned.
	var got string
	waitUntil(t, "the reconnect_failed hook", func() bool {
		mu.Lock()
		defer mu.Unlock()
		got = strings.Join(log, ", ")
		return strings.HasSuffix(got, "failed")
	})
	if want := "attempt 1, error, attempt 2, error, failed"; got != want {
		t.Errorf("hooks: %s, want %s", got, want)
	}
	waitUntil(t, "connect errors", func() bool { return connectErrors.Load() == 3 })
}

func TestConnectContext(t *testing.T) {
	t.Parallel()
	m, err := NewManager(closedURL(t), &Options{ReconnectionDelay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = m.Socket("/", nil).Connect(ctx)
	var te *TransportError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &te) {
		t.Errorf("Connect: %v", err)
	}
	// Close stops the reconnection loop and returns.
	done := make(chan struct{})
	go func() { _ = m.Close(); _ = m.Close(); close(done) }()
	next(t, done, "Close")
	if err := m.Socket("/", nil).Connect(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Connect after Close: %v", err)
	}
}

func TestCloseFailsPendingAcks(t *testing.T) {
	t.Parallel()
	m, err := NewManager(closedURL(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := m.Socket("/", nil)
	res := make(chan error, 1)
	go func() {
		_, err := s.EmitWithAck(context.Background(), "buffered")
		res <- err
	}()
	waitUntil(t, "the event to be buffered", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.sendBuf) == 1
	})
	_ = m.Close()
	if err := next(t, res, "EmitWithAck"); !errors.Is(err, ErrClosed) {
		t.Errorf("EmitWithAck after Close: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.EmitWithAck(ctx, "x"); !errors.Is(err, ErrAckTimeout) || !errors.Is(err, context.Canceled) {
		t.Errorf("EmitWithAck with a done context: %v", err)
	}
}

// TestIdleGoroutines checks what an idle connection costs: one goroutine
// (the WebSocket reader, or the polling GET), nothing else.
func TestIdleGoroutines(t *testing.T) {
	srv := starters[0].sharedServer(t)
	for _, mode := range transportModes {
		t.Run(mode.name, func(t *testing.T) {
			const n = 10
			v := env{srv: srv, url: srv.url, transports: mode.transports}
			for range n {
				v.socket(t, "/", nil, nil)
			}
			want := fmt.Sprintf("%d", n)
			var got string
			deadline := time.Now().Add(waitTime)
			for got != want && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
				got = fmt.Sprint(countClientGoroutines())
			}
			if got != want {
				t.Errorf("%s client goroutines for %d idle connections:\n%s", got, n, clientGoroutines(0))
			}
		})
	}
}

func countClientGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if isClientGoroutine(g) {
			n++
		}
	}
	return n
}

// TestStickyCookie: with a cookie jar, the session cookie the polling
// handshake sets (for cookie-based sticky load balancing) goes with the
// following requests and with the WebSocket upgrade; Headers go with all.
func TestStickyCookie(t *testing.T) {
	t.Parallel()
	srv := socketio.NewServer(&socketio.Options{Logger: quietLogger(),
		Engine: engineio.Options{Cookie: &engineio.CookieOptions{}, Logger: quietLogger()}})
	var mu sync.Mutex
	var seen []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Query().Get("transport")+" sid="+fmt.Sprint(r.URL.Query().Has("sid"))+
			" cookie="+fmt.Sprint(strings.HasPrefix(r.Header.Get("Cookie"), "io="))+" x="+r.Header.Get("X-Sticky"))
		mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	jar, _ := cookiejar.New(nil)
	v := env{url: ts.URL, transports: []string{TransportPolling, TransportWebSocket}}
	v.socket(t, "/", &Options{HTTPClient: &http.Client{Jar: jar}, Headers: http.Header{"X-Sticky": {"1"}}}, nil)
	mu.Lock()
	defer mu.Unlock()
	want := []string{"polling sid=false cookie=false x=1", "polling sid=true cookie=true x=1", "websocket sid=true cookie=true x=1"}
	for _, w := range want {
		if !slices.Contains(seen, w) {
			t.Errorf("no request %q among %q", w, seen)
		}
	}
}
