package redis_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"time"

	"github.com/switchboard-io/switchboard/adapter/redis"
	"github.com/switchboard-io/switchboard/socketio"
)

// Example runs two nodes of one cluster in one process: a server-side
// event sent by one node is answered by the other.
func Example() {
	url := os.Getenv("SWITCHBOARD_EXAMPLE_REDIS") // set by TestMain to a test server
	if url == "" {
		url = "redis://127.0.0.1:6379"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	var nodes []*socketio.Server
	for i := range 2 {
		a, err := redis.New(ctx, redis.Options{URL: url, Key: "example"})
		if err != nil {
			fmt.Println(err)
			return
		}
		defer a.Close()
		srv := socketio.NewServer(&socketio.Options{Adapter: a.Factory()})
		defer srv.Shutdown(ctx)
		hs := httptest.NewServer(srv) // in production: http.ListenAndServe
		defer hs.Close()
		srv.Of("/").OnServerSideEmit("whoami", func(args []socketio.Arg, reply func(any)) {
			reply(fmt.Sprintf("node %d", i))
		})
		nodes = append(nodes, srv)
	}
	for {
		if n, _ := nodes[0].Of("/").ServerCount(ctx); n == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	replies, err := nodes[0].Of("/").ServerSideEmitWithAck(ctx, "whoami")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range replies {
		var s string
		_ = r.Decode(&s)
		fmt.Println(s)
	}
	// Output: node 1
}

// Example_streams configures the streams mode with connection state
// recovery: a client that reconnects to any node within two minutes gets
// its session and the events it missed, even if its node died.
func Example_streams() {
	ctx := context.Background()
	a, err := redis.New(ctx, redis.Options{
		URL:     "redis://127.0.0.1:6379",
		Streams: &redis.StreamsOptions{}, // Node's defaults: stream "socket.io", MAXLEN ~ 10000
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	srv := socketio.NewServer(&socketio.Options{
		Adapter:                 a.Factory(),
		ConnectionStateRecovery: &socketio.RecoveryOptions{MaxDisconnectionDuration: 2 * time.Minute},
	})
	_ = srv // http.Handle("/socket.io/", srv); on exit: srv.Shutdown(ctx), then a.Close()
}
