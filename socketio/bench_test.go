package socketio_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/parser"
	"github.com/switchboard-io/switchboard/socketio"
)

// benchPayload makes a ~100-byte event: 42["news",{"id":7,"title":"..."}].
var benchPayload = map[string]any{"id": 7, "title": strings.Repeat("t", 64)}

// fakeSocket is an adapter.Socket that only counts deliveries: with it the
// benchmark measures the server's own work (encoding once, matching,
// dispatching), not a transport's.
type fakeSocket struct {
	id        string
	delivered int
}

func (f *fakeSocket) ID() string                              { return f.id }
func (f *fakeSocket) Deliver(*adapter.Message)                { f.delivered++ }
func (f *fakeSocket) ExpectAck(uint64, func([]parser.Arg))    {}
func (f *fakeSocket) Disconnect(bool)                         {}
func (f *fakeSocket) Info() adapter.SocketInfo                { return adapter.SocketInfo{ID: f.id} }
func (f *fakeNamespace) Socket(id string) adapter.Socket      { return f.socks[id] }
func (f *fakeNamespace) add(s *fakeSocket, m *adapter.Memory) { f.socks[s.id] = s; m.Join(s.id, s.id) }

// fakeNamespace is the namespace as the adapter sees it, its sockets fake.
type fakeNamespace struct {
	adapter.Namespace
	socks map[string]adapter.Socket
}

// BenchmarkBroadcast broadcasts a ~100-byte event to N sockets. Allocations
// per broadcast must not grow with N: the packet is encoded once and
// nothing is allocated per recipient.
//
// "fake" sockets measure the server alone (socketio and the in-memory
// adapter); "polling" sockets are real Engine.IO sessions, created in
// process without a network, whose queues are drained between rounds.
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("fake/N=%d", n), func(b *testing.B) { benchFake(b, n) })
	}
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("polling/N=%d", n), func(b *testing.B) { benchPolling(b, n) })
	}
}

func benchFake(b *testing.B, n int) {
	var mem *adapter.Memory
	var fns *fakeNamespace
	srv := socketio.NewServer(&socketio.Options{Logger: quietLogger,
		Adapter: func(ns adapter.Namespace) adapter.Adapter {
			fns = &fakeNamespace{Namespace: ns, socks: map[string]adapter.Socket{}}
			mem = adapter.NewMemoryAdapter(fns)
			return mem
		}})
	defer srv.Shutdown(context.Background())
	ns := srv.Of("/")
	socks := make([]*fakeSocket, n)
	for i := range socks {
		socks[i] = &fakeSocket{id: fmt.Sprintf("sock%016d", i)}
		fns.add(socks[i], mem)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := ns.Emit("news", benchPayload); err != nil {
			b.Fatal(err)
		}
	}
	if socks[n-1].delivered == 0 {
		b.Fatal("nothing delivered")
	}
}

func benchPolling(b *testing.B, n int) {
	srv := socketio.NewServer(&socketio.Options{Logger: quietLogger,
		Engine: engineio.Options{MaxQueueBytes: 1 << 30, HTTPCompressionThreshold: -1,
			CloseTimeout: time.Millisecond}}) // nobody polls the close packet
	defer srv.Shutdown(context.Background())
	sids := make([]string, n)
	for i := range sids {
		sids[i] = openPolling(b, srv)
	}
	if got := srv.Of("/").Len(); got != n {
		b.Fatalf("%d sockets connected, want %d", got, n)
	}
	ns := srv.Of("/")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := ns.Emit("news", benchPayload); err != nil {
			b.Fatal(err)
		}
		if i++; i%256 == 0 {
			b.StopTimer()
			for _, sid := range sids {
				poll(b, srv, sid)
			}
			b.StartTimer()
		}
	}
}

// openPolling opens a polling session joined to "/" without a network and
// returns its id.
func openPolling(b *testing.B, srv *socketio.Server) string {
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4&transport=polling", nil))
	body := rec.Body.String()
	sid, _, _ := strings.Cut(strings.TrimPrefix(body, `0{"sid":"`), `"`)
	if rec.Code != http.StatusOK || sid == "" {
		b.Fatalf("handshake: %d %q", rec.Code, body)
	}
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/socket.io/?EIO=4&transport=polling&sid="+sid,
		strings.NewReader("40")))
	if rec.Code != http.StatusOK {
		b.Fatalf("connect: %d %q", rec.Code, rec.Body.String())
	}
	poll(b, srv, sid) // takes the CONNECT reply
	return sid
}

// poll runs one GET for session sid; something must be queued.
func poll(b *testing.B, srv *socketio.Server, sid string) {
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4&transport=polling&sid="+sid, nil))
	if rec.Code != http.StatusOK {
		b.Fatalf("poll: %d %q", rec.Code, rec.Body.String())
	}
}
