// Command gonode is the Go node of the Node interop tests: a Socket.IO
// server with the Redis adapter, plus a JSON control API under /ctl/ through
// which the tests drive cluster operations from the Go side.
//
//	gonode -redis redis://127.0.0.1:6379 [-key socket.io] [-sharded] [-mode dynamic]
//
// It prints "LISTENING <port>" once it serves.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/switchboard-io/switchboard/adapter/redis"
	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/socketio"
)

// request is the body of every control call.
type request struct {
	Rooms   []string          `json:"rooms"`
	Except  []string          `json:"except"`
	Event   string            `json:"event"`
	Args    []json.RawMessage `json:"args"`
	Binary  string            `json:"binary"` // base64, appended as a binary argument
	Close   bool              `json:"close"`
	Join    []string          `json:"join"`
	Timeout int               `json:"timeoutMs"`
}

type node struct {
	srv *socketio.Server
	a   *redis.Adapter

	mu       sync.Mutex
	received []map[string]any // server-side events received
}

func main() {
	url := flag.String("redis", "redis://127.0.0.1:6379", "Redis URL")
	key := flag.String("key", "socket.io", "channel prefix")
	sharded := flag.Bool("sharded", false, "sharded pub/sub")
	mode := flag.String("mode", "dynamic", "subscription mode: static, dynamic, dynamic-private")
	msgpack := flag.Bool("msgpack", false, "speak socket.io-msgpack-parser with clients")
	eio3 := flag.Bool("allow-eio3", false, "serve Engine.IO v3 (socket.io-client 2.x) clients too")
	flag.Parse()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	opts := redis.Options{URL: *url, Key: *key, Sharded: *sharded, RequestsTimeout: 3 * time.Second}
	switch *mode {
	case "static":
		opts.SubscriptionMode = redis.Static
	case "dynamic-private":
		opts.SubscriptionMode = redis.DynamicPrivate
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	a, err := redis.New(ctx, opts)
	cancel()
	if err != nil {
		log.Fatal(err)
	}
	sopts := &socketio.Options{Adapter: a.Factory(), Engine: engineio.Options{AllowEIO3: *eio3}}
	if *msgpack {
		sopts.Parser = socketio.ParserMsgpack
	}
	n := &node{a: a, srv: socketio.NewServer(sopts)}
	n.setup()
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", n.srv)
	mux.HandleFunc("/ctl/", n.control)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(l) }()
	fmt.Printf("LISTENING %d\n", l.Addr().(*net.TCPAddr).Port)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = n.srv.Shutdown(ctx)
	_ = hs.Shutdown(ctx)
	_ = a.Close()
}

func (n *node) setup() {
	n.srv.OnConnection(func(s *socketio.Socket) {
		s.SetData(map[string]any{"node": "go"})
		s.On("echo", func(e *socketio.Event) {
			args := make([]any, len(e.Args))
			for i, a := range e.Args {
				args[i] = a
			}
			_ = e.Ack(args...)
		})
	})
	for _, ev := range []string{"ping", "note"} {
		n.srv.Of("/").OnServerSideEmit(ev, func(args []socketio.Arg, reply func(any)) {
			n.mu.Lock()
			n.received = append(n.received, map[string]any{"event": ev, "args": args})
			n.mu.Unlock()
			if reply != nil {
				reply("pong-go")
			}
		})
	}
}

func (n *node) op(r request) socketio.BroadcastOperator {
	op := n.srv.Of("/").To(r.Rooms...).Except(r.Except...)
	if r.Timeout > 0 {
		op = op.Timeout(time.Duration(r.Timeout) * time.Millisecond)
	}
	return op
}

func (r request) values() []any {
	out := make([]any, 0, len(r.Args)+1)
	for _, a := range r.Args {
		out = append(out, a)
	}
	if r.Binary != "" {
		b, _ := base64.StdEncoding.DecodeString(r.Binary)
		out = append(out, b)
	}
	return out
}

func errString(err error) any {
	if err == nil {
		return nil
	}
	return err.Error()
}

// control runs one cluster operation and answers JSON.
func (n *node) control(w http.ResponseWriter, req *http.Request) {
	var r request
	if req.Method == http.MethodPost {
		if err := json.NewDecoder(req.Body).Decode(&r); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
	defer cancel()
	out := map[string]any{}
	ns := n.srv.Of("/")
	switch req.URL.Path[len("/ctl/"):] {
	case "emit":
		out["error"] = errString(n.op(r).Emit(context.Background(), r.Event, r.values()...))
	case "emitWithAck":
		res, err := n.op(r).EmitWithAck(ctx, r.Event, r.values()...)
		out["responses"], out["error"] = res, errString(err)
	case "socketsJoin":
		out["error"] = errString(n.op(r).SocketsJoin(ctx, r.Join...))
	case "socketsLeave":
		out["error"] = errString(n.op(r).SocketsLeave(ctx, r.Join...))
	case "disconnectSockets":
		out["error"] = errString(n.op(r).DisconnectSockets(ctx, r.Close))
	case "fetchSockets":
		socks, err := n.op(r).FetchSockets(ctx)
		list := make([]map[string]any, 0, len(socks))
		for _, s := range socks {
			list = append(list, map[string]any{"id": s.ID, "rooms": s.Rooms, "data": json.RawMessage(s.Data),
				"address": s.Handshake.Address})
		}
		out["sockets"], out["error"] = list, errString(err)
	case "serverSideEmit":
		out["error"] = errString(ns.ServerSideEmit(ctx, r.Event, r.values()...))
	case "serverSideEmitWithAck":
		res, err := ns.ServerSideEmitWithAck(ctx, r.Event, r.values()...)
		out["responses"], out["error"] = res, errString(err)
	case "serverCount":
		c, err := ns.ServerCount(ctx)
		out["count"], out["error"] = c, errString(err)
	case "received":
		n.mu.Lock()
		out["events"] = append([]map[string]any{}, n.received...)
		n.mu.Unlock()
	case "stats":
		out["stats"] = n.a.Stats()
	default:
		http.NotFound(w, req)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}
