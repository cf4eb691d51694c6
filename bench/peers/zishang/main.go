// Command zishang is a peer server of the benchmark harness: the Go
// Socket.IO port github.com/zishang520/socket.io (its servers/socket
// module, with its adapters/redis module for cluster runs), written as its
// README shows, with the same events and endpoints as bench/goserver and
// bench/node-server.mjs (see bench/goserver's doc for the contract).
//
//	zishang [-listen 127.0.0.1:0] [-redis URL [-redis-adapter sharded|classic]]
//
// Cluster runs use the module's sharded adapter (SPUBLISH; on one Redis
// server it relays as PUBLISH does): its classic adapter, the one its
// README shows, drops in v3.0.2 (the newest the module proxy serves) every
// broadcast to all clients that comes from another node, because its
// onMessage ignores a channel no longer than its prefix, which is exactly
// the channel such a broadcast is published on.
//
// Once listening it prints "listening http=HOST:PORT" and serves until
// SIGTERM or SIGINT. It is its own Go module so that the library's go.mod
// gains none of its dependencies; bench/loadgen builds it (cached under
// ~/.cache/switchboard-bench/).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	rds "github.com/redis/go-redis/v9"
	"github.com/switchboard-io/switchboard/bench/internal/bloop"
	"github.com/zishang520/socket.io/adapters/redis/v3"
	"github.com/zishang520/socket.io/adapters/redis/v3/adapter"
	"github.com/zishang520/socket.io/servers/socket/v3"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "public address")
	redisURL := flag.String("redis", "", "Redis URL: join a cluster with adapters/redis")
	kind := flag.String("redis-adapter", "sharded", "adapters/redis adapter: sharded (SPUBLISH) or classic (PUBLISH; in v3.0.2 it drops every broadcast to all clients coming from another node)")
	flag.Parse()

	opts := socket.DefaultServerOptions()
	if *redisURL != "" {
		ro, err := rds.ParseURL(*redisURL)
		if err != nil {
			fmt.Fprintln(os.Stderr, "zishang: -redis:", err)
			os.Exit(2)
		}
		rc := redis.NewRedisClient(context.Background(), rds.NewClient(ro))
		rc.On("error", func(a ...any) { fmt.Fprintln(os.Stderr, "redis:", a) })
		switch *kind {
		case "sharded":
			opts.SetAdapter(&adapter.ShardedRedisAdapterBuilder{Redis: rc, Opts: adapter.DefaultShardedRedisAdapterOptions()})
		case "classic":
			opts.SetAdapter(&adapter.RedisAdapterBuilder{Redis: rc, Opts: adapter.DefaultRedisAdapterOptions()})
		default:
			fmt.Fprintln(os.Stderr, "zishang: -redis-adapter: sharded or classic")
			os.Exit(2)
		}
	}
	io := socket.NewServer(nil, opts)
	b := &broadcaster{io: io}
	io.On("connection", func(clients ...any) {
		s := clients[0].(*socket.Socket)
		s.On("echo-ack", func(args ...any) {
			if ack, ok := lastAck(args); ok {
				ack(args[:len(args)-1], nil)
			}
		})
		s.On("join", func(args ...any) {
			if room, ok := first[string](args); ok {
				s.Join(socket.Room(room))
			}
			if ack, ok := lastAck(args); ok {
				ack([]any{true}, nil)
			}
		})
		s.On("bench-broadcast", func(args ...any) {
			if o, ok := first[map[string]any](args); ok {
				num := func(k string) float64 { f, _ := o[k].(float64); return f }
				b.start(num("rate"), time.Duration(num("duration"))*time.Millisecond, int(num("size")), int(num("rooms")))
			}
			if ack, ok := lastAck(args); ok {
				ack([]any{"ok"}, nil)
			}
		})
	})

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io.ServeHandler(opts))
	bloop.Handle(mux, b.start, b.stop)
	mux.HandleFunc("/bench/drop-all", func(w http.ResponseWriter, _ *http.Request) {
		// A transport close, as Node's engine client.close(): clients reconnect.
		conns := io.Engine().Clients().Values()
		for _, c := range conns {
			c.Close(false)
		}
		fmt.Fprintf(w, "%d\n", len(conns))
	})
	mux.HandleFunc("/bench/stats", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"pid": os.Getpid(), "clients": io.Engine().ClientsCount(), "goroutines": runtime.NumGoroutine(),
		})
	})

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	fmt.Printf("listening http=%s\n", ln.Addr())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	b.stop()
	io.Close(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = hs.Shutdown(ctx)
}

// lastAck returns the acknowledgement callback the library appends to an
// event's arguments when the client asked for one.
func lastAck(args []any) (socket.Ack, bool) {
	if len(args) == 0 {
		return nil, false
	}
	ack, ok := args[len(args)-1].(socket.Ack)
	return ack, ok
}

// first returns the event's first argument if it is a T.
func first[T any](args []any) (T, bool) {
	var zero T
	if len(args) == 0 {
		return zero, false
	}
	v, ok := args[0].(T)
	return v, ok
}

// broadcaster is the broadcast loop (bench/internal/bloop) of io.
type broadcaster struct {
	io   *socket.Server
	loop bloop.Loop
}

func (b *broadcaster) start(rate float64, d time.Duration, size, rooms int) {
	b.loop.Ticks(rate, d, size, rooms, func(room, tick string) {
		if room != "" {
			b.io.To(socket.Room(room)).Emit("tick", tick)
		} else {
			b.io.Emit("tick", tick)
		}
	})
}

func (b *broadcaster) stop() { b.loop.Stop() }
