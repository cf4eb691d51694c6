package socketio_test

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"

	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/socketiotest"
)

// TestOnNamespace: the hook sees the existing namespaces at once, then each
// new one once, static or dynamic, before a client's connection to it.
func TestOnNamespace(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	srv.Of("/static")
	srv.OfFunc(func(name string, _ json.RawMessage) bool { return name == "/dyn" })
	var mu sync.Mutex
	var seen []string
	srv.OnNamespace(func(ns *socketio.Namespace) {
		mu.Lock()
		seen = append(seen, ns.Name())
		mu.Unlock()
		ns.OnConnection(func(s *socketio.Socket) { _ = s.Emit("hooked", ns.Name()) })
	})
	got := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Sorted(slices.Values(seen))
	}
	if g := got(); !slices.Equal(g, []string{"/", "/static"}) {
		t.Fatalf("existing namespaces %v", g)
	}
	srv.Of("/later")
	srv.Of("/later") // not new: no second call
	c := srv.Dial(t, socketiotest.WebSocket, nil)
	if _, err := c.Connect(ctxT(t), "/dyn", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadEvent(ctxT(t), "/dyn", "hooked"); err != nil {
		t.Fatalf("the dynamic child's connection handler from the hook: %v", err)
	}
	if g := got(); !slices.Equal(g, []string{"/", "/dyn", "/later", "/static"}) {
		t.Fatalf("namespaces seen %v", g)
	}
	names := []string{}
	for _, ns := range srv.Namespaces() {
		names = append(names, ns.Name())
	}
	if slices.Sort(names); !slices.Equal(names, []string{"/", "/dyn", "/later", "/static"}) {
		t.Fatalf("Namespaces %v", names)
	}
}
