package parser_test

import (
	"fmt"

	"github.com/switchboard-io/switchboard/parser"
)

// Example encodes an event with a binary argument, decodes it as a peer
// would, and reads its arguments.
func Example() {
	data, atts, err := parser.EncodeData("upload", map[string]any{"name": "a.txt"}, []byte("hello"))
	if err != nil {
		panic(err)
	}
	out := parser.Packet{Type: parser.Event, Namespace: "/files", Data: data, Attachments: atts}
	text := out.AppendEncode(nil)
	fmt.Printf("text:   %s\n", text)
	fmt.Printf("binary: %q\n", atts)

	var d parser.Decoder
	p, _ := d.DecodeText(text) // nil: waits for the attachment
	p, err = d.DecodeBinary(atts[0])
	if err != nil {
		panic(err)
	}
	name, args, err := p.Event()
	if err != nil {
		panic(err)
	}
	var meta struct{ Name string }
	_ = args[0].Decode(&meta)
	body, _ := args[1].Bytes()
	fmt.Printf("%s %s on %s: %s %q\n", p.Type, name, p.Namespace, meta.Name, body)

	// Relay the arguments unchanged, after a new leading binary argument.
	data, atts, _ = parser.EncodeData("relay", []byte("x"), args[0], args[1])
	fmt.Printf("relay:  %s %d attachments\n", data, len(atts))
	// Output:
	// text:   51-/files,["upload",{"name":"a.txt"},{"_placeholder":true,"num":0}]
	// binary: ["hello"]
	// BINARY_EVENT upload on /files: a.txt "hello"
	// relay:  ["relay",{"_placeholder":true,"num":0},{"name":"a.txt"},{"_placeholder":true,"num":1}] 2 attachments
}
