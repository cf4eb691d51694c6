// Command goserver is the Go side of the benchmark harness: a Switchboard
// server (package socketio, with adapter/redis for cluster runs) with the
// same events and endpoints as the Node reference server
// bench/node-server.mjs.
//
//	goserver [-listen 127.0.0.1:0] [-internal-listen 127.0.0.1:0] [-redis URL] [-max-queue BYTES]
//
// Once listening it prints one line, "listening http=HOST:PORT
// internal=HOST:PORT", and serves until SIGTERM or SIGINT.
//
// Socket events (main namespace):
//
//	echo-ack (args..., ack)      acks with its arguments
//	join (room, ack)             joins room, acks true
//	bench-broadcast (opts, ack)  starts a broadcast loop (opts as below), acks "ok"
//
// HTTP, public listener:
//
//	/bench/broadcast?rate=R&duration=MS&size=B&rooms=K
//	    emits R broadcasts per second for MS milliseconds, event "tick" with
//	    one string argument of B bytes, "<CLOCK_MONOTONIC µs>:xxx...", to
//	    every client (K=0) or to rooms r0..r(K-1) in turn; returns at once
//	/bench/stop       stops the broadcast loop
//	/bench/drop-all   closes every connection (a transport close: clients reconnect)
//	/bench/stats      {"pid","clients","goroutines","slowClients"}
//
// The internal listener serves /metrics (switchboard_goroutines and a few
// counters) and /debug/pprof/.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/switchboard-io/switchboard/adapter/redis"
	"github.com/switchboard-io/switchboard/bench/internal/bloop"
	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/internal/memtune"
	"github.com/switchboard-io/switchboard/socketio"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "public address")
	internal := flag.String("internal-listen", "127.0.0.1:0", "internal address (/metrics, /debug/pprof)")
	redisURL := flag.String("redis", "", "Redis URL: join a cluster with adapter/redis")
	maxQueue := flag.Int("max-queue", 0, "per-connection outbound queue bound, bytes (0: engineio's default, 4 MiB)")
	writeDelay := flag.Duration("write-delay", 0, "engineio.Options.WriteDelay (0: write at once)")
	direct := flag.Bool("direct-websocket", true, "serve WebSocket upgrades with engineio.UpgradeListener, as `switchboard serve` does by default")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	opts := &socketio.Options{Engine: engineio.Options{MaxQueueBytes: *maxQueue, WriteDelay: *writeDelay, Logger: log}, Logger: log}
	var ra *redis.Adapter
	if *redisURL != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		a, err := redis.New(ctx, redis.Options{URL: *redisURL, Logger: log})
		cancel()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		ra = a
		opts.Adapter = a.Factory()
	}
	io := socketio.NewServer(opts)
	// The memory policy of `switchboard serve` (its --settle-gc default).
	go memtune.Settle(context.Background(), func() int64 { return io.Engine().Stats().Opened }, nil)
	b := &broadcaster{ns: io.Of("/")}
	io.OnConnection(func(s *socketio.Socket) {
		s.On("echo-ack", func(e *socketio.Event) {
			args := make([]any, len(e.Args))
			for i, a := range e.Args {
				args[i] = a // relayed byte for byte
			}
			_ = e.Ack(args...)
		})
		s.On("join", func(e *socketio.Event) {
			var room string
			if e.Decode(&room) == nil {
				s.Join(room)
			}
			_ = e.Ack(true)
		})
		s.On("bench-broadcast", func(e *socketio.Event) {
			var o struct {
				Rate     float64 `json:"rate"`
				Duration int     `json:"duration"`
				Size     int     `json:"size"`
				Rooms    int     `json:"rooms"`
			}
			if e.Decode(&o) != nil {
				_ = e.Ack("bad options")
				return
			}
			b.start(o.Rate, time.Duration(o.Duration)*time.Millisecond, o.Size, o.Rooms)
			_ = e.Ack("ok")
		})
	})

	mux := http.NewServeMux()
	mux.Handle(io.Path(), io)
	bloop.Handle(mux, b.start, b.stop)
	mux.HandleFunc("/bench/drop-all", func(w http.ResponseWriter, _ *http.Request) {
		conns := io.Engine().Conns()
		for _, c := range conns {
			c.Close()
		}
		fmt.Fprintf(w, "%d\n", len(conns))
	})
	mux.HandleFunc("/bench/stats", func(w http.ResponseWriter, _ *http.Request) {
		st := io.Engine().Stats()
		_ = json.NewEncoder(w).Encode(map[string]any{
			"pid": os.Getpid(), "clients": io.Engine().Count(),
			"goroutines": runtime.NumGoroutine(), "slowClients": st.SlowClients,
		})
	})

	imux := http.NewServeMux()
	imux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		st := io.Engine().Stats()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "switchboard_goroutines %d\n", runtime.NumGoroutine())
		fmt.Fprintf(w, "switchboard_connected_clients{transport=\"websocket\"} %d\n", st.WebSocket)
		fmt.Fprintf(w, "switchboard_connected_clients{transport=\"polling\"} %d\n", st.Polling)
		fmt.Fprintf(w, "switchboard_packets_out_total %d\n", st.PacketsOut)
		fmt.Fprintf(w, "switchboard_slow_client_disconnects_total %d\n", st.SlowClients)
		fmt.Fprintf(w, "go_memstats_heap_inuse_bytes %d\n", ms.HeapInuse)
		fmt.Fprintf(w, "go_memstats_heap_alloc_bytes %d\n", ms.HeapAlloc)
		fmt.Fprintf(w, "go_memstats_stack_inuse_bytes %d\n", ms.StackInuse)
		fmt.Fprintf(w, "go_memstats_sys_bytes %d\n", ms.Sys)
		fmt.Fprintf(w, "go_memstats_heap_objects %d\n", ms.HeapObjects)
		fmt.Fprintf(w, "go_gc_cycles_total %d\n", ms.NumGC)
	})
	imux.HandleFunc("/debug/pprof/", pprof.Index)
	imux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	imux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	imux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	imux.HandleFunc("/debug/pprof/trace", pprof.Trace)

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	iln, err := net.Listen("tcp", *internal)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *direct {
		ln = engineio.NewUpgradeListener(ln, mux, engineio.UpgradeListenerOptions{Path: io.Path()})
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ihs := &http.Server{Handler: imux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	go func() { _ = ihs.Serve(iln) }()
	fmt.Printf("listening http=%s internal=%s\n", ln.Addr(), iln.Addr())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	b.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = io.Shutdown(ctx)
	_ = hs.Shutdown(ctx)
	_ = ihs.Shutdown(ctx)
	if ra != nil {
		_ = ra.Close()
	}
}

// broadcaster is the broadcast loop (bench/internal/bloop) of namespace ns.
type broadcaster struct {
	ns   *socketio.Namespace
	loop bloop.Loop
}

func (b *broadcaster) start(rate float64, d time.Duration, size, rooms int) {
	b.loop.Ticks(rate, d, size, rooms, func(room, tick string) {
		if room != "" {
			_ = b.ns.To(room).Emit(context.Background(), "tick", tick)
		} else {
			_ = b.ns.Emit(context.Background(), "tick", tick)
		}
	})
}

func (b *broadcaster) stop() { b.loop.Stop() }
