package engineio

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-io/switchboard/eio"
)

var (
	noopBody      = []byte{byte(eio.PacketNoop)}
	closeBody     = []byte{byte(eio.PacketClose)}
	noopCloseBody = []byte{byte(eio.PacketNoop), eio.RecordSeparator, byte(eio.PacketClose)}
	okBody        = []byte("ok")
	// The same, for Engine.IO v3 clients.
	noopBodyV3      = []byte("1:6")
	closeBodyV3     = []byte("1:1")
	noopCloseBodyV3 = []byte("1:61:1")
)

// controlBody returns the polling body of a noop, a close or both for c's
// protocol.
func (c *Conn) controlBody(v4, v3 []byte) []byte {
	if c.protocol == 3 {
		return v3
	}
	return v4
}

// appendPayload appends packets to dst as a text polling payload of c's
// protocol.
func (c *Conn) appendPayload(dst []byte, packets []*eio.Packet) []byte {
	if c.protocol == 3 {
		return eio.AppendPayloadV3(dst, packets...)
	}
	return eio.AppendPayload(dst, packets...)
}

// encodePoll appends packets to dst as the body of a polling response and
// reports whether it is binary: as in Node, a v3 client that takes binary
// gets the binary payload format when a packet is binary.
func (c *Conn) encodePoll(dst []byte, packets []*eio.Packet) (body []byte, binary bool) {
	if c.protocol == 3 && c.pollBinary && eio.HasBinary(packets) {
		return eio.AppendBinaryPayloadV3(dst, packets...), true
	}
	return c.appendPayload(dst, packets), false
}

