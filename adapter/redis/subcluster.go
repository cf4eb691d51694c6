package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"

	"github.com/redis/rueidis"
)

// clusterConn holds a session's subscriptions on a Redis Cluster.
//
// A dedicated connection of rueidis's cluster client is bound to the slot
// of its first command and refuses (panics on) a command for another slot,
// while in sharded mode the namespace, response and room channels hash to
// slots all over the cluster. So shard channels (SSUBSCRIBE) live on one
// dedicated connection per master, to the master that owns their slot, as
// Node's sharded adapter does; the owners come from CLUSTER SLOTS, asked
// once per session. Subscriptions without a slot (SUBSCRIBE, PSUBSCRIBE:
// classic mode) share one dedicated connection to a master (see doPlain),
// as on a standalone Redis.
//
// A lost connection loses its subscriptions, and a master that loses a
// slot (resharding, failover) drops its shard channels (a SUNSUBSCRIBE
// push) or refuses new ones (MOVED). The plain connection's loss fails the
// session, and the subscriber resubscribes everything. A master's loss
// only drops that master's connection: its channels are subscribed again
// with the slots' new owners (see repair), retried with backoff while
// they have none that answers (a failover in progress), and the other
// masters' subscriptions go on meanwhile.
type clusterConn struct {
	client rueidis.Client
	hooks  rueidis.PubSubHooks
	owners slotOwners // nil until the first shard channel
	plain  *dedicatedConn
	nodes  map[string]*nodeConn // by address
	first  int                  // where doPlain starts in the list of masters
	fail   chan error
	done   chan struct{}
	mend   mending
}

func newClusterConn(c rueidis.Client, hooks rueidis.PubSubHooks) *clusterConn {
	return &clusterConn{client: c, hooks: hooks, nodes: make(map[string]*nodeConn), first: rand.Int(),
		fail: make(chan error, 1), done: make(chan struct{}), mend: newMending()}
}

func (c *clusterConn) failed() <-chan error { return c.fail }

// report fails the session with err, unless it failed already.
func (c *clusterConn) report(err error) {
	select {
	case c.fail <- err:
	default:
	}
}

// watch reports the loss of a connection whose pub/sub hooks returned wait.
func (c *clusterConn) watch(wait <-chan error, what string) {
	go func() {
		select {
		case err := <-wait:
			if err == nil {
				err = errors.New("connection closed")
			}
			c.report(fmt.Errorf("%s: %w", what, err))
		case <-c.done:
		}
	}()
}

func (c *clusterConn) close() {
	close(c.done)
	c.mend.stop()
	if c.plain != nil {
		c.plain.close()
	}
	for _, n := range c.nodes {
		n.close()
	}
}

// do sends the subscriptions without a slot on the plain connection and
// each shard channel to its master: one round trip per connection.
func (c *clusterConn) do(ctx context.Context, keys []subKey, add bool) error {
	var plain []subKey
	var order []*nodeConn
	batches := make(map[*nodeConn]*shardBatch)
	for _, k := range keys {
		if k.kind != shardSub {
			plain = append(plain, k)
			continue
		}
		c.mend.forget(k.name)
		cmd := subCommand(c.client.B(), k, add)
		n, err := c.node(ctx, cmd.Slot())
		if err != nil {
			if add { // subscribed once its slot has a reachable master
				c.mend.later(k.name, err)
			}
			continue
		}
		b := batches[n]
		if b == nil {
			b = &shardBatch{}
			batches[n] = b
			order = append(order, n)
		}
		b.channels = append(b.channels, k.name)
		b.cmds = append(b.cmds, cmd)
	}
	if len(plain) > 0 {
		if err := c.doPlain(ctx, plain, add); err != nil {
			return err
		}
	}
	for _, n := range order {
		if err := n.apply(ctx, batches[n], add); err != nil {
			c.drop(n, err) // its channels are subscribed again, elsewhere or later
		}
	}
	return nil
}

