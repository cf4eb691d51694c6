package node

import (
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-io/switchboard/cluster"
	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/internal/metrics"
	"github.com/switchboard-io/switchboard/internal/whiteboard"
)

// MetricsWriter is the exposition writer handed to cluster backends.
type MetricsWriter = *metrics.Writer

// metricsHandler serves the node's metrics through the Prometheus Go
// client: the Go runtime's (go_*) and the process's (process_*) series,
// the node's own, read from its counters at each scrape, and its
// histograms.
func (n *Node) metricsHandler() http.Handler {
	h := n.hist
	reg := metrics.NewRegistry(metrics.Func(n.writeMetrics), h.broadcast, h.ack, h.queue)
	return metrics.Handler(reg, n.log)
}

// histograms are the node's distributions, fed as things happen: it is the
// socketio.Observer of its server and the engine's ObserveQueue.
type histograms struct {
	broadcast, ack, queue prometheus.Histogram
}

func newHistograms() *histograms {
	return &histograms{
		broadcast: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "switchboard_broadcast_seconds",
			Help:    "Time one broadcast took to be queued to this node's recipients and handed to the cluster adapter.",
			Buckets: prometheus.ExponentialBuckets(1e-5, 4, 10), // 10 µs to 2.6 s
		}),
		ack: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "switchboard_ack_round_trip_seconds",
			Help:    "Time from an event sent to a client with an ack to the client's ack.",
			Buckets: prometheus.ExponentialBuckets(1e-3, 2.5, 12), // 1 ms to 24 s
		}),
		queue: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "switchboard_write_queue_bytes",
			Help:    "Bytes waiting in a connection's outbound queue when they were taken to be written.",
			Buckets: prometheus.ExponentialBuckets(64, 4, 9), // 64 B to 4 MiB
		}),
	}
}

// Broadcast implements socketio.Observer.
func (h *histograms) Broadcast(d time.Duration) { h.broadcast.Observe(d.Seconds()) }

// AckRoundTrip implements socketio.Observer.
func (h *histograms) AckRoundTrip(d time.Duration) { h.ack.Observe(d.Seconds()) }

func (h *histograms) observeQueue(bytes int) { h.queue.Observe(float64(bytes)) }

// writeMetrics writes the node's series.
func (n *Node) writeMetrics(m *metrics.Writer) {
	es := n.io.Engine().Stats()
	ss := n.io.Stats()

	m.Gauge("switchboard_connected_clients", "Engine.IO sessions open now, by transport.", float64(es.Polling), "transport", engineio.TransportPolling)
	m.Gauge("switchboard_connected_clients", "", float64(es.WebSocket), "transport", engineio.TransportWebSocket)
	sockets := map[string]float64{}
	for ns, c := range n.io.SocketCounts() {
		sockets[ns] = float64(c)
	}
	m.GaugeMap("switchboard_namespace_sockets", "Sockets connected to this node, by namespace.", "namespace", sockets)
	m.Counter("switchboard_sessions_opened_total", "Engine.IO sessions opened.", float64(es.Opened))
	reasons := map[string]float64{}
	for r, c := range es.CloseReasons {
		reasons[r] = float64(c)
	}
	m.CounterMap("switchboard_sessions_closed_total", "Engine.IO sessions closed, by reason.", "reason", reasons)
	m.Counter("switchboard_packets_in_total", "Engine.IO packets received.", float64(es.PacketsIn))
	m.Counter("switchboard_packets_out_total", "Engine.IO packets sent (each recipient counts).", float64(es.PacketsOut))
	m.Counter("switchboard_bytes_in_total", "Engine.IO payload bytes received.", float64(es.BytesIn))
	m.Counter("switchboard_bytes_out_total", "Engine.IO payload bytes sent.", float64(es.BytesOut))
	m.Counter("switchboard_upgrades_total", "Completed polling to WebSocket upgrades.", float64(es.Upgrades))
	m.Counter("switchboard_slow_client_disconnects_total", "Sessions closed because their outbound queue was full.", float64(es.SlowClients))
	m.Gauge("switchboard_takeover_window_seconds", "How long new polling sessions wait for their upgrade now (stickiness-free mode; adapts up to --takeover-window-max).", es.OpenDelay.Seconds())
	m.Counter("switchboard_rehomed_sessions_total", "Sessions closed so that their client reconnects to one node: its WebSocket upgrade reached another too late to take the session over.", float64(es.Rehomed))
	m.Counter("switchboard_handshakes_refused_draining_total", "Handshakes refused while draining.", float64(es.RefusedDraining))
	for code, c := range es.RequestErrors {
		m.Counter("switchboard_request_errors_total", "Refused Engine.IO requests, by error code.", float64(c),
			"code", strconv.Itoa(code), "message", engineio.CodeMessage(code))
	}
	m.Counter("switchboard_socket_connects_total", "Namespace connections.", float64(ss.Connects))
	m.Counter("switchboard_socket_disconnects_total", "Namespace disconnections.", float64(ss.Disconnects))
	m.Counter("switchboard_events_in_total", "Events received from clients.", float64(ss.EventsIn))
	m.Counter("switchboard_broadcasts_total", "Broadcasts started on this node.", float64(ss.Broadcasts))
	m.Counter("switchboard_volatile_dropped_total", "Volatile packets dropped.", float64(ss.VolatileDropped))
	m.Counter("switchboard_packets_dropped_total", "Packets dropped because a client's outbound queue was full (its connection was closed).", float64(ss.Dropped))
	m.Counter("switchboard_decode_errors_total", "Connections closed for an undecodable packet.", float64(ss.DecodeErrors))
	m.Counter("switchboard_recovered_total", "Connections whose session was restored by connection state recovery.", float64(ss.Recovered))
	m.Counter("switchboard_recovery_failed_total", "Recovery attempts that failed (new session instead).", float64(ss.RecoveryFailed))
	m.Gauge("switchboard_whiteboard_clients", "Whiteboard clients on every node known.", float64(n.app.Total()))
	writeWhiteboardMetrics(m, n.app.Stats())
	ready := 0.0
	if n.Ready() {
		ready = 1
	}
	m.Gauge("switchboard_ready", "1 when the node accepts new connections.", ready)
	m.Gauge("switchboard_uptime_seconds", "Seconds since the node started.", time.Since(n.started).Seconds())
	m.Gauge("switchboard_goroutines", "Goroutines in the process.", float64(runtime.NumGoroutine()))
	if n.cluster != nil && n.cluster.Router != nil {
		writeRouterMetrics(m, n.cluster.Router.Stats())
	}
	if n.cluster != nil && n.cluster.WriteMetrics != nil {
		n.cluster.WriteMetrics(m)
	}
}

