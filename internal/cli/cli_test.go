package cli

import (
	"bytes"
	"context"
	"github.com/switchboard-io/switchboard/internal/freeport"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestVersionAndUsage(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if code := Main([]string{"version"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "switchboard ") {
		t.Fatalf("version: code %d, out %q", code, out.String())
	}
	if code := Main([]string{"frobnicate"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Fatalf("unknown command: code %d, err %q", code, errOut.String())
	}
	if code := Main(nil, &out, &errOut); code != 2 {
		t.Fatalf("no command: code %d", code)
	}
}

func TestServeRejectsBadFlags(t *testing.T) {
	t.Parallel()
	var errOut bytes.Buffer
	code := serve(context.Background(), []string{"--log-level", "loud"}, func(string) string { return "" }, io.Discard, &errOut)
	if code != 2 || !strings.Contains(errOut.String(), "log-level") {
		t.Fatalf("code %d, stderr %q", code, errOut.String())
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	return freeport.Addr(t)
}

// waitReady waits up to timeout for the node whose internal listener is at
// internal to answer /readyz with 200.
func waitReady(t *testing.T, internal string, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; {
		resp, err := http.Get("http://" + internal + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("node never became ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeLifecycle runs a node, checks health, readiness and the
// healthcheck command, then cancels it: serve must drain and return 0.
func TestServeLifecycle(t *testing.T) {
	t.Parallel()
	pub, internal := freeAddr(t), freeAddr(t)
	env := map[string]string{"SWITCHBOARD_LISTEN": pub, "SWITCHBOARD_INTERNAL_LISTEN": internal,
		"SWITCHBOARD_DRAIN_WINDOW": "200ms", "SWITCHBOARD_LOG_LEVEL": "warn"}
	getenv := func(k string) string { return env[k] }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- serve(ctx, nil, getenv, io.Discard, io.Discard) }()
	waitReady(t, internal, 5*time.Second)
	if code := healthcheck(getenv, io.Discard); code != 0 {
		t.Fatalf("healthcheck = %d while the node runs", code)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve returned %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after cancel")
	}
	if code := healthcheck(getenv, io.Discard); code != 1 {
		t.Fatalf("healthcheck = %d after the node stopped", code)
	}
}

// TestDockerfileBuildsLikeMakefile keeps the image's build command and
// `make image-binary` the same, so building outside Docker tests the
// image's binary.
func TestDockerfileBuildsLikeMakefile(t *testing.T) {
	t.Parallel()
	docker, err := os.ReadFile("../../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`CGO_ENABLED=0 go build .* -o \S+ \./cmd/switchboard`)
	d, m := re.Find(docker), re.Find(makefile)
	if d == nil || m == nil {
		t.Fatalf("build command not found (Dockerfile %q, Makefile %q)", d, m)
	}
	norm := func(b []byte) string {
		return regexp.MustCompile(`-o \S+`).ReplaceAllString(string(b), "-o OUT")
	}
	if norm(d) != norm(m) {
		t.Fatalf("Dockerfile and Makefile build differently:\n%s\n%s", d, m)
	}
	for _, want := range []string{"USER 65532", "HEALTHCHECK", "/switchboard\", \"healthcheck\"", "distroless/static"} {
		if !strings.Contains(string(docker), want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}
