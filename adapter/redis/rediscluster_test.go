package redis_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
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

// startRedisCluster starts masters×(1+replicas) nodes, creates the cluster
// with redis-cli and waits until every node reports cluster_state:ok and
// knows every other node. On failure it stops what it started.
func startRedisCluster(masters, replicas int) (*redisCluster, error) {
	dir, err := os.MkdirTemp("", "switchboard-redis-cluster-")
	if err != nil {
		return nil, err
	}
	c := &redisCluster{dir: dir, masters: masters}
	addrs := make([]string, 0, masters*(1+replicas))
	for i := range masters * (1 + replicas) {
		r := &redisServer{port: freePort(nil)}
		r.extra = []string{"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(freePort(nil)),
			"--cluster-config-file", filepath.Join(dir, fmt.Sprintf("nodes-%d.conf", i)), "--dir", dir}
		if err := r.start(); err != nil {
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
	if _, err := conn.Write([]byte(cmd + "\r\n")); err != nil {
		return nil, err
	}
	return readReply(bufio.NewReader(conn))
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

// TestRedisCluster runs the cross-node tests of classic mode on a Redis
// Cluster of 3 masters and 3 replicas.
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
		t.Run(tc.name, func(t *testing.T) { forModesOn(t, c.url(), pubsubModes[:1], tc.f) })
	}
}