// doPlain (un)subscribes keys without a slot. The first call connects to
// a master: a keyless command of rueidis's cluster client may go to any
// connection it holds, a seed that is down included, while PUBLISH reaches
// every node of a Redis Cluster and a master is a node every Switchboard
// node counts. Masters are tried from a random one on (spreading the
// nodes' subscriptions) until one takes the subscriptions.
func (c *clusterConn) doPlain(ctx context.Context, keys []subKey, add bool) error {
	if c.plain != nil {
		return c.plain.do(ctx, keys, add)
	}
	if err := c.fetchOwners(ctx); err != nil {
		return err
	}
	masters := c.owners.masters()
	nodes := c.client.Nodes()
	err := errors.New("redis cluster: no master known to the client")
	for i := range masters {
		addr := masters[(c.first+i)%len(masters)]
		nc, ok := nodes[addr]
		if !ok {
			continue
		}
		d := newDedicatedConn(nc, c.hooks)
		if err = d.do(ctx, keys, add); err != nil {
			d.close()
			continue
		}
		c.plain = d
		c.watch(d.wait, "redis subscription connection to "+addr)
		return nil
	}
	return err
}

func (c *clusterConn) fetchOwners(ctx context.Context) error {
	if c.owners != nil {
		return nil
	}
	owners, err := fetchSlotOwners(ctx, c.client)
	c.owners = owners
	return err
}

// shardBatch is the shard channels of one call of do for one master.
type shardBatch struct {
	channels []string
	cmds     rueidis.Commands
}

// node returns the connection to the master of slot, connecting it first.
func (c *clusterConn) node(ctx context.Context, slot uint16) (*nodeConn, error) {
	if err := c.fetchOwners(ctx); err != nil {
		return nil, err
	}
	addr := c.owners.owner(slot)
	if addr == "" {
		return nil, fmt.Errorf("redis cluster: slot %d has no master", slot)
	}
	if n := c.nodes[addr]; n != nil {
		return n, nil
	}
	nc, ok := c.client.Nodes()[addr]
	if !ok {
		return nil, fmt.Errorf("redis cluster: the client knows no node %s (master of slot %d)", addr, slot)
	}
	n := &nodeConn{addr: addr, wanted: make(map[string]struct{})}
	n.report = func(err error) { c.mend.lost(n, err) }
	n.dedicatedConn = newDedicatedConn(nc, rueidis.PubSubHooks{OnMessage: c.hooks.OnMessage,
		OnSubscription: n.onSubscription})
	c.watchNode(n)
	c.nodes[addr] = n
	return n, nil
}

// nodeConn is a dedicated connection to one master, for the shard
// channels of its slots.
type nodeConn struct {
	*dedicatedConn
	addr   string
	report func(error)

	mu     sync.Mutex
	wanted map[string]struct{} // channels subscribed or being subscribed
}

// apply (un)subscribes a batch of shard channels.
func (n *nodeConn) apply(ctx context.Context, b *shardBatch, add bool) error {
	n.mu.Lock()
	for _, ch := range b.channels {
		if add {
			n.wanted[ch] = struct{}{}
		} else {
			delete(n.wanted, ch)
		}
	}
	n.mu.Unlock()
	if err := n.doCommands(ctx, b.cmds); err != nil {
		return fmt.Errorf("redis cluster node %s: %w", n.addr, err)
	}
	return nil
}

// onSubscription runs on the connection's reader: a SUNSUBSCRIBE of a
// channel still wanted comes from Redis (its slot moved away).
func (n *nodeConn) onSubscription(s rueidis.PubSubSubscription) {
	if s.Kind != "sunsubscribe" {
		return
	}
	n.mu.Lock()
	_, wanted := n.wanted[s.Channel]
	n.mu.Unlock()
	if wanted {
		n.report(fmt.Errorf("redis cluster node %s dropped shard channel %q: its slot moved", n.addr, s.Channel))
	}
}

// slotOwners maps hash slots to the address of their master: ranges
// sorted by their first slot.
type slotOwners []slotRange

type slotRange struct {
	first, last int64
	addr        string
}

// masters returns the address of each master, sorted.
func (o slotOwners) masters() []string {
	var out []string
	for _, r := range o {
		if !slices.Contains(out, r.addr) {
			out = append(out, r.addr)
		}
	}
	slices.Sort(out)
	return out
}

