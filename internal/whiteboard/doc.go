// Package whiteboard serves Switchboard's collaborative whiteboard demo page.
//
// The page itself (HTML, CSS and a JavaScript bundle that includes the
// official socket.io-client) lives in web/whiteboard/ and is built with
//
//	npm ci && npm run build:whiteboard   # or: make assets
//
// into internal/whiteboard/dist/, which this package embeds. The build output
// is not committed; only dist/.gitkeep is, so the package always compiles.
// A binary built from an unbuilt checkout still starts: [Handler] then answers
// "/" with 503 Service Unavailable and a short text explaining how to build
// the assets, and [Built] reports false.
//
// The page template contains the placeholder {{NODE}}, which [Handler]
// replaces with the HTML-escaped name of the serving node. [Attach]
// implements the Socket.IO side of the protocol the page speaks (events
// "hello", "clients", "drawing", "clear" and "history", documented in
// web/whiteboard/README.md) on a namespace; the boards are kept in a
// [Store]: a [MemoryStore] on one node, a [RedisStore] shared by the nodes
// of a cluster.
package whiteboard
