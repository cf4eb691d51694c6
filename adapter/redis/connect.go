package redis

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/redis/rueidis"
)

// The URL parameters of TLSOptions, beside rueidis's own (addr,
// master_set, skip_verify, db, dial_timeout, ...).
const (
	paramTLSCert       = "tls_cert_file"
	paramTLSKey        = "tls_key_file"
	paramTLSCA         = "tls_ca_file"
	paramTLSServerName = "tls_server_name"

	// The Sentinels' own credentials (Sentinel's requirepass or an ACL
	// user), beside the data nodes' in the URL's user information.
	paramSentinelUser     = "sentinel_username"
	paramSentinelPassword = "sentinel_password"
)

// topologyRefresh is how often a client made by NewClient reads the
// topology of a Redis Cluster, or asks Sentinel for the master, besides
// the events that make it do so at once.
const topologyRefresh = 5 * time.Second

// NewClient connects to Redis the way New does when Options.Client is
// nil, and returns the client for other uses beside the adapter (pass it
// as Options.Client, and close it after the adapter). It reads URL,
// whose parameters tls_cert_file, tls_key_file, tls_ca_file and
// tls_server_name fill the fields of TLS that are empty, and Logger.
//
// URL may list several seeds (redis://host1:6379?addr=host2:6379&addr=...):
// the nodes of a Redis Cluster, or the Sentinels with master_set. The
// client starts when any seed answers; the seeds only lead it to the
// cluster's nodes. ctx bounds the first connection. The error of a failed
// start names its likely cause: no seed reachable, wrong password, an
// untrusted server certificate, a missing or refused client certificate.
func NewClient(ctx context.Context, opts Options) (rueidis.Client, error) {
	o := opts.withDefaults()
	co, t, err := clientOption(o)
	if err != nil {
		return nil, fmt.Errorf("redis adapter: %w", err)
	}
	client, err := rueidis.NewClient(co)
	if err != nil {
		return nil, connectError(co, t, err)
	}
	if err := pingAny(ctx, client); err != nil {
		client.Close()
		return nil, connectError(co, t, err)
	}
	return client, nil
}

// clientOption builds the rueidis options of o: its URL, then TLS, whose
// options it returns.
func clientOption(o Options) (rueidis.ClientOption, *TLSOptions, error) {
	co, err := rueidis.ParseURL(o.URL)
	if err != nil {
		return co, nil, err
	}
	co.DisableCache = true
	if co.ClusterOption.ShardsRefreshInterval == 0 {
		// A Redis Cluster's topology is read again now and then, not only
		// when a command meets MOVED or a dead node: replicas added, masters
		// promoted.
		co.ClusterOption.ShardsRefreshInterval = topologyRefresh
	}
	if err := sentinelAuth(o.URL, &co); err != nil {
		return co, nil, err
	}
	if co.Sentinel.MasterSet != "" && co.Sentinel.TopologyRefreshInterval == 0 {
		// Sentinel's +switch-master is a pub/sub message: one missed, the
		// periodic check still finds the new master.
		co.Sentinel.TopologyRefreshInterval = topologyRefresh
	}
	t, err := tlsFromURL(o.URL, o.TLS)
	if err != nil || !t.enabled() {
		return co, t, err
	}
	if err := t.validate(); err != nil {
		return co, t, err
	}
	if co.DialCtxFn != nil {
		return co, t, errors.New("TLS options with a unix socket URL")
	}
	if co.TLSConfig == nil { // redis:// with TLS options
		host, _, _ := net.SplitHostPort(co.InitAddress[0])
		co.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	}
	if t.ServerName != "" {
		co.TLSConfig.ServerName = t.ServerName
	}
	if co.Sentinel.MasterSet != "" && co.Sentinel.TLSConfig == nil {
		co.Sentinel.TLSConfig = co.TLSConfig // as go-redis: the Sentinels speak TLS too
	}
	files, err := newTLSFiles(t, o.Logger.Warn)
	if err != nil {
		return co, t, err
	}
	co.DialCtxFn = func(ctx context.Context, addr string, d *net.Dialer, cfg *tls.Config) (net.Conn, error) {
		if cfg == nil {
			return d.DialContext(ctx, "tcp", addr)
		}
		td := tls.Dialer{NetDialer: d, Config: files.apply(cfg)}
		return td.DialContext(ctx, "tcp", addr)
	}
	return co, t, nil
}

