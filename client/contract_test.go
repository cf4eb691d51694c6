package client

import (
	"github.com/switchboard-io/switchboard/eio"
	"github.com/switchboard-io/switchboard/socketio"
	"github.com/switchboard-io/switchboard/test/compat/contract"
)

// setupContract installs the behaviour of test/compat/CONTRACT.md, as
// test/compat/goserver does, plus "garbage", which makes the server send an
// undecodable packet.
func setupContract(io *socketio.Server) {
	contract.Setup(io)
	io.Of("/").OnConnection(func(s *socketio.Socket) {
		s.On("garbage", func(*socketio.Event) { _ = s.Conn().Send(eio.NewMessage([]byte("9"))) })
	})
}
