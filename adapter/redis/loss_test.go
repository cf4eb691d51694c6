package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/adapter/redis"
	"github.com/switchboard-io/switchboard/internal/clusterwire"
	"github.com/switchboard-io/switchboard/parser"
)

func rawRedis(t *testing.T, url string) rueidis.Client {
	t.Helper()
	o, err := rueidis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	o.DisableCache = true
	c, err := rueidis.NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestClassicSequenceGap: another Switchboard node's broadcasts carry a
// sequence number (a 4th array element); a number that never arrives is a
// loss: counted, and the node's clients are disconnected (transport close)
// so that they reconnect. Reordered numbers are no loss.
func TestClassicSequenceGap(t *testing.T) {
	forModes(t, func(t *testing.T, opts redis.Options) {
		if opts.Sharded || opts.Streams != nil {
			t.Skip("classic mode")
		}
		n := newCluster(t, 1, opts, nil)[0]
		c := dial(t, n)
		raw := rawRedis(t, opts.URL)
		p := &parser.Packet{Type: parser.Event, Namespace: "/", Data: []byte(`["ev",1]`)}
		pub := func(seq uint64) {
			b, _ := clusterwire.AppendBroadcastSeq(nil, "peer", seq, p, adapter.Options{})
			if err := raw.Do(context.Background(), raw.B().Publish().Channel(opts.Key+"#/#").
				Message(rueidis.BinaryString(b)).Build()).Error(); err != nil {
				t.Fatal(err)
			}
		}
		for _, seq := range []uint64{1, 3, 2, 4} {
			pub(seq)
			expectEvent(t, c, "ev", "1")
		}
		pub(6) // 5 never comes
		expectEvent(t, c, "ev", "1")
		select {
		case <-c.closed:
		case <-time.After(5 * time.Second):
			t.Fatal("the client was not disconnected after the loss")
		}
		if s := n.a.Stats(); s.LossesDetected != 1 || s.ClientsReconnected != 1 {
			t.Fatalf("stats %+v", s)
		}
	})
}

// TestStreamsSequenceGap: in streams mode a gap in a node's numbers (entries
// Redis lost, or trimmed) is detected at once, and a repeated number (a
// replay) is skipped.
func TestStreamsSequenceGap(t *testing.T) {
	r := shared(t)
	opts := streamsOpts(t, r)
	n := newCluster(t, 1, opts, nil)[0]
	c := dial(t, n)
	raw := rawRedis(t, opts.URL)
	add := func(seq uint64, arg string) {
		pk := `{"type":2,"data":["ev",` + arg + `],"nsp":"/"}`
		fields, _ := clusterwire.EncodeStreamEntry(clusterwire.Message{UID: "peer", Nsp: "/", Type: clusterwire.BroadcastMsg},
			&clusterwire.MessageData{Packet: []byte(pk), Opts: &clusterwire.Opts{Rooms: clusterwire.Rooms{}, Except: clusterwire.Rooms{}}}, nil, seq)
		cmd := raw.B().Arbitrary("XADD").Keys(opts.Streams.StreamName).Args("*").Args(fields...).Build()
		if err := raw.Do(context.Background(), cmd).Error(); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.ns().Emit(context.Background(), "ready", 0); err != nil { // the reader runs
		t.Fatal(err)
	}
	expectEvent(t, c, "ready", "0")
	add(1, "1")
	expectEvent(t, c, "ev", "1")
	add(1, "1") // a replay: skipped
	add(2, "2")
	expectEvent(t, c, "ev", "2")
	add(4, "4") // 3 is lost
	expectEvent(t, c, "ev", "4")
	select {
	case <-c.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the client was not disconnected after the loss")
	}
	if s := n.a.Stats(); s.LossesDetected != 1 || s.DuplicatesSkipped != 1 || s.ClientsReconnected != 1 {
		t.Fatalf("stats %+v", s)
	}
}
