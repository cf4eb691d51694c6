package redis_test

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/adapter/redis"
	"github.com/switchboard-io/switchboard/internal/freeport"
	"github.com/switchboard-io/switchboard/internal/redistest"
	"github.com/switchboard-io/switchboard/socketio"
)

// emit broadcasts from ns: the one call of the new tests to the broadcast
// API, which is changing.
func emit(ns *socketio.Namespace, event string, args ...any) error {
	return ns.Emit(context.Background(), event, args...)
}

// tlsSetup is a TLS Redis that requires client certificates (signed by
// pki), with an ACL user alice (password "secret"), and a client
// certificate of pki.
type tlsSetup struct {
	pki        *redistest.PKI
	srv        *redistest.TLSServer
	cert, key  string
	url        string // rediss://alice:secret@<TLS port>
	clientOpts *redis.TLSOptions
}

func newTLSSetup(t *testing.T) *tlsSetup {
	t.Helper()
	requireRedis(t)
	pki := redistest.NewPKI(t, "", "main")
	s := &tlsSetup{pki: pki, srv: redistest.StartTLS(t, pki, "--user", "alice", "on", ">secret", "~*", "&*", "+@all")}
	s.cert, s.key = pki.Issue(t, "client", false)
	s.url = "rediss://alice:secret@" + s.srv.TLSAddr
	s.clientOpts = &redis.TLSOptions{CertFile: s.cert, KeyFile: s.key, CAFile: pki.CA}
	return s
}

// TestMutualTLS runs two nodes over TLS with a client certificate, the
// options given as fields and as URL parameters.
func TestMutualTLS(t *testing.T) {
	s := newTLSSetup(t)
	q := url.Values{"tls_cert_file": {s.cert}, "tls_key_file": {s.key}, "tls_ca_file": {s.pki.CA}}
	for name, opts := range map[string]redis.Options{
		"options":        {URL: s.url, TLS: s.clientOpts},
		"url-parameters": {URL: s.url + "?" + q.Encode()},
		"redis-scheme":   {URL: "redis://alice:secret@" + s.srv.TLSAddr, TLS: s.clientOpts},
		"server-name":    {URL: s.url, TLS: &redis.TLSOptions{CertFile: s.cert, KeyFile: s.key, CAFile: s.pki.CA, ServerName: "localhost"}},
	} {
		t.Run(name, func(t *testing.T) {
			opts.Key = "t-tls-" + name
			nodes := newCluster(t, 2, opts, nil)
			c := dial(t, nodes[1])
			if err := emit(nodes[0].ns(), "hello", 1); err != nil {
				t.Fatal(err)
			}
			expectEvent(t, c, "hello", "1")
		})
	}
}

// TestTLSStartErrors checks that each misconfiguration fails the start
// with an error that names its cause.
func TestTLSStartErrors(t *testing.T) {
	s := newTLSSetup(t)
	other := redistest.NewPKI(t, s.pki.Dir, "other")
	otherCert, otherKey := other.Issue(t, "other-client", false)
	dead := freeport.Addr(t)
	dead2 := freeport.Addr(t)
	for _, tc := range []struct {
		name string
		opts redis.Options
		want string
	}{
		{"no client certificate", redis.Options{URL: s.url, TLS: &redis.TLSOptions{CAFile: s.pki.CA}},
			"the server requires a client certificate"},
		{"client certificate of another CA", redis.Options{URL: s.url,
			TLS: &redis.TLSOptions{CertFile: otherCert, KeyFile: otherKey, CAFile: s.pki.CA}},
			"refuse"},
		{"unknown CA", redis.Options{URL: s.url, TLS: &redis.TLSOptions{CertFile: s.cert, KeyFile: s.key, CAFile: other.CA}},
			"signed by an authority this node does not trust"},
		{"wrong name", redis.Options{URL: s.url, TLS: &redis.TLSOptions{CertFile: s.cert, KeyFile: s.key,
			CAFile: s.pki.CA, ServerName: "redis.example"}}, "does not carry the name"},
		{"wrong password", redis.Options{URL: "rediss://alice:wrong@" + s.srv.TLSAddr, TLS: s.clientOpts},
			"wrong username or password"},
		{"plain URL on the TLS port", redis.Options{URL: "redis://alice:secret@" + s.srv.TLSAddr},
			"does it expect TLS"},
		{"TLS on the plain port", redis.Options{URL: "rediss://" + s.srv.Addr, TLS: s.clientOpts},
			"is this the server's TLS port"},
		{"all seeds down", redis.Options{URL: "redis://" + dead + "?addr=" + dead2}, "no seed answered"},
		{"missing certificate file", redis.Options{URL: s.url,
			TLS: &redis.TLSOptions{CertFile: s.cert + ".missing", KeyFile: s.key}}, "no such file"},
		{"certificate without key", redis.Options{URL: s.url, TLS: &redis.TLSOptions{CertFile: s.cert}},
			"needs both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			tc.opts.Logger = quietLogger
			a, err := redis.New(ctx, tc.opts)
			if err == nil {
				a.Close()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
			t.Log(err)
		})
	}
}

// TestTLSCertificateReloaded renews the client certificate on disk with
// one of another CA while the server is switched to trust only that CA:
// the adapter's next connections use the new certificate, with no
// restart.
func TestTLSCertificateReloaded(t *testing.T) {
	s := newTLSSetup(t)
	cert, key := copyFile(t, s.cert, "live.pem"), copyFile(t, s.key, "live.key")
	opts := redis.Options{URL: s.url, Key: "t-tls-reload", TLS: &redis.TLSOptions{CertFile: cert, KeyFile: key, CAFile: s.pki.CA}}
	nodes := newCluster(t, 2, opts, nil)

	next := redistest.NewPKI(t, s.pki.Dir, "next")
	newCert, newKey := next.Issue(t, "renewed-client", false)
	bundle := copyFile(t, next.CA, "server-trusts.pem")
	if r := s.srv.Command(t, "CONFIG SET tls-ca-cert-file "+bundle); r != "+OK" {
		t.Fatal(r)
	}
	renew(t, cert, newCert)
	renew(t, key, newKey)
	if r := s.srv.Command(t, "CLIENT KILL TYPE pubsub"); !strings.HasPrefix(r, ":") {
		t.Fatal(r)
	}
	waitFor(t, 15*time.Second, func() bool {
		for _, n := range nodes {
			if st := n.a.Stats(); !st.Connected || st.Resubscribes < 1 || st.LossesDetected < 1 {
				return false
			}
		}
		return true
	})
	c := dial(t, nodes[1])
	waitFor(t, 10*time.Second, func() bool { return emit(nodes[0].ns(), "renewed", 1) == nil })
	expectEvent(t, c, "renewed", "1")
}

func copyFile(t *testing.T, from, name string) string {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	to := t.TempDir() + "/" + name
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return to
}

// renew replaces the file at path by the contents of from, as a renewal
// does: written beside it, then renamed over it.
func renew(t *testing.T, path, from string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}
