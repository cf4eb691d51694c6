package admin_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/adapter/redis"
	"github.com/switchboard-io/switchboard/admin"
	"github.com/switchboard-io/switchboard/internal/redistest"
	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

// TestCluster: two nodes on one Redis. The admin of node A gets both
// nodes' statistics, lists node B's socket with its client id and
// transport, hears of its room changes, and its actions reach it.
func TestCluster(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	ctx := socketiotest.Context(t)
	var nodes []*socketiotest.Server
	for i := range 2 {
		a, err := redis.New(ctx, redis.Options{URL: "redis://" + rs.Addr, Key: "admintest"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Close() })
		srv := socketiotest.NewServer(t, &socketio.Options{Adapter: a.Factory()})
		in, err := admin.Instrument(srv.Server, admin.Options{Auth: &admin.BasicAuth{Username: "admin", PasswordHash: hash}, ServerID: fmt.Sprintf("node-%d", i), StatsInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(in.Close)
		nodes = append(nodes, srv)
	}
	socketiotest.Eventually(t, func() error {
		if n, _ := nodes[0].Of("/admin").ServerCount(ctx); n != 2 {
			return fmt.Errorf("%d nodes", n)
		}
		return nil
	}, socketiotest.DefaultTimeout)
	u := nodes[1].Connect(t, ws, "/", nil)
	var uid string
	socketiotest.Eventually(t, func() error {
		if sockets, _ := nodes[1].Of("/").Local().FetchSockets(ctx); len(sockets) == 1 {
			uid = sockets[0].ID
			return nil
		}
		return fmt.Errorf("no socket yet")
	}, socketiotest.DefaultTimeout)
	a := nodes[0].Connect(t, ws, "/admin", map[string]string{"username": "admin", "password": "secret"})
	var sid string
	if err := next(t, a, "/admin", "session").Decode(&sid); err != nil {
		t.Fatal(err)
	}
	// The session id issued by node A lets the UI in on node B.
	b := nodes[1].Dial(t, ws, nil)
	if _, err := b.Connect(ctx, "/admin", map[string]string{"sessionId": sid}); err != nil {
		t.Fatalf("node A's session on node B: %v", err)
	}

	var all []socketJSON
	if err := next(t, a, "/admin", "all_sockets").Decode(&all); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(all, func(s socketJSON) bool { return s.ID == uid })
	if i < 0 || all[i].Transport != "websocket" || len(all[i].ClientID) != 12 {
		t.Fatalf("node B's socket in all_sockets: %+v", all)
	}
	seen := map[string]bool{}
	for len(seen) < 2 {
		var st serverStats
		if err := next(t, a, "/admin", "server_stats").Decode(&st); err != nil {
			t.Fatal(err)
		}
		seen[st.ServerID] = true
	}
	if err := a.Emit("/admin", "emit", "/", uid, "hi", "there"); err != nil {
		t.Fatal(err)
	}
	var s string
	if err := must(u.ReadEvent(ctx, "/", "hi")).Decode(&s); err != nil || s != "there" {
		t.Fatalf("emit across nodes: %q %v", s, err)
	}
	if err := a.Emit("/admin", "join", "/", "vip", uid); err != nil {
		t.Fatal(err)
	}
	e := next(t, a, "/admin", "room_joined", `"vip"`, uid)
	raw, _ := json.Marshal(e.Args)
	if !slices.Contains(nodes[1].Of("/").LocalSocket(uid).Rooms(), "vip") {
		t.Fatalf("join across nodes: %s", raw)
	}
}
