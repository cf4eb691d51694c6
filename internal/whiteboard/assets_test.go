package whiteboard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

const testIndex = `<!doctype html><html><head>` +
	`<meta name="switchboard-node" content="{{NODE}}">` +
	`<link rel="stylesheet" href="./style.css"><script type="module" src="./main.js"></script>` +
	`</head><body><span id="node-name">{{NODE}}</span></body></html>`

// builtFS mimics a built dist directory.
func builtFS() fstest.MapFS {
	return fstest.MapFS{
		".gitkeep":        {Data: nil},
		"index.html":      {Data: []byte(testIndex)},
		"main.js":         {Data: []byte(`console.log("hi")`)},
		"style.css":       {Data: []byte(`body{margin:0}`)},
		"img/logo.svg":    {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		".hidden/x.js":    {Data: []byte(`secret`)},
		"main.js.map":     {Data: []byte(`{}`)},
		"unknown.zzzqqq1": {Data: []byte("plain words")},
	}
}

func do(t *testing.T, h http.Handler, method, target string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

func TestIndexRendersNodeName(t *testing.T) {
	h := newHandler(builtFS(), "node-1")
	for _, target := range []string{"/", "/index.html"} {
		res, body := do(t, h, http.MethodGet, target, nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", target, res.StatusCode)
		}
		if got, want := res.Header.Get("Content-Type"), "text/html; charset=utf-8"; got != want {
			t.Errorf("GET %s: Content-Type %q, want %q", target, got, want)
		}
		if got := res.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", target, got)
		}
		if strings.Contains(body, NodePlaceholder) {
			t.Errorf("GET %s: placeholder left in page:\n%s", target, body)
		}
		if !strings.Contains(body, `<meta name="switchboard-node" content="node-1">`) {
			t.Errorf("GET %s: meta tag not rendered:\n%s", target, body)
		}
		if !strings.Contains(body, `<span id="node-name">node-1</span>`) {
			t.Errorf("GET %s: visible node name not rendered:\n%s", target, body)
		}
	}
}

func TestIndexEscapesNodeName(t *testing.T) {
	node := `evil"><script>alert('x')</script>&{{NODE}}`
	h := newHandler(builtFS(), node)
	_, body := do(t, h, http.MethodGet, "/", nil)
	if strings.Contains(body, "<script>alert") {
		t.Fatalf("node name not escaped:\n%s", body)
	}
	want := `evil&#34;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;{{NODE}}`
	if got := strings.Count(body, want); got != 2 {
		t.Fatalf("escaped node name found %d times, want 2 (meta and visible):\n%s", got, body)
	}
	if !strings.Contains(body, `content="`+want+`"`) {
		t.Errorf("meta content attribute broken:\n%s", body)
	}
}

func TestContentTypes(t *testing.T) {
	h := newHandler(builtFS(), "n")
	cases := map[string]string{
		"/main.js":         "text/javascript; charset=utf-8",
		"/style.css":       "text/css; charset=utf-8",
		"/img/logo.svg":    "image/svg+xml",
		"/main.js.map":     "application/json",
		"/unknown.zzzqqq1": "text/plain; charset=utf-8", // sniffed
	}
	for target, want := range cases {
		res, body := do(t, h, http.MethodGet, target, nil)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", target, res.StatusCode)
			continue
		}
		if got := res.Header.Get("Content-Type"); got != want {
			t.Errorf("GET %s: Content-Type %q, want %q", target, got, want)
		}
		if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q", target, got)
		}
		if body == "" {
			t.Errorf("GET %s: empty body", target)
		}
	}
	if _, body := do(t, h, http.MethodGet, "/main.js", nil); body != `console.log("hi")` {
		t.Errorf("main.js body %q", body)
	}
}

func TestNotFoundAndHiddenFiles(t *testing.T) {
	h := newHandler(builtFS(), "n")
	for _, target := range []string{"/nope.js", "/.gitkeep", "/.hidden/x.js", "/img", "/img/", "/../main.jsx"} {
		res, _ := do(t, h, http.MethodGet, target, nil)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", target, res.StatusCode)
		}
	}
	// Dot segments are cleaned, not used to escape the root.
	if res, _ := do(t, h, http.MethodGet, "/img/../style.css", nil); res.StatusCode != http.StatusOK {
		t.Errorf("GET /img/../style.css: status %d, want 200", res.StatusCode)
	}
}

