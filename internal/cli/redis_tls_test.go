package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/internal/freeport"
	"github.com/switchboard-io/switchboard/internal/redistest"
)

// TestServeRedisMutualTLS runs a node against a TLS Redis that requires a
// client certificate, the certificate given by flags and the CA by its
// environment variable; then it checks that each misconfiguration makes
// serve fail at start with an error naming its cause, and a non-zero exit.
func TestServeRedisMutualTLS(t *testing.T) {
	t.Parallel()
	pki := redistest.NewPKI(t, "", "cli")
	r := redistest.StartTLS(t, pki, "--user", "bob", "on", ">pw", "~*", "&*", "+@all")
	cert, key := pki.Issue(t, "cli-client", false)
	other := redistest.NewPKI(t, pki.Dir, "cli-other")
	url := "rediss://bob:pw@" + r.TLSAddr
	dead := freeport.Addr(t)

	pub, internal := freeAddr(t), freeAddr(t)
	env := map[string]string{"SWITCHBOARD_REDIS_TLS_CA": pki.CA, "SWITCHBOARD_DRAIN_WINDOW": "100ms",
		"SWITCHBOARD_LOG_LEVEL": "warn"}
	getenv := func(k string) string { return env[k] }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out lockedBuffer
	go func() {
		done <- serve(ctx, []string{"--redis", url, "--redis-tls-cert", cert, "--redis-tls-key", key,
			"--listen", pub, "--internal-listen", internal}, getenv, &out, &out)
	}()
	waitReady(t, internal, 20*time.Second)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve returned %d:\n%s", code, out.String())
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing client certificate", []string{"--redis", url, "--redis-tls-ca", pki.CA}, "requires a client certificate"},
		{"unknown CA", []string{"--redis", url, "--redis-tls-ca", other.CA, "--redis-tls-cert", cert, "--redis-tls-key", key},
			"does not trust"},
		{"wrong password", []string{"--redis", "rediss://bob:nope@" + r.TLSAddr, "--redis-tls-ca", pki.CA,
			"--redis-tls-cert", cert, "--redis-tls-key", key}, "wrong username or password"},
		{"all seeds down", []string{"--redis", "redis://" + dead + "?addr=" + dead}, "no seed answered"},
		{"key without certificate", []string{"--redis", url, "--redis-tls-key", key}, "go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out lockedBuffer
			args := append([]string{"--listen", freeAddr(t), "--internal-listen", freeAddr(t)}, tc.args...)
			code := serve(context.Background(), args, func(string) string { return "" }, &out, &out)
			if code == 0 || !strings.Contains(out.String(), tc.want) {
				t.Fatalf("serve returned %d, want non-zero with %q in:\n%s", code, tc.want, out.String())
			}
			t.Log(strings.TrimSpace(out.String()))
		})
	}
}
