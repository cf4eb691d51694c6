package redis_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/adapter/redis"
)

const masterSet = "switchboard"

// sentinelSet is a master, its replica and three Sentinels watching them.
type sentinelSet struct {
	master, replica *redisServer
	sentinels       []*redisServer
}

// startSentinels starts the set and waits until the replica is in sync;
// the processes end with the test.
func startSentinels(t *testing.T) *sentinelSet {
	t.Helper()
	requireRedis(t)
	s := &sentinelSet{master: ownRedis(t)}
	s.replica = &redisServer{extra: []string{"--replicaof", "127.0.0.1", strconv.Itoa(s.master.port),
		"--dir", t.TempDir()}} // where it keeps the master's data
	if err := s.replica.launch(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.replica.stop)
	waitFor(t, 20*time.Second, func() bool {
		info, err := s.replica.text("INFO replication")
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	for range 3 {
		r := &redisServer{}
		startSentinel(t, r, fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 2\n"+
			"sentinel down-after-milliseconds %s 1000\nsentinel failover-timeout %s 10000\n",
			masterSet, s.master.port, masterSet, masterSet))
		s.sentinels = append(s.sentinels, r)
	}
	return s
}

// startSentinel runs r as a Sentinel with the configuration lines conf
// (its port and address added), until the test ends.
func startSentinel(t *testing.T, r *redisServer, conf string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "sentinel.conf")
	r.conf = func() string {
		if err := os.WriteFile(file, fmt.Appendf(nil, "port %d\nbind 127.0.0.1\n%s", r.port, conf), 0o600); err != nil {
			t.Error(err)
		}
		return file
	}
	if err := r.launch(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.stop)
}

// url lists the Sentinels as seeds, with the master set's name.
func (s *sentinelSet) url() string {
	u := "redis://" + s.sentinels[0].addr() + "?master_set=" + masterSet
	for _, r := range s.sentinels[1:] {
		u += "&addr=" + r.addr()
	}
	return u
}

// masterPort is the master's port according to Sentinel i.
func (s *sentinelSet) masterPort(i int) string {
	v, err := s.sentinels[i].command("SENTINEL GET-MASTER-ADDR-BY-NAME " + masterSet)
	if a, ok := v.([]any); err == nil && ok && len(a) == 2 {
		p, _ := a[1].(string)
		return p
	}
	return ""
}

// failover runs SENTINEL FAILOVER (once a Sentinel knows a replica it can
// promote) and waits until every Sentinel names the replica as master.
func (s *sentinelSet) failover(t *testing.T) {
	t.Helper()
	waitFor(t, 30*time.Second, func() bool {
		v, err := s.sentinels[0].command("SENTINEL FAILOVER " + masterSet)
		return err == nil && v == "OK"
	})
	want := strconv.Itoa(s.replica.port)
	waitFor(t, 30*time.Second, func() bool {
		for i := range s.sentinels {
			if s.masterPort(i) != want {
				return false
			}
		}
		return true
	})
}

// TestSentinelFailover streams broadcasts from three classic nodes behind
// Sentinel through a SENTINEL FAILOVER: each node's subscription moves to
// the new master as soon as Sentinel switches (rather than staying deaf on
// the old master until it is demoted), the loss is counted, and each
// client is disconnected at most once.
func TestSentinelFailover(t *testing.T) {
	s := startSentinels(t)
	opts := redis.Options{URL: s.url(), Key: "t-sentinel-failover", RequestsTimeout: 2 * time.Second, Logger: quietLogger}
	nodes := newCluster(t, 3, opts, nil)
	st := startStream(t, nodes, 50*time.Millisecond)
	r := st.run(func() { s.failover(t) })
	t.Logf("SENTINEL FAILOVER: %v", r)
	for i, n := range nodes {
		stats := n.a.Stats()
		t.Logf("node %d: %+v", i, stats)
		if stats.Resubscribes < 1 || stats.LossesDetected < 1 {
			t.Errorf("node %d did not move its subscription or did not count the loss: %+v", i, stats)
		}
		if r.reconnects[i] > 1 {
			t.Errorf("client of node %d reconnected %d times, want at most once", i, r.reconnects[i])
		}
	}
	checkCount(t, nodes)
}