// writeRouterMetrics exports the stickiness-free router's counters.
func writeRouterMetrics(m *metrics.Writer, s cluster.Stats) {
	m.Counter("switchboard_forwarded_requests_total", "Requests forwarded to the node owning their session.", float64(s.Forwarded))
	m.Counter("switchboard_forwarded_served_total", "Requests other nodes forwarded here.", float64(s.Served))
	m.Counter("switchboard_forward_errors_total", "Forwards and releases that failed to reach the owner.", float64(s.ForwardErrors))
	m.Counter("switchboard_forward_post_seconds_total", "Time added by forwarding POSTs.", s.ForwardSeconds)
	m.Counter("switchboard_forward_posts_total", "Forwarded POSTs.", float64(s.ForwardedPosts))
	m.Counter("switchboard_takeovers_total", "WebSocket upgrades that took their session over.", float64(s.Takeovers))
	m.Counter("switchboard_rehomed_upgrades_total", "WebSocket upgrades refused because their owner closed the session so that its client reconnects.", float64(s.RehomedUpgrades))
	m.Counter("switchboard_takeovers_refused_total", "WebSocket upgrades whose owner kept the session (proxied).", float64(s.TakeoversRefused))
	m.Counter("switchboard_takeover_seconds_total", "Time spent asking owners to release sessions.", s.TakeoverSeconds)
	m.Counter("switchboard_sessions_released_total", "Sessions handed over to another node.", float64(s.Released))
	m.Counter("switchboard_proxied_websockets_total", "WebSockets served through a lasting hop.", float64(s.ProxiedWebSockets))
	m.Counter("switchboard_unknown_owner_total", "Requests whose owner is not registered.", float64(s.UnknownOwner))
	m.Counter("switchboard_cluster_requests_refused_total", "Cluster requests refused for a bad signature.", float64(s.RefusedUnsigned))
	m.Counter("switchboard_cluster_hop_replays_total", "Cluster requests refused as replays of a request already served.", float64(s.RefusedReplays))
	m.Counter("switchboard_cluster_hop_too_old_total", "Cluster requests refused as replays because their sequence number was below their sender's window (old replays, or hops overtaken by a window's worth of newer ones).", float64(s.RefusedTooOld))
	m.Counter("switchboard_cluster_hop_bad_digests_total", "Cluster requests refused because their body does not match its signed digest.", float64(s.RefusedDigests))
	m.Counter("switchboard_cluster_hop_replay_cache_full_total", "Cluster requests refused because they came from a new sender and the replay cache tracked as many senders as it can.", float64(s.ReplayCacheFull))
}

func writeWhiteboardMetrics(m MetricsWriter, ws whiteboard.Stats) {
	m.Counter("switchboard_whiteboard_count_updates_total", "Client-count updates broadcast to this node's whiteboard pages (at most one per 500 ms).", float64(ws.CountUpdates))
	m.Counter("switchboard_whiteboard_strokes_total", "Whiteboard strokes stored and relayed by this node.", float64(ws.Strokes))
	m.Counter("switchboard_whiteboard_clears_total", "Whiteboard boards cleared through this node.", float64(ws.Clears))
	m.Counter("switchboard_whiteboard_history_pages_total", "Board history pages sent to whiteboard pages catching up.", float64(ws.HistoryPages))
	dropped := make(map[string]float64, len(ws.Dropped))
	for r, c := range ws.Dropped {
		dropped[r] = float64(c)
	}
	m.CounterMap("switchboard_whiteboard_dropped_total", "Whiteboard strokes and requests dropped unrelayed, by reason (size, shape, range: invalid strokes; request: a bad history request; store: the board store failed).", "reason", dropped)
}
