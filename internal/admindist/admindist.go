// Package admindist serves the Socket.IO Admin UI, the static files of the
// @socket.io/admin-ui package pinned in package.json (its ui/dist, without
// source maps). They are copied from node_modules at build time (`make
// assets`, or npm run build:admin) into dist/ and embedded; in a checkout
// where they were not built, every path is answered 503 with a text that
// says how to build them.
package admindist

import (
	"embed"
	"io/fs"
	"net/http"
)

// embedded holds the output of `npm run build:admin`. The "all:" prefix
// includes dist/.gitkeep, so the pattern matches in an unbuilt checkout.
//
//go:embed all:dist
var embedded embed.FS

// notBuiltText is the body of the 503 answer when the UI was not built.
const notBuiltText = `Switchboard: the Admin UI is not built.

This server was compiled without the @socket.io/admin-ui files
(internal/admindist/dist/ has no index.html).

Build the assets, then rebuild the server:

    make assets

or, equivalently:

    npm ci && npm run build:admin
    go build ./...

Or use the hosted UI (https://admin.socket.io) against this server.
`

// Built reports whether the UI's files are embedded.
func Built() bool {
	_, err := fs.Stat(embedded, "dist/index.html")
	return err == nil
}

// Handler serves the UI's files, below whatever prefix the caller strips.
func Handler() http.Handler {
	if !Built() {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(notBuiltText))
		})
	}
	sub, _ := fs.Sub(embedded, "dist") // cannot fail: "dist" is a valid path
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/VERSION" || r.URL.Path == "/.gitkeep" {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}
