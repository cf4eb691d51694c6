package main

// The worker: a process holding many minimal Socket.IO clients over raw
// WebSocket (gobwas/ws), which only connect, join a room, answer pings and
// count the "tick" events they receive with their latency. The driver starts
// workers (this binary with -worker) so that connections spread over several
// processes (the file limit) and source addresses (the ephemeral ports of one
// address), and talks to each over stdin/stdout, one JSON line per command
// and per answer.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"github.com/switchboard-io/switchboard/bench/internal/mono"
)

// command is one request of the driver to a worker.
type command struct {
	Op string `json:"op"` // connect, reset, snap, stopread, draw, close

	// Proto is the clients' protocol: Socket.IO when empty, or
	// protoCentrifugo (Centrifugo's JSON protocol, centrifugo.go).
	Proto string `json:"proto,omitempty"`

	// connect
	URLs    []string `json:"urls,omitempty"` // client i connects to URLs[i % len]
	N       int      `json:"n,omitempty"`
	Base    int      `json:"base,omitempty"` // global index of the first new client
	Src     string   `json:"src,omitempty"`  // source IP of the connections
	Conc    int      `json:"conc,omitempty"` // connections opened in parallel
	PerRoom int      `json:"perRoom,omitempty"`
	Rooms   int      `json:"rooms,omitempty"` // client i joins r((i/PerRoom) % Rooms)

	// stopread: clients whose global index is a multiple of Every stop
	// reading. At connect, those clients get a receive buffer of RcvBuf
	// bytes (SO_RCVBUF, which also stops its autotuning) when RcvBuf > 0,
	// as a client on a slow link has: the kernel then holds little of what
	// they do not read, and the server sees the backlog.
	Every  int `json:"every,omitempty"`
	RcvBuf int `json:"rcvBuf,omitempty"`

	// draw: the worker's first client emits Rate "drawing" events a
	// second for DurMS milliseconds (see drawLoop).
	Rate  float64 `json:"rate,omitempty"`
	DurMS int     `json:"durMS,omitempty"`
}

// answer is a worker's reply.
type answer struct {
	Err string `json:"err,omitempty"`

	Connected int     `json:"connected,omitempty"`
	Failed    int     `json:"failed,omitempty"`
	FirstErr  string  `json:"firstErr,omitempty"`
	Seconds   float64 `json:"seconds,omitempty"`

	Recv       int64       `json:"recv"`       // ticks received since reset (reset: before it)
	Hist       [][2]uint64 `json:"hist"`       // their latency (µs)
	Open       int64       `json:"open"`       // connections open now
	Closed     int64       `json:"closed"`     // connections ended by the server since start
	ClosedSlow int64       `json:"closedSlow"` // of which with close code 1008 (policy violation: slow client)
	Stopped    int         `json:"stopped"`    // clients not reading
}

type worker struct {
	hist       shardedHist
	recv       [histShards]paddedCounter
	open       atomic.Int64
	closed     atomic.Int64
	closedSlow atomic.Int64

	mu    sync.Mutex
	conns []*rawConn
	quit  chan struct{}
}

type paddedCounter struct {
	atomic.Int64
	_ [56]byte
}

func runWorker() {
	w := &worker{quit: make(chan struct{})}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var c command
		var a answer
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			a.Err = err.Error()
		} else {
			a = w.do(c)
		}
		if c.Op == "close" {
			_ = out.Encode(a)
			os.Exit(0)
		}
		if err := out.Encode(a); err != nil {
			os.Exit(1)
		}
	}
	w.closeAll()
}

func (w *worker) do(c command) answer {
	switch c.Op {
	case "connect":
		return w.connect(c)
	case "reset":
		// Recv is what the clients received since the last reset: the
		// drain after a measurement waits until it stays at zero.
		w.hist.reset()
		var n int64
		for i := range w.recv {
			n += w.recv[i].Swap(0)
		}
		a := w.status()
		a.Recv = n
		return a
	case "snap":
		a := w.status()
		a.Hist = w.hist.snapshot()
		return a
	case "stopread":
		w.mu.Lock()
		n := 0
		for _, rc := range w.conns {
			if c.Every > 0 && rc.idx%c.Every == 0 {
				rc.stop.Store(true)
				n++
			}
		}
		w.mu.Unlock()
		a := w.status()
		a.Stopped = n
		return a
	case "draw":
		return w.draw(c)
	case "close":
		w.closeAll()
		return w.status()
	}
	return answer{Err: "unknown op " + c.Op}
}

func (w *worker) status() answer {
	var n int64
	for i := range w.recv {
		n += w.recv[i].Load()
	}
	return answer{Recv: n, Open: w.open.Load(), Closed: w.closed.Load(), ClosedSlow: w.closedSlow.Load()}
}

func (w *worker) closeAll() {
	w.mu.Lock()
	conns := w.conns
	w.conns = nil
	w.mu.Unlock()
	select {
	case <-w.quit:
	default:
		close(w.quit)
	}
	for _, rc := range conns {
		rc.conn.Close()
	}
}

