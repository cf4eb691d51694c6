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
				_ = s.To(auth.Room).Emit("chat", auth.Name, text)
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
