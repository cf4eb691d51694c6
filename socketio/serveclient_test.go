package socketio

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchboard-io/switchboard/internal/clientdist"
)

// ServeClient (Node's serveClient, on unless turned off) serves the client
// bundles below Path; the engine answers everything else there.
func TestServeClient(t *testing.T) {
	served := http.StatusOK
	if !clientdist.Built() {
		served = http.StatusServiceUnavailable // explained, never an empty script
	}
	for _, tt := range []struct {
		name   string
		opt    *bool
		mount  string // Options.Path
		path   string
		status int
	}{
		{"default", nil, "", "/socket.io/socket.io.js", served},
		{"on", new(true), "", "/socket.io/socket.io.min.js.map", served},
		{"other path", new(true), "/chat", "/chat/socket.io.js", served},
		{"off", new(false), "", "/socket.io/socket.io.js", http.StatusBadRequest},
		{"not a bundle", nil, "", "/socket.io/socket.io.js.br", http.StatusBadRequest},
	} {
		srv := NewServer(&Options{ServeClient: tt.opt, Path: tt.mount})
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tt.path, nil))
		if w.Code != tt.status || w.Code == http.StatusOK && w.Body.Len() == 0 {
			t.Errorf("%s: GET %s: %d, %d bytes; want %d", tt.name, tt.path, w.Code, w.Body.Len(), tt.status)
		}
		if err := srv.Shutdown(t.Context()); err != nil {
			t.Error(err)
		}
	}
}
