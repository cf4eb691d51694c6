package admin

import (
	"os"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-io/switchboard/engineio"
)

// serverStats is the "server_stats" payload.
type serverStats struct {
	ServerID            string           `json:"serverId"`
	Hostname            string           `json:"hostname"`
	PID                 int              `json:"pid"`
	Uptime              float64          `json:"uptime"`
	ClientsCount        int              `json:"clientsCount"`
	PollingClientsCount int64            `json:"pollingClientsCount"`
	AggregatedEvents    []aggregated     `json:"aggregatedEvents"`
	Namespaces          []namespaceStats `json:"namespaces"`
}

// namespaceStats is one namespace's local sockets.
type namespaceStats struct {
	Name         string `json:"name"`
	SocketsCount int    `json:"socketsCount"`
}

// aggregated is one bucket of engine events: a count of one type (and
// subtype, the close reason of a rawDisconnection) in the second starting
// at Timestamp (Unix milliseconds).
type aggregated struct {
	Timestamp int64  `json:"timestamp"`
	Type      string `json:"type"`
	SubType   string `json:"subType,omitempty"`
	Count     int64  `json:"count"`
}

// processStart approximates the process's start, for the uptime.
var processStart = time.Now()

// statsLoop emits "server_stats" at once, then every StatsInterval, until
// Close.
func (in *Instrumentation) statsLoop() {
	defer in.done.Done()
	host, _ := os.Hostname()
	prev := in.io.Engine().Stats()
	t := time.NewTicker(in.opts.StatsInterval)
	defer t.Stop()
	for {
		cur := in.io.Engine().Stats()
		in.emit("server_stats", in.stats(host, prev, cur))
		prev = cur
		if in.opts.Mode == Development {
			in.reportUpgrades()
		}
		select {
		case <-in.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// stats builds this node's statistics, with the engine events between the
// counters prev and cur.
func (in *Instrumentation) stats(host string, prev, cur engineio.Stats) serverStats {
	st := serverStats{ServerID: in.opts.ServerID, Hostname: host, PID: os.Getpid(),
		Uptime: time.Since(processStart).Seconds(), ClientsCount: in.io.Engine().Count(),
		PollingClientsCount: cur.Polling, AggregatedEvents: []aggregated{}}
	for _, ns := range in.io.Namespaces() {
		st.Namespaces = append(st.Namespaces, namespaceStats{Name: ns.Name(), SocketsCount: ns.Len()})
	}
	slices.SortFunc(st.Namespaces, func(a, b namespaceStats) int { return strings.Compare(a.Name, b.Name) })
	now := time.Now().Truncate(time.Second).UnixMilli()
	add := func(typ, sub string, n int64) {
		if n > 0 {
			st.AggregatedEvents = append(st.AggregatedEvents, aggregated{now, typ, sub, n})
		}
	}
	add("rawConnection", "", cur.Opened-prev.Opened)
	for reason, n := range cur.CloseReasons {
		add("rawDisconnection", reason, n-prev.CloseReasons[reason])
	}
	add("packetsIn", "", cur.PacketsIn-prev.PacketsIn)
	add("packetsOut", "", cur.PacketsOut-prev.PacketsOut)
	add("bytesIn", "", cur.BytesIn-prev.BytesIn)
	add("bytesOut", "", cur.BytesOut-prev.BytesOut)
	return st
}
