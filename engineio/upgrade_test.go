package engineio

import (
	"net/http"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/switchboard-io/switchboard/eio"
)

func TestUpgrade(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	sid := ts.handshake()
	c := ts.conn(sid)
	pending := ts.getAsync(t.Context(), sid)
	waitGetPending(t, c)

	w := ts.probe(sid)
	// Node's 100 ms check releases the pending GET with a noop, and a GET
	// arriving during the upgrade too.
	if res := awaitResponse(t, pending); res.status != 200 || res.body != "6" {
		t.Fatalf("pending GET: %d %q, want \"6\"", res.status, res.body)
	}
	if res := ts.get(sid); res.body != "6" {
		t.Fatalf("GET during upgrade: %q, want \"6\"", res.body)
	}
	// Packets sent with no GET pending wait for the next transport to ask.
	if err := c.Send(eio.NewMessage([]byte("queued"))); err != nil {
		t.Fatal(err)
	}
	if c.Transport() != TransportPolling {
		t.Fatal("upgraded before the upgrade packet")
	}
	w.writeText("5")
	w.expectText("4queued")
	if c.Transport() != TransportWebSocket {
		t.Fatalf("transport %q after the upgrade", c.Transport())
	}
	w.writeText("4over ws")
	w.expectText("4over ws")
	w.write(ws.OpBinary, []byte{1, 2, 3})
	if op, p := w.message(); op != ws.OpBinary || string(p) != "\x01\x02\x03" {
		t.Fatalf("binary echo %v %x", op, p)
	}

	// The polling transport is gone.
	expectError(t, ts.get(sid), 400, CodeBadRequest, "Bad request")
	res := ts.request(http.MethodPost, pollQuery(sid), "4x")
	expectError(t, res, 400, CodeBadRequest, "Bad request")
	if st := ts.srv.Stats(); st.Upgrades != 1 || st.WebSocket != 1 || st.Polling != 0 {
		t.Errorf("stats %+v", st)
	}
	if reason, closed := ts.h.closed(sid); closed {
		t.Fatalf("closed: %s", reason)
	}
}

// During an upgrade polling goes on as in Node: the probe does not answer
// the pending GET, packets sent meanwhile go out on polling, and a GET
// still pending when the upgrade packet arrives gets the close packet of
// the discarded transport. The check is slowed down to an hour, so that
// only packets release GETs.
func TestUpgradeKeepsPolling(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, &Options{upgradeCheck: time.Hour})
	sid := ts.handshake()
	c := ts.conn(sid)
	pending := ts.getAsync(t.Context(), sid)
	waitGetPending(t, c)
	w := ts.probe(sid)
	if !c.Writable() {
		t.Error("not writable with a GET pending during the upgrade")
	}
	if err := c.Send(eio.NewMessage([]byte("during"))); err != nil {
		t.Fatal(err)
	}
	if res := awaitResponse(t, pending); res.body != "4during" {
		t.Fatalf("pending GET: %q, want the packet sent during the upgrade", res.body)
	}
	if err := c.Send(eio.NewMessage([]byte("queued"))); err != nil {
		t.Fatal(err)
	}
	if res := ts.get(sid); res.body != "4queued" {
		t.Fatalf("GET during the upgrade: %q, want the queued packet", res.body)
	}
	pending = ts.getAsync(t.Context(), sid)
	waitGetPending(t, c)
	w.writeText("5")
	if res := awaitResponse(t, pending); res.body != "1" {
		t.Fatalf("GET pending at the upgrade: %q, want \"1\"", res.body)
	}
	w.writeText("4over ws")
	w.expectText("4over ws")
}

// A second WebSocket for an upgraded session completes its handshake (101)
// and is then closed; the first one goes on.
func TestUpgradeSecondWebSocket(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	sid := ts.handshake()
	w := ts.upgrade(sid)
	second, err := ts.wsDial("EIO=4&transport=websocket&sid="+sid, ws.Dialer{})
	if err != nil {
		t.Fatalf("second WebSocket refused: %v", err)
	}
	second.expectEnd()
	w.writeText("4first")
	w.expectText("4first")
}

// A second WebSocket while an upgrade is in progress is closed after 101,
// and the first upgrade completes.
func TestUpgradeConcurrent(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	sid := ts.handshake()
	first, err := ts.wsDial("EIO=4&transport=websocket&sid="+sid, ws.Dialer{})
	if err != nil {
		t.Fatal(err)
	}
	first.writeText("2probe")
	first.expectText("3probe")
	second, err := ts.wsDial("EIO=4&transport=websocket&sid="+sid, ws.Dialer{})
	if err != nil {
		t.Fatalf("second WebSocket refused: %v", err)
	}
	second.expectEnd()
	first.writeText("5")
	first.writeText("4done")
	first.expectText("4done")
}

