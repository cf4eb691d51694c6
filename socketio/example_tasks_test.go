package socketio_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/switchboard-io/switchboard/client"
	"github.com/switchboard-io/switchboard/socketio"
)

// The examples below each show one common task. A Go client (package
// client) stands in for the browser; serve and dial are their plumbing.

// serve mounts srv on a loopback HTTP server and returns its URL and a
// function that stops both.
func serve(srv *socketio.Server) (url string, stop func()) {
	hs := httptest.NewServer(srv)
	return hs.URL, func() {
		hs.Close()
		_ = srv.Shutdown(context.Background())
	}
}

// exampleCtx bounds an example's waits.
func exampleCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// dial connects a client to namespace nsp, with a connect-time hook
// (register handlers there).
func dial(ctx context.Context, url, nsp string, auth any, setup func(*client.Socket)) (*client.Socket, func(), error) {
	m, err := client.NewManager(url, &client.Options{ReconnectionDelay: 10 * time.Millisecond})
	if err != nil {
		return nil, nil, err
	}
	s := m.Socket(nsp, &client.SocketOptions{Auth: auth})
	if setup != nil {
		setup(s)
	}
	if err := s.Connect(ctx); err != nil {
		_ = m.Close()
		return nil, nil, err
	}
	return s, func() { _ = m.Close() }, nil
}

// ExampleServer_Use authenticates connections in a middleware: it reads
// the token of the client's auth payload, may call out with ctx (which
// ends if the client leaves), and stores the user on the socket. A refused
// client gets the error's message and data.
func ExampleServer_Use() {
	type user struct{ Name string }
	tokens := map[string]user{"s3cret": {"ada"}} // a database, in real life
	srv := socketio.NewServer(nil)
	srv.Use(func(ctx context.Context, s *socketio.Socket) error {
		var auth struct{ Token string }
		_ = s.Handshake().DecodeAuth(&auth)
		u, ok := tokens[auth.Token]
		if !ok {
			return &socketio.ConnectError{Message: "unauthorized", Data: map[string]string{"hint": "log in"}}
		}
		s.SetData(u)
		return nil
	})
	srv.OnConnection(func(s *socketio.Socket) {
		u, _ := socketio.DataAs[user](s)
		fmt.Println("connected:", u.Name)
	})
	url, stop := serve(srv)
	defer stop()
	ctx, cancel := exampleCtx()
	defer cancel()

	_, closeBad, err := dial(ctx, url, "/", map[string]string{"token": "guess"}, nil)
	var ce *client.ConnectError
	if errors.As(err, &ce) {
		fmt.Printf("refused: %s %s\n", ce.Message, ce.Data)
	} else if err == nil {
		closeBad()
	}
	_, closeGood, err := dial(ctx, url, "/", map[string]string{"token": "s3cret"}, nil)
	if err != nil {
		panic(err)
	}
	defer closeGood()
	_ = srv.Shutdown(ctx) // waits for the connection handler, which prints

	// Output:
	// refused: unauthorized {"hint":"log in"}
	// connected: ada
}

// ExampleSocket_Join puts sockets in rooms and broadcasts to one room.
// Rooms act cluster-wide with a cluster adapter; srv.In(room).SocketsJoin
// moves sockets of every node.
func ExampleSocket_Join() {
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		socketio.On(s, "join", func(e *socketio.Event, room string) {
			s.Join(room)
			_ = e.Ack()
		})
	})
	url, stop := serve(srv)
	defer stop()
	ctx, cancel := exampleCtx()
	defer cancel()

	got := make(chan string, 2)
	for _, name := range []string{"ada", "bob"} {
		c, closeC, err := dial(ctx, url, "/", nil, func(c *client.Socket) {
			c.On("news", func(e *client.Event) {
				var text string
				_ = e.Decode(&text)
				got <- name + " got " + text
			})
		})
		if err != nil {
			panic(err)
		}
		defer closeC()
		if name == "ada" {
			if _, err := c.EmitWithAck(ctx, "join", "gophers"); err != nil {
				panic(err)
			}
		}
	}
	_ = srv.To("gophers").Emit(ctx, "news", "hello, room")
	fmt.Println(<-got)
	// Output: ada got hello, room
}

// ExampleSocket_Timeout waits for a client's ack, at most one second, and
// decodes it into a Go value. A client that does not answer in time makes
// the error wrap ErrTimeout.
func ExampleSocket_Timeout() {
	srv := socketio.NewServer(nil)
	results := make(chan string, 2)
	srv.OnConnection(func(s *socketio.Socket) {
		s.Go(func(ctx context.Context) { // not on the socket's handler goroutine
			sum, err := socketio.DecodeAck[int](s.Timeout(time.Second).EmitWithAck(ctx, "add", 2, 3))
			results <- fmt.Sprint("sum: ", sum, ", err: ", err)
			_, err = s.Timeout(10*time.Millisecond).EmitWithAck(ctx, "ignored")
			results <- fmt.Sprint("timed out: ", errors.Is(err, socketio.ErrTimeout))
		})
	})
	url, stop := serve(srv)
	defer stop()
	ctx, cancel := exampleCtx()
	defer cancel()
	_, closeC, err := dial(ctx, url, "/", nil, func(c *client.Socket) {
		c.OnAck("add", func(e *client.Event) []any {
			var a, b int
			_ = e.Decode(&a, &b)
			return []any{a + b}
		})
	})
	if err != nil {
		panic(err)
	}
	defer closeC()
	fmt.Println(<-results)
	fmt.Println(<-results)
	// Output:
	// sum: 5, err: <nil>
	// timed out: true
}

