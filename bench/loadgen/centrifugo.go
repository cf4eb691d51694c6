package main

// Centrifugo in the harness (issue 16). It speaks its own protocol, so the
// workers talk to it in its JSON protocol over the same raw WebSockets
// (/connection/websocket): a connect command, a subscribe command to one
// channel (the client's room in S4, "bench" otherwise), then they count
// the publications pushed to them and take their latency from the
// timestamp in the data, as Socket.IO clients do with "tick". The
// broadcasts come from the driver, which publishes through Centrifugo's
// server HTTP API at the scenario's rate with the loop the Socket.IO
// servers run in-process; their timestamp is taken before the API call,
// so Centrifugo's latency includes that call. Its configuration is a
// generated JSON file: anonymous clients, subscriptions open to them, an
// API key, no usage statistics (the machine has no network).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gobwas/ws"
	"github.com/switchboard-io/switchboard/bench/internal/bloop"
	"github.com/switchboard-io/switchboard/bench/internal/mono"
)

const (
	protoCentrifugo   = "centrifugo" // command.Proto of Centrifugo's clients
	centrifugoChannel = "bench"      // the channel of every client outside S4
	centrifugoAPIKey  = "bench-api-key"
)

// centrifugoConfig returns the configuration of one node on port (with its
// Redis engine when redisURL is set).
func centrifugoConfig(port int, redisURL string) map[string]any {
	cfg := map[string]any{
		"http_server": map[string]any{"address": "127.0.0.1", "port": port},
		"log":         map[string]any{"level": "warn"},
		"client":      map[string]any{"insecure": true, "allowed_origins": []string{"*"}},
		"channel": map[string]any{"without_namespace": map[string]any{
			"allow_subscribe_for_client": true, "allow_subscribe_for_anonymous": true}},
		"http_api":    map[string]any{"key": centrifugoAPIKey},
		"usage_stats": map[string]any{"disabled": true},
	}
	if redisURL != "" {
		cfg["engine"] = map[string]any{"type": "redis", "redis": map[string]any{"address": []string{redisURL}}}
	}
	return cfg
}

// startCentrifugo starts one Centrifugo node on a free port and waits
// until its API answers.
func startCentrifugo(e *env, redisURL string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("centrifugo-%d", port)
	b, _ := json.MarshalIndent(centrifugoConfig(port, redisURL), "", " ")
	cfgPath := filepath.Join(e.tmp, name+".json")
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		return nil, err
	}
	p, err := startProc(name, e.tmp, nil, nil, e.peers["centrifugo"], "--config", cfgPath)
	if err != nil {
		return nil, err
	}
	s := &server{proc: p, kind: "centrifugo", addr: fmt.Sprintf("127.0.0.1:%d", port)}
	s.pub = &publisher{s: s}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err = s.api("info", map[string]any{}); err == nil {
			return s, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited before it was ready (see %s)", name, p.log.Name())
		default:
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s not ready after 20s: %w (see %s)", name, err, p.log.Name())
		}
	}
}

// api calls method of Centrifugo's server HTTP API and returns the reply.
func (s *server) api(method string, body any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return s.apiRaw(method, b)
}

func (s *server) apiRaw(method string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+s.addr+"/api/"+method, bytes.NewReader(body))
	req.Header.Set("X-API-Key", centrifugoAPIKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("centrifugo API %s: %s: %.200s", method, resp.Status, out)
	}
	if bytes.Contains(out, []byte(`"error":`)) {
		return out, fmt.Errorf("centrifugo API %s: %.200s", method, out)
	}
	return out, err
}

// centrifugoClients returns the clients connected to the node, from the
// API's info method, for S1 (one node). Centrifugo refreshes that count
// every few seconds, so just after a connection step it may lag.
func (s *server) centrifugoClients() int {
	b, err := s.api("info", map[string]any{})
	if err != nil {
		return 0
	}
	var r struct {
		Result struct {
			Nodes []struct {
				NumClients int `json:"num_clients"`
			} `json:"nodes"`
		} `json:"result"`
	}
	_ = json.Unmarshal(b, &r)
	if len(r.Result.Nodes) == 0 {
		return 0
	}
	return r.Result.Nodes[0].NumClients
}

// publisher is the broadcast loop (bench/internal/bloop) of a Centrifugo
// node, run by the driver: each burst of due publications is one API call,
// a publish, or a batch of publishes when several are due (the Socket.IO
// servers' loop emits such bursts in a row).
type publisher struct {
	s    *server
	loop bloop.Loop
}