// checkCount waits until every node counts every node and a cluster
// request reaches them all (after a failover a node's client may need a
// topology refresh first: until then its count is an error, never a
// smaller number), and logs how long that took.
func checkCount(t *testing.T, nodes []*node) {
	t.Helper()
	start := time.Now()
	var errs []error
	waitFor(t, 20*time.Second, func() bool {
		errs = errs[:0]
		for i, n := range nodes {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			c, err := n.ns().ServerCount(ctx)
			cancel()
			if err == nil && c != len(nodes) {
				t.Fatalf("node %d counts %d servers, want %d", i, c, len(nodes))
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
		return len(errs) == 0
	})
	t.Logf("every node counts %d servers, %v after the check began", len(nodes), time.Since(start).Round(10*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	socks, err := nodes[0].ns().FetchSockets(ctx)
	if err != nil || len(socks) != len(nodes) {
		t.Errorf("fetchSockets: %d sockets (%v), want %d", len(socks), err, len(nodes))
	}
}

// TestRedisClusterMasterKilled streams broadcasts from three nodes of each
// pub/sub mode through the kill -9 of a Redis Cluster master that is the
// first seed of their URL, on a cluster of its own (node timeout 2 s).
// Publishes go on through the other nodes, subscriptions move, each client
// is disconnected at most once, and a node started after the kill, with
// the same seeds, starts and is counted.
func TestRedisClusterMasterKilled(t *testing.T) {
	requireRedis(t)
	for _, m := range []mode{{"classic", redis.Options{}}, {"sharded", redis.Options{Sharded: true}}} {
		t.Run(m.name, func(t *testing.T) {
			c, err := startRedisCluster(3, 1, "--cluster-node-timeout", "2000", "--repl-diskless-sync-delay", "0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.stop)
			opts := m.opts
			opts.URL, opts.Key, opts.RequestsTimeout, opts.Logger = c.url(), "t-killed", 2*time.Second, quietLogger
			nodes := newCluster(t, 3, opts, nil)
			victim, heir := c.nodes[0], c.replicaOf(t, c.nodes[0])
			waitFor(t, 30*time.Second, func() bool { // a replica that never synced does not take over
				info, err := heir.text("INFO replication")
				return err == nil && strings.Contains(info, "master_link_status:up")
			})
			st := startStream(t, nodes, 50*time.Millisecond)
			r := st.run(func() {
				victim.stop()
				c.waitPromoted(t, heir)
			})
			t.Logf("master killed: %v", r)
			waitFor(t, 30*time.Second, func() bool { // every subscription back, the stream's or not
				for _, n := range nodes {
					if !n.a.Stats().Connected {
						return false
					}
				}
				return true
			})
			for i, n := range nodes {
				t.Logf("node %d: %+v", i, n.a.Stats())
				if r.reconnects[i] > 1 {
					t.Errorf("client of node %d reconnected %d times, want at most once", i, r.reconnects[i])
				}
			}
			nodes = append(nodes, newNode(t, opts, nil)) // the first seed is dead
			waitFor(t, 20*time.Second, func() bool {
				n, err := nodes[3].ns().ServerCount(context.Background())
				return err == nil && n == 4
			})
			newTally(t, nodes[3])
			checkCount(t, nodes)
		})
	}
}

// replicaOf returns the replica of master.
func (c *redisCluster) replicaOf(t *testing.T, master *redisServer) *redisServer {
	t.Helper()
	for _, n := range c.nodes[c.masters:] {
		if info, err := n.text("INFO replication"); err == nil && strings.Contains(info, "master_port:"+strconv.Itoa(master.port)+"\r") {
			return n
		}
	}
	t.Fatalf("no replica of %s", master.addr())
	return nil
}

// TestSentinel runs the cross-node tests of every mode through Sentinel
// (the URL lists the three Sentinels and the master set's name).
func TestSentinel(t *testing.T) {
	s := startSentinels(t)
	modes := allModes()
	for _, tc := range []struct {
		name string
		f    func(*testing.T, redis.Options)
	}{
		{"Broadcast", testBroadcast},
		{"BroadcastWithAcks", testBroadcastWithAcks},
		{"SocketsLeaveAndDisconnect", testSocketsLeaveAndDisconnect},
		{"FetchSockets", testFetchSockets},
		{"ServerSideEmit", testServerSideEmit},
	} {
		t.Run(tc.name, func(t *testing.T) { forModesOn(t, s.url(), modes, tc.f) })
	}
}

// waitPromoted waits until replica is a master, showing the cluster's
// view of itself if it does not become one.
func (c *redisCluster) waitPromoted(t *testing.T, replica *redisServer) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; {
		role, err := replica.command("ROLE")
		if a, _ := role.([]any); err == nil && len(a) > 0 && a[0] == "master" {
			return
		}
		if time.Now().After(deadline) {
			nodes, err := replica.text("CLUSTER NODES")
			t.Fatalf("replica %s not promoted within 60 s (ROLE %v): %v\n%s", replica.addr(), role, err, nodes)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// allModes are the pub/sub modes and the streams mode.
func allModes() []mode {
	return append(slices.Clip(pubsubModes), mode{"streams", redis.Options{Streams: &redis.StreamsOptions{}}})
}

// TestSentinelPasswords: Sentinels with a password of their own in front
// of a master with another; the URL's user information is the master's,
// sentinel_password the Sentinels'. Each missing or wrong one fails the
// start with a clear error.
func TestSentinelPasswords(t *testing.T) {
	requireRedis(t)
	master := &redisServer{extra: []string{"--requirepass", "data-pw"}, password: "data-pw"}
	if err := master.launch(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(master.stop)
	sentinel := &redisServer{password: "sentinel-pw"}
	startSentinel(t, sentinel, fmt.Sprintf("requirepass sentinel-pw\nsentinel monitor %s 127.0.0.1 %d 1\n"+
		"sentinel auth-pass %s data-pw\n", masterSet, master.port, masterSet))
	s := &sentinelSet{master: master, sentinels: []*redisServer{sentinel}}
	want := strconv.Itoa(master.port)
	waitFor(t, 10*time.Second, func() bool { return s.masterPort(0) == want })

	base := "redis://:data-pw@" + sentinel.addr() + "?master_set=" + masterSet
	forModesOn(t, base+"&sentinel_password=sentinel-pw", allModes()[:1], testBroadcast)
	for _, tc := range []struct{ name, url, want string }{
		{"no Sentinel password", base, "the server requires a password"},
		{"wrong Sentinel password", base + "&sentinel_password=nope", "wrong username or password"},
		{"wrong master password", "redis://:nope@" + sentinel.addr() + "?master_set=" + masterSet +
			"&sentinel_password=sentinel-pw", "wrong username or password"},
		{"Sentinel password without master_set", master.url() + "?sentinel_password=x", "need master_set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			a, err := redis.New(ctx, redis.Options{URL: tc.url, Logger: quietLogger})
			if err == nil {
				a.Close()
				t.Fatal("the adapter started")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want it to say %q", err, tc.want)
			}
			t.Log(err)
		})
	}
}
