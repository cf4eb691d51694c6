package whiteboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// bundle holds the output of `npm run build:whiteboard` (make assets): the
// page with main.js bundled and minified, over the official
// socket.io-client. The "all:" prefix includes dist/.gitkeep, so the
// pattern matches in a checkout where it was not built.
//
//go:embed all:dist
var bundle embed.FS

// sources holds the page's own files, committed: served as they are when
// there is no bundle, main.js then speaking through web/sioclient.js.
//
//go:embed web
var sources embed.FS

// NodePlaceholder is the marker in index.html that [Handler] replaces with
// the HTML-escaped node name.
const NodePlaceholder = "{{NODE}}"

const indexName = "index.html"

// sub returns the directory dir of fsys.
func sub(fsys fs.FS, dir string) fs.FS {
	s, err := fs.Sub(fsys, dir)
	if err != nil {
		// fs.Sub only fails for an invalid directory name; ours are valid.
		panic("whiteboard: " + err.Error())
	}
	return s
}

// Bundled reports whether this binary serves the page `make assets` built
// (bundled with the official socket.io-client) rather than its sources.
func Bundled() bool {
	return hasIndex(sub(bundle, "dist"))
}

// page returns the files of the page this binary serves.
func page() fs.FS {
	return choose(sub(bundle, "dist"), sub(sources, "web"))
}

// choose returns built when it holds a page (make assets ran), else src.
func choose(built, src fs.FS) fs.FS {
	if hasIndex(built) {
		return built
	}
	return src
}

func hasIndex(fsys fs.FS) bool {
	fi, err := fs.Stat(fsys, indexName)
	return err == nil && fi.Mode().IsRegular()
}

// Handler returns an http.Handler serving the whiteboard demo for the node
// named node.
//
// "/" (and "/index.html") is the page with every {{NODE}} placeholder
// replaced by the HTML-escaped node name, served as text/html with
// "Cache-Control: no-cache". The page's other files (its scripts, the
// stylesheet) are served under their names with their content types: the
// bundle of `make assets` when it was built (see [Bundled]), the committed
// sources otherwise, so that a plain `go build` or `go install` serves a
// working page. Every file is served with an ETag, so revalidation is
// cheap. Only GET and HEAD are allowed; unknown paths get 404.
//
// The page loads its files by relative URLs and connects to Socket.IO at the
// same origin with the default path "/socket.io/". To serve it below a
// prefix, mount it with a trailing slash, e.g.
// mux.Handle("/board/", http.StripPrefix("/board", whiteboard.Handler(name))).
//
// The files are read and the page rendered once, when Handler is called.
func Handler(node string) http.Handler {
	return newHandler(page(), node)
}

// asset is one file ready to be served.
type asset struct {
	body         []byte
	contentType  string
	etag         string
	cacheControl string
}

// handler serves a prepared set of assets, keyed by slash-separated path
// without leading "/".
type handler struct {
	files map[string]*asset
}

// newHandler prepares the files of fsys (the bundle or the sources) for
// serving on behalf of node. Hidden files such as .gitkeep are never
// served; files that cannot be read are skipped.
func newHandler(fsys fs.FS, node string) *handler {
	h := &handler{files: make(map[string]*asset)}
	_ = fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable entry: skip it, serve the rest
		}
		if name != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil
		}
		if name == indexName {
			body = renderIndex(body, node)
		}
		// No-cache everywhere: file names carry no content hash, and the
		// ETag makes revalidation cheap.
		h.files[name] = newAsset(body, contentTypeFor(name), "no-cache")
		return nil
	})
	return h
}

// renderIndex replaces every NodePlaceholder in page with the HTML-escaped
// node name. The replacement is a single pass: a node name that itself
// contains the placeholder is not expanded again.
func renderIndex(page []byte, node string) []byte {
	return bytes.ReplaceAll(page, []byte(NodePlaceholder), []byte(html.EscapeString(node)))
}

func newAsset(body []byte, contentType, cacheControl string) *asset {
	sum := sha256.Sum256(body)
	return &asset{
		body:         body,
		contentType:  contentType,
		etag:         `"` + hex.EncodeToString(sum[:12]) + `"`,
		cacheControl: cacheControl,
	}
}

// webTypes fixes the content types of the files a web build produces, so
// they do not depend on the host's MIME tables (mime.TypeByExtension also
// reads /etc/mime.types, which may, for instance, map .js differently).
var webTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".json":  "application/json",
	".map":   "application/json",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".webp":  "image/webp",
	".woff2": "font/woff2",
	".txt":   "text/plain; charset=utf-8",
	".wasm":  "application/wasm",
}

// contentTypeFor returns the Content-Type for a file name, or "" when it is
// unknown (http.ServeContent then sniffs the content).
func contentTypeFor(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := webTypes[ext]; ok {
		return t
	}
	return mime.TypeByExtension(ext)
}

// ServeHTTP implements http.Handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		name = indexName
	}
	a := h.files[name]
	if a == nil {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	if a.contentType != "" {
		hdr.Set("Content-Type", a.contentType)
	}
	hdr.Set("Cache-Control", a.cacheControl)
	hdr.Set("ETag", a.etag)
	hdr.Set("X-Content-Type-Options", "nosniff")
	// ServeContent handles HEAD, If-None-Match (304) and Range requests.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}
