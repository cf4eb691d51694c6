package whiteboard

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"reflect"
	"regexp"
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

func TestChoose(t *testing.T) {
	src := fstest.MapFS{"index.html": {Data: []byte("sources")}}
	for i, unbuilt := range []fstest.MapFS{
		{},
		{".gitkeep": {Data: nil}},
		{".gitkeep": {Data: nil}, "main.js": {Data: []byte("x")}},
		{"index.html/x": {Data: nil}}, // a directory named index.html
	} {
		if got := choose(unbuilt, src); !reflect.DeepEqual(got, src) {
			t.Errorf("case %d: an unbuilt bundle is served instead of the sources", i)
		}
	}
	if got := choose(builtFS(), src); !reflect.DeepEqual(got, builtFS()) {
		t.Error("a built bundle is not served")
	}
	// Without any page, "/" is a plain 404.
	if res, _ := do(t, newHandler(fstest.MapFS{}, "n"), http.MethodGet, "/", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET / without a page: status %d, want 404", res.StatusCode)
	}
}

// TestSourcesServed: every file under web/, the page's committed sources,
// is what a binary built without the bundle serves, byte for byte (the
// page with its node name), and every module a served script imports by a
// relative path is served too.
func TestSourcesServed(t *testing.T) {
	h := newHandler(sub(sources, "web"), "src-node")
	disk := os.DirFS("web")
	importRE := regexp.MustCompile(`(?m)^\s*import\b[^"']*["'](\./[^"']+)["']`)
	n := 0
	err := fs.WalkDir(disk, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		want, err := fs.ReadFile(disk, name)
		if err != nil {
			return err
		}
		if name == indexName {
			want = renderIndex(want, "src-node")
		}
		res, body := do(t, h, http.MethodGet, "/"+name, nil)
		if res.StatusCode != http.StatusOK || body != string(want) {
			t.Errorf("web/%s: served with status %d and %d bytes, want 200 and its %d bytes", name, res.StatusCode, len(body), len(want))
		}
		for _, m := range importRE.FindAllStringSubmatch(body, -1) {
			dep := path.Join(path.Dir("/"+name), m[1])
			if res, _ := do(t, h, http.MethodGet, dep, nil); res.StatusCode != http.StatusOK {
				t.Errorf("web/%s imports %s, served with status %d", name, m[1], res.StatusCode)
			}
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"index.html", "main.js", "sioclient.js", "style.css"} {
		if _, err := fs.Stat(disk, name); err != nil {
			t.Errorf("web/%s: %v", name, err)
		}
	}
	t.Logf("%d source files served", n)
}

// TestEmbeddedHandler exercises the real embedded page in whichever state
// the checkout is in: bundled or not, "/" is the page with the node name.
func TestEmbeddedHandler(t *testing.T) {
	res, body := do(t, Handler("embedded-node"), http.MethodGet, "/", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /: status %d", res.StatusCode)
	}
	if !strings.Contains(body, `content="embedded-node"`) || strings.Contains(body, NodePlaceholder) {
		t.Errorf("page not rendered:\n%s", body)
	}
	for _, target := range []string{"/main.js", "/style.css"} {
		if res, _ := do(t, Handler("n"), http.MethodGet, target, nil); res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", target, res.StatusCode)
		}
	}
	// Our own client is served exactly when there is no bundle.
	if res, _ := do(t, Handler("n"), http.MethodGet, "/sioclient.js", nil); (res.StatusCode == http.StatusOK) == Bundled() {
		t.Errorf("bundled %v: GET /sioclient.js: status %d", Bundled(), res.StatusCode)
	}
	t.Logf("bundled: %v", Bundled())
	if res, _ := do(t, Handler("n"), http.MethodGet, "/.gitkeep", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /.gitkeep: status %d, want 404", res.StatusCode)
	}
}
