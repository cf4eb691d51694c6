package socketio_test

import (
	"context"
	"errors"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

// v2Client is a raw Socket.IO v2 client (Engine.IO v3) over WebSocket.
type v2Client struct {
	t    *testing.T
	conn net.Conn
	rw   io.ReadWriter // reads what the handshake buffered first
	sid  string
}

var v3OpenRE = regexp.MustCompile(`^0\{"sid":"([A-Za-z0-9_-]{20})","upgrades":\[\],"pingInterval":\d+,` +
	`"pingTimeout":\d+,"maxPayload":\d+\}$`)

// dialV2 opens a v3 WebSocket session and reads its open packet.
func dialV2(t *testing.T, srv *socketiotest.Server) *v2Client {
	t.Helper()
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "?EIO=3&transport=websocket"
	conn, br, _, err := ws.Dialer{Timeout: waitTimeout}.Dial(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	c := &v2Client{t: t, conn: conn, rw: conn}
	if br != nil {
		c.rw = struct {
			io.Reader
			io.Writer
		}{io.MultiReader(br, conn), conn}
	}
	m := v3OpenRE.FindStringSubmatch(c.text())
	if m == nil {
		t.Fatal("bad open packet")
	}
	c.sid = m[1]
	return c
}

// read returns the next message.
func (c *v2Client) read() (ws.OpCode, []byte, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	b, op, err := wsutil.ReadServerData(c.rw)
	return op, b, err
}

// text returns the next message, which must be a text frame.
func (c *v2Client) text() string {
	c.t.Helper()
	op, b, err := c.read()
	if err != nil || op != ws.OpText {
		c.t.Fatalf("read: %v %v %q", err, op, b)
	}
	return string(b)
}

func (c *v2Client) expect(want string) {
	c.t.Helper()
	if got := c.text(); got != want {
		c.t.Fatalf("got %q, want %q", got, want)
	}
}

func (c *v2Client) send(op ws.OpCode, p []byte) {
	c.t.Helper()
	if err := wsutil.WriteClientMessage(c.conn, op, p); err != nil {
		c.t.Fatal(err)
	}
}

func (c *v2Client) sendText(s string) { c.t.Helper(); c.send(ws.OpText, []byte(s)) }

// expectBinary reads the next message, which must be the binary want.
func (c *v2Client) expectBinary(want string) {
	c.t.Helper()
	if op, b, err := c.read(); err != nil || op != ws.OpBinary || string(b) != want {
		c.t.Fatalf("got %v %v % x, want binary % x", err, op, b, want)
	}
}

// connectedV2 dials a v2 client, which is connected to "/" at once, and
// returns it with its socket (from main, the sockets of "/").
func connectedV2(t *testing.T, srv *socketiotest.Server, main <-chan *socketio.Socket) (*v2Client, *socketio.Socket) {
	t.Helper()
	c := dialV2(t, srv)
	c.expect("40")
	return c, recv(t, main)
}

// expectEnd waits for the server to end the connection.
func (c *v2Client) expectEnd() {
	c.t.Helper()
	for {
		if _, _, err := c.read(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatal("the connection stayed open")
			}
			return
		}
	}
}

func newV3Server(t *testing.T, opts *socketio.Options) *socketiotest.Server {
	t.Helper()
	var o socketio.Options
	if opts != nil {
		o = *opts
	}
	o.Engine.AllowEIO3 = true
	return newServer(t, &o)
}

// A v2 client is connected to "/" without a CONNECT; the reply has no
// payload, the socket id is the session id; a CONNECT to "/" afterwards is
// an invalid state, which closes the connection.
func TestEIO3ImplicitConnect(t *testing.T) {
	t.Parallel()
	srv := newV3Server(t, nil)
	main := sockets(srv.Of("/"))
	c, s := connectedV2(t, srv, main)
	if s.ID() != c.sid || s.Conn().Protocol() != 3 || string(s.Handshake().Auth) != "{}" {
		t.Fatalf("socket id %q (sid %q), protocol %d, auth %s", s.ID(), c.sid, s.Conn().Protocol(), s.Handshake().Auth)
	}
	c.sendText("40")
	c.expectEnd()
	waitDone(t, s.Conn().Done(), "the connection")
}

// A custom namespace: the query of its CONNECT is the auth payload, the
// socket id "<nsp>#<sid>"; an unknown namespace gets Node's object error.
func TestEIO3Namespace(t *testing.T) {
	t.Parallel()
	srv := newV3Server(t, nil)
	admin := sockets(srv.Of("/admin"))
	c := dialV2(t, srv)
	c.expect("40")
	c.sendText("40/admin?token=a%20b&x=1&x=2&y=<>,")
	c.expect("40/admin,")
	s := recv(t, admin)
	if want := "/admin#" + c.sid; s.ID() != want {
		t.Fatalf("socket id %q, want %q", s.ID(), want)
	}
	if got, want := string(s.Handshake().Auth), `{"token":"a b","x":["1","2"],"y":"<>"}`; got != want {
		t.Fatalf("auth %s, want %s", got, want)
	}
	c.sendText("42/admin,[\"ev\",1]") // routed by path though the CONNECT had a query
	got := make(chan string, 1)
	s.On("later", func(e *socketio.Event) { got <- e.Name })
	c.sendText("42/admin?ignored=1,[\"later\"]")
	if name := recv(t, got); name != "later" {
		t.Fatalf("event %q", name)
	}
	c.sendText("40/nope,")
	c.expect(`44/nope,{"message":"Invalid namespace"}`)
}

// A middleware's refusal reaches a v2 client as err.data || err.message.
func TestEIO3MiddlewareError(t *testing.T) {
	t.Parallel()
	srv := newV3Server(t, nil)
	errs := map[string]error{
		"/plain": errors.New("not authorized"),
		"/data":  &socketio.ConnectError{Message: "refused", Data: map[string]int{"code": 42}},
		"/falsy": &socketio.ConnectError{Message: "empty data", Data: ""},
		"/bytes": &socketio.ConnectError{Message: "binary data", Data: []byte{1, 2}},
	}
	for name, err := range errs {
		srv.Of(name).Use(func(context.Context, *socketio.Socket) error { return err })
	}
	c := dialV2(t, srv)
	c.expect("40")
	for _, tc := range []struct{ nsp, want string }{
		{"/plain", `44/plain,"not authorized"`},
		{"/data", `44/data,{"code":42}`},
		{"/falsy", `44/falsy,"empty data"`},
		{"/bytes", `44/bytes,"AQI="`}, // no attachment in a CONNECT_ERROR: base64
	} {
		c.sendText("40" + tc.nsp + ",")
		c.expect(tc.want)
	}
	// The v2 client's "/" socket is untouched.
	c.sendText("41")
}

// Events, acks and binary both ways; binary frames carry v3's type byte.
func TestEIO3Events(t *testing.T) {
	t.Parallel()
	srv := newV3Server(t, nil)
	main := sockets(srv.Of("/"))
	c, s := connectedV2(t, srv, main)
	s.On("echo", func(e *socketio.Event) { _ = e.Ack(e.Args[0]) })
	c.sendText(`421["echo","x"]`)
	c.expect(`431["x"]`)
	c.sendText(`451-2["echo",{"_placeholder":true,"num":0}]`)
	c.send(ws.OpBinary, []byte{4, 7, 8})
	c.expect(`461-2[{"_placeholder":true,"num":0}]`)
	c.expectBinary("\x04\x07\x08")
	if err := s.Emit("bin", []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	c.expect(`451-["bin",{"_placeholder":true,"num":0}]`)
	c.expectBinary("\x04\x01\x02")
}

// A v2 and a v4 client get the same broadcast, binary in each one's form.
func TestEIO3BroadcastMixed(t *testing.T) {
	t.Parallel()
	srv := newV3Server(t, nil)
	main := sockets(srv.Of("/"))
	v2, _ := connectedV2(t, srv, main)
	v4 := srv.Dial(t, "websocket", nil)
	if _, err := v4.ConnectRaw(ctxT(t), "/", nil); err != nil {
		t.Fatal(err)
	}
	recv(t, main)
	if err := srv.Emit(ctxT(t), "news", "hi", []byte{5}); err != nil {
		t.Fatal(err)
	}
	v2.expect(`451-["news","hi",{"_placeholder":true,"num":0}]`)
	v2.expectBinary("\x04\x05")
	p, err := v4.ReadPacket(ctxT(t))
	if err != nil || string(p.Encode()) != `51-["news","hi",{"_placeholder":true,"num":0}]` ||
		len(p.Attachments) != 1 || string(p.Attachments[0]) != "\x05" {
		t.Fatalf("v4 got %v %v", p, err)
	}
}

// With connection state recovery on, a v2 client still gets a CONNECT
// reply without payload, so no private id: it cannot recover.
func TestEIO3NoRecovery(t *testing.T) {
	t.Parallel()
	srv := newV3Server(t, &socketio.Options{ConnectionStateRecovery: &socketio.RecoveryOptions{}})
	c := dialV2(t, srv)
	c.expect("40")
}

// Without AllowEIO3 a v2 client is refused, as in Node.
func TestEIO3Off(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "?EIO=3&transport=websocket"
	if _, _, _, err := (ws.Dialer{Timeout: waitTimeout}).Dial(context.Background(), u); err == nil {
		t.Fatal("v3 accepted")
	}
	if srv.Engine().Options().AllowEIO3 {
		t.Fatal("AllowEIO3 on by default")
	}
}
