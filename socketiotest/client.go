package socketiotest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-io/switchboard/parser"
)

// Transport names, as in the Engine.IO "transport" query parameter.
const (
	Polling   = "polling"
	WebSocket = "websocket"
)

// Transports lists every transport a Client speaks, for tests that run
// over each one.
var Transports = []string{Polling, WebSocket}

// ErrClosed is returned by the reads and writes of a Client whose
// connection has ended (see Client.Err for why).
var ErrClosed = errors.New("socketiotest: connection closed")

// DialOptions configure a Client. The zero value is valid.
type DialOptions struct {
	// Header is added to every HTTP request, the handshake included (an
	// Origin header, for instance).
	Header http.Header
	// Query is added to the handshake URL's query.
	Query url.Values
	// NoPong stops the client from answering the server's pings, so that
	// the server closes the connection with "ping timeout".
	NoPong bool
	// ManualPoll stops a polling client from keeping a GET pending: the
	// server can send nothing until Poll is called. It makes the client
	// "not writable" for volatile packets.
	ManualPoll bool
	// NoRead stops a WebSocket client from reading anything after the
	// handshake, so that the server's writes block: a slow client.
	NoRead bool
	// HTTPClient sends the polling requests. Nil means a client of its own,
	// closed with the Client (TLS settings from TLSConfig).
	HTTPClient *http.Client
	// TLSConfig is used for https and wss URLs.
	TLSConfig *tls.Config
	// MaxAttachments bounds the attachments of received packets. Zero
	// means parser.DefaultMaxAttachments.
	MaxAttachments int
	// Msgpack makes the client speak the msgpack parser's format (a server
	// with socketio.ParserMsgpack): every packet is one binary message.
	Msgpack bool
}

// Handshake is the Engine.IO open packet the server sent.
type Handshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int64    `json:"maxPayload"`
}

// engineTransport is the Engine.IO transport under a Client.
type engineTransport interface {
	// send writes Engine.IO packets in order: text packets with their type
	// prefix ("42[...]", "3"), binary messages as raw bytes.
	send(ctx context.Context, pkts []enginePacket) error
	// poll runs one polling GET (ManualPoll only).
	poll(ctx context.Context) error
	// close ends the transport and waits for its goroutines.
	close()
}

// enginePacket is one Engine.IO packet: text (type byte first) or a binary
// message.
type enginePacket struct {
	data   []byte
	binary bool
}

// Client is a raw Socket.IO client for tests. Create one with Dial or
// Server.Dial; Close it when done (Server.Dial does so at cleanup).
type Client struct {
	// Handshake is the server's Engine.IO open packet.
	Handshake Handshake
	// Transport is "polling" or "websocket".
	Transport string

	opts    DialOptions
	tr      engineTransport
	decoder parser.Decoder // used by the transport's reading goroutine only
	acks    atomic.Uint64
	pings   atomic.Int64
	gzipped atomic.Int64
	closing atomic.Bool

	mu      sync.Mutex
	inbox   []*parser.Packet
	changed chan struct{} // closed (and replaced) when inbox or state changes
	done    chan struct{}
	err     error
}

