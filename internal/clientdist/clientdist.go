// Package clientdist serves the browser bundles of the pinned
// socket.io-client package (socket.io.js, socket.io.min.js,
// socket.io.esm.min.js, socket.io.msgpack.min.js and their source maps) as
// Node's socket.io serves them with its serveClient option: ETag
// "<version>" answered with 304, "Cache-Control: public, max-age=0", and
// brotli, gzip or deflate chosen from Accept-Encoding as Node's accepts
// package chooses.
//
// The bundles are copied from node_modules at build time (`make assets`,
// or npm run build:client) into dist/, with their compressed forms, and
// embedded. In a checkout where they were not built, every bundle is
// answered 503 with a text that says how to build them, never with an
// empty script.
package clientdist

import (
	"embed"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// embedded holds the output of `npm run build:client`. The "all:" prefix
// includes dist/.gitkeep, so the pattern matches in an unbuilt checkout.
//
//go:embed all:dist
var embedded embed.FS

// Files are the names Node's socket.io serves below its path (its
// CLIENT_FILES).
var Files = []string{
	"socket.io.esm.min.js", "socket.io.esm.min.js.map",
	"socket.io.js", "socket.io.js.map",
	"socket.io.min.js", "socket.io.min.js.map",
	"socket.io.msgpack.min.js", "socket.io.msgpack.min.js.map",
}

// notBuiltText is the body of the 503 answer for a bundle when the binary
// was compiled without them.
const notBuiltText = `Switchboard: the socket.io client bundles are not built.

This server was compiled without the socket.io-client browser bundles
(internal/clientdist/dist/ has no VERSION file).

Build the assets, then rebuild the server:

    make assets

or, equivalently:

    npm ci && npm run build:client
    go build ./...

Or load the client from a CDN or your own bundle instead.
`

// encodings are the compressed forms, in the order Node offers them to
// the accepts package, with the suffix of their built file.
var encodings = []struct{ name, suffix string }{{"br", ".br"}, {"gzip", ".gz"}, {"deflate", ".zz"}}

// bundle is one file and its compressed forms, by encoding name ("" for
// the file itself).
type bundle map[string][]byte

// set is the embedded build: version is empty when it was not built.
type set struct {
	version string
	files   map[string]bundle
}

var (
	loadOnce sync.Once
	loaded   *set
)

func embeddedSet() *set {
	loadOnce.Do(func() {
		sub, err := fs.Sub(embedded, "dist")
		if err != nil {
			panic("clientdist: " + err.Error()) // "dist" is a valid name
		}
		loaded = load(sub)
	})
	return loaded
}

// load reads a build from fsys; a build without VERSION, or missing a file,
// counts as not built.
func load(fsys fs.FS) *set {
	v, err := fs.ReadFile(fsys, "VERSION")
	if err != nil || len(v) == 0 {
		return &set{}
	}
	s := &set{version: strings.TrimSpace(string(v)), files: make(map[string]bundle, len(Files))}
	for _, name := range Files {
		b := bundle{}
		body, err := fs.ReadFile(fsys, name)
		if err != nil || len(body) == 0 {
			return &set{}
		}
		b[""] = body
		for _, e := range encodings {
			if c, err := fs.ReadFile(fsys, name+e.suffix); err == nil && len(c) > 0 {
				b[e.name] = c
			}
		}
		s.files[name] = b
	}
	return s
}

// Built reports whether the bundles were built into this binary.
func Built() bool { return embeddedSet().version != "" }

// Version returns the socket.io-client version of the embedded bundles, or
// "" when they were not built.
func Version() string { return embeddedSet().version }

// IsFile reports whether name (the path below the Socket.IO path, without
// a leading slash) is one of the client files Node serves.
func IsFile(name string) bool {
	for _, f := range Files {
		if f == name {
			return true
		}
	}
	return false
}

// Serve answers a request for the client file name (see IsFile) as Node
// does. Like Node it does not look at the method; HEAD gets no body.
func Serve(w http.ResponseWriter, r *http.Request, name string) {
	embeddedSet().serve(w, r, name)
}

func (s *set) serve(w http.ResponseWriter, r *http.Request, name string) {
	b := s.files[name]
	if b == nil {
		notBuilt(w)
		return
	}
	etag := `"` + s.version + `"`
	if m := r.Header.Get("If-None-Match"); m == etag || m == "W/"+etag {
		w.WriteHeader(http.StatusNotModified) // Node sends no headers with it
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=0")
	if strings.HasSuffix(name, ".map") {
		h.Set("Content-Type", "application/json; charset=utf-8")
	} else {
		h.Set("Content-Type", "application/javascript; charset=utf-8")
	}
	h.Set("ETag", etag)
	h.Set("Vary", "Accept-Encoding")
	body := b[""]
	if enc := negotiate(r.Header.Values("Accept-Encoding")); enc != "" && b[enc] != nil {
		h.Set("Content-Encoding", enc)
		body = b[enc]
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// notBuilt answers 503 with the explanation of how to build the bundles.
func notBuilt(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(notBuiltText))
}
