package admin_test

import (
	"fmt"
	"net/http"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-io/switchboard/admin"
	"github.com/switchboard-io/switchboard/socketio"
)

// Instrument a server for the Admin UI with basic authentication. The UI
// (https://admin.socket.io, or its files from @socket.io/admin-ui's
// ui/dist) then connects to the server's /admin namespace with the
// username and the password.
func Example() {
	io := socketio.NewServer(nil)
	// The hash is made once, offline (htpasswd -nbB admin 's3cret' makes
	// one too); the options carry the hash, never the password.
	hash, _ := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.DefaultCost)
	in, err := admin.Instrument(io, admin.Options{
		Auth: &admin.BasicAuth{Username: "admin", PasswordHash: string(hash)},
		Mode: admin.Production,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer in.Close()
	fmt.Println("admin namespace:", in.Namespace().Name())

	_, err = admin.Instrument(io, admin.Options{Auth: &admin.BasicAuth{Username: "admin", PasswordHash: "s3cret"}})
	fmt.Println(err != nil)

	mux := http.NewServeMux()
	mux.Handle(io.Path(), io) // then serve mux as usual
	// Output:
	// admin namespace: /admin
	// true
}
