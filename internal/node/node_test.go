package node

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/client"
	"github.com/switchboard-io/switchboard/internal/config"
	"github.com/switchboard-io/switchboard/socketiotest"
)

// TestMain fails the run if a test leaves a goroutine behind: a node shut
// down with clients connected must leave nothing running.
func TestMain(m *testing.M) { socketiotest.VerifyTestMain(m) }

// startNode starts a node on loopback ports with extra flags.
func startNode(t *testing.T, args ...string) *Node {
	t.Helper()
	args = append([]string{"--listen", "127.0.0.1:0", "--internal-listen", "127.0.0.1:0",
		"--node-name", "test-node", "--drain-window", "200ms", "--shutdown-grace", "5s"}, args...)
	cfg, err := config.Parse(args, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	n := New(cfg, slog.New(slog.DiscardHandler), nil)
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	return n
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metric reads one sample of the node's /metrics.
func metric(t *testing.T, n *Node, sample string) float64 {
	t.Helper()
	_, body := get(t, "http://"+n.InternalAddr().String()+"/metrics")
	re := regexp.MustCompile("(?m)^" + regexp.QuoteMeta(sample) + " (\\S+)$")
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("metric %s missing from /metrics", sample)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func dial(t *testing.T, n *Node, transports ...string) *client.Socket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, "http://"+n.Addr().String(), &client.Options{Transports: transports, NoReconnection: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEndpointsMetricsAndShutdown: health and readiness answer, metrics
// are present and move with traffic, and a shutdown with clients connected
// drains them (transport close, never "io server disconnect") and returns.
func TestEndpointsMetricsAndShutdown(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	internal := "http://" + n.InternalAddr().String()
	if code, body := get(t, internal+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	if code, _ := get(t, internal+"/readyz"); code != 200 {
		t.Fatalf("/readyz: %d", code)
	}
	if code, body := get(t, "http://"+n.Addr().String()+"/"); code != 200 && code != 503 || !strings.Contains(body, "hiteboard") {
		t.Fatalf("whiteboard page: %d", code)
	}
	ws, polling := dial(t, n, "websocket"), dial(t, n, "polling")
	reasons := make(chan client.DisconnectReason, 2)
	for _, c := range []*client.Socket{ws, polling} {
		c.OnDisconnect(func(r client.DisconnectReason, _ error) { reasons <- r })
	}
	got := make(chan struct{}, 1)
	polling.On("drawing", func(*client.Event) { got <- struct{}{} })
	out := metric(t, n, "switchboard_packets_out_total")
	// The Go runtime's and the process's series, as every Go service has.
	if metric(t, n, "go_goroutines") < 1 || metric(t, n, "process_resident_memory_bytes") <= 0 ||
		metric(t, n, "process_open_fds") < 1 {
		t.Fatal("go_* and process_* series missing or empty")
	}
	if err := ws.Emit("drawing", map[string]any{"x0": 0, "y0": 0, "x1": 1, "y1": 1, "color": "#000"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the drawing was not relayed")
	}
	socketiotest.Eventually(t, func() error {
		if metric(t, n, `switchboard_connected_clients{transport="websocket"}`) != 1 ||
			metric(t, n, `switchboard_connected_clients{transport="polling"}`) != 1 ||
			metric(t, n, `switchboard_namespace_sockets{namespace="/"}`) != 2 ||
			metric(t, n, "switchboard_packets_out_total") <= out || metric(t, n, "switchboard_events_in_total") < 1 ||
			// the relay was a broadcast; its packet waited in the poller's queue
			metric(t, n, "switchboard_broadcast_seconds_count") < 1 || metric(t, n, "switchboard_write_queue_bytes_count") < 1 {
			return io.ErrNoProgress
		}
		return nil
	}, 5*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with clients connected: %v", err)
	}
	for range 2 {
		select {
		case r := <-reasons:
			if r == client.ReasonServerDisconnect {
				t.Fatal("a drain must close the transport, not send io server disconnect")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a client was not disconnected by the shutdown")
		}
	}
	ws.Close()
	polling.Close()
}

// TestReadinessDuringDrain: readiness turns 503 and handshakes are refused
// as soon as the drain starts, while existing clients are still served.
func TestReadinessDuringDrain(t *testing.T) {
	t.Parallel()
	n := startNode(t, "--drain-window", "1s")
	c := dial(t, n, "websocket")
	defer c.Close()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- n.Shutdown(ctx)
	}()
	socketiotest.Eventually(t, func() error {
		if code, _ := get(t, "http://"+n.InternalAddr().String()+"/readyz"); code != 503 {
			return io.ErrNoProgress
		}
		return nil
	}, 5*time.Second)
	resp, err := http.Get("http://" + n.Addr().String() + "/socket.io/?EIO=4&transport=polling")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("handshake while draining: %d, want 503", resp.StatusCode)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestHandshakeRate: past the per-IP burst, handshakes are refused with
// Node's Forbidden error; the limit is per client IP.
func TestHandshakeRate(t *testing.T) {
	t.Parallel()
	n := startNode(t, "--handshake-rate", "2")
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	}()
	url := "http://" + n.Addr().String() + "/socket.io/?EIO=4&transport=polling"
	codes := []int{}
	for range 6 {
		code, body := get(t, url)
		codes = append(codes, code)
		if code == 403 && body != `{"code":4,"message":"too many handshakes"}` {
			t.Fatalf("refusal body %q", body)
		}
	}
	if codes[0] != 200 || codes[3] != 200 || codes[4] != 403 || codes[5] != 403 {
		t.Fatalf("codes %v: want a burst of 4 then 403", codes)
	}
	l := newHandshakeLimiter(1)
	now := time.Now()
	// Burst 2 for "a", then refused; "b" has its own bucket; "a" refills.
	got := []bool{l.take("a", now), l.take("a", now), l.take("a", now), l.take("b", now), l.take("a", now.Add(time.Second))}
	if want := []bool{true, true, false, true, true}; !slices.Equal(got, want) {
		t.Fatalf("token bucket per IP: %v, want %v", got, want)
	}
}

// TestAllowEIO3: --allow-eio3 makes the node serve Socket.IO v2 clients
// (a v3 handshake is answered with a length-prefixed open packet); without
// it they get Node's code 5.
func TestAllowEIO3(t *testing.T) {
	t.Parallel()
	for _, allow := range []bool{false, true} {
		var args []string
		if allow {
			args = []string{"--allow-eio3"}
		}
		n := startNode(t, args...)
		code, body := get(t, "http://"+n.Addr().String()+"/socket.io/?EIO=3&transport=polling")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = n.Shutdown(ctx)
		cancel()
		switch {
		case allow && (code != http.StatusOK || !regexp.MustCompile(`^\d+:0\{"sid"`).MatchString(body)):
			t.Fatalf("with --allow-eio3: %d %q", code, body)
		case !allow && (code != http.StatusBadRequest || body != `{"code":5,"message":"Unsupported protocol version"}`):
			t.Fatalf("without --allow-eio3: %d %q", code, body)
		}
	}
}

// TestWhiteboardDroppedMetric: invalid strokes are dropped, never relayed,
// and counted by reason in switchboard_whiteboard_dropped_total.
func TestWhiteboardDroppedMetric(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	defer func() { _ = n.Shutdown(socketiotest.Context(t)) }()
	sender, watcher := dial(t, n, "websocket"), dial(t, n, "websocket")
	defer sender.Close()
	defer watcher.Close()
	relayed := make(chan string, 8)
	watcher.On("drawing", func(e *client.Event) {
		var s struct{ Color string }
		_ = e.Decode(&s)
		relayed <- s.Color
	})
	for _, bad := range []any{
		"not a stroke",
		map[string]any{"x0": 0, "y0": 0, "x1": 0, "y1": 0, "color": "#000", "Extra": 1},
		map[string]any{"x0": 3, "y0": 0, "x1": 0, "y1": 0, "color": "#000"},
		map[string]any{"x0": 0, "y0": 0, "x1": 0, "y1": 0, "color": "#000", "pad": strings.Repeat("x", 300)},
	} {
		if err := sender.Emit("drawing", bad); err != nil {
			t.Fatal(err)
		}
	}
	// Events of one socket are handled in order: the valid one comes last.
	if err := sender.Emit("drawing", map[string]any{"x0": 0, "y0": 0, "x1": 1, "y1": 1, "color": "#abcdef"}); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-relayed:
		if c != "#abcdef" {
			t.Fatalf("relayed %q before the valid stroke: an invalid one went through", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the valid stroke was not relayed")
	}
	for reason, want := range map[string]float64{"shape": 2, "range": 1, "size": 1, "store": 0} {
		if got := metric(t, n, `switchboard_whiteboard_dropped_total{reason="`+reason+`"}`); got != want {
			t.Errorf("dropped_total{reason=%q} = %v, want %v", reason, got, want)
		}
	}
	if got := metric(t, n, "switchboard_whiteboard_strokes_total"); got != 1 {
		t.Errorf("strokes_total = %v, want 1", got)
	}
}
