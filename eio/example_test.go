package eio_test

import (
	"fmt"

	"github.com/switchboard-io/switchboard/eio"
)

// A polling payload encoded and decoded again: a text message, a binary
// message (base64 on the wire) and a ping, joined by the record separator.
func ExampleDecodePayload() {
	payload := eio.AppendPayload(nil,
		eio.NewMessage([]byte("hello")),
		eio.NewBinaryMessage([]byte{1, 2, 3}),
		&eio.Packet{Type: eio.PacketPing})
	fmt.Printf("%q\n", payload)

	err := eio.DecodePayload(payload, func(typ eio.PacketType, data []byte, binary bool) error {
		fmt.Printf("%c %v %q\n", typ, binary, data)
		return nil
	})
	fmt.Println(err)

	err = eio.DecodePayload([]byte("4ok\x1e9bad"), func(typ eio.PacketType, data []byte, binary bool) error {
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

// One packet queued to many WebSocket recipients: the frame is built once
// and the same bytes serve every connection.
func ExamplePacket_WebSocketFrame() {
	p := eio.NewMessage([]byte("hi"))
	first, again := p.WebSocketFrame(), p.WebSocketFrame()
	fmt.Printf("% x %v\n", first, &first[0] == &again[0])

	typ, data, err := eio.DecodeText(first[2:]) // the payload after the 2-byte header
	fmt.Printf("%c %q %v\n", typ, data, err)
	// Output:
	// 81 03 34 68 69 true
	// 4 "hi" <nil>
}