// owner returns the address of the master of slot, "" if none.
func (o slotOwners) owner(slot uint16) string {
	i, ok := slices.BinarySearchFunc(o, int64(slot), func(r slotRange, s int64) int {
		switch {
		case r.last < s:
			return -1
		case r.first > s:
			return 1
		}
		return 0
	})
	if !ok {
		return ""
	}
	return o[i].addr
}

// fetchSlotOwners returns the master of each slot, from CLUSTER SLOTS.
func fetchSlotOwners(ctx context.Context, client rueidis.Client) (slotOwners, error) {
	reply, queried, err := clusterSlots(ctx, client)
	if err != nil {
		return nil, err
	}
	return parseSlotOwners(reply, queried)
}

// clusterSlots asks the nodes known to the client, in turn, for CLUSTER
// SLOTS until one answers, and returns the reply and who gave it.
func clusterSlots(ctx context.Context, client rueidis.Client) ([]rueidis.RedisMessage, string, error) {
	err := errors.New("no node known")
	for addr, n := range client.Nodes() {
		var reply []rueidis.RedisMessage
		if reply, err = n.Do(ctx, n.B().ClusterSlots().Build()).ToArray(); err == nil {
			return reply, addr, nil
		}
	}
	return nil, "", fmt.Errorf("redis cluster: CLUSTER SLOTS: %w", err)
}

// clusterAddrs returns the address of every node, masters and replicas,
// that serves slots, from CLUSTER SLOTS.
func clusterAddrs(ctx context.Context, client rueidis.Client) ([]string, error) {
	reply, queried, err := clusterSlots(ctx, client)
	if err != nil {
		return nil, err
	}
	var addrs []string
	for _, e := range reply {
		f, err := e.ToArray()
		if err != nil || len(f) < 3 {
			continue
		}
		for _, n := range f[2:] {
			if addr, ok := nodeAddr(n, queried); ok && !slices.Contains(addrs, addr) {
				addrs = append(addrs, addr)
			}
		}
	}
	if len(addrs) == 0 {
		return nil, errors.New("redis cluster: CLUSTER SLOTS: no node serves slots")
	}
	return addrs, nil
}

// parseSlotOwners reads a CLUSTER SLOTS reply from the node at queried:
// [first, last, [host, port, ...], replicas...] per range, where an empty
// host is the queried node's and "?" an unknown one.
func parseSlotOwners(reply []rueidis.RedisMessage, queried string) (slotOwners, error) {
	owners := make(slotOwners, 0, len(reply))
	for _, e := range reply {
		r, ok := parseSlotRange(e, queried)
		if ok {
			owners = append(owners, r)
		}
	}
	if len(owners) == 0 {
		return nil, errors.New("redis cluster: CLUSTER SLOTS: no slot has a master")
	}
	slices.SortFunc(owners, func(a, b slotRange) int { return cmp.Compare(a.first, b.first) })
	return owners, nil
}

func parseSlotRange(e rueidis.RedisMessage, queried string) (slotRange, bool) {
	f, err := e.ToArray()
	if err != nil || len(f) < 3 {
		return slotRange{}, false
	}
	first, err1 := f[0].AsInt64()
	last, err2 := f[1].AsInt64()
	if err1 != nil || err2 != nil || first < 0 || first > last {
		return slotRange{}, false
	}
	addr, ok := nodeAddr(f[2], queried)
	if !ok {
		return slotRange{}, false
	}
	return slotRange{first: first, last: last, addr: addr}, true
}

// nodeAddr reads the [host, port, ...] of a node in a CLUSTER SLOTS reply
// from the node at queried, where an empty host is the queried node's and
// "?" an unknown one.
func nodeAddr(m rueidis.RedisMessage, queried string) (string, bool) {
	f, err := m.ToArray()
	if err != nil || len(f) < 2 {
		return "", false
	}
	host, err1 := f[0].ToString()
	port, err2 := f[1].AsInt64()
	if err1 != nil || err2 != nil || host == "?" {
		return "", false
	}
	if host == "" {
		host, _, _ = net.SplitHostPort(queried)
	}
	return net.JoinHostPort(host, strconv.FormatInt(port, 10)), true
}
