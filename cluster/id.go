package cluster

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
)

// tagLen is the number of bytes of a node tag inside a session id.
const tagLen = 4

// NewTag returns a random node tag (8 hex digits).
func NewTag() string {
	var b [tagLen]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newSessionID returns a 20-character session id (Node's length and
// alphabet) made of the node tag and 11 random bytes.
func newSessionID(tag []byte) string {
	var b [15]byte
	copy(b[:], tag)
	_, _ = rand.Read(b[tagLen:])
	return base64.URLEncoding.EncodeToString(b[:])
}

// TagOf returns the node tag of a session id issued by this package, or ""
// for an id of another shape.
func TagOf(sid string) string {
	if len(sid) != 20 {
		return ""
	}
	b, err := base64.URLEncoding.DecodeString(sid)
	if err != nil || len(b) != 15 {
		return ""
	}
	return hex.EncodeToString(b[:tagLen])
}

// GenerateID issues a session id tagged with this node's tag. It fits
// engineio.Options.GenerateID.
func (n *Node) GenerateID(*http.Request) (string, error) { return newSessionID(n.tag), nil }
