package redis_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/adapter/redis"
)

const redisCLI = "/usr/bin/redis-cli"

// redisCluster is a Redis Cluster of redis-server processes on loopback:
// masters first, then their replicas.
type redisCluster struct {
	nodes   []*redisServer
	masters int
	dir     string // the nodes' cluster config files
}

var (
	clusterOnce   sync.Once
	sharedCluster *redisCluster
	clusterErr    error
)

// sharedRedisCluster returns the package's Redis Cluster (3 masters, 3
// replicas), started on first use and stopped by TestMain. Tests isolate
// themselves with a Key of their own. It fails the test when redis-server
// or redis-cli is missing.
func sharedRedisCluster(t testing.TB) *redisCluster {
	t.Helper()
	requireRedis(t)
	if _, err := os.Stat(redisCLI); err != nil {
		t.Fatalf("redis-cli not installed at %s (Debian package redis-tools): the Redis Cluster tests need it", redisCLI)
	}
	clusterOnce.Do(func() { sharedCluster, clusterErr = startRedisCluster(3, 1) })
	if clusterErr != nil {
		t.Fatal(clusterErr)
	}
	return sharedCluster
}

// stopSharedCluster stops the package's Redis Cluster if it was started.
func stopSharedCluster() {
	if sharedCluster != nil {
		sharedCluster.stop()
	}
}

