// Command goserver is the Go side of the compatibility suite: a Switchboard
// server implementing test/compat/CONTRACT.md, the same behaviour as the Node
// reference server test/compat/servers/node-server.mjs.
//
//	goserver --port P [--ping-interval ms] [--ping-timeout ms] [--connect-timeout ms]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/test/compat/contract"
)

func main() {
	port := flag.Int("port", 0, "port to listen on (127.0.0.1)")
	pingInterval := flag.Int("ping-interval", 25000, "ping interval, ms")
	pingTimeout := flag.Int("ping-timeout", 20000, "ping timeout, ms")
	connectTimeout := flag.Int("connect-timeout", 45000, "connect timeout, ms")
	flag.Parse()
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	engineOpts := engineio.Options{
		PingInterval: ms(*pingInterval), PingTimeout: ms(*pingTimeout),
		CORS: &engineio.CORSOptions{Origins: []string{"*"}},
		// The Socket.IO v2 client suite (test/compat-v2), as the Node server.
		AllowEIO3: os.Getenv("COMPAT_EIO3") == "1",
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	opts := &socketio.Options{Engine: engineOpts, ConnectTimeout: ms(*connectTimeout), Logger: engineOpts.Logger}
	if os.Getenv("COMPAT_PARSER") == "msgpack" { // as the harness's clients
		opts.Parser = socketio.ParserMsgpack
	}
	io := socketio.NewServer(opts)
	contract.Setup(io)
	eio := engineio.NewServer(contract.Echo{}, &engineOpts)

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	mux.Handle("/engine.io/", eio)
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if os.Getenv("COMPAT_DIRECT_WS") == "1" { // WebSocket upgrades on both paths served by engineio.UpgradeListener
		for _, path := range []string{"/socket.io/", "/engine.io/"} {
			ln = engineio.NewUpgradeListener(ln, mux, engineio.UpgradeListenerOptions{Path: path})
		}
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	fmt.Printf("listening on http://127.0.0.1:%d\n", *port)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = io.Shutdown(ctx)
	_ = eio.Shutdown(ctx)
	_ = hs.Shutdown(ctx)
}