// payloadBuffers recycles the buffers polling responses are assembled in.
var payloadBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// servePoll answers a long-polling GET: at once with every queued packet,
// or when the first packet is queued, or with a noop when the upgrade
// check finds it pending.
func (c *Conn) servePoll(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if c.getActive {
		// Overlapping GETs: Node closes the session; the pending GET gets a
		// close packet, this one a bare 400.
		c.mu.Unlock()
		c.closeNow(ReasonTransportError)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	c.getActive = true
	c.mu.Unlock()

	body, binary, packets, closing := c.waitPoll(r)
	if body == nil {
		return // the client went away: the session is closed
	}
	if closing {
		// The close packet was delivered: the session ends now.
		defer c.closeNow(ReasonForcedClose)
	}
	noCompress := true
	for _, p := range packets {
		if !p.NoCompress {
			noCompress = false
		}
	}
	c.srv.stats.packetsOut.Add(int64(len(packets)))
	c.srv.stats.bytesOut.Add(int64(len(body)))
	threshold := c.srv.opts.HTTPCompressionThreshold
	if noCompress {
		threshold = -1
	}
	out := body
	if c.jsonp != nil {
		out = c.wrapJSONP(body)
	}
	writePollingBody(w, r, out, binary, threshold)
	if len(packets) > 0 {
		buf := body[:0]
		payloadBuffers.Put(&buf)
		c.recycleQueue(packets)
	}
}

// waitPoll waits until the pending GET can be answered and returns its body
// (binary: in the v3 binary format) and the packets in it (nil body if the
// request was abandoned). closing reports that the body ends with the
// session's close packet.
func (c *Conn) waitPoll(r *http.Request) (body []byte, binary bool, packets []*eio.Packet, closing bool) {
	defer func() {
		c.mu.Lock()
		c.getActive, c.noopDue = false, false
		c.lastRequest = time.Now()
		c.mu.Unlock()
	}()
	for {
		c.mu.Lock()
		switch {
		case c.state == stateClosed:
			noop := c.noopOnExit
			c.mu.Unlock()
			if noop {
				return c.controlBody(noopBody, noopBodyV3), false, nil, false
			}
			return c.controlBody(closeBody, closeBodyV3), false, nil, false
		case c.upgraded:
			// The session moved to WebSocket while this GET was pending:
			// Node closes the discarded polling transport with a close
			// packet.
			c.mu.Unlock()
			return c.controlBody(closeBody, closeBodyV3), false, nil, false
		case len(c.queue) > 0:
			packets = c.takeQueueLocked()
			if n := len(packets); n > 1 && packets[n-1] == closePacket {
				// As in Node, the packets queued before a close go out
				// first and the close packet answers the next GET, so the
				// client handles them (a Socket.IO DISCONNECT, say)
				// before it sees the transport close.
				c.queue, c.queueBytes = append(c.queue, closePacket), closePacket.WireLen()
				packets = packets[:n-1]
			}
			closing = c.state == stateClosing && packets[len(packets)-1] == closePacket
			c.mu.Unlock()
			bp := payloadBuffers.Get().(*[]byte)
			body, binary = c.encodePoll((*bp)[:0], packets)
			return body, binary, packets, closing
		case c.state == stateClosing:
			c.mu.Unlock()
			return c.controlBody(noopCloseBody, noopCloseBodyV3), false, nil, true
		case c.noopDue: // the upgrade check releases the GET
			c.mu.Unlock()
			return c.controlBody(noopBody, noopBodyV3), false, nil, false
		}
		c.mu.Unlock()
		select {
		case <-c.getWake:
		case <-c.done:
		case <-r.Context().Done():
			// The client dropped the pending GET: Node's "poll connection
			// closed prematurely".
			c.closeNow(ReasonTransportError)
			return nil, false, nil, false
		}
	}
}

// abandoned reports whether c is a polling session, open or closing, whose
// client has made no request for at least idle before now and has none
// under way (see Server.CloseAbandoned).
func (c *Conn) abandoned(now time.Time, idle time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state != stateClosed && c.transport == TransportPolling && c.ws == nil && !c.upgrading &&
		!c.getActive && !c.postActive && now.Sub(c.lastRequest) >= idle
}

// servePost reads a POSTed payload, hands every packet to the session in
// order (including whatever the application sends in reaction), then
// answers "ok".
func (c *Conn) servePost(w http.ResponseWriter, r *http.Request) {
	// Node's v3 decoder takes exactly this type for a binary payload.
	ct := r.Header.Get("Content-Type")
	binary := ct == "application/octet-stream"
	if c.protocol != 3 && strings.HasPrefix(ct, "application/octet-stream") {
		c.closeNow(ReasonTransportError) // v4 payloads are always text
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	if c.postActive {
		c.mu.Unlock()
		c.closeNow(ReasonTransportError) // data request overlap from client
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	c.postActive = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.postActive = false
		c.lastRequest = time.Now()
		c.mu.Unlock()
	}()

	limit := c.srv.opts.MaxHTTPBufferSize
	if r.ContentLength > limit {
		w.WriteHeader(http.StatusRequestEntityTooLarge) // the session stays open
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		c.closeNow(ReasonTransportError)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if int64(len(body)) > limit {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	raw := body // what a node the session moved to reads again
	if c.jsonp != nil {
		payload, ok := jsonpPayload(body)
		if !ok {
			writeOK(w, r) // Node ignores a form without its d
			return
		}
		body, binary = payload, false
	}
	c.recvMu.Lock()
	if c.wasMoved() {
		// The session moved to another node while this body was read:
		// its packets belong there, not to the floor.
		c.recvMu.Unlock()
		c.forwardMoved(w, r, raw)
		return
	}
	err = c.decodePayload(body, binary, func(typ eio.PacketType, data []byte, binary bool) error {
		if c.isClosed() || !c.handlePacket(inPacket{typ: typ, data: data, binary: binary}) {
			return errStop
		}
		return nil
	})
	c.recvMu.Unlock()
	if err == eio.ErrParse {
		c.closeNow(ReasonParseError)
		c.srv.refuse(w, r, requestError(CodeBadRequest, "PARSE_ERROR"), false)
		return
	}
	writeOK(w, r)
}

// writeOK answers a POST as Node does.
func writeOK(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	setPollingHeaders(h, r)
	h.Set("Content-Type", "text/html") // Node's: avoids download dialogs
	h.Set("Content-Length", "2")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(okBody)
}

// decodePayload decodes a POSTed payload of c's protocol (binary: the v3
// binary format).
func (c *Conn) decodePayload(body []byte, binary bool, fn func(eio.PacketType, []byte, bool) error) error {
	switch {
	case binary:
		return eio.DecodeBinaryPayloadV3(body, fn)
	case c.protocol == 3:
		return eio.DecodePayloadV3(body, fn)
	}
	return eio.DecodePayload(body, fn)
}

// wasMoved reports whether the session was handed over to another node.
func (c *Conn) wasMoved() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.moved
}

// forwardMoved hands a POST whose session moved meanwhile to the Router,
// which sends it on to the session's new node.
func (c *Conn) forwardMoved(w http.ResponseWriter, r *http.Request, body []byte) {
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	if c.srv.opts.Router == nil || !c.srv.opts.Router.ServeForeign(w, r2, c.id) {
		c.srv.refuse(w, r, requestError(CodeUnknownSID, "MOVED"), false)
	}
}

// errStop ends payload decoding early without an error of the client's.
var errStop = errorString("stop")

type errorString string

func (e errorString) Error() string { return string(e) }

var (
	gzipWriters = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression); return w }}
	zlibWriters = sync.Pool{New: func() any { return zlib.NewWriter(nil) }}
)

