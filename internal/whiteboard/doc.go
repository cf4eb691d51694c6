// Package whiteboard serves Switchboard's collaborative whiteboard demo page.
//
// The page's sources (index.html, style.css, main.js and sioclient.js, a
// small Socket.IO client of ours) live in internal/whiteboard/web/ and are
// embedded always, so a plain go build or go install serves a working page.
//
//	npm ci && npm run build:whiteboard   # or: make assets
//
// bundles and minifies them, with the official socket.io-client in place of
// sioclient.js (web/whiteboard/build.mjs), into internal/whiteboard/dist/,
// which this package embeds too and serves instead when it was built
// ([Bundled]). The bundle is not committed; only dist/.gitkeep is.
//
// The page template contains the placeholder {{NODE}}, which [Handler]
// replaces with the HTML-escaped name of the serving node. [Attach]
// implements the Socket.IO side of the protocol the page speaks (events
// "hello", "clients", "drawing", "clear" and "history", documented in
// web/whiteboard/README.md) on a namespace; the boards are kept in a
// [Store]: a [MemoryStore] on one node, a [RedisStore] shared by the nodes
// of a cluster.
package whiteboard
