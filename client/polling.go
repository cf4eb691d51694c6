package client

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

// maxPollBody bounds a polling response body.
const maxPollBody = 256 << 20

// polling is the HTTP long-polling transport of one engine.
type polling struct {
	e   *engine
	url string // request URL up to "&t=", which each request completes

	postBuf []byte // reused by the flusher (one POST at a time)
}

// openPolling performs the polling handshake: a GET without sid answered by
// the open packet, possibly followed by other packets.
func (m *Manager) openPolling(ctx context.Context) (*engine, []inPacket, error) {
	body, err := m.pollRequest(ctx, http.MethodGet, m.engineURL(TransportPolling, "")+"&t=", nil, "handshake")
	if err != nil {
		return nil, nil, err
	}
	packets, perr := decodePayload(body)
	if len(packets) == 0 || packets[0].typ != pktOpen || packets[0].binary {
		return nil, nil, &TransportError{Transport: TransportPolling, Op: "handshake", Code: -1,
			Message: "no open packet in the handshake response", Err: perr}
	}
	e, err := newEngine(m, TransportPolling, packets[0].data)
	if err != nil {
		return nil, nil, err
	}
	e.poll = &polling{e: e, url: m.engineURL(TransportPolling, e.sid) + "&t="}
	if perr != nil {
		// Handle the valid packets, then close as an invalid packet does.
		packets = append(packets, inPacket{typ: 0})
	}
	return e, packets[1:], nil
}

// loop is the reader: it handles the packets that came with the handshake,
// then polls until the engine closes or pauses for an upgrade.
func (p *polling) loop(initial []inPacket) {
	e := p.e
	ok := p.handleAll(initial, nil)
	for ok {
		e.mu.Lock()
		e.getting = false
		e.cond.Broadcast()
		if e.state != stateOpen || e.upgrading || e.poll != p {
			e.mu.Unlock()
			return
		}
		e.getting = true
		e.mu.Unlock()
		body, err := e.m.pollRequest(e.ctx, http.MethodGet, p.url, nil, "poll")
		if err != nil {
			e.closeWith(ReasonTransportError, err)
			break
		}
		packets, perr := decodePayload(body)
		ok = p.handleAll(packets, perr)
	}
	e.mu.Lock()
	e.getting = false
	e.cond.Broadcast()
	e.mu.Unlock()
}

// handleAll handles the packets of one response, then closes the engine if
// the payload was invalid. It reports whether the engine is still open.
// The caller holds the "getting" flag, so an upgrade waits for the
// packets to be handled.
func (p *polling) handleAll(packets []inPacket, perr error) bool {
	for _, pkt := range packets {
		if !p.e.handle(pkt) {
			return false
		}
	}
	if perr != nil {
		p.e.closeWith(ReasonTransportError, perr)
		return false
	}
	return true
}

// write sends frames in one POST. Only the flusher calls it.
func (p *polling) write(ctx context.Context, frames []frame) error {
	body := appendPayload(p.postBuf[:0], frames)
	_, err := p.e.m.pollRequest(ctx, http.MethodPost, p.url, body, "post")
	if err != nil {
		p.postBuf = nil // the transport may still read body after an error
		return err
	}
	if cap(body) <= 64<<10 {
		p.postBuf = body[:0]
	} else {
		p.postBuf = nil
	}
	return nil
}

// pollRequest sends one polling request (url ends with "&t=") and returns
// the response body of a 200, or a *TransportError.
func (m *Manager) pollRequest(ctx context.Context, method, url string, body []byte, op string) ([]byte, error) {
	url += strconv.FormatUint(m.tseq.Add(1), 36)
	var rd io.Reader = noRetryBody{}
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, transportErr(TransportPolling, op, err)
	}
	if body == nil {
		req.ContentLength, req.GetBody = 0, nil
	}
	req.Header = m.cfg.Headers.Clone()
	if req.Header == nil {
		req.Header = make(http.Header, 1)
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := m.httpc.Do(req)
	if err != nil {
		return nil, transportErr(TransportPolling, op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxPollBody))
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(TransportPolling, op, resp.StatusCode, data)
	}
	if err != nil {
		return nil, transportErr(TransportPolling, op, err)
	}
	return data, nil
}

// noRetryBody is the empty body of a GET. A body that cannot be replayed
// keeps net/http from silently resending a GET whose connection broke
// before the response: the server may have written packets to the broken
// connection, so that must be a transport error (and a reconnection), as
// it is for engine.io-client. net/http sends no body for it.
type noRetryBody struct{}

func (noRetryBody) Read([]byte) (int, error) { return 0, io.EOF }
func (noRetryBody) Close() error             { return nil }

// statusError builds the error of a refused request, reading the
// Engine.IO error body {"code":n,"message":"..."} when there is one.
func statusError(transport, op string, status int, body []byte) *TransportError {
	te := &TransportError{Transport: transport, Op: op, StatusCode: status, Code: -1}
	var eio struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &eio) == nil && eio.Code != nil {
		te.Code, te.Message = *eio.Code, eio.Message
	} else if len(body) > 0 {
		te.Message = string(bytes.TrimSpace(body[:min(len(body), 200)]))
	}
	return te
}
