package cluster

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of requests between nodes.
const (
	headerSignature  = "X-Switchboard-Signature"   // v2.<unix seconds>.<boot id>.<sequence>.<mac>
	headerBodyDigest = "X-Switchboard-Body-Sha256" // hex SHA-256 of the body
	headerNode       = "X-Switchboard-Node"        // the sender's advertised address
	headerHops       = "X-Switchboard-Hops"
)

// signatureVersion names the scheme of headerSignature; a receiver refuses
// the versions it does not know. v1 carried a random nonce instead of the
// boot id and sequence number.
const signatureVersion = "v2"

const (
	// maxSkew is how far a signature's timestamp may be from the
	// receiver's clock.
	maxSkew = 30 * time.Second
	// defaultMaxBody bounds a hop's body before an engine is attached; it
	// is engineio's default MaxHTTPBufferSize.
	defaultMaxBody = 1_000_000
)

var (
	errBadSignature = errors.New("cluster: missing or invalid signature")
	errBadDigest    = errors.New("cluster: body does not match its signed digest")
	errBodyTooLarge = errors.New("cluster: body too large")
)

// sign signs r, about to be sent for uri to the node that advertises
// target, with body the exact bytes r carries.
func (n *Node) sign(r *http.Request, target, uri string, body []byte) {
	n.signAt(r, target, uri, body, time.Now())
}

// signAt is sign with the timestamp of now.
func (n *Node) signAt(r *http.Request, target, uri string, body []byte, now time.Time) {
	bootID, seq := n.nonces.next()
	ts := strconv.FormatInt(now.Unix(), 10)
	seqText := strconv.FormatUint(seq, 10)
	digest := bodyDigest(body)
	r.Header.Set(headerBodyDigest, digest)
	mac := n.mac(r, target, uri, ts, bootID, seqText, digest)
	r.Header.Set(headerSignature, strings.Join([]string{signatureVersion, ts, bootID, seqText, mac}, "."))
}

// verify checks a request received from another node: its signature, its
// body against the signed digest, and that it was not served before. On
// success r's body is the bytes read, for the handler to read again.
func (n *Node) verify(r *http.Request) error {
	sig, err := parseSignature(r.Header.Get(headerSignature))
	if err != nil {
		return err
	}
	if d := time.Since(sig.at); d > maxSkew || d < -maxSkew {
		return errBadSignature
	}
	digest := r.Header.Get(headerBodyDigest)
	want := n.mac(r, n.opts.AdvertiseAddr, r.URL.RequestURI(), sig.ts, sig.bootIDHex, sig.seqText, digest)
	if !hmac.Equal([]byte(sig.mac), []byte(want)) {
		return errBadSignature
	}
	// Only a request signed with the secret gets this far: outsiders can
	// neither make this node read a body nor add senders to the replay
	// cache.
	body, err := readBody(r, n.maxBody())
	if err != nil {
		return err
	}
	if bodyDigest(body) != digest {
		return errBadDigest
	}
	// The sequence number is recorded last, so that a copy of the request
	// with another body, arriving first, cannot keep the real one out.
	if err := n.nonces.check(sig.bootID, sig.seq, sig.at); err != nil {
		if errors.Is(err, errTooOld) {
			n.stats.refusedTooOld.Add(1) // refuse counts it as a replay too
		}
		return err
	}
	setBody(r, body)
	return nil
}

// mac is the signature of a request for uri to target, stamped ts, sent
// by bootID as its hop number seq.
func (n *Node) mac(r *http.Request, target, uri, ts, bootID, seq, digest string) string {
	h := hmac.New(sha256.New, n.secret)
	// No part holds a newline: header values and URIs cannot.
	for _, part := range []string{signatureVersion, r.Method, uri, target,
		r.Header.Get(headerNode), r.Header.Get(headerHops), ts, bootID, seq, digest} {
		h.Write([]byte(part))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// signature is a parsed headerSignature: its parts as text, for the mac,
// and their values.
type signature struct {
	ts, bootIDHex, seqText, mac string

	at     time.Time
	bootID [bootIDLen]byte
	seq    uint64
}

func parseSignature(v string) (signature, error) {
	parts := strings.Split(v, ".")
	if len(parts) != 5 || parts[0] != signatureVersion {
		return signature{}, errBadSignature
	}
	s := signature{ts: parts[1], bootIDHex: parts[2], seqText: parts[3], mac: parts[4]}
	sec, err := strconv.ParseInt(s.ts, 10, 64)
	if err != nil {
		return signature{}, errBadSignature
	}
	s.at = time.Unix(sec, 0)
	if len(s.bootIDHex) != hex.EncodedLen(bootIDLen) {
		return signature{}, errBadSignature
	}
	if _, err := hex.Decode(s.bootID[:], []byte(s.bootIDHex)); err != nil {
		return signature{}, errBadSignature
	}
	if s.seq, err = strconv.ParseUint(s.seqText, 10, 64); err != nil {
		return signature{}, errBadSignature
	}
	return s, nil
}

func bodyDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// maxBody is the largest body a hop carries: the engine's largest POST.
func (n *Node) maxBody() int64 {
	if e := n.engine.Load(); e != nil {
		return e.Options().MaxHTTPBufferSize
	}
	return defaultMaxBody
}

// readBody reads r's body whole, up to limit bytes.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, errBodyTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, errBodyTooLarge
	}
	return body, nil
}

// setBody makes body r's body, with its length known.
func setBody(r *http.Request, body []byte) {
	r.ContentLength = int64(len(body))
	r.TransferEncoding = nil
	if len(body) == 0 {
		r.Body = http.NoBody
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
}
