package client_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/switchboard-io/switchboard/client"
	"github.com/switchboard-io/switchboard/socketio"
)

// Example connects to a Switchboard server, receives an event and waits
// for the acknowledgement of an emitted one.
func Example() {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		_ = s.Emit("welcome", "you are connected")
		s.On("hello", func(e *socketio.Event) {
			var name string
			_ = e.Decode(&name)
			_ = e.Ack("hello, " + name)
		})
	})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Shutdown(context.Background())

	m, err := client.NewManager(ts.URL, nil) // polling, then upgrade to WebSocket
	if err != nil {
		panic(err)
	}
	defer m.Close()
	s := m.Socket("/", nil)
	welcome := make(chan string, 1)
	s.On("welcome", func(e *client.Event) {
		var msg string
		_ = e.Decode(&msg)
		welcome <- msg
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Connect(ctx); err != nil {
		panic(err)
	}
	fmt.Println(<-welcome)

	res, err := s.EmitWithAck(ctx, "hello", "gopher")
	if err != nil {
		panic(err)
	}
	var reply string
	_ = res[0].Decode(&reply)
	fmt.Println(reply)
	// Output:
	// you are connected
	// hello, gopher
}
