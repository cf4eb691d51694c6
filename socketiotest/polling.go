package socketiotest

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
)

// pollClient is the HTTP long-polling transport of a Client.
type pollClient struct {
	c      *Client
	hc     *http.Client
	own    *http.Transport // closed with the client, when not given
	url    url.URL         // the session URL, sid included
	seq    atomic.Int64    // cache buster
	cancel context.CancelFunc

	postMu sync.Mutex // one POST at a time, as Engine.IO requires
	pollMu sync.Mutex // one GET at a time
	wg     sync.WaitGroup
}

func dialPolling(ctx context.Context, c *Client, u *url.URL) error {
	t := &pollClient{c: c, hc: c.opts.HTTPClient, url: *u}
	if t.hc == nil {
		t.own = &http.Transport{TLSClientConfig: c.opts.TLSConfig, MaxIdleConnsPerHost: 4}
		t.hc = &http.Client{Transport: t.own}
	}
	c.tr = t
	body, err := t.get(ctx)
	if err != nil {
		t.closeIdle()
		return err
	}
	first, rest, _ := bytes.Cut(body, []byte{0x1e})
	if err := c.parseOpen(first); err != nil {
		t.closeIdle()
		return err
	}
	q := t.url.Query()
	q.Set("sid", c.Handshake.SID)
	t.url.RawQuery = q.Encode()
	if len(rest) > 0 && !t.deliver(rest) {
		return nil
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	if !c.opts.ManualPoll {
		t.wg.Add(1)
		go t.pollLoop(loopCtx)
	}
	return nil
}

// pollLoop keeps a GET pending until the session ends.
func (t *pollClient) pollLoop(ctx context.Context) {
	defer t.wg.Done()
	for {
		err := t.poll(ctx)
		if t.c.closing.Load() {
			return
		}
		if err != nil {
			t.c.finish(err)
			return
		}
		select {
		case <-t.c.done:
			return
		default:
		}
	}
}

func (t *pollClient) poll(ctx context.Context) error {
	t.pollMu.Lock()
	defer t.pollMu.Unlock()
	body, err := t.get(ctx)
	if err != nil {
		return err
	}
	if !t.deliver(body) {
		return t.c.Err()
	}
	return nil
}

// get sends one GET and returns its body.
func (t *pollClient) get(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.requestURL(), nil)
	if err != nil {
		return nil, err
	}
	res, err := t.do(req)
	if err != nil {
		return nil, err
	}
	if res.Uncompressed {
		t.c.gzipped.Add(1)
	}
	return res.body, nil
}

type response struct {
	body         []byte
	Uncompressed bool
}

// do sends req with the client's headers and reads a 200 response.
func (t *pollClient) do(req *http.Request) (*response, error) {
	for k, v := range t.c.opts.Header {
		req.Header[k] = append(req.Header[k], v...)
	}
	res, err := t.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("socketiotest: polling %s: %w", req.Method, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("socketiotest: polling %s: %w", req.Method, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("socketiotest: polling %s: status %d: %s", req.Method, res.StatusCode, body)
	}
	return &response{body: body, Uncompressed: res.Uncompressed}, nil
}

func (t *pollClient) requestURL() string {
	u := t.url
	q := u.Query()
	q.Set("t", strconv.FormatInt(t.seq.Add(1), 36))
	u.RawQuery = q.Encode()
	return u.String()
}

// deliver hands every packet of a payload to the client. It returns false
// once the session is over.
func (t *pollClient) deliver(payload []byte) bool {
	for p := range bytes.SplitSeq(payload, []byte{0x1e}) {
		pkt := enginePacket{data: p}
		if len(p) > 0 && p[0] == 'b' {
			b, err := base64.StdEncoding.DecodeString(string(p[1:]))
			if err != nil {
				t.c.finish(fmt.Errorf("socketiotest: bad base64 packet: %w", err))
				return false
			}
			pkt = enginePacket{data: b, binary: true}
		}
		if !t.c.onEnginePacket(pkt) {
			return false
		}
	}
	return true
}

// send POSTs packets as one payload.
func (t *pollClient) send(ctx context.Context, pkts []enginePacket) error {
	var body []byte
	for i, p := range pkts {
		if i > 0 {
			body = append(body, 0x1e)
		}
		if p.binary {
			body = append(body, 'b')
			body = base64.StdEncoding.AppendEncode(body, p.data)
			continue
		}
		body = append(body, p.data...)
	}
	t.postMu.Lock()
	defer t.postMu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.requestURL(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	res, err := t.do(req)
	if err != nil {
		return err
	}
	if string(res.body) != "ok" {
		return fmt.Errorf("socketiotest: POST answered %q", res.body)
	}
	return nil
}

func (t *pollClient) close() {
	if t.cancel != nil {
		t.cancel()
	}
	t.wg.Wait()
	t.closeIdle()
}

func (t *pollClient) closeIdle() {
	if t.own != nil {
		t.own.CloseIdleConnections()
	}
}