func TestMethods(t *testing.T) {
	h := newHandler(builtFS(), "n")
	res, body := do(t, h, http.MethodHead, "/", nil)
	if res.StatusCode != http.StatusOK || body != "" {
		t.Errorf("HEAD /: status %d, body %q", res.StatusCode, body)
	}
	res, _ = do(t, h, http.MethodPost, "/", nil)
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: status %d, want 405", res.StatusCode)
	}
	if got := res.Header.Get("Allow"); got != "GET, HEAD" {
		t.Errorf("POST /: Allow %q", got)
	}
}

func TestETagRevalidation(t *testing.T) {
	h := newHandler(builtFS(), "n")
	res, _ := do(t, h, http.MethodGet, "/main.js", nil)
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	res, _ = do(t, h, http.MethodGet, "/main.js", map[string]string{"If-None-Match": etag})
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET: status %d, want 304", res.StatusCode)
	}
	// The rendered page's ETag depends on the node name.
	a, _ := do(t, newHandler(builtFS(), "a"), http.MethodGet, "/", nil)
	b, _ := do(t, newHandler(builtFS(), "b"), http.MethodGet, "/", nil)
	if a.Header.Get("ETag") == b.Header.Get("ETag") {
		t.Error("index ETag does not depend on the node name")
	}
}

func TestNotBuilt(t *testing.T) {
	unbuilt := []fstest.MapFS{
		{},
		{".gitkeep": {Data: nil}},
		{".gitkeep": {Data: nil}, "main.js": {Data: []byte("x")}},
	}
	for i, fsys := range unbuilt {
		if isBuilt(fsys) {
			t.Fatalf("case %d: isBuilt = true", i)
		}
		h := newHandler(fsys, "n")
		for _, target := range []string{"/", "/index.html"} {
			res, body := do(t, h, http.MethodGet, target, nil)
			if res.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("case %d: GET %s: status %d, want 503", i, target, res.StatusCode)
			}
			if got := res.Header.Get("Content-Type"); got != "text/plain; charset=utf-8" {
				t.Errorf("case %d: GET %s: Content-Type %q", i, target, got)
			}
			for _, want := range []string{"not built", "make assets", "npm ci && npm run build:whiteboard"} {
				if !strings.Contains(body, want) {
					t.Errorf("case %d: GET %s: body lacks %q:\n%s", i, target, want, body)
				}
			}
		}
		if res, _ := do(t, h, http.MethodGet, "/main.js", nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("case %d: GET /main.js: status %d, want 404", i, res.StatusCode)
		}
	}
	if !isBuilt(builtFS()) {
		t.Error("isBuilt(builtFS()) = false")
	}
	// A directory named index.html does not count as built.
	if isBuilt(fstest.MapFS{"index.html/x": {Data: nil}}) {
		t.Error("isBuilt with index.html directory = true")
	}
}

// TestEmbeddedHandler exercises the real embedded assets in whichever state
// the checkout is in: built (200 with the node name) or not (503).
func TestEmbeddedHandler(t *testing.T) {
	res, body := do(t, Handler("embedded-node"), http.MethodGet, "/", nil)
	if Built() {
		if res.StatusCode != http.StatusOK {
			t.Fatalf("built: GET /: status %d", res.StatusCode)
		}
		if !strings.Contains(body, `content="embedded-node"`) || strings.Contains(body, NodePlaceholder) {
			t.Errorf("built: page not rendered:\n%s", body)
		}
		for _, target := range []string{"/main.js", "/style.css"} {
			if res, _ := do(t, Handler("n"), http.MethodGet, target, nil); res.StatusCode != http.StatusOK {
				t.Errorf("built: GET %s: status %d", target, res.StatusCode)
			}
		}
		t.Log("assets are built")
	} else {
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("not built: GET /: status %d, want 503", res.StatusCode)
		}
		t.Log("assets are not built")
	}
	if res, _ := do(t, Handler("n"), http.MethodGet, "/.gitkeep", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /.gitkeep: status %d, want 404", res.StatusCode)
	}
}
