package node

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"

	"github.com/switchboard-io/switchboard/admin"
	"github.com/switchboard-io/switchboard/engineio"
	"github.com/switchboard-io/switchboard/internal/admindist"
)

// instrumentAdmin serves the Admin UI's namespace on the node's server
// (with --admin-ui).
func (n *Node) instrumentAdmin() {
	cfg := n.cfg
	opts := admin.Options{NoAuth: cfg.AdminUsername == "", Mode: admin.Mode(cfg.AdminMode),
		ServerID: fmt.Sprintf("%s#%d", cfg.NodeName, os.Getpid())}
	if cfg.AdminUsername != "" {
		opts.Auth = &admin.BasicAuth{Username: cfg.AdminUsername, PasswordHash: cfg.AdminPasswordHash}
	} else {
		n.log.Warn("admin UI without authentication: anyone reaching the public listener can use it (set --admin-auth)")
	}
	in, err := admin.Instrument(n.io, opts)
	if err != nil { // the configuration was validated: not expected
		n.log.Error("admin UI not served", "err", err)
		return
	}
	n.admin = in
}

// adminCORS lets the Admin UI's page, served on the internal listener (a
// port of its own, so another origin), poll the public listener with
// credentials, as the UI's client asks: the origins of --cors-origins, and
// any origin on the internal listener's port.
func (n *Node) adminCORS() *engineio.CORSOptions {
	origins := n.cfg.CORSOrigins
	return &engineio.CORSOptions{Credentials: true, AllowOrigin: func(origin string) bool {
		if slices.Contains(origins, origin) || slices.Contains(origins, "*") {
			return true
		}
		u, err := url.Parse(origin)
		if err != nil || n.internalLn == nil {
			return false
		}
		_, port, err := net.SplitHostPort(n.internalLn.Addr().String())
		return err == nil && u.Port() == port
	}}
}

// handleAdminUI serves the UI's page on the internal mux.
func (n *Node) handleAdminUI(mux *http.ServeMux) {
	path := n.cfg.AdminUIPath
	mux.Handle(path, http.StripPrefix(path[:len(path)-1], admindist.Handler()))
}
