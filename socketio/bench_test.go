package socketio_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/adapter"
	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/parser"
	"github.com/switchboard-io/switchboard/socketio"
)

// benchPayload makes a ~100-byte event: 42["news",{"id":7,"title":"..."}].
var benchPayload = map[string]any{"id": 7, "title": strings.Repeat("t", 64)}

// fakeSocket is an adapter.Socket that counts deliveries: with it the
// benchmark measures the server's own work (encoding once, matching,
// dispatching), not a transport's. With w set, it also writes each
// message's first frame there.
type fakeSocket struct {
	id        string
	w         io.Writer
	delivered int
}

func (f *fakeSocket) ID() string { return f.id }
func (f *fakeSocket) Deliver(m *adapter.Message) {
	f.delivered++
	if f.w != nil {
		_, _ = f.w.Write(m.Frames[0].Data)
	}
}
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
// adapter); "fake+write" sockets also write every delivery to os.DevNull,
// a system call as a WebSocket write is; "polling" sockets are real
// Engine.IO sessions, created in process without a network, whose queues
// are drained between rounds. From adapter.ParallelDelivery recipients on,
// broadcasts are delivered by GOMAXPROCS goroutines.
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{1, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("fake/N=%d", n), func(b *testing.B) { benchFake(b, n, nil) })
	}
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devNull.Close()
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("fake+write/N=%d", n), func(b *testing.B) { benchFake(b, n, rawWriter(devNull.Fd())) })
	}
	for _, n := range []int{1, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("polling/N=%d", n), func(b *testing.B) { benchPolling(b, n) })
	}
}

// rawWriter writes to a file descriptor with one system call, without the
// lock of an *os.File, so that goroutines write in parallel.
type rawWriter uintptr

func (w rawWriter) Write(p []byte) (int, error) { return syscall.Write(int(w), p) }

func benchFake(b *testing.B, n int, w io.Writer) {
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
		socks[i] = &fakeSocket{id: fmt.Sprintf("sock%016d", i), w: w}
		fns.add(socks[i], mem)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := ns.Emit(context.Background(), "news", benchPayload); err != nil {
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
	every := max(1, 256_000/n) // rounds between drains: at most 256 or ~25 MB queued
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := ns.Emit(context.Background(), "news", benchPayload); err != nil {
			b.Fatal(err)
		}
		if i++; i%every == 0 {
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
func openPolling(b testing.TB, srv *socketio.Server) string {
	sid := handshakePolling(b, srv)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/socket.io/?EIO=4&transport=polling&sid="+sid,
		strings.NewReader("40")))
	if rec.Code != http.StatusOK {
		b.Fatalf("connect: %d %q", rec.Code, rec.Body.String())
	}
	poll(b, srv, sid) // takes the CONNECT reply
	return sid
}

// poll runs one GET for session sid and returns its body; something must
// be queued.
func poll(b testing.TB, srv *socketio.Server, sid string) string {
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4&transport=polling&sid="+sid, nil))
	if rec.Code != http.StatusOK {
		b.Fatalf("poll: %d %q", rec.Code, rec.Body.String())
	}
	return rec.Body.String()
}