// writePollingBody writes a polling response body with Node's headers,
// compressed when it is at least threshold bytes (negative: never) and the
// client accepts gzip or deflate. As in Node, a compressed body is sent
// whole, with its Content-Length.
func writePollingBody(w http.ResponseWriter, r *http.Request, body []byte, binary bool, threshold int) {
	h := w.Header()
	if binary {
		h.Set("Content-Type", "application/octet-stream")
	} else {
		h.Set("Content-Type", "text/plain; charset=UTF-8")
	}
	setPollingHeaders(h, r)
	if threshold >= 0 && len(body) >= threshold {
		if enc := negotiateEncoding(r.Header.Values("Accept-Encoding")); enc != "" {
			bp := payloadBuffers.Get().(*[]byte)
			defer payloadBuffers.Put(bp)
			*bp = compress((*bp)[:0], body, enc)
			h.Set("Content-Encoding", enc)
			body = *bp
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// setPollingHeaders sets the headers Node adds to every polling response.
func setPollingHeaders(h http.Header, r *http.Request) {
	h.Set("Cache-Control", "no-store")
	if ua := r.Header.Get("User-Agent"); strings.Contains(ua, ";MSIE") || strings.Contains(ua, "Trident/") {
		h.Set("X-XSS-Protection", "0")
	}
}

// negotiateEncoding picks "gzip", "deflate" or "" for an Accept-Encoding
// header the way Node's accepts package does: the highest q value wins,
// then an exact name over "*", then the earlier entry in the header, then
// gzip; q=0 refuses an encoding.
func negotiateEncoding(values []string) string {
	specs := parseAcceptEncoding(values)
	best, bestSpec := "", encodingSpec{}
	for _, enc := range [...]string{"gzip", "deflate"} {
		sp, ok := encodingPriority(enc, specs)
		if !ok || !(sp.q > 0) {
			continue
		}
		if best == "" || sp.q > bestSpec.q ||
			sp.q == bestSpec.q && (sp.exact && !bestSpec.exact ||
				sp.exact == bestSpec.exact && sp.order < bestSpec.order) {
			best, bestSpec = enc, sp
		}
	}
	return best
}

// encodingSpec is one entry of an Accept-Encoding header.
type encodingSpec struct {
	name  string
	q     float64
	order int  // position in the header
	exact bool // set by encodingPriority: matched by name, not by "*"
}

func parseAcceptEncoding(values []string) []encodingSpec {
	var specs []encodingSpec
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			name = strings.TrimSpace(name)
			if name == "" || strings.ContainsAny(name, " \t") {
				continue
			}
			sp := encodingSpec{name: name, q: 1, order: len(specs)}
			for param := range strings.SplitSeq(params, ";") {
				if k, v, _ := strings.Cut(strings.TrimSpace(param), "="); k == "q" {
					q, err := strconv.ParseFloat(v, 64)
					if err != nil {
						q = 0 // JavaScript's parseFloat gives NaN: not acceptable
					}
					sp.q = q
					break
				}
			}
			specs = append(specs, sp)
		}
	}
	return specs
}

// encodingPriority returns the entry of specs that applies to enc: an exact
// match before "*", then the higher q, then the earlier one.
func encodingPriority(enc string, specs []encodingSpec) (encodingSpec, bool) {
	var best encodingSpec
	found := false
	for _, sp := range specs {
		sp.exact = strings.EqualFold(sp.name, enc)
		if !sp.exact && sp.name != "*" {
			continue
		}
		if !found || sp.exact && !best.exact ||
			sp.exact == best.exact && (sp.q > best.q || sp.q == best.q && sp.order < best.order) {
			best, found = sp, true
		}
	}
	return best, found
}

// compress appends body compressed with enc ("gzip", or "deflate", which in
// HTTP is the zlib format) to dst.
func compress(dst, body []byte, enc string) []byte {
	buf := bytes.NewBuffer(dst)
	if enc == "gzip" {
		zw := gzipWriters.Get().(*gzip.Writer)
		zw.Reset(buf)
		_, _ = zw.Write(body) // writes to a bytes.Buffer cannot fail
		_ = zw.Close()
		gzipWriters.Put(zw)
		return buf.Bytes()
	}
	zw := zlibWriters.Get().(*zlib.Writer)
	zw.Reset(buf)
	_, _ = zw.Write(body)
	_ = zw.Close()
	zlibWriters.Put(zw)
	return buf.Bytes()
}