// Dial opens an Engine.IO session at base, the Socket.IO endpoint such as
// "http://127.0.0.1:8080/socket.io/", over transport. It joins no
// namespace: call Connect.
func Dial(ctx context.Context, base, transport string, opts *DialOptions) (*Client, error) {
	c := &Client{Transport: transport, changed: make(chan struct{}), done: make(chan struct{})}
	if opts != nil {
		c.opts = *opts
	}
	c.decoder.MaxAttachments = c.opts.MaxAttachments
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	for k, v := range c.opts.Query {
		q[k] = append(q[k], v...)
	}
	q.Set("EIO", "4")
	q.Set("transport", transport)
	u.RawQuery = q.Encode()
	switch transport {
	case WebSocket:
		err = dialWebSocket(ctx, c, u)
	case Polling:
		err = dialPolling(ctx, c, u)
	default:
		err = fmt.Errorf("socketiotest: unknown transport %q", transport)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// parseOpen reads the Engine.IO open packet.
func (c *Client) parseOpen(p []byte) error {
	if len(p) == 0 || p[0] != '0' {
		return fmt.Errorf("socketiotest: expected an open packet, got %q", p)
	}
	if err := json.Unmarshal(p[1:], &c.Handshake); err != nil || c.Handshake.SID == "" {
		return fmt.Errorf("socketiotest: bad open packet %q", p)
	}
	return nil
}

// onEnginePacket handles one Engine.IO packet read from the transport. It
// returns false once the session is over.
func (c *Client) onEnginePacket(p enginePacket) bool {
	if p.binary && c.opts.Msgpack {
		return c.onDecoded(parser.DecodeMsgpack(p.data, c.decoder.MaxAttachments))
	}
	if p.binary {
		return c.onDecoded(c.decoder.DecodeBinary(p.data))
	}
	if len(p.data) == 0 {
		c.finish(fmt.Errorf("socketiotest: empty packet"))
		return false
	}
	switch p.data[0] {
	case '1':
		c.finish(errors.New("socketiotest: server sent close"))
		return false
	case '2':
		c.pings.Add(1)
		if !c.opts.NoPong {
			_ = c.sendEngine(context.Background(), enginePacket{data: []byte("3")})
		}
	case '4':
		return c.onDecoded(c.decoder.DecodeText(p.data[1:]))
	case '6':
	default:
		c.finish(fmt.Errorf("socketiotest: unexpected packet %q", p.data))
		return false
	}
	return true
}

func (c *Client) onDecoded(p *parser.Packet, err error) bool {
	if err != nil {
		c.finish(fmt.Errorf("socketiotest: decoding: %w", err))
		return false
	}
	if p != nil {
		c.mu.Lock()
		c.inbox = append(c.inbox, p)
		c.notifyLocked()
		c.mu.Unlock()
	}
	return true
}

func (c *Client) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// finish records that the connection ended because of err (the first
// reason wins).
func (c *Client) finish(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.done:
		return
	default:
	}
	c.err = err
	close(c.done)
	c.notifyLocked()
}

// Done returns a channel closed when the connection has ended: closed by
// the server, broken, or closed with Close.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended, or nil while it is open.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Pings returns the number of pings received from the server.
func (c *Client) Pings() int { return int(c.pings.Load()) }

// CompressedPolls returns the number of polling responses the server sent
// compressed (gzip or deflate).
func (c *Client) CompressedPolls() int { return int(c.gzipped.Load()) }

// Close ends the connection: it sends an Engine.IO close packet (the server
// sees "transport close"), closes the transport and waits for the client's
// goroutines. It is safe to call more than once.
func (c *Client) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if c.closing.Swap(true) {
		c.tr.close()
		return nil
	}
	_ = c.sendEngine(ctx, enginePacket{data: []byte("1")})
	c.finish(ErrClosed)
	c.tr.close()
	return nil
}

// Poll runs one long-polling GET and queues what it brings; it is for
// clients dialled with ManualPoll.
func (c *Client) Poll(ctx context.Context) error { return c.tr.poll(ctx) }

func (c *Client) sendEngine(ctx context.Context, pkts ...enginePacket) error {
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	return c.tr.send(ctx, pkts)
}

// SendRaw sends Engine.IO text packets as given, type prefix included, for
// instance `42["event"]` or "1". Several packets travel in one polling
// request.
func (c *Client) SendRaw(packets ...string) error {
	pkts := make([]enginePacket, len(packets))
	for i, p := range packets {
		pkts[i] = enginePacket{data: []byte(p)}
	}
	return c.sendEngine(context.Background(), pkts...)
}

// SendBinary sends a binary Engine.IO message.
func (c *Client) SendBinary(b []byte) error {
	return c.sendEngine(context.Background(), enginePacket{data: b, binary: true})
}

// Send sends a Socket.IO packet and its attachments.
func (c *Client) Send(p *parser.Packet) error {
	if c.opts.Msgpack {
		b, err := p.AppendMsgpack(nil)
		if err != nil {
			return err
		}
		return c.SendBinary(b)
	}
	pkts := make([]enginePacket, 0, 1+len(p.Attachments))
	pkts = append(pkts, enginePacket{data: p.AppendEncode([]byte{'4'})})
	for _, a := range p.Attachments {
		pkts = append(pkts, enginePacket{data: a, binary: true})
	}
	return c.sendEngine(context.Background(), pkts...)
}

// Next returns the first packet of the inbox that match accepts (any packet
// when match is nil), waiting for one until ctx ends. Packets it skips stay
// in the inbox, in order. Once the connection has ended and no queued
// packet matches, it returns an error wrapping ErrClosed.
func (c *Client) Next(ctx context.Context, match func(*parser.Packet) bool) (*parser.Packet, error) {
	for {
		c.mu.Lock()
		for i, p := range c.inbox {
			if match == nil || match(p) {
				c.inbox = append(c.inbox[:i], c.inbox[i+1:]...)
				c.mu.Unlock()
				return p, nil
			}
		}
		changed, err := c.changed, c.err
		c.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("%w (%v)", ErrClosed, err)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("socketiotest: waiting for a packet: %w", ctx.Err())
		}
	}
}

// ReadPacket returns the next packet received, whatever it is.
func (c *Client) ReadPacket(ctx context.Context) (*parser.Packet, error) { return c.Next(ctx, nil) }

// Pending returns the packets received and not read yet, leaving them in
// the inbox.
func (c *Client) Pending() []*parser.Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*parser.Packet(nil), c.inbox...)
}

// normNsp returns nsp with "" meaning "/".
func normNsp(nsp string) string {
	if nsp == "" {
		return "/"
	}
	if !strings.HasPrefix(nsp, "/") {
		return "/" + nsp
	}
	return nsp
}
