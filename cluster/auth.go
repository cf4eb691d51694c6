package cluster

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of requests between nodes.
const (
	headerSignature = "X-Switchboard-Signature"
	headerNode      = "X-Switchboard-Node" // the sender's advertised address
	headerHops      = "X-Switchboard-Hops"
)

// maxSkew is how far a signature's timestamp may be from the receiver's
// clock.
const maxSkew = 30 * time.Second

var errBadSignature = errors.New("cluster: missing or invalid signature")

// sign adds the signature of r (method, request URI, sender, hops, time).
func (n *Node) sign(r *http.Request, uri string) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	r.Header.Set(headerSignature, ts+"."+n.mac(r.Method, uri, r.Header.Get(headerNode), r.Header.Get(headerHops), ts))
}

// verify checks the signature of a request received from another node.
func (n *Node) verify(r *http.Request) error {
	ts, mac, ok := strings.Cut(r.Header.Get(headerSignature), ".")
	if !ok {
		return errBadSignature
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errBadSignature
	}
	if d := time.Since(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return errBadSignature
	}
	want := n.mac(r.Method, r.URL.RequestURI(), r.Header.Get(headerNode), r.Header.Get(headerHops), ts)
	if !hmac.Equal([]byte(mac), []byte(want)) {
		return errBadSignature
	}
	return nil
}

func (n *Node) mac(method, uri, node, hops, ts string) string {
	h := hmac.New(sha256.New, n.secret)
	for _, part := range []string{method, uri, node, hops, ts} {
		h.Write([]byte(part))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}
