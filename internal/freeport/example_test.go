package freeport_test

import (
	"fmt"
	"net"
	"strconv"

	"github.com/switchboard-io/switchboard/internal/freeport"
)

// A port from Pick is handed to a server started afterwards.
func ExamplePick() {
	port, err := freeport.Pick()
	if err != nil {
		panic(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		panic(err)
	}
	defer l.Close()
	fmt.Println(l.Addr().(*net.TCPAddr).Port == port)
	// Output: true
}