// sentinelAuth sets the Sentinels' credentials from the URL's
// sentinel_username and sentinel_password.
func sentinelAuth(rawURL string, co *rueidis.ClientOption) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	q := u.Query()
	user, pass := q.Get(paramSentinelUser), q.Get(paramSentinelPassword)
	if (user != "" || pass != "") && co.Sentinel.MasterSet == "" {
		return fmt.Errorf("%s and %s need master_set", paramSentinelUser, paramSentinelPassword)
	}
	co.Sentinel.Username, co.Sentinel.Password = user, pass
	return nil
}

// tlsFromURL returns the TLS options of o, their empty fields filled from
// the URL's parameters.
func tlsFromURL(rawURL string, o *TLSOptions) (*TLSOptions, error) {
	var t TLSOptions
	if o != nil {
		t = *o
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	for p, f := range map[string]*string{paramTLSCert: &t.CertFile, paramTLSKey: &t.KeyFile,
		paramTLSCA: &t.CAFile, paramTLSServerName: &t.ServerName} {
		if *f == "" {
			*f = q.Get(p)
		}
	}
	return &t, nil
}

// pingAny sends PING until a node answers: on a Redis Cluster, to each node
// the client learnt from the seeds in turn (a keyless command of the
// cluster client may go to a seed that is down).
func pingAny(ctx context.Context, c rueidis.Client) error {
	if c.Mode() != rueidis.ClientModeCluster {
		return c.Do(ctx, c.B().Ping().Build()).Error()
	}
	err := errors.New("the cluster has no node")
	for _, n := range c.Nodes() {
		if err = n.Do(ctx, n.B().Ping().Build()).Error(); err == nil {
			return nil
		}
	}
	return err
}

// sentinelAuthHint tells, behind Sentinel, where each password goes.
func sentinelAuthHint(co rueidis.ClientOption) string {
	if co.Sentinel.MasterSet == "" {
		return ""
	}
	return " (the Sentinels' credentials are the URL's " + paramSentinelUser + " and " + paramSentinelPassword +
		", the master's its user and password)"
}

// connectError says what a failed start most likely means.
func connectError(co rueidis.ClientOption, t *TLSOptions, err error) error {
	what := "redis " + strings.Join(co.InitAddress, ", ")
	if co.Sentinel.MasterSet != "" {
		what = fmt.Sprintf("master %q of sentinels %s", co.Sentinel.MasterSet, strings.Join(co.InitAddress, ", "))
	}
	if hint := connectHint(co, t != nil && t.CertFile != "", err); hint != "" {
		return fmt.Errorf("redis adapter: connecting to %s: %s: %w", what, hint, err)
	}
	return fmt.Errorf("redis adapter: connecting to %s: %w", what, err)
}

func connectHint(co rueidis.ClientOption, withCert bool, err error) string {
	var unknownCA x509.UnknownAuthorityError
	var badName x509.HostnameError
	var opErr *net.OpError
	msg := err.Error()
	switch {
	case errors.As(err, &unknownCA):
		return "the server's certificate is signed by an authority this node does not trust (give the CA's certificate file)"
	case errors.As(err, &badName):
		return "the server's certificate does not carry the name dialed (set the TLS server name)"
	case strings.Contains(msg, "certificate required"),
		co.TLSConfig != nil && !withCert && (errors.Is(err, syscall.ECONNRESET) || strings.Contains(msg, "bad certificate")):
		return "the server requires a client certificate (give a certificate file and its key file)"
	case withCert && (strings.Contains(msg, "unknown certificate authority") || strings.Contains(msg, "bad certificate")):
		return "the server refused the client certificate (is it signed by a CA the server trusts?)"
	case withCert && errors.Is(err, syscall.ECONNRESET):
		// TLS 1.3: the server's verdict on the certificate may come
		// after the client's first write, which then meets a reset.
		return "the server closed the TLS connection: did it refuse the client certificate (is it signed by a CA the server trusts?)"
	case strings.HasPrefix(msg, "WRONGPASS"):
		return "wrong username or password" + sentinelAuthHint(co)
	case strings.HasPrefix(msg, "NOAUTH"):
		return "the server requires a password" + sentinelAuthHint(co)
	case co.TLSConfig != nil && strings.Contains(msg, "first record does not look like a TLS handshake"):
		return "the server does not speak TLS on this port (use redis:// or its TLS port)"
	case co.TLSConfig != nil && isTimeout(err):
		return "no answer in time (is this the server's TLS port?)"
	case co.TLSConfig == nil && (errors.Is(err, syscall.ECONNRESET) || strings.Contains(msg, "EOF")):
		return "the server closed the connection (does it expect TLS? use rediss://)"
	case errors.As(err, &opErr) && opErr.Op == "dial":
		if len(co.InitAddress) > 1 {
			return "no seed answered"
		}
		return "unreachable"
	}
	return ""
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}
