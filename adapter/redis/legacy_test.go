package redis_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/switchboard-io/switchboard/adapter/redis"
)

// TestLegacyAndQueryRequests sends requests as older or other adapters do
// (raw JSON on the request channel) and checks the answers on the response
// channel: legacy REMOTE_JOIN {requestId, sid, room}, SOCKETS and
// ALL_ROOMS.
func TestLegacyAndQueryRequests(t *testing.T) {
	r := shared(t)
	n := newNode(t, redis.Options{URL: r.url(), Key: "t-legacy"}, nil)
	c := dial(t, n)
	ctx := ctxT(t)
	rc, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{r.url()[len("redis://"):]}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	responses := make(chan string, 10)
	sub, cancel := rc.Dedicate()
	defer cancel()
	sub.SetPubSubHooks(rueidis.PubSubHooks{OnMessage: func(m rueidis.PubSubMessage) { responses <- m.Message }})
	if err := sub.Do(ctx, sub.B().Subscribe().Channel("t-legacy-response#/#").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	// The node subscribes on its own goroutine: a request published before
	// that would be lost.
	for {
		counts, err := rc.Do(ctx, rc.B().PubsubNumsub().Channel("t-legacy-request#/#").Build()).AsIntMap()
		if err != nil {
			t.Fatal(err)
		}
		if counts["t-legacy-request#/#"] > 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the node never subscribed to the request channel")
		case <-time.After(10 * time.Millisecond):
		}
	}
	publish := func(msg string) string {
		t.Helper()
		if err := rc.Do(ctx, rc.B().Publish().Channel("t-legacy-request#/#").Message(msg).Build()).Error(); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-responses:
			return m
		case <-ctx.Done():
			t.Fatal("no response")
			return ""
		}
	}
	got := publish(`{"requestId":"L1","type":2,"sid":"` + c.sid + `","room":"legacy"}`)
	if got != `{"requestId":"L1","uid":"`+n.a.UID()+`"}` {
		t.Fatalf("legacy join response %s", got)
	}
	if rooms := n.ns().LocalSocket(c.sid).Rooms(); !slices.Contains(rooms, "legacy") {
		t.Fatalf("rooms %v", rooms)
	}
	got = publish(`{"uid":"x","requestId":"S1","type":0,"rooms":["legacy"]}`)
	if got != `{"requestId":"S1","sockets":["`+c.sid+`"],"uid":"`+n.a.UID()+`"}` {
		t.Fatalf("sockets response %s", got)
	}
	got = publish(`{"uid":"x","requestId":"R1","type":1}`)
	if !slices.Contains([]string{
		`{"requestId":"R1","rooms":["legacy","` + c.sid + `"],"uid":"` + n.a.UID() + `"}`,
		`{"requestId":"R1","rooms":["` + c.sid + `","legacy"],"uid":"` + n.a.UID() + `"}`}, got) {
		t.Fatalf("all rooms response %s", got)
	}
}

// TestFetchRooms checks the classic adapter's cluster-wide allRooms.
func TestFetchRooms(t *testing.T) {
	r := shared(t)
	nodes := newCluster(t, 2, redis.Options{URL: r.url(), Key: "t-rooms"}, nil)
	c0, c1 := dial(t, nodes[0]), dial(t, nodes[1])
	fr, ok := nodes[0].ns().Adapter().(interface {
		FetchRooms(context.Context) ([]string, error)
	})
	if !ok {
		t.Fatal("classic adapter has no FetchRooms")
	}
	rooms, err := fr.FetchRooms(ctxT(t))
	slices.Sort(rooms)
	want := []string{c0.sid, c1.sid}
	slices.Sort(want)
	if err != nil || !slices.Equal(rooms, want) {
		t.Fatalf("rooms %v, want %v (%v)", rooms, want, err)
	}
}
