// Command switchboard runs a Switchboard node: a Socket.IO v4 server with the
// collaborative whiteboard demo, alone or as a member of a Redis cluster.
//
//	switchboard serve            # the whiteboard on http://localhost:3000
//	switchboard serve -h         # every flag and its SWITCHBOARD_* variable
//	switchboard version
package main

import (
	"os"

	"github.com/switchboard-io/switchboard/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