// connect opens c.N clients, c.Conc at a time, and reports how long it took.
func (w *worker) connect(c command) answer {
	conc := max(c.Conc, 1)
	var src net.Addr
	if c.Src != "" {
		src = &net.TCPAddr{IP: net.ParseIP(c.Src)}
	}
	dialerFor := func(idx int) ws.Dialer {
		return ws.Dialer{
			Timeout: 20 * time.Second,
			NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
				d := net.Dialer{LocalAddr: src}
				if c.RcvBuf > 0 && c.Every > 0 && idx%c.Every == 0 {
					d.Control = func(_, _ string, rc syscall.RawConn) error {
						var serr error
						err := rc.Control(func(fd uintptr) {
							serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, c.RcvBuf)
						})
						return errors.Join(err, serr)
					}
				}
				return d.DialContext(ctx, network, addr)
			},
		}
	}
	var (
		next     atomic.Int64
		failed   atomic.Int64
		firstErr atomic.Value
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= c.N {
					return
				}
				idx := c.Base + i
				room := ""
				if c.PerRoom > 0 && c.Rooms > 0 {
					room = "r" + strconv.Itoa((idx/c.PerRoom)%c.Rooms)
				}
				url := c.URLs[idx%len(c.URLs)]
				var rc *rawConn
				var err error
				if c.Proto == protoCentrifugo {
					rc, err = w.dialCentrifugo(dialerFor(idx), url, idx, cmp.Or(room, centrifugoChannel))
				} else {
					rc, err = w.dial(dialerFor(idx), url, idx, room)
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				w.mu.Lock()
				w.conns = append(w.conns, rc)
				w.mu.Unlock()
				go rc.readLoop()
			}
		}()
	}
	wg.Wait()
	a := w.status()
	a.Seconds = time.Since(start).Seconds()
	a.Connected = c.N - int(failed.Load())
	a.Failed = int(failed.Load())
	if e, ok := firstErr.Load().(string); ok {
		a.FirstErr = e
	}
	return a
}

// rawConn is one minimal Socket.IO client on the main namespace.
type rawConn struct {
	w    *worker
	idx  int
	conn net.Conn
	br   *bufio.Reader
	buf  []byte
	stop atomic.Bool // stop reading (a slow client)
	// centrifugo: a client of Centrifugo's JSON protocol (centrifugo.go).
	centrifugo bool

	writeMu sync.Mutex
}

var errRefused = errors.New("connect refused")

// dial opens the WebSocket, reads the Engine.IO open packet, connects to
// the main namespace and joins room when given.
func (w *worker) dial(d ws.Dialer, url string, idx int, room string) (*rawConn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	url = "ws" + strings.TrimPrefix(url, "http")
	conn, br, _, err := d.Dial(ctx, url+"socket.io/?EIO=4&transport=websocket")
	if err != nil {
		return nil, err
	}
	rc := newRawConn(w, idx, conn, br)
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	fail := func(err error) (*rawConn, error) {
		conn.Close()
		return nil, err
	}
	if _, err := rc.expect("0"); err != nil {
		return fail(err)
	}
	if err := rc.write([]byte("40")); err != nil {
		return fail(err)
	}
	p, err := rc.expect("4")
	if err != nil {
		return fail(err)
	}
	if !bytes.HasPrefix(p, []byte("40")) {
		return fail(fmt.Errorf("%w: %.60s", errRefused, p))
	}
	if room != "" {
		if err := rc.write([]byte(`420["join",` + strconv.Quote(room) + `]`)); err != nil {
			return fail(err)
		}
		if _, err := rc.expect("430"); err != nil {
			return fail(err)
		}
	}
	_ = conn.SetDeadline(time.Time{})
	w.open.Add(1)
	return rc, nil
}

// newRawConn returns the client of connection conn, which the WebSocket
// handshake left with br (nil when it read nothing past the handshake).
func newRawConn(w *worker, idx int, conn net.Conn, br *bufio.Reader) *rawConn {
	if br == nil {
		br = bufio.NewReaderSize(conn, 4096)
	}
	return &rawConn{w: w, idx: idx, conn: conn, br: br, buf: make([]byte, 0, 256)}
}

// expect reads text frames until one starts with prefix, answering pings.
func (rc *rawConn) expect(prefix string) ([]byte, error) {
	for {
		op, p, err := rc.next()
		if err != nil {
			return nil, err
		}
		if op == ws.OpClose {
			return nil, errors.New("closed by server during handshake")
		}
		if op != ws.OpText {
			continue
		}
		if len(p) == 1 && p[0] == '2' {
			_ = rc.write([]byte("3"))
			continue
		}
		if bytes.HasPrefix(p, []byte(prefix)) {
			return p, nil
		}
	}
}

