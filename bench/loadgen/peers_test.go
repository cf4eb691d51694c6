package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/gobwas/ws"
)

// A publication is valid JSON for Centrifugo's API, goes to the common
// channel or to room r(k % rooms), and carries its timestamp first.
func TestAppendPublication(t *testing.T) {
	for _, rooms := range []int{0, 7} {
		b := appendPublication(nil, 10, 100, rooms)
		var p struct {
			Channel string `json:"channel"`
			Data    struct {
				T int64  `json:"t"`
				P string `json:"p"`
			} `json:"data"`
		}
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		want := centrifugoChannel
		if rooms > 0 {
			want = "r3"
		}
		if p.Channel != want || p.Data.T <= 0 || strings.Trim(p.Data.P, "x") != "" {
			t.Fatalf("publication %s", b)
		}
		data, _ := json.Marshal(p.Data)
		if len(data) != 100 {
			t.Fatalf("data of %d bytes, want 100: %s", len(data), data)
		}
	}
}

// A frame of several lines counts each publication and answers the ping.
func TestCentrifugoFrame(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	w := &worker{quit: make(chan struct{})}
	rc := newRawConn(w, 0, client, nil)
	pub := `{"push":{"channel":"bench","pub":{"data":{"t":1,"p":"x"},"offset":1}}}`
	pong := make(chan []byte, 1)
	go func() {
		br := bufio.NewReader(server)
		h, err := ws.ReadHeader(br)
		if err != nil {
			pong <- nil
			return
		}
		p := make([]byte, h.Length)
		_, _ = br.Read(p)
		ws.Cipher(p, h.Mask, 0)
		pong <- p
	}()
	rc.centrifugoFrame([]byte(pub+"\n{}\n"+pub), 0)
	if got := <-pong; string(got) != "{}" {
		t.Fatalf("answered the ping with %q", got)
	}
	var n int64
	for i := range w.recv {
		n += w.recv[i].Load()
	}
	if n != 2 {
		t.Fatalf("counted %d publications, want 2", n)
	}
}

// A server that does not run a scenario gets a column whose first row says
// why, and no advantage column.
func TestReportWhyNot(t *testing.T) {
	rs := []result{
		{Scenario: "S5", Config: "concurrency 1", Server: "switchboard", Run: 1, M: map[string]float64{"acks_per_s": 2}},
		{Scenario: "S5", Config: "concurrency 1", Server: "node", Run: 1, M: map[string]float64{"acks_per_s": 1}},
	}
	skips := skipsOf([]string{"switchboard", "node", "centrifugo"}, "S5")
	if len(skips) != 1 || skips[0].Server != "centrifugo" {
		t.Fatalf("skips %v", skips)
	}
	agg, configs := aggregate(rs)
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	writeScenario(w, "S5", columns(rs, skips), configs, rs, agg, skips)
	out := b.String()
	if !strings.Contains(out, "| Centrifugo (min–max) |") || !strings.Contains(out, whyNot["centrifugo"]["S5"]) {
		t.Fatalf("no Centrifugo column with its reason:\n%s", out)
	}
	if strings.Contains(out, "advantage over Centrifugo") || !strings.Contains(out, "advantage over Node") {
		t.Fatalf("advantage columns:\n%s", out)
	}
}

// A stroke's timestamp is read in whichever form the server relays the
// JSON number: as sent, or in Switchboard's canonical exponent form.
func TestSentAtStroke(t *testing.T) {
	for _, p := range []string{
		`42["drawing",{"t":78383153152,"x0":0.1}]`,
		`42["drawing",{"id":"1-0","x0":0.1,"color":"#1e90ff","t":7.8383153152e+10}]`,
	} {
		if ts, ok := sentAt([]byte(p)); !ok || ts != 78383153152 {
			t.Fatalf("%s: %d, %v", p, ts, ok)
		}
	}
	if ts, ok := sentAt([]byte(`42["tick","123:xx"]`)); !ok || ts != 123 {
		t.Fatalf("tick: %d, %v", ts, ok)
	}
}