// ExampleServer_Emit_fromHTTPHandler broadcasts from an HTTP handler: the
// request's context bounds the hand-over to the adapter (a publish, with
// Redis), so a client that gives up cancels it.
func ExampleServer_Emit_fromHTTPHandler() {
	srv := socketio.NewServer(nil)
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.HandleFunc("POST /announce", func(w http.ResponseWriter, r *http.Request) {
		if err := srv.Emit(r.Context(), "announcement", r.FormValue("text")); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer srv.Shutdown(context.Background())
	ctx, cancel := exampleCtx()
	defer cancel()

	got := make(chan string, 1)
	_, closeC, err := dial(ctx, hs.URL, "/", nil, func(c *client.Socket) {
		c.On("announcement", func(e *client.Event) {
			var text string
			_ = e.Decode(&text)
			got <- text
		})
	})
	if err != nil {
		panic(err)
	}
	defer closeC()
	res, err := http.PostForm(hs.URL+"/announce", map[string][]string{"text": {"deploy at noon"}})
	if err != nil {
		panic(err)
	}
	_ = res.Body.Close()
	fmt.Println(res.StatusCode, <-got)
	// Output: 204 deploy at noon
}

// ExampleServer_FetchSockets lists the sockets of a room, with their
// data, on every node (here one), and acts on them wherever they are.
func ExampleServer_FetchSockets() {
	type user struct{ Name string }
	srv := socketio.NewServer(nil)
	ready := make(chan struct{}, 1)
	srv.OnConnection(func(s *socketio.Socket) {
		s.SetData(user{"ada"})
		s.Join("editors")
		ready <- struct{}{}
	})
	url, stop := serve(srv)
	defer stop()
	ctx, cancel := exampleCtx()
	defer cancel()
	_, closeC, err := dial(ctx, url, "/", nil, nil)
	if err != nil {
		panic(err)
	}
	defer closeC()
	<-ready

	sockets, err := srv.In("editors").FetchSockets(ctx)
	if err != nil { // a *PartialError on a timeout, with what was gathered
		panic(err)
	}
	for _, rs := range sockets {
		var u user
		_ = rs.DecodeData(&u)
		fmt.Println(u.Name, rs.Rooms[len(rs.Rooms)-1])
		_ = rs.Leave(ctx, "editors")
	}
	left, _ := srv.In("editors").FetchSockets(ctx)
	fmt.Println(len(left), "left")
	// Output:
	// ada editors
	// 0 left
}

// ExampleOnAck registers a typed handler whose result is the client's
// ack: the argument is decoded into a Go value, the result encoded.
func ExampleOnAck() {
	type pair struct{ A, B int }
	srv := socketio.NewServer(nil)
	srv.OnConnection(func(s *socketio.Socket) {
		socketio.OnAck(s, "add", func(e *socketio.Event, p pair) int { return p.A + p.B })
	})
	url, stop := serve(srv)
	defer stop()
	ctx, cancel := exampleCtx()
	defer cancel()
	c, closeC, err := dial(ctx, url, "/", nil, nil)
	if err != nil {
		panic(err)
	}
	defer closeC()
	res, err := c.EmitWithAck(ctx, "add", pair{A: 40, B: 2})
	if err != nil {
		panic(err)
	}
	var sum int
	_ = res[0].Decode(&sum)
	fmt.Println(sum)
	// Output: 42
}

// ExampleRecoveryOptions turns connection state recovery on: a client
// whose connection drops gets its socket back on reconnection (same id,
// rooms and data) and the events it missed meanwhile. With a cluster
// adapter that stores sessions (adapter/redis in streams mode), any node
// can recover it, even after its node died.
func ExampleRecoveryOptions() {
	srv := socketio.NewServer(&socketio.Options{
		ConnectionStateRecovery: &socketio.RecoveryOptions{MaxDisconnectionDuration: 2 * time.Minute},
	})
	first := make(chan *socketio.Socket, 1)
	srv.OnConnection(func(s *socketio.Socket) {
		if s.Recovered() {
			return // still in "news": no need to join again
		}
		s.Join("news")
		first <- s
	})
	url, stop := serve(srv)
	defer stop()
	ctx, cancel := exampleCtx()
	defer cancel()

	got := make(chan string, 1)
	dropped := make(chan struct{}, 1)
	c, closeC, err := dial(ctx, url, "/", nil, func(c *client.Socket) {
		c.On("news", func(e *client.Event) {
			var text string
			_ = e.Decode(&text)
			got <- text
		})
		c.OnDisconnect(func(client.DisconnectReason, error) { dropped <- struct{}{} })
	})
	if err != nil {
		panic(err)
	}
	defer closeC()
	s := <-first
	// Recovery resumes from the last event the client got: one is needed.
	_ = srv.To("news").Emit(ctx, "news", "welcome")
	fmt.Println(<-got)
	s.Conn().Close() // the network drops the connection
	<-dropped
	_ = srv.To("news").Emit(ctx, "news", "sent while away")

	fmt.Println(<-got) // after the client reconnected by itself
	fmt.Println("recovered:", c.Recovered())
	// Output:
	// welcome
	// sent while away
	// recovered: true
}
