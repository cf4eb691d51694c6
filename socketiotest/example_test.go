package socketiotest_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

// Example drives a server with a raw client: it connects with an auth
// payload, emits an event with an ack and reads the server's events. In a
// test, socketiotest.NewServer and Server.Connect do the setup and cleanup.
func Example() {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		var auth struct{ Name string }
		_ = s.Handshake().DecodeAuth(&auth)
		_ = s.Emit("welcome", "hello "+auth.Name)
		s.On("shout", func(e *socketio.Event) {
			var msg string
			_ = e.Decode(&msg)
			_ = e.Ack(strings.ToUpper(msg))
		})
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := socketiotest.Dial(ctx, hs.URL+"/socket.io/", socketiotest.WebSocket, nil)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	if _, err := c.Connect(ctx, "/", map[string]string{"name": "Ada"}); err != nil {
		panic(err)
	}
	e, err := c.ReadEvent(ctx, "/", "welcome")
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Name, string(e.Args[0].JSON()))

	ack, err := c.EmitWithAck(ctx, "/", "shout", "hi")
	if err != nil {
		panic(err)
	}
	fmt.Println("ack:", string(ack[0].JSON()))
	// Output:
	// welcome "hello Ada"
	// ack: "HI"
}
