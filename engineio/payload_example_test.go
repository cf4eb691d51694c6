package engineio_test

import (
	"fmt"

	"github.com/switchboard-io/switchboard/engineio"
)

// A polling payload encoded and decoded again: a text message, a binary
// message (base64 on the wire) and a ping, joined by the record separator.
func ExampleDecodePayload() {
	payload := engineio.AppendPayload(nil,
		engineio.NewMessage([]byte("hello")),
		engineio.NewBinaryMessage([]byte{1, 2, 3}),
		&engineio.Packet{Type: engineio.PacketPing})
	fmt.Printf("%q\n", payload)

	err := engineio.DecodePayload(payload, func(typ engineio.PacketType, data []byte, binary bool) error {
		fmt.Printf("%c %v %q\n", typ, binary, data)
		return nil
	})
	fmt.Println(err)

	err = engineio.DecodePayload([]byte("4ok\x1e9bad"), func(typ engineio.PacketType, data []byte, binary bool) error {
		fmt.Printf("%c %v %q\n", typ, binary, data)
		return nil
	})
	fmt.Println(err)
	// Output:
	// "4hello\x1ebAQID\x1e2"
	// 4 false "hello"
	// 4 true "\x01\x02\x03"
	// 2 false ""
	// <nil>
	// 4 false "ok"
	// engine.io: parse error
}
