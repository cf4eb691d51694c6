package admindist

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHandler serves the built UI's page and scripts, or, unbuilt, 503
// with how to build it.
func TestHandler(t *testing.T) {
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w
	}
	if !Built() {
		w := get("/")
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "make assets") {
			t.Fatalf("unbuilt: %d %q", w.Code, w.Body.String())
		}
		t.Skip("the Admin UI is not built (make assets): only the 503 answer is checked")
	}
	w := get("/")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Socket.IO Admin UI") {
		t.Fatalf("index: %d %.200q", w.Code, w.Body.String())
	}
	if w := get("/VERSION"); w.Code != http.StatusNotFound {
		t.Errorf("VERSION: %d", w.Code)
	}
}