func (p *publisher) start(rate float64, d time.Duration, size, rooms int) {
	failed := false
	var body []byte
	p.loop.Start(rate, d, func(from, to int) {
		body = body[:0]
		method := "publish"
		if to-from > 1 {
			method = "batch"
			body = append(body, `{"commands":[`...)
		}
		for k := from; k < to; k++ {
			if method == "batch" {
				if k > from {
					body = append(body, ',')
				}
				body = append(body, `{"publish":`...)
			}
			body = appendPublication(body, k, size, rooms)
			if method == "batch" {
				body = append(body, '}')
			}
		}
		if method == "batch" {
			body = append(body, "]}"...)
		}
		if _, err := p.s.apiRaw(method, body); err != nil && !failed {
			failed = true // once: the deliveries counted tell the rest
			logf("centrifugo publisher: %v", err)
		}
	})
}

func (p *publisher) stop() { p.loop.Stop() }

// appendPublication appends publication k of a loop: to room channel
// r(k % rooms), or to the common channel, data {"t":<CLOCK_MONOTONIC µs>,
// "p":"xxx..."} of about size bytes.
func appendPublication(b []byte, k, size, rooms int) []byte {
	b = append(b, `{"channel":"`...)
	if rooms > 0 {
		b = append(b, 'r')
		b = strconv.AppendInt(b, int64(k%rooms), 10)
	} else {
		b = append(b, centrifugoChannel...)
	}
	b = append(b, `","data":{"t":`...)
	n := len(b)
	b = strconv.AppendInt(b, mono.Micros(), 10)
	b = append(b, `,"p":"`...)
	pad := max(1, size-(len(b)-n)-len(`{"t":"}`))
	for range pad {
		b = append(b, 'x')
	}
	return append(b, `"}}`...)
}

// ---- worker side ----

var (
	centrifugoPing = []byte("{}")
	centrifugoData = []byte(`"data":{"t":`)
)

// dialCentrifugo opens a client of Centrifugo's JSON protocol: connect,
// then subscribe to channel.
func (w *worker) dialCentrifugo(d ws.Dialer, url string, idx int, channel string) (*rawConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	url = "ws" + strings.TrimPrefix(url, "http")
	conn, br, _, err := d.Dial(ctx, url+"connection/websocket")
	if err != nil {
		return nil, err
	}
	rc := newRawConn(w, idx, conn, br)
	rc.centrifugo = true
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	fail := func(err error) (*rawConn, error) {
		conn.Close()
		return nil, err
	}
	if err := rc.write([]byte(`{"id":1,"connect":{}}`)); err != nil {
		return fail(err)
	}
	if err := rc.centrifugoReply(`{"id":1,"connect":`); err != nil {
		return fail(err)
	}
	if err := rc.write([]byte(`{"id":2,"subscribe":{"channel":` + strconv.Quote(channel) + `}}`)); err != nil {
		return fail(err)
	}
	if err := rc.centrifugoReply(`{"id":2,"subscribe":`); err != nil {
		return fail(err)
	}
	_ = conn.SetDeadline(time.Time{})
	w.open.Add(1)
	return rc, nil
}

// centrifugoReply reads until the reply that starts with prefix, answering
// pings; a reply with the command's id but an error fails.
func (rc *rawConn) centrifugoReply(prefix string) error {
	id, _, _ := strings.Cut(prefix, ",")
	for {
		op, p, err := rc.next()
		if err != nil {
			return err
		}
		if op == ws.OpClose {
			return errors.New("closed by server during handshake")
		}
		if op != ws.OpText {
			continue
		}
		for line := range bytes.SplitSeq(p, []byte("\n")) {
			switch {
			case bytes.HasPrefix(line, []byte(prefix)):
				return nil
			case bytes.HasPrefix(line, []byte(id+",")):
				return fmt.Errorf("%w: %.100s", errRefused, line)
			case bytes.Equal(line, centrifugoPing):
				_ = rc.write(centrifugoPing)
			}
		}
	}
}

// centrifugoFrame counts the publications of one text frame (one message
// or several, a line each) and answers its pings.
func (rc *rawConn) centrifugoFrame(p []byte, shard int) {
	w := rc.w
	for line := range bytes.SplitSeq(p, []byte("\n")) {
		i := bytes.Index(line, centrifugoData)
		if i < 0 {
			if bytes.Equal(line, centrifugoPing) {
				_ = rc.write(centrifugoPing)
			}
			continue
		}
		w.hist.record(shard, mono.Micros()-leadingInt(line[i+len(centrifugoData):]))
		w.recv[shard].Add(1)
	}
}
