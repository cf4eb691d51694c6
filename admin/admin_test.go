package admin_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-io/switchboard/admin"
	"github.com/switchboard-io/switchboard/parser"
	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

const ws = socketiotest.WebSocket

// hash is the bcrypt hash of "secret", at the lowest cost (fast tests).
var hash = func() string {
	h, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		panic(err)
	}
	return string(h)
}()

// instrumented starts a server instrumented with opts (a short stats
// period), whose admin sockets also answer "barrier" with an ack: handled
// after every action sent before it.
func instrumented(t *testing.T, opts admin.Options) (*socketiotest.Server, *admin.Instrumentation) {
	t.Helper()
	srv := socketiotest.NewServer(t, nil)
	if opts.StatsInterval == 0 {
		opts.StatsInterval = 50 * time.Millisecond
	}
	in, err := admin.Instrument(srv.Server, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	in.Namespace().OnConnection(func(s *socketio.Socket) {
		s.On("barrier", func(e *socketio.Event) { e.Ack() })
	})
	return srv, in
}

// next reads events named event on nsp until one whose JSON arguments
// contain every string of want.
func next(t *testing.T, c *socketiotest.Client, nsp, event string, want ...string) *socketiotest.Event {
	t.Helper()
	for {
		e, err := c.ReadEvent(socketiotest.Context(t), nsp, event)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(e.Args)
		if !slices.ContainsFunc(want, func(w string) bool { return !strings.Contains(string(b), w) }) {
			return e
		}
	}
}

func TestOptions(t *testing.T) {
	srv := socketiotest.NewServer(t, nil)
	for name, o := range map[string]admin.Options{
		"no auth choice": {},
		"plain password": {Auth: &admin.BasicAuth{Username: "admin", PasswordHash: "secret"}},
		"both":           {Auth: &admin.BasicAuth{Username: "admin", PasswordHash: hash}, NoAuth: true},
		"mode":           {NoAuth: true, Mode: "staging"},
	} {
		if _, err := admin.Instrument(srv.Server, o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	srv, _ := instrumented(t, admin.Options{Auth: &admin.BasicAuth{Username: "admin", PasswordHash: hash}})
	ctx := socketiotest.Context(t)
	for _, auth := range []any{nil, map[string]string{"username": "admin", "password": "wrong"},
		map[string]string{"username": "other", "password": "secret"}, map[string]string{"sessionId": "made-up"}} {
		c := srv.Dial(t, ws, nil)
		_, err := c.Connect(ctx, "/admin", auth)
		var ce *socketiotest.ConnectError
		if !errors.As(err, &ce) || ce.Message != "invalid credentials" {
			t.Errorf("auth %v: %v, want invalid credentials", auth, err)
		}
	}
	c := srv.Connect(t, ws, "/admin", map[string]string{"username": "admin", "password": "secret"})
	var sid string
	if err := next(t, c, "/admin", "session").Decode(&sid); err != nil || len(sid) != 16 {
		t.Fatalf("session %q, %v", sid, err)
	}
	next(t, c, "/admin", "config")
	// The UI reconnects with its session id alone.
	c2 := srv.Connect(t, ws, "/admin", map[string]string{"sessionId": sid})
	next(t, c2, "/admin", "config")
}

func TestConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		opts admin.Options
		want []string
	}{
		{admin.Options{NoAuth: true}, []string{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"}},
		{admin.Options{NoAuth: true, ReadOnly: true}, []string{"AGGREGATED_EVENTS", "ALL_EVENTS"}},
		{admin.Options{NoAuth: true, Mode: admin.Production}, []string{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS"}},
	} {
		srv, _ := instrumented(t, tc.opts)
		c := srv.Connect(t, ws, "/admin", nil)
		var cfg struct {
			SupportedFeatures []string `json:"supportedFeatures"`
		}
		if err := next(t, c, "/admin", "config").Decode(&cfg); err != nil || !slices.Equal(cfg.SupportedFeatures, tc.want) {
			t.Errorf("%+v: features %v (%v), want %v", tc.opts, cfg.SupportedFeatures, err, tc.want)
		}
	}
}

// serverStats is the part of "server_stats" the tests check.
type serverStats struct {
	ServerID            string  `json:"serverId"`
	Hostname            string  `json:"hostname"`
	PID                 int     `json:"pid"`
	Uptime              float64 `json:"uptime"`
	ClientsCount        int     `json:"clientsCount"`
	PollingClientsCount int     `json:"pollingClientsCount"`
	AggregatedEvents    []struct {
		Timestamp int64  `json:"timestamp"`
		Type      string `json:"type"`
		SubType   string `json:"subType"`
		Count     int    `json:"count"`
	} `json:"aggregatedEvents"`
	Namespaces []struct {
		Name         string `json:"name"`
		SocketsCount int    `json:"socketsCount"`
	} `json:"namespaces"`
}

func TestServerStats(t *testing.T) {
	t.Parallel()
	srv, _ := instrumented(t, admin.Options{NoAuth: true, ServerID: "node-a"})
	a := srv.Connect(t, ws, "/admin", nil)
	srv.Connect(t, socketiotest.Polling, "/", nil)
	// Statistics that count the polling client, and the engine's events.
	types := map[string]bool{}
	for {
		var st serverStats
		if err := next(t, a, "/admin", "server_stats").Decode(&st); err != nil {
			t.Fatal(err)
		}
		if st.ServerID != "node-a" || st.Hostname == "" || st.PID == 0 || st.Uptime <= 0 {
			t.Fatalf("stats %+v", st)
		}
		counts := map[string]int{}
		for _, n := range st.Namespaces {
			counts[n.Name] = n.SocketsCount
		}
		for _, e := range st.AggregatedEvents {
			if e.Count <= 0 || e.Timestamp%1000 != 0 {
				t.Fatalf("event %+v", e)
			}
			types[e.Type] = true
		}
		if st.ClientsCount == 2 && st.PollingClientsCount == 1 && counts["/"] == 1 && counts["/admin"] == 1 &&
			types["rawConnection"] && types["packetsOut"] && types["bytesOut"] {
			return
		}
	}
}

// socketJSON is a serialised socket as the tests check it.
type socketJSON struct {
	ID        string          `json:"id"`
	ClientID  string          `json:"clientId"`
	Transport string          `json:"transport"`
	Nsp       string          `json:"nsp"`
	Data      json.RawMessage `json:"data"`
	Rooms     []string        `json:"rooms"`
	Handshake struct {
		Address string            `json:"address"`
		Headers map[string]string `json:"headers"`
		Query   map[string]string `json:"query"`
		Issued  int64             `json:"issued"`
		Time    string            `json:"time"`
		URL     string            `json:"url"`
	} `json:"handshake"`
}

func TestSocketsAndEvents(t *testing.T) {
	t.Parallel()
	srv, _ := instrumented(t, admin.Options{NoAuth: true})
	srv.OnConnection(func(s *socketio.Socket) {
		s.SetData(map[string]int{"score": 7})
		s.Join("lobby")
		s.On("ping", func(e *socketio.Event) { _ = s.Emit("pong", 1) })
	})
	u := srv.Connect(t, ws, "/", nil)
	a := srv.Connect(t, ws, "/admin", nil)
	var all []socketJSON
	if err := next(t, a, "/admin", "all_sockets").Decode(&all); err != nil {
		t.Fatal(err)
	}
	var user *socketJSON
	for i := range all {
		if all[i].Nsp == "/" {
			user = &all[i]
		}
	}
	if len(all) != 2 || user == nil || user.Transport != "websocket" || len(user.ClientID) != 12 ||
		string(user.Data) != `{"score":7}` || !slices.Contains(user.Rooms, "lobby") ||
		user.Handshake.Address != "127.0.0.1" || user.Handshake.Issued == 0 || user.Handshake.URL == "" {
		t.Fatalf("all_sockets %+v", all)
	}

	u2 := srv.Connect(t, ws, "/", nil)
	var sj socketJSON
	for sj.ID == "" || sj.ID == user.ID { // u's own may come after the admin connected
		if err := next(t, a, "/admin", "socket_connected", `"nsp":"/"`).Decode(&sj); err != nil {
			t.Fatal(err)
		}
	}
	next(t, a, "/admin", "room_joined", `"/"`, `"lobby"`, `"`+sj.ID+`"`)
	if err := u2.Emit("/", "ping", "x"); err != nil {
		t.Fatal(err)
	}
	next(t, a, "/admin", "event_received", `["ping","x"]`, sj.ID)
	next(t, a, "/admin", "event_sent", `["pong",1]`, sj.ID)
	_ = u2.Close()
	next(t, a, "/admin", "room_left", `"lobby"`, sj.ID)
	e := next(t, a, "/admin", "socket_disconnected", sj.ID)
	var nsp, id, reason, ts string
	if err := e.Decode(&nsp, &id, &reason, &ts); err != nil || nsp != "/" || reason != "transport close" {
		t.Fatalf("socket_disconnected %s %s %s %v", nsp, id, reason, err)
	}
	if _, err := time.Parse(time.RFC3339, ts); err != nil {
		t.Errorf("timestamp %q: %v", ts, err)
	}
	_ = u
}

func TestActions(t *testing.T) {
	t.Parallel()
	srv, _ := instrumented(t, admin.Options{NoAuth: true})
	u := srv.Connect(t, ws, "/", nil)
	a := srv.Connect(t, ws, "/admin", nil)
	var all []socketJSON
	if err := next(t, a, "/admin", "all_sockets").Decode(&all); err != nil {
		t.Fatal(err)
	}
	id := all[slices.IndexFunc(all, func(s socketJSON) bool { return s.Nsp == "/" })].ID
	ctx := socketiotest.Context(t)

	if err := a.Emit("/admin", "emit", "/", id, "hello", "world", 2); err != nil {
		t.Fatal(err)
	}
	var s string
	var n int
	if err := must(u.ReadEvent(ctx, "/", "hello")).Decode(&s, &n); err != nil || s != "world" || n != 2 {
		t.Fatalf("emitted %q %d %v", s, n, err)
	}
	rooms := func() []string { return srv.Of("/").LocalSocket(id).Rooms() }
	if err := a.Emit("/admin", "join", "/", "vip", id); err != nil {
		t.Fatal(err)
	}
	next(t, a, "/admin", "room_joined", `"vip"`, id)
	if !slices.Contains(rooms(), "vip") {
		t.Fatalf("rooms %v", rooms())
	}
	if err := a.Emit("/admin", "leave", "/", "vip", id); err != nil {
		t.Fatal(err)
	}
	next(t, a, "/admin", "room_left", `"vip"`, id)
	if slices.Contains(rooms(), "vip") {
		t.Fatalf("rooms after leave %v", rooms())
	}
	if err := a.Emit("/admin", "_disconnect", "/", false, id); err != nil {
		t.Fatal(err)
	}
	next(t, a, "/admin", "socket_disconnected", id, "server namespace disconnect")
	if _, err := u.Next(ctx, func(p *parser.Packet) bool { return p.Type == parser.Disconnect }); err != nil {
		t.Fatal(err)
	}
}

func TestReadOnly(t *testing.T) {
	t.Parallel()
	srv, _ := instrumented(t, admin.Options{NoAuth: true, ReadOnly: true})
	u := srv.Connect(t, ws, "/", nil)
	a := srv.Connect(t, ws, "/admin", nil)
	ctx := socketiotest.Context(t)
	if err := a.Emit("/admin", "emit", "/", nil, "hello"); err != nil {
		t.Fatal(err)
	}
	if err := a.Emit("/admin", "_disconnect", "/", true, nil); err != nil {
		t.Fatal(err)
	}
	// Handled after both: had they acted, "hello" would be in u's inbox
	// before "marker", and u would be gone.
	if _, err := a.EmitWithAck(ctx, "/admin", "barrier"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Of("/").Emit(ctx, "marker"); err != nil {
		t.Fatal(err)
	}
	if e := must(u.ReadEvent(ctx, "/", "")); e.Name != "marker" {
		t.Fatalf("first event %q, want marker", e.Name)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
