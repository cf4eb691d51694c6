package eio

import (
	"bytes"
	"compress/flate"
	"sync"

	"github.com/gobwas/ws"
)

// deflateTail ends every flushed DEFLATE block; permessage-deflate
// (RFC 7692) leaves it out of the frame.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff}

var flateCompressors = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.DefaultCompression)
	return w
}}

// CompressedFrame returns the packet as one permessage-deflate WebSocket
// frame (RFC 7692, RSV1 set), for a connection that negotiated the
// extension without context takeover: then the frame depends only on the
// packet, so one frame serves every recipient. It is built on the first
// call and the same bytes are returned afterwards; the caller must not
// modify them.
func (p *Packet) CompressedFrame() ([]byte, error) {
	if f := p.deflated.Load(); f != nil {
		return *f, nil
	}
	var body bytes.Buffer
	fw := flateCompressors.Get().(*flate.Writer)
	defer flateCompressors.Put(fw)
	fw.Reset(&body)
	_, _ = fw.Write(p.textPrefix()) // writes to a bytes.Buffer cannot fail
	_, _ = fw.Write(p.Data)
	if err := fw.Flush(); err != nil {
		return nil, err
	}
	op := ws.OpText
	if p.Binary {
		op = ws.OpBinary
	}
	f := buildFrame(op, true, nil, bytes.TrimSuffix(body.Bytes(), deflateTail))
	p.deflated.Store(&f)
	return f, nil
}
