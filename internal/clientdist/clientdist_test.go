package clientdist

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

// builtFS mimics a built dist directory.
func builtFS() fstest.MapFS {
	fsys := fstest.MapFS{".gitkeep": {}, "VERSION": {Data: []byte("4.8.4")}}
	for _, name := range Files {
		fsys[name] = &fstest.MapFile{Data: []byte("plain " + name)}
		for _, e := range encodings {
			fsys[name+e.suffix] = &fstest.MapFile{Data: []byte(e.name + " " + name)}
		}
	}
	return fsys
}

func serve(s *set, method, name string, hdr map[string]string) (*http.Response, string) {
	r := httptest.NewRequest(method, "/socket.io/"+name, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.serve(w, r, name)
	res := w.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestServe(t *testing.T) {
	s := load(builtFS())
	for _, name := range Files {
		res, body := serve(s, http.MethodGet, name, nil)
		wantType := "application/javascript; charset=utf-8"
		if strings.HasSuffix(name, ".map") {
			wantType = "application/json; charset=utf-8"
		}
		if res.StatusCode != 200 || body != "plain "+name || res.Header.Get("Content-Type") != wantType ||
			res.Header.Get("Cache-Control") != "public, max-age=0" || res.Header.Get("ETag") != `"4.8.4"` ||
			res.Header.Get("Content-Encoding") != "" {
			t.Errorf("%s: %d %q %v", name, res.StatusCode, body, res.Header)
		}
	}
	for _, etag := range []string{`"4.8.4"`, `W/"4.8.4"`} {
		res, body := serve(s, http.MethodGet, "socket.io.js", map[string]string{"If-None-Match": etag})
		if res.StatusCode != http.StatusNotModified || body != "" || res.Header.Get("ETag") != "" {
			t.Errorf("If-None-Match %s: %d %q %v", etag, res.StatusCode, body, res.Header)
		}
	}
	if res, _ := serve(s, http.MethodGet, "socket.io.js", map[string]string{"If-None-Match": `"4.8.3"`}); res.StatusCode != 200 {
		t.Errorf("another version's ETag: %d", res.StatusCode)
	}
	res, body := serve(s, http.MethodGet, "socket.io.min.js", map[string]string{"Accept-Encoding": "br"})
	if res.Header.Get("Content-Encoding") != "br" || body != "br socket.io.min.js" {
		t.Errorf("br: %q %q", res.Header.Get("Content-Encoding"), body)
	}
}

func TestNotBuilt(t *testing.T) {
	for _, fsys := range []fstest.MapFS{
		{".gitkeep": {}},
		{".gitkeep": {}, "VERSION": {Data: []byte("4.8.4")}, "socket.io.js": {Data: []byte("x")}}, // incomplete
	} {
		s := load(fsys)
		res, body := serve(s, http.MethodGet, "socket.io.js", nil)
		if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "make assets") ||
			!strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") || res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("not built: %d %q %v", res.StatusCode, body, res.Header)
		}
	}
}

// TestNegotiate follows the accepts/negotiator packages that Node's
// socket.io asks for one of br, gzip and deflate.
func TestNegotiate(t *testing.T) {
	tests := []struct{ header, want string }{
		{"", ""},
		{"identity", ""},
		{"br", "br"},
		{"gzip", "gzip"},
		{"deflate", "deflate"},
		{"gzip, deflate, br", "gzip"}, // browsers: equal quality, the header's order
		{"gzip, deflate, br, zstd", "gzip"},
		{"br;q=1.0, gzip;q=0.8, *;q=0.1", "br"},
		{"deflate;q=0.5, gzip;q=0.9", "gzip"},
		{"*", "br"},
		{"*;q=0.5, deflate", "deflate"},
		{"gzip;q=0, *", "br"},
		{"br;q=0, gzip;q=0, deflate;q=0", ""},
		{"BR", "br"},
		{"gzip;q=abc, deflate", "deflate"},
		{"compress, x-gzip", ""},
	}
	for _, tt := range tests {
		var h []string
		if tt.header != "" {
			h = []string{tt.header}
		}
		if got := negotiate(h); got != tt.want {
			t.Errorf("negotiate(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
	if got := negotiate([]string{"deflate;q=0.5", "gzip"}); got != "gzip" {
		t.Errorf("two header lines: %q", got)
	}
}

func TestIsFile(t *testing.T) {
	for name, want := range map[string]bool{"socket.io.js": true, "socket.io.msgpack.min.js.map": true,
		"": false, "socket.io.js?x": false, "../socket.io.js": false, "socket.io.js.br": false} {
		if IsFile(name) != want {
			t.Errorf("IsFile(%q) = %v", name, !want)
		}
	}
}
