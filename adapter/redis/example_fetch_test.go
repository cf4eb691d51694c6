package redis_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"time"

	"github.com/switchboard-io/switchboard/adapter/redis"
	sbclient "github.com/switchboard-io/switchboard/client"
	"github.com/switchboard-io/switchboard/socketio"
)

// Example_fetchSockets lists the sockets of a room on every node of the
// cluster, as Node's io.in(room).fetchSockets() does: each comes with its
// rooms and data, and can be sent to wherever it is connected.
func Example_fetchSockets() {
	url := os.Getenv("SWITCHBOARD_EXAMPLE_REDIS") // set by TestMain to a test server
	if url == "" {
		url = "redis://127.0.0.1:6379"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	var nodes []*socketio.Server
	for i := range 2 {
		a, err := redis.New(ctx, redis.Options{URL: url, Key: "example-fetch"})
		if err != nil {
			fmt.Println(err)
			return
		}
		defer a.Close()
		srv := socketio.NewServer(&socketio.Options{Adapter: a.Factory()})
		defer srv.Shutdown(ctx)
		srv.OnConnection(func(s *socketio.Socket) {
			s.SetData(map[string]string{"user": fmt.Sprintf("user-%d", i)})
			s.Join("players")
		})
		hs := httptest.NewServer(srv)
		defer hs.Close()
		// One client on each node.
		m, err := sbclient.NewManager(hs.URL, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer m.Close()
		if err := m.Socket("/", nil).Connect(ctx); err != nil {
			fmt.Println(err)
			return
		}
		nodes = append(nodes, srv)
	}
	for {
		if n, _ := nodes[0].Of("/").ServerCount(ctx); n == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	sockets, err := nodes[0].In("players").FetchSockets(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	var users []string
	for _, s := range sockets {
		var data map[string]string
		if err := s.DecodeData(&data); err == nil {
			users = append(users, fmt.Sprintf("%s local=%v", data["user"], s.Local))
		}
	}
	slices.Sort(users)
	fmt.Println(users)
	// Output: [user-0 local=true user-1 local=false]
}
