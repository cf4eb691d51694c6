package socketio_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

// Example runs a chat server: each client joins a room named in its auth
// payload, and a "chat" event is broadcast to the sender's room, the
// sender excluded. Two raw clients stand in for browsers.
func Example() {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		var auth struct{ Room, Name string }
		if err := s.Handshake().DecodeAuth(&auth); err != nil || auth.Room == "" {
			s.Disconnect(false)
			return
		}
		s.Join(auth.Room)
		s.On("chat", func(e *socketio.Event) {
			var text string
			if e.Decode(&text) == nil {
				_ = s.To(auth.Room).Emit(context.Background(), "chat", auth.Name, text)
			}
		})
		_ = s.Emit("joined", auth.Room)
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	join := func(name string) *socketiotest.Client {
		c, err := socketiotest.Dial(ctx, hs.URL+"/socket.io/", socketiotest.WebSocket, nil)
		if err != nil {
			panic(err)
		}
		if _, err := c.Connect(ctx, "/", map[string]string{"room": "go", "name": name}); err != nil {
			panic(err)
		}
		if _, err := c.ReadEvent(ctx, "/", "joined"); err != nil {
			panic(err)
		}
		return c
	}
	ada, bob := join("Ada"), join("Bob")
	defer ada.Close()
	defer bob.Close()

	_ = ada.Emit("/", "chat", "hello, gophers")
	e, err := bob.ReadEvent(ctx, "/", "chat")
	if err != nil {
		panic(err)
	}
	var from, text string
	_ = e.Decode(&from, &text)
	fmt.Printf("Bob got %q from %s\n", text, from)
	// Output: Bob got "hello, gophers" from Ada
}

// ExampleServer_Shutdown stops a server mounted on an http.Server in the
// right order: the HTTP server stops accepting requests and finishes those
// in flight (hijacked WebSockets are not its to wait for), then the
// Socket.IO server closes every socket ("server shutting down": the
// official clients reconnect, elsewhere in a cluster) and waits for its
// goroutines, all within one deadline.
func ExampleServer_Shutdown() {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		s.OnDisconnect(func(reason string) { fmt.Println("disconnected:", reason) })
		_ = s.Emit("welcome")
	})
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	ln := httptest.NewUnstartedServer(nil).Listener // a free loopback port
	go func() { _ = hs.Serve(ln) }()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := socketiotest.Dial(ctx, "http://"+ln.Addr().String()+"/socket.io/", socketiotest.WebSocket, nil)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	if _, err := c.Connect(ctx, "/", nil); err != nil {
		panic(err)
	}
	if _, err := c.ReadEvent(ctx, "/", "welcome"); err != nil {
		panic(err)
	}

	// On SIGTERM, for instance:
	if err := hs.Shutdown(ctx); err != nil {
		fmt.Println("http:", err)
	}
	if err := srv.Shutdown(ctx); err != nil {
		fmt.Println("socket.io:", err)
	}
	// Output: disconnected: server shutting down
}
