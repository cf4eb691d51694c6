package socketio_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/socketio"
)

// BenchmarkConnMemory reports the Go heap each connection keeps alive
// ("live-B/conn", about 40 bytes of which are the session id the benchmark
// keeps; B/op and allocs/op count everything allocated while connecting,
// garbage included). One op opens one polling session in process, without
// a network:
//
//   - "engine": the Engine.IO session only (it joins no namespace);
//   - "socket": and a socket of "/" (the difference is the Socket.IO
//     layer's share: socket, handshake, rooms);
//   - "socket+3handlers": and three event handlers registered per socket,
//     as bench/goserver does.
//
// Run it with a fixed count, such as -benchtime=2000x: the connections stay
// open until the end of each run.
func BenchmarkConnMemory(b *testing.B) {
	b.Run("engine", func(b *testing.B) { benchConnMemory(b, false, 0) })
	b.Run("socket", func(b *testing.B) { benchConnMemory(b, true, 0) })
	b.Run("socket+3handlers", func(b *testing.B) { benchConnMemory(b, true, 3) })
}

func benchConnMemory(b *testing.B, join bool, handlers int) {
	srv := socketio.NewServer(&socketio.Options{Logger: quietLogger,
		Engine: engineio.Options{CloseTimeout: time.Millisecond}}) // nobody polls the close packet
	defer srv.Shutdown(context.Background())
	names := []string{"echo-ack", "join", "bench-broadcast"}[:handlers]
	var ready atomic.Int64
	srv.OnConnection(func(s *socketio.Socket) {
		for _, name := range names {
			s.On(name, func(*socketio.Event) {})
		}
		ready.Add(1)
	})
	sids := make([]string, 0, 1024)
	before := liveHeap()
	b.ReportAllocs()
	for b.Loop() {
		if join {
			sids = append(sids, openPolling(b, srv))
		} else {
			sids = append(sids, handshakePolling(b, srv))
		}
	}
	b.StopTimer()
	if join {
		// The connection handlers run on the sockets' own goroutines.
		deadline := time.Now().Add(waitTimeout)
		for ready.Load() != int64(len(sids)) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	time.Sleep(10 * time.Millisecond) // let the handler goroutines exit
	after := liveHeap()
	b.ReportMetric(float64(int64(after)-int64(before))/float64(len(sids)), "live-B/conn")
	runtime.KeepAlive(sids)
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// handshakePolling opens a polling session that joins no namespace and
// returns its id.
func handshakePolling(b testing.TB, srv *socketio.Server) string {
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/socket.io/?EIO=4&transport=polling", nil))
	body := rec.Body.String()
	sid, _, _ := strings.Cut(strings.TrimPrefix(body, `0{"sid":"`), `"`)
	if rec.Code != http.StatusOK || sid == "" {
		b.Fatalf("handshake: %d %q", rec.Code, body)
	}
	return strings.Clone(sid) // not the whole body
}