// startRedisCluster starts masters×(1+replicas) nodes (extra: more
// redis-server arguments for each), creates the cluster with redis-cli and
// waits until every node reports cluster_state:ok and knows every other
// node. On failure it stops what it started.
func startRedisCluster(masters, replicas int, extra ...string) (*redisCluster, error) {
	dir, err := os.MkdirTemp("", "switchboard-redis-cluster-")
	if err != nil {
		return nil, err
	}
	c := &redisCluster{dir: dir, masters: masters}
	addrs := make([]string, 0, masters*(1+replicas))
	for i := range masters * (1 + replicas) {
		r := &redisServer{cluster: true}
		r.extra = []string{"--cluster-config-file", filepath.Join(dir, fmt.Sprintf("nodes-%d.conf", i)), "--dir", dir}
		r.extra = append(r.extra, extra...)
		if err := r.launch(); err != nil {
			c.stop()
			return nil, err
		}
		c.nodes = append(c.nodes, r)
		addrs = append(addrs, r.addr())
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.Command(redisCLI, args...).CombinedOutput(); err != nil {
		c.stop()
		return nil, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := c.waitHealthy(30 * time.Second); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// waitHealthy polls CLUSTER INFO on every node until each reports
// cluster_state:ok and knows all the nodes.
func (c *redisCluster) waitHealthy(d time.Duration) error {
	known := "cluster_known_nodes:" + strconv.Itoa(len(c.nodes))
	deadline := time.Now().Add(d)
	for _, n := range c.nodes {
		for {
			info, err := n.text("CLUSTER INFO")
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, known) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("redis cluster node %s not healthy within %v: %q %v", n.addr(), d, info, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// url is a redis:// URL listing every master as a seed.
func (c *redisCluster) url() string {
	u := "redis://" + c.nodes[0].addr()
	for i, n := range c.nodes[1:c.masters] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		u += sep + "addr=" + n.addr()
	}
	return u
}

// stop kills every node by pid and removes the config files.
func (c *redisCluster) stop() {
	for _, n := range c.nodes {
		n.stop()
	}
	_ = os.RemoveAll(c.dir)
}

func (r *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// command sends one inline command to the server and returns its reply:
// a string, an int64 or a []any, an error for an error reply.
func (r *redisServer) command(cmd string) (any, error) {
	conn, err := net.DialTimeout("tcp", r.addr(), 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	br := bufio.NewReader(conn)
	if r.password != "" {
		if _, err := conn.Write([]byte("AUTH " + r.password + "\r\n")); err != nil {
			return nil, err
		}
		if _, err := readReply(br); err != nil {
			return nil, err
		}
	}
	if _, err := conn.Write([]byte(cmd + "\r\n")); err != nil {
		return nil, err
	}
	return readReply(br)
}

// text is the string reply of cmd.
func (r *redisServer) text(cmd string) (string, error) {
	v, err := r.command(cmd)
	s, ok := v.(string)
	if err == nil && !ok {
		err = fmt.Errorf("%s: reply %v is not a string", cmd, v)
	}
	return s, err
}

// readReply reads one RESP2 reply.
func readReply(br *bufio.Reader) (any, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty reply line")
	}
	body := line[1:]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return nil, fmt.Errorf("redis: %s", body)
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		_, err = io.ReadFull(br, buf)
		return string(buf[:n]), err
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = readReply(br); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("reply %q", line)
}

// TestRedisCluster runs the cross-node tests of every mode on a Redis
// Cluster of 3 masters and 3 replicas: in sharded mode the namespace,
// response and room channels hash to slots of different masters.
func TestRedisCluster(t *testing.T) {
	c := sharedRedisCluster(t)
	for _, tc := range []struct {
		name string
		f    func(*testing.T, redis.Options)
	}{
		{"Broadcast", testBroadcast},
		{"BinaryBroadcast", testBinaryBroadcast},
		{"BroadcastWithAcks", testBroadcastWithAcks},
		{"SocketsLeaveAndDisconnect", testSocketsLeaveAndDisconnect},
		{"FetchSockets", testFetchSockets},
		{"ServerSideEmit", testServerSideEmit},
	} {
		t.Run(tc.name, func(t *testing.T) { forModesOn(t, c.url(), allModes(), tc.f) })
	}
}

// shardChannels returns, for each shard channel matching pattern, the
// masters (addresses) that have subscribers to it.
func (c *redisCluster) shardChannels(t *testing.T, pattern string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, m := range c.nodes[:c.masters] {
		v, err := m.command("PUBSUB SHARDCHANNELS " + pattern)
		if err != nil {
			t.Fatal(err)
		}
		list, _ := v.([]any)
		for _, ch := range list {
			out[ch.(string)] = append(out[ch.(string)], m.addr())
		}
	}
	return out
}

// TestRedisClusterShardedRooms checks, in sharded dynamic mode on a Redis
// Cluster, that every channel is subscribed on the master of its slot
// alone and that the channels span every master; that broadcasts to all
// and to rooms from every node reach each client exactly once; and that a
// room channel is subscribed while the room has local members only.
func TestRedisClusterShardedRooms(t *testing.T) {
	c := sharedRedisCluster(t)
	opts := redis.Options{URL: c.url(), Key: "t-cluster-rooms", Sharded: true, RequestsTimeout: 2 * time.Second}
	nodes, clients := three(t, opts, nil)
	ctx := ctxT(t)
	rooms := []string{"r0", "r1", "r2", "r3", "r4", "r5"}
	for j, room := range rooms { // client j%3 joins through another node
		if err := nodes[(j+1)%3].ns().In(clients[j%3].sid).SocketsJoin(ctx, room); err != nil {
			t.Fatal(err)
		}
	}
	nsChannel := opts.Key + "#/#"
	subs := c.shardChannels(t, opts.Key+"#*")
	want := []string{nsChannel}
	for _, room := range rooms {
		want = append(want, nsChannel+room+"#")
	}
	for _, n := range nodes {
		want = append(want, nsChannel+n.a.UID()+"#")
	}
	masters := map[string]bool{}
	for _, ch := range want {
		if len(subs[ch]) != 1 {
			t.Fatalf("channel %s subscribed on masters %v, want its slot's master", ch, subs[ch])
		}
		masters[subs[ch][0]] = true
	}
	if len(subs) != len(want) || len(masters) != c.masters {
		t.Fatalf("shard channels %v: want %d channels over %d masters", subs, len(want), c.masters)
	}
	exactlyOnce(t, nodes, clients, rooms)
	// Leaving a room unsubscribes its channel; broadcasts to it reach no one.
	if err := nodes[2].ns().In(clients[0].sid).SocketsLeave(ctx, "r0"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, wait, func() bool { return len(c.shardChannels(t, nsChannel+"r0#")) == 0 })
	if err := nodes[1].ns().To("r0").Emit(ctxT(t), "gone", 1); err != nil {
		t.Fatal(err)
	}
	for _, cl := range clients {
		cl.none(200 * time.Millisecond)
	}
	for _, n := range nodes {
		if s := n.a.Stats(); !s.Connected || s.Resubscribes != 0 || s.DecodeErrors != 0 {
			t.Fatalf("stats %+v", s)
		}
	}
}

// exactlyOnce has every node broadcast rounds of events to all and to each
// room, where client j%3 is the member of rooms[j], and checks that each
// client gets each event meant for it once and nothing else.
func exactlyOnce(t *testing.T, nodes []*node, clients []*client, rooms []string) {
	t.Helper()
	const rounds = 10
	want := make([]map[string]int, len(clients))
	for i := range want {
		want[i] = map[string]int{}
	}
	for r := range rounds {
		for i, n := range nodes {
			all := fmt.Sprintf("all-%d-%d", i, r)
			if err := n.ns().Emit(ctxT(t), "e", all); err != nil {
				t.Fatal(err)
			}
			for k := range clients {
				want[k][all]++
			}
			for j, room := range rooms {
				v := fmt.Sprintf("%s-%d-%d", room, i, r)
				if err := n.ns().To(room).Emit(ctxT(t), "e", v); err != nil {
					t.Fatal(err)
				}
				want[j%len(clients)][v]++
			}
		}
	}
	for k, cl := range clients {
		got := map[string]int{}
		for range len(want[k]) {
			_, _, args := cl.event(wait)
			s, _ := args[0].String()
			got[s]++
		}
		cl.none(200 * time.Millisecond)
		if !maps.Equal(got, want[k]) {
			t.Fatalf("client %d got %v, want %v", k, got, want[k])
		}
	}
	t.Logf("%d broadcasts per node, %d events per client, each exactly once", rounds*(1+len(rooms)), len(want[0]))
}

// masterOf returns the master whose subscribers include channel.
func (c *redisCluster) masterOf(t *testing.T, channel string) *redisServer {
	t.Helper()
	subs := c.shardChannels(t, channel)
	for _, m := range c.nodes[:c.masters] {
		if len(subs[channel]) == 1 && subs[channel][0] == m.addr() {
			return m
		}
	}
	t.Fatalf("channel %s subscribed on %v", channel, subs[channel])
	return nil
}

// resubscribed waits until every node resubscribed after a loss, detected
// it, and disconnected its client; then it dials a new client per node.
func resubscribed(t *testing.T, nodes []*node, clients []*client) []*client {
	t.Helper()
	waitFor(t, 15*time.Second, func() bool {
		for _, n := range nodes {
			if s := n.a.Stats(); !s.Connected || s.Resubscribes < 1 || s.LossesDetected < 1 {
				return false
			}
		}
		return true
	})
	fresh := make([]*client, len(clients))
	for i, cl := range clients {
		select {
		case <-cl.closed:
		case <-time.After(5 * time.Second):
			t.Fatalf("client %d, which may have missed messages, was not disconnected", i)
		}
		fresh[i] = dial(t, nodes[i])
	}
	return fresh
}

// TestRedisClusterConnectionLost kills the subscription connections that
// one master holds: every node notices, resubscribes, detects the loss
// (its clients are disconnected) and delivers broadcasts again.
func TestRedisClusterConnectionLost(t *testing.T) {
	c := sharedRedisCluster(t)
	opts := redis.Options{URL: c.url(), Key: "t-cluster-lost", Sharded: true, RequestsTimeout: 2 * time.Second}
	nodes, clients := three(t, opts, nil)
	m := c.masterOf(t, opts.Key+"#/#")
	if _, err := m.command("CLIENT KILL TYPE pubsub"); err != nil {
		t.Fatal(err)
	}
	clients = resubscribed(t, nodes, clients)
	if err := nodes[1].ns().In(clients[0].sid).SocketsJoin(ctxT(t), "r"); err != nil {
		t.Fatal(err)
	}
	exactlyOnce(t, nodes, clients, []string{"r"})
}

// moveSlot moves the slot of channel (a slot without keys) from one master
// to another, as resharding does, and waits until every master agrees.
func (c *redisCluster) moveSlot(t *testing.T, channel string, from, to *redisServer) {
	t.Helper()
	slot, err := from.command("CLUSTER KEYSLOT " + channel)
	if err != nil {
		t.Fatal(err)
	}
	fromID, err1 := from.text("CLUSTER MYID")
	toID, err2 := to.text("CLUSTER MYID")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	steps := []struct {
		r   *redisServer
		cmd string
	}{
		{to, fmt.Sprintf("CLUSTER SETSLOT %d IMPORTING %s", slot, fromID)},
		{from, fmt.Sprintf("CLUSTER SETSLOT %d MIGRATING %s", slot, toID)},
		{to, fmt.Sprintf("CLUSTER SETSLOT %d NODE %s", slot, toID)},
		{from, fmt.Sprintf("CLUSTER SETSLOT %d NODE %s", slot, toID)},
	}
	for _, m := range c.nodes[:c.masters] {
		if m != from && m != to {
			steps = append(steps, struct {
				r   *redisServer
				cmd string
			}{m, fmt.Sprintf("CLUSTER SETSLOT %d NODE %s", slot, toID)})
		}
	}
	for _, s := range steps {
		if _, err := s.r.command(s.cmd); err != nil {
			t.Fatalf("%s on %s: %v", s.cmd, s.r.addr(), err)
		}
	}
	// A channel of the same slot that no one subscribes to: the owner
	// takes an SPUBLISH, the others redirect to it.
	probe := "SPUBLISH {" + channel + "}probe x"
	waitFor(t, 10*time.Second, func() bool {
		for _, m := range c.nodes[:c.masters] {
			_, err := m.command(probe)
			if m == to && err != nil || m != to && (err == nil || !strings.Contains(err.Error(), "MOVED "+fmt.Sprint(slot)+" "+to.addr())) {
				return false
			}
		}
		return true
	})
}

// TestRedisClusterSlotMoved moves the slot of the namespace channel to
// another master under three sharded nodes: the old master drops the
// channel, every node resubscribes it on the new master, detects the loss
// (its clients are disconnected) and delivers broadcasts again.
func TestRedisClusterSlotMoved(t *testing.T) {
	c := sharedRedisCluster(t)
	opts := redis.Options{URL: c.url(), Key: "t-cluster-moved", Sharded: true, RequestsTimeout: 2 * time.Second}
	nodes, clients := three(t, opts, nil)
	channel := opts.Key + "#/#"
	from := c.masterOf(t, channel)
	to := c.nodes[0]
	if to == from {
		to = c.nodes[1]
	}
	c.moveSlot(t, channel, from, to)
	t.Cleanup(func() { c.moveSlot(t, channel, to, from) })
	clients = resubscribed(t, nodes, clients)
	if m := c.masterOf(t, channel); m != to {
		t.Fatalf("channel subscribed on %s, want %s", m.addr(), to.addr())
	}
	if err := nodes[1].ns().In(clients[0].sid).SocketsJoin(ctxT(t), "r"); err != nil {
		t.Fatal(err)
	}
	exactlyOnce(t, nodes, clients, []string{"r"})
}
