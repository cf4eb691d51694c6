// Command echo is a small Switchboard server that shows the API and serves
// the project's compatibility tests.
//
// Socket.IO is served at /socket.io/ with the namespaces "/" and "/custom"
// (any other namespace is refused). On connection to either, the server
// emits "auth" with the handshake's auth payload. On "/", a "message" event
// (any arguments, binary included) is answered with "message-back" carrying
// the same arguments, and "message-with-ack" is acknowledged with them. A raw
// Engine.IO endpoint at /engine.io/ echoes every message to its sender.
//
//	go run ./examples/echo -addr 127.0.0.1:3000
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/switchboard-io/switchboard/eio"
	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/socketio"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "listen address")
	pingInterval := flag.Duration("ping-interval", 25*time.Second, "Engine.IO ping interval")
	pingTimeout := flag.Duration("ping-timeout", 20*time.Second, "Engine.IO ping timeout")
	connectTimeout := flag.Duration("connect-timeout", 45*time.Second, "time allowed to join a namespace")
	flag.Parse()

	engine := engineio.Options{PingInterval: *pingInterval, PingTimeout: *pingTimeout,
		CORS: &engineio.CORSOptions{Origins: []string{"*"}}}
	io := socketio.NewServer(&socketio.Options{Engine: engine, ConnectTimeout: *connectTimeout})
	sendAuth := func(s *socketio.Socket) { _ = s.Emit("auth", s.Handshake().Auth) }
	io.OnConnection(func(s *socketio.Socket) {
		sendAuth(s)
		s.On("message", func(e *socketio.Event) { _ = s.Emit("message-back", args(e)...) })
		s.On("message-with-ack", func(e *socketio.Event) { _ = e.Ack(args(e)...) })
	})
	io.Of("/custom").OnConnection(sendAuth)
	raw := engineio.NewServer(echoHandler{}, &engine)

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	mux.Handle("/engine.io/", raw)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("listening on http://%s\n", ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = io.Shutdown(sctx)
	_ = raw.Shutdown(sctx)
	_ = srv.Shutdown(sctx)
	os.Exit(0)
}

// args returns an event's arguments as values Emit relays unchanged.
func args(e *socketio.Event) []any {
	out := make([]any, len(e.Args))
	for i, a := range e.Args {
		out[i] = a
	}
	return out
}

// echoHandler sends every Engine.IO message back to its sender.
type echoHandler struct{}

func (echoHandler) OnOpen(*engineio.Conn) {}

func (echoHandler) OnMessage(c *engineio.Conn, data []byte, binary bool) {
	if binary {
		_ = c.Send(eio.NewBinaryMessage(data))
		return
	}
	_ = c.Send(eio.NewMessage(data))
}

func (echoHandler) OnClose(*engineio.Conn, string) {}