// Node also accepts the upgrade packet without a probe first.
func TestUpgradeWithoutProbe(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	sid := ts.handshake()
	w, err := ts.wsDial("EIO=4&transport=websocket&sid="+sid, ws.Dialer{})
	if err != nil {
		t.Fatal(err)
	}
	w.writeText("5")
	w.writeText("4hi")
	w.expectText("4hi")
}

// Anything but the probe or the upgrade packet aborts the upgrade: the new
// WebSocket is closed and the session keeps polling.
func TestUpgradeAborted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		steps func(w *wsClient)
	}{
		{"message before probe", func(w *wsClient) { w.writeText("4early") }},
		{"message after probe", func(w *wsClient) {
			w.writeText("2probe")
			w.expectText("3probe")
			w.writeText("4early")
		}},
		{"binary after probe", func(w *wsClient) {
			w.writeText("2probe")
			w.expectText("3probe")
			w.write(ws.OpBinary, []byte("5"))
		}},
		{"client closes", func(w *wsClient) {
			w.writeText("2probe")
			w.expectText("3probe")
			w.writeFrame(ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, nil)
			sid := ts.handshake()
			w, err := ts.wsDial("EIO=4&transport=websocket&sid="+sid, ws.Dialer{})
			if err != nil {
				t.Fatal(err)
			}
			tt.steps(w)
			w.expectEnd()
			checkStillPolling(t, ts, sid)
		})
	}
}

// checkStillPolling checks that session sid is open and polling, with its
// handler messages flowing.
func checkStillPolling(t *testing.T, ts *testServer, sid string) {
	t.Helper()
	c := ts.conn(sid)
	waitFor(t, "the upgrade to be abandoned", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.ws == nil && !c.upgrading
	})
	if c.Transport() != TransportPolling {
		t.Fatalf("transport %q", c.Transport())
	}
	ts.post(sid, "4still polling")
	if res := ts.get(sid); res.body != "4still polling" {
		t.Fatalf("GET %q", res.body)
	}
	if reason, closed := ts.h.closed(sid); closed {
		t.Fatalf("closed: %s", reason)
	}
}

// Without the upgrade packet within UpgradeTimeout the new WebSocket is
// closed and the session keeps polling.
func TestUpgradeTimeout(t *testing.T) {
	t.Parallel()
	for _, probe := range []bool{false, true} {
		t.Run(map[bool]string{false: "silent", true: "probed"}[probe], func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, &Options{UpgradeTimeout: 200 * time.Millisecond})
			sid := ts.handshake()
			start := time.Now()
			w, err := ts.wsDial("EIO=4&transport=websocket&sid="+sid, ws.Dialer{})
			if err != nil {
				t.Fatal(err)
			}
			if probe {
				w.writeText("2probe")
				w.expectText("3probe")
			}
			w.expectEnd()
			if elapsed := time.Since(start); elapsed < 200*time.Millisecond {
				t.Fatalf("closed after %v, before the upgrade timeout", elapsed)
			}
			checkStillPolling(t, ts, sid)
		})
	}
}

// With upgrades disabled, an upgrade WebSocket is closed after 101.
func TestUpgradeDisabled(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, &Options{DisableUpgrades: true})
	sid := ts.handshake()
	w, err := ts.wsDial("EIO=4&transport=websocket&sid="+sid, ws.Dialer{})
	if err != nil {
		t.Fatal(err)
	}
	w.expectEnd()
	checkStillPolling(t, ts, sid)
}

// A session closed during the probe aborts the upgrade.
func TestUpgradeSessionClosed(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	sid := ts.handshake()
	w := ts.probe(sid)
	ts.post(sid, "1")
	if got := ts.h.waitClose(t, sid); got != ReasonTransportClose {
		t.Fatalf("reason %q", got)
	}
	w.expectEnd()
	ts.gone(sid)
}

// A session closed gracefully during the upgrade finishes it, then delivers
// its queue and closes on the WebSocket.
func TestUpgradeWhileClosing(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, nil)
	sid := ts.handshake()
	c := ts.conn(sid)
	w := ts.probe(sid)
	if err := c.Send(eio.NewMessage([]byte("last words"))); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, closed := ts.h.closed(sid); closed {
		t.Fatal("closed before delivering its queue")
	}
	w.writeText("5")
	w.expectText("4last words")
	if code := w.expectClose(); code != ws.StatusNormalClosure {
		t.Fatalf("close code %d", code)
	}
	if got := ts.h.waitClose(t, sid); got != ReasonForcedClose {
		t.Fatalf("reason %q", got)
	}
}
