package engineio

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	list := &CORSOptions{Origins: []string{"https://a.example", "https://b.example"}}
	tests := []struct {
		name    string
		cors    *CORSOptions
		method  string
		query   string // "" means a valid handshake
		hdr     []string
		status  int
		headers map[string]string // "" means absent
	}{
		{"off", nil, "GET", "", []string{"Origin", "https://a.example"}, 200,
			map[string]string{"Access-Control-Allow-Origin": "", "Vary": ""}},
		{"listed origin", list, "GET", "", []string{"Origin", "https://b.example"}, 200,
			map[string]string{"Access-Control-Allow-Origin": "https://b.example", "Vary": "Origin",
				"Access-Control-Allow-Credentials": ""}},
		{"unlisted origin", list, "GET", "", []string{"Origin", "https://evil.example"}, 200,
			map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin"}},
		{"star", &CORSOptions{Origins: []string{"*"}}, "GET", "", []string{"Origin", "https://x.example"}, 200,
			map[string]string{"Access-Control-Allow-Origin": "*", "Vary": ""}},
		{"zero value is star", &CORSOptions{}, "GET", "", []string{"Origin", "https://x.example"}, 200,
			map[string]string{"Access-Control-Allow-Origin": "*"}},
		{"credentials", &CORSOptions{Origins: []string{"https://a.example"}, Credentials: true,
			ExposedHeaders: []string{"X-One", "X-Two"}}, "GET", "", []string{"Origin", "https://a.example"}, 200,
			map[string]string{"Access-Control-Allow-Origin": "https://a.example",
				"Access-Control-Allow-Credentials": "true", "Access-Control-Expose-Headers": "X-One,X-Two"}},
		{"function", &CORSOptions{AllowOrigin: func(o string) bool { return strings.HasSuffix(o, ".ok") }},
			"GET", "", []string{"Origin", "https://x.ok"}, 200,
			map[string]string{"Access-Control-Allow-Origin": "https://x.ok"}},
		{"preflight", list, "OPTIONS", "", []string{"Origin", "https://a.example",
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,x-custom"}, 204,
			map[string]string{"Access-Control-Allow-Origin": "https://a.example",
				"Access-Control-Allow-Methods": "GET,HEAD,PUT,PATCH,POST,DELETE",
				"Access-Control-Allow-Headers": "content-type,x-custom", "Access-Control-Max-Age": ""}},
		{"preflight options", &CORSOptions{Origins: []string{"*"}, Methods: []string{"GET", "POST"},
			AllowedHeaders: []string{"X-A"}, MaxAge: time.Hour}, "OPTIONS", "",
			[]string{"Origin", "https://a.example", "Access-Control-Request-Headers", "x-b"}, 204,
			map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET,POST",
				"Access-Control-Allow-Headers": "X-A", "Access-Control-Max-Age": "3600"}},
		{"error keeps headers", list, "GET", "EIO=4&transport=bad", []string{"Origin", "https://a.example"}, 400,
			map[string]string{"Access-Control-Allow-Origin": "https://a.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, &Options{CORS: tt.cors})
			query := tt.query
			if query == "" {
				query = "EIO=4&transport=polling"
			}
			res := ts.request(tt.method, query, "", tt.hdr...)
			if res.status != tt.status {
				t.Fatalf("status %d, want %d (%q)", res.status, tt.status, res.body)
			}
			for name, want := range tt.headers {
				if got := strings.Join(res.header.Values(name), ", "); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			if tt.status == 204 && (res.body != "" || ts.srv.Count() != 0) {
				t.Errorf("preflight: body %q, %d sessions", res.body, ts.srv.Count())
			}
		})
	}
}

func TestCookie(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cookie *CookieOptions
		want   string // with SID for the session id
	}{
		{"off", nil, ""},
		{"defaults", &CookieOptions{}, "io=SID; Path=/; HttpOnly; SameSite=Lax"},
		{"custom", &CookieOptions{Name: "lb", Path: "/app", NotHTTPOnly: true, SameSite: http.SameSiteStrictMode,
			Secure: true, Domain: "example.com", MaxAge: 60},
			"lb=SID; Path=/app; Domain=example.com; Max-Age=60; Secure; SameSite=Strict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, &Options{Cookie: tt.cookie})
			res := ts.request(http.MethodGet, "EIO=4&transport=polling", "")
			sid := openRE.FindStringSubmatch(res.body)[1]
			want := strings.ReplaceAll(tt.want, "SID", sid)
			if got := strings.Join(res.header.Values("Set-Cookie"), "\n"); got != want {
				t.Fatalf("Set-Cookie %q, want %q", got, want)
			}
			// Only the handshake sets it: not later polls, not WebSocket.
			ts.post(sid, "4x")
			if res := ts.get(sid); res.header.Get("Set-Cookie") != "" {
				t.Errorf("poll sets a cookie: %q", res.header.Get("Set-Cookie"))
			}
			var wsCookie string
			d := ws.Dialer{OnHeader: func(k, v []byte) error {
				if http.CanonicalHeaderKey(string(k)) == "Set-Cookie" {
					wsCookie = string(v)
				}
				return nil
			}}
			w, err := ts.wsDial("EIO=4&transport=websocket", d)
			if err != nil {
				t.Fatal(err)
			}
			w.readText()
			if wsCookie != "" {
				t.Errorf("WebSocket handshake sets a cookie: %q", wsCookie)
			}
		})
	}
}