// next reads one frame into rc.buf (servers do not fragment these small
// messages; a fragment is returned as is, which only the tick parser sees).
func (rc *rawConn) next() (ws.OpCode, []byte, error) {
	h, err := ws.ReadHeader(rc.br)
	if err != nil {
		return 0, nil, err
	}
	if h.Length > 64<<20 {
		return 0, nil, errors.New("frame too large")
	}
	n := int(h.Length)
	if cap(rc.buf) < n {
		rc.buf = make([]byte, n)
	}
	p := rc.buf[:n]
	if _, err := io.ReadFull(rc.br, p); err != nil {
		return 0, nil, err
	}
	if h.Masked {
		ws.Cipher(p, h.Mask, 0)
	}
	return h.OpCode, p, nil
}

func (rc *rawConn) write(p []byte) error {
	rc.writeMu.Lock()
	defer rc.writeMu.Unlock()
	f := ws.NewTextFrame(append([]byte(nil), p...))
	return ws.WriteFrame(rc.conn, ws.MaskFrameInPlace(f))
}

var (
	tickPrefix    = []byte(`42["tick","`)
	drawingPrefix = []byte(`42["drawing",{`)
	drawingTime   = []byte(`"t":`)
)

// sentAt returns the emission time (µs, bench/internal/mono) a tick or a
// stroke carries, and false for any other packet.
func sentAt(p []byte) (int64, bool) {
	var digits []byte
	switch {
	case bytes.HasPrefix(p, tickPrefix):
		digits = p[len(tickPrefix):]
	case bytes.HasPrefix(p, drawingPrefix):
		i := bytes.Index(p, drawingTime)
		if i < 0 {
			return 0, false
		}
		// Switchboard's whiteboard relays the annotation in its canonical
		// form, a JSON number such as 7.8383153152e+10: read it whole.
		num := p[i+len(drawingTime):]
		if j := bytes.IndexAny(num, ",}"); j >= 0 {
			num = num[:j]
		}
		f, err := strconv.ParseFloat(string(num), 64)
		return int64(f), err == nil
	default:
		return 0, false
	}
	return leadingInt(digits), true
}

// leadingInt returns the decimal number at the start of b.
func leadingInt(b []byte) int64 {
	var v int64
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			break
		}
		v = v*10 + int64(ch-'0')
	}
	return v
}

// readLoop counts ticks and records their latency until the connection
// ends, or stops reading for good once rc.stop is set.
func (rc *rawConn) readLoop() {
	w := rc.w
	shard := rc.idx % histShards
	defer func() {
		w.open.Add(-1)
		rc.conn.Close()
	}()
	for {
		if rc.stop.Load() {
			<-w.quit
			return
		}
		op, p, err := rc.next()
		if err != nil {
			select {
			case <-w.quit:
			default:
				w.closed.Add(1)
			}
			return
		}
		switch op {
		case ws.OpText:
			if rc.centrifugo {
				rc.centrifugoFrame(p, shard)
			} else if ts, ok := sentAt(p); ok {
				w.hist.record(shard, mono.Micros()-ts)
				w.recv[shard].Add(1)
			} else if len(p) == 1 && p[0] == '2' {
				_ = rc.write([]byte("3"))
			}
		case ws.OpClose:
			w.closed.Add(1)
			if len(p) >= 2 && binary.BigEndian.Uint16(p) == uint16(ws.StatusPolicyViolation) {
				w.closedSlow.Add(1)
			}
			return
		case ws.OpPing:
			rc.writeMu.Lock()
			_ = ws.WriteFrame(rc.conn, ws.MaskFrameInPlace(ws.NewPongFrame(append([]byte(nil), p...))))
			rc.writeMu.Unlock()
		}
	}
}

// draw starts drawLoop on the worker's first client and returns at once.
func (w *worker) draw(c command) answer {
	w.mu.Lock()
	var rc *rawConn
	if len(w.conns) > 0 {
		rc = w.conns[0]
	}
	w.mu.Unlock()
	if rc == nil {
		return answer{Err: "draw: no client connected"}
	}
	if !(c.Rate > 0) || c.DurMS <= 0 {
		return answer{Err: "draw: rate and duration must be positive"}
	}
	go rc.drawLoop(c.Rate, time.Duration(c.DurMS)*time.Millisecond, w.quit)
	return w.status()
}

// drawLoop emits "drawing" strokes, as the whiteboard page does while the
// mouse moves: stroke k at k/rate seconds from the start, for d, each a
// small object whose "t" is its emission time (µs, bench/internal/mono).
func (rc *rawConn) drawLoop(rate float64, d time.Duration, quit <-chan struct{}) {
	start := time.Now()
	period := time.Duration(float64(time.Second) / rate)
	for k := 0; ; k++ {
		at := start.Add(time.Duration(k) * period)
		if at.Sub(start) >= d {
			return
		}
		select {
		case <-quit:
			return
		case <-time.After(time.Until(at)):
		}
		x := k % 997 // coordinates as fractions of the canvas, as the page sends them
		stroke := fmt.Sprintf(`42["drawing",{"t":%d,"x0":0.%03d,"y0":0.%03d,"x1":0.%03d,"y1":0.%03d,"color":"#1e90ff"}]`,
			mono.Micros(), x, x/2, x+2, x/2+1)
		if err := rc.write([]byte(stroke)); err != nil {
			return
		}
	}
}
