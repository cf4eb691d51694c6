package engineio_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/switchboard-io/switchboard/eio"
	"github.com/switchboard-io/switchboard/engineio"
)

// echo sends every message back to its sender.
type echo struct{}

func (echo) OnOpen(c *engineio.Conn) {}

func (echo) OnMessage(c *engineio.Conn, data []byte, binary bool) {
	if binary {
		_ = c.Send(eio.NewBinaryMessage(data))
		return
	}
	_ = c.Send(eio.NewMessage(data))
}

func (echo) OnClose(c *engineio.Conn, reason string) {}

// A server mounted at /engine.io/ in a mux, spoken to by hand over HTTP
// long-polling: a handshake, a message posted, its echo polled.
func ExampleNewServer() {
	srv := engineio.NewServer(echo{}, nil) // nil: Node's defaults
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer srv.Shutdown(context.Background())
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	get := func(query string) string {
		res, err := client.Get(hs.URL + "/engine.io/?EIO=4&transport=polling" + query)
		if err != nil {
			return err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	open := get("")
	sid := strings.Split(open, `"`)[3] // 0{"sid":"<sid>",...
	fmt.Println(strings.Replace(open, sid, "<sid>", 1))

	res, err := client.Post(hs.URL+"/engine.io/?EIO=4&transport=polling&sid="+sid,
		"text/plain;charset=UTF-8", strings.NewReader("4hello\x1e4world"))
	if err != nil {
		fmt.Println(err)
		return
	}
	res.Body.Close()
	fmt.Printf("%q\n", get("&sid="+sid))
	// Output:
	// 0{"sid":"<sid>","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
	// "4hello\x1e4world"
}

// An http.Server whose WebSocket upgrades under /engine.io/ are served on
// the accepted connections themselves; its other requests (here a polling
// handshake) are served by net/http as usual.
func ExampleNewUpgradeListener() {
	srv := engineio.NewServer(echo{}, nil)
	defer srv.Shutdown(context.Background())
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	hs := &http.Server{Handler: mux}
	go hs.Serve(engineio.NewUpgradeListener(ln, mux, engineio.UpgradeListenerOptions{Path: "/engine.io/"}))
	defer hs.Close()

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://" + ln.Addr().String() + "/engine.io/?EIO=4&transport=polling")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, strings.HasPrefix(string(body), `0{"sid":`))
	// Output: 200 true
}

// shout answers each message with it in capitals, from work passed to
// Conn.Go: OnMessage returns at once, and on a WebSocket the work runs on
// the goroutine that read the message.
type shout struct{ echo }

func (shout) OnMessage(c *engineio.Conn, data []byte, binary bool) {
	c.Go(func() {
		_ = c.Send(eio.NewMessage(bytes.ToUpper(data))) // data belongs to the handler
	})
}

// Work for a message done with Conn.Go, seen by a polling client.
func ExampleConn_Go() {
	srv := engineio.NewServer(shout{}, nil)
	defer srv.Shutdown(context.Background())
	hs := httptest.NewServer(srv)
	defer hs.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	url := hs.URL + "/?EIO=4&transport=polling"
	res, err := client.Get(url)
	if err != nil {
		fmt.Println(err)
		return
	}
	open, _ := io.ReadAll(res.Body)
	res.Body.Close()
	url += "&sid=" + strings.Split(string(open), `"`)[3]
	if res, err = client.Post(url, "text/plain;charset=UTF-8", strings.NewReader("4hello")); err != nil {
		fmt.Println(err)
		return
	}
	res.Body.Close()
	if res, err = client.Get(url); err != nil {
		fmt.Println(err)
		return
	}
	reply, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println(string(reply))
	// Output: 4HELLO
}
