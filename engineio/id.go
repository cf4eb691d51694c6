package engineio

import (
	"crypto/rand"
	"encoding/base64"
	"sync/atomic"
)

var idSequence atomic.Uint32

// NewID returns a new 20-character session id in the format of Node's
// base64id: 12 random bytes and the low 3 bytes of a sequence number,
// base64-encoded with '/' and '+' replaced by '_' and '-'. Socket.IO socket
// ids use the same format; cluster tooling relies on the length of 20.
func NewID() string {
	var b [15]byte
	_, _ = rand.Read(b[:12]) // crypto/rand.Read never fails on supported platforms
	n := idSequence.Add(1)
	b[12], b[13], b[14] = byte(n>>16), byte(n>>8), byte(n)
	return base64.URLEncoding.EncodeToString(b[:])
}
