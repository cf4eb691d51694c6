package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// The settings of the binary come from the binary itself: `switchboard
// serve -h` prints every flag with its SWITCHBOARD_* variable and default.
// internal/config cannot be imported from this module (internal/), and the
// README's flags table is a copy (kept in sync by a test of the main
// module); the binary is the source of truth, and it is built from the
// main module's own go.mod and go.sum (go build in the repository root),
// so this module needs no replace directive nor the server's dependencies.

type setting struct {
	Flag, Env, Default string
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// switchboardBinary builds cmd/switchboard once per test run.
func switchboardBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "switchboard-verify-bin")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "switchboard")
		cmd := exec.Command(goTool(), "build", "-o", binPath, "./cmd/switchboard")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/switchboard in %s: %v\n%s", repoRoot, err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

var (
	settingsOnce sync.Once
	settingsMap  map[string]setting
	settingsErr  error
)

var (
	flagLine = regexp.MustCompile(`^\s+-([a-z0-9-]+)`)
	envRe    = regexp.MustCompile(`\(env (SWITCHBOARD_[A-Z0-9_]+)\)`)
	defRe    = regexp.MustCompile(`\(default (.*)\)\s*$`)
)

// binarySettings returns the settings of `switchboard serve -h`, by
// environment variable name.
func binarySettings(t *testing.T) map[string]setting {
	t.Helper()
	bin := switchboardBinary(t)
	settingsOnce.Do(func() {
		var out bytes.Buffer
		cmd := exec.Command(bin, "serve", "-h")
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.Env = cleanEnv()
		if err := cmd.Run(); err != nil {
			settingsErr = fmt.Errorf("switchboard serve -h: %v\n%s", err, out.String())
			return
		}
		settingsMap, settingsErr = parseHelp(out.String())
	})
	if settingsErr != nil {
		t.Fatal(settingsErr)
	}
	return settingsMap
}

// parseHelp reads Go's flag.PrintDefaults output: "  -name type" lines,
// each followed by its indented usage, which ends in "(env NAME)" and,
// unless the default is the zero value, "(default VALUE)".
func parseHelp(help string) (map[string]setting, error) {
	out := map[string]setting{}
	var cur *setting
	flush := func() error {
		if cur == nil {
			return nil
		}
		if cur.Env == "" {
			return fmt.Errorf("serve -h: flag -%s names no (env SWITCHBOARD_...) variable", cur.Flag)
		}
		out[cur.Env] = *cur
		cur = nil
		return nil
	}
	for line := range strings.SplitSeq(help, "\n") {
		if m := flagLine.FindStringSubmatch(line); m != nil && !strings.HasPrefix(line, "    \t") {
			if err := flush(); err != nil {
				return nil, err
			}
			cur = &setting{Flag: m[1]}
			continue
		}
		if cur == nil {
			continue
		}
		if m := envRe.FindStringSubmatch(line); m != nil {
			cur.Env = m[1]
		}
		if m := defRe.FindStringSubmatch(line); m != nil {
			d := m[1]
			if u, err := strconv.Unquote(d); err == nil {
				d = u
			}
			cur.Default = d
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(out) < 5 {
		return nil, fmt.Errorf("serve -h lists only %d settings; its format changed?\n%s", len(out), help)
	}
	return out, nil
}

// cleanEnv is the test's environment without SWITCHBOARD_* variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SWITCHBOARD_") {
			env = append(env, kv)
		}
	}
	return env
}

// effective returns the value a SWITCHBOARD_* variable has in the
// container: its literal value, else the binary's default.
func effective(t *testing.T, c *corev1.Container, env string) string {
	t.Helper()
	for _, e := range c.Env {
		if e.Name == env {
			if e.ValueFrom != nil {
				t.Fatalf("%s comes from valueFrom; this check needs a literal value", env)
			}
			return e.Value
		}
	}
	s, ok := binarySettings(t)[env]
	if !ok {
		t.Fatalf("the binary has no setting %s", env)
	}
	return s.Default
}

func effectiveDuration(t *testing.T, c *corev1.Container, env string) time.Duration {
	t.Helper()
	v := effective(t, c, env)
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", env, v, err)
	}
	return d
}

func TestEnvVarsAreSettingsOfTheBinary(t *testing.T) {
	forEachBuild(t, checkEnvVarsAreSettings)
}

// checkEnvVarsAreSettings is TestEnvVarsAreSettingsOfTheBinary for one build.
func checkEnvVarsAreSettings(t *testing.T, b *bundle) {
	settings := binarySettings(t)
	for _, d := range b.deployments {
		for _, c := range append(d.Spec.Template.Spec.InitContainers, d.Spec.Template.Spec.Containers...) {
			for _, e := range c.Env {
				if !strings.HasPrefix(e.Name, "SWITCHBOARD_") {
					continue
				}
				if _, ok := settings[e.Name]; !ok {
					t.Errorf("Deployment %s container %s sets %s, but `switchboard serve -h` has no such setting: "+
						"the binary would ignore it. Either the binary lacks the flag (add it to internal/config; "+
						"SWITCHBOARD_CLUSTER_SECRET is expected from --cluster-secret) or the name is a typo. Known: %s",
						d.Name, c.Name, e.Name, envNames(settings))
				}
			}
		}
	}
}

func envNames(m map[string]setting) string {
	var names []string
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return strings.Join(names, " ")
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestBinaryAnswersTheProbes runs the binary with the Deployment's
// environment (its literal values, the generated Secret's values, the
// downward-API fields faked) and asks it for the probes' paths on the
// probes' port, the Socket.IO handshake on the Service's port, and then
// checks the SIGTERM drain ends within the shutdown grace. Listen addresses
// are moved to free loopback ports (the static test checks the manifest's
// own ports); SWITCHBOARD_REDIS_URL is dropped since no Redis runs here.
func TestBinaryAnswersTheProbes(t *testing.T) {
	bin := switchboardBinary(t)
	b := render(t, "base")
	_, c := b.app(t)
	public, internal := freePort(t), freePort(t)
	env := podEnv(t, b, c, map[string]string{
		"SWITCHBOARD_LISTEN":          fmt.Sprintf("127.0.0.1:%d", public),
		"SWITCHBOARD_INTERNAL_LISTEN": fmt.Sprintf("127.0.0.1:%d", internal),
		"SWITCHBOARD_REDIS_URL":       "",
	})

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, c.Args...)
	cmd.Env = env
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	setPdeathsig(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	exited := false
	defer func() {
		if !exited {
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("switchboard output:\n%s", logs.String())
		}
	}()

	client := &http.Client{Timeout: 2 * time.Second}
	get := func(port int, path string) (int, string, error) {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, string(body), nil
	}
	probePort := func(p *corev1.Probe) int {
		if p == nil || p.HTTPGet == nil {
			return 0
		}
		port, err := containerPort(c, p.HTTPGet.Port)
		if err != nil {
			t.Fatal(err)
		}
		// The manifest's port number is the listen port in the manifest;
		// here the binary listens on a free port instead.
		if port == mustPort(t, effective(t, c, "SWITCHBOARD_INTERNAL_LISTEN")) {
			return internal
		}
		if port == mustPort(t, effective(t, c, "SWITCHBOARD_LISTEN")) {
			return public
		}
		t.Fatalf("probe port %v is neither listen port", p.HTTPGet.Port.String())
		return 0
	}

	// Readiness, bounded: the binary starts in well under a second.
	readyPath, readyPort := c.ReadinessProbe.HTTPGet.Path, probePort(c.ReadinessProbe)
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _, err := get(readyPort, readyPath)
		if err == nil && code == http.StatusOK {
			break
		}
		select {
		case err := <-done:
			exited = true
			t.Fatalf("switchboard exited before its readiness probe %s answered: %v", readyPath, err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("readiness probe GET %s on the internal port: not 200 after 30 s (last: %d, %v)", readyPath, code, err)
		}
	}
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "startup": c.StartupProbe} {
		if p == nil {
			continue
		}
		if code, body, err := get(probePort(p), p.HTTPGet.Path); err != nil || code != http.StatusOK {
			t.Errorf("%s probe GET %s: %d %q %v, want 200", name, p.HTTPGet.Path, code, body, err)
		}
	}
	// The public port (the Service's target) serves Socket.IO at its path.
	path := effective(t, c, "SWITCHBOARD_PATH")
	code, body, err := get(public, path+"?EIO=4&transport=polling")
	if err != nil || code != http.StatusOK || !strings.HasPrefix(body, "0{") {
		t.Fatalf("Engine.IO handshake on the public port: %d %q %v", code, body, err)
	}
	// Close that session (a close packet), as a leaving client does: a
	// session whose client vanished would hold the drain until its
	// heartbeat times out, which is not what this test is about.
	var hs struct{ Sid string }
	if err := json.Unmarshal([]byte(body[1:]), &hs); err != nil || hs.Sid == "" {
		t.Fatalf("handshake %q: no sid (%v)", body, err)
	}
	resp, err := client.Post(fmt.Sprintf("http://127.0.0.1:%d%s?EIO=4&transport=polling&sid=%s", public, path, hs.Sid), "text/plain;charset=UTF-8", strings.NewReader("1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	// SIGTERM (what the kubelet sends after preStop): readiness must fail
	// and the process must exit within SWITCHBOARD_SHUTDOWN_GRACE.
	grace := effectiveDuration(t, c, "SWITCHBOARD_SHUTDOWN_GRACE")
	start := time.Now()
	if err := cmd.Process.Signal(terminateSignal); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		exited = true
		if err != nil {
			t.Errorf("switchboard exited with %v after SIGTERM, want 0", err)
		}
		t.Logf("drained and exited %v after SIGTERM (grace %v)", time.Since(start).Round(time.Millisecond), grace)
	case <-time.After(grace + 5*time.Second):
		t.Fatalf("switchboard still running %v after SIGTERM (SWITCHBOARD_SHUTDOWN_GRACE %v)", grace+5*time.Second, grace)
	}
}

// podEnv returns the environment the kubelet would give container c: the
// literal values with $(VAR) references expanded as Kubernetes does (only
// variables defined earlier in the list), the generated Secret's values,
// and made-up downward-API fields (a pod name, a documentation-range pod
// IP that is never dialled). override replaces values after expansion; an
// empty override drops the variable. The test's own SWITCHBOARD_* variables
// are not passed on.
func podEnv(t *testing.T, b *bundle, c *corev1.Container, override map[string]string) []string {
	t.Helper()
	defined := map[string]string{}
	var order []string
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil {
			switch {
			case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
				v = "switchboard-verify-0"
			case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "status.podIP":
				v = "192.0.2.10"
			case e.ValueFrom.SecretKeyRef != nil:
				v = secretValue(t, b, e.ValueFrom.SecretKeyRef)
			default:
				t.Fatalf("env %s: valueFrom %+v not supported by this test", e.Name, e.ValueFrom)
			}
		} else {
			v = expandEnvRefs(v, defined)
		}
		if _, seen := defined[e.Name]; !seen {
			order = append(order, e.Name)
		}
		defined[e.Name] = v
	}
	for k, v := range override {
		if _, seen := defined[k]; !seen {
			order = append(order, k)
		}
		defined[k] = v
	}
	env := cleanEnv()
	for _, k := range order {
		if defined[k] != "" {
			env = append(env, k+"="+defined[k])
		}
	}
	return env
}

var envRef = regexp.MustCompile(`\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)`)

// expandEnvRefs expands $(NAME) with the variables defined so far, keeps
// unknown references as they are and turns $$ into $, as the kubelet does.
func expandEnvRefs(v string, defined map[string]string) string {
	return envRef.ReplaceAllStringFunc(v, func(m string) string {
		if m == "$$" {
			return "$"
		}
		if val, ok := defined[m[2:len(m)-1]]; ok {
			return val
		}
		return m
	})
}

// Every $(NAME) in an env value names a variable defined EARLIER in the
// same container; otherwise Kubernetes passes "$(NAME)" through literally.
func TestEnvReferencesResolve(t *testing.T) {
	forEachBuild(t, checkEnvReferences)
}

// checkEnvReferences is TestEnvReferencesResolve for one build.
func checkEnvReferences(t *testing.T, b *bundle) {
	for _, d := range b.deployments {
		for _, c := range append(d.Spec.Template.Spec.InitContainers, d.Spec.Template.Spec.Containers...) {
			defined := map[string]bool{}
			for _, e := range c.Env {
				for _, m := range envRef.FindAllStringSubmatch(e.Value, -1) {
					if m[0] != "$$" && !defined[m[1]] {
						t.Errorf("Deployment %s container %s: %s=%q refers to $(%s), which is not defined before it: Kubernetes would pass it literally", d.Name, c.Name, e.Name, e.Value, m[1])
					}
				}
				defined[e.Name] = true
			}
		}
	}
}

// Every build's environment passes the binary's own configuration checks
// (config.Parse exits 2 on a bad value or combination, e.g. stickiness-free
// without an advertise address). Redis is pointed at a closed loopback
// port: a node whose configuration is accepted goes on to connect and
// fails with exit 1, or keeps running (no cluster); both pass.
func TestEveryBuildsEnvIsAcceptedByTheBinary(t *testing.T) {
	forEachBuild(t, checkEnvAccepted)
}

// checkEnvAccepted is TestEveryBuildsEnvIsAcceptedByTheBinary for one build.
func checkEnvAccepted(t *testing.T, b *bundle) {
	bin := switchboardBinary(t)
	_, c := b.app(t)
	// Same hosts as the manifest (an empty host matters: it decides
	// whether an advertise address is needed), free ports.
	override := map[string]string{}
	for _, name := range []string{"SWITCHBOARD_LISTEN", "SWITCHBOARD_INTERNAL_LISTEN"} {
		host, _, err := net.SplitHostPort(effective(t, c, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		override[name] = net.JoinHostPort(host, strconv.Itoa(freePort(t)))
	}
	env := podEnv(t, b, c, override)
	for i, kv := range env {
		if strings.HasPrefix(kv, "SWITCHBOARD_REDIS_URL=") {
			env[i] = fmt.Sprintf("SWITCHBOARD_REDIS_URL=redis://127.0.0.1:%d/0", freePort(t))
		}
	}
	cmd := exec.Command(bin, c.Args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	setPdeathsig(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 2 {
			t.Errorf("switchboard refuses the configuration of %s:\n%s", b.name, out.String())
		}
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Stickiness-free mode is what lets the no-sticky overlay work (long
// polling through a round-robin balancer) and the traefik overlay drain
// (Traefik sends a draining pod's polling requests to another pod, cookie
// or not); wherever it is on, the node advertises a routable address on
// its internal port.
func TestStickinessFreeWhereNeeded(t *testing.T) {
	forEachBuild(t, func(t *testing.T, b *bundle) {
		_, c := b.app(t)
		on, err := strconv.ParseBool(orDefault(effective(t, c, "SWITCHBOARD_STICKINESS_FREE"), "false"))
		if err != nil {
			t.Fatalf("SWITCHBOARD_STICKINESS_FREE: %v", err)
		}
		if (b.name == "overlays/no-sticky" || b.name == "overlays/traefik") && !on {
			t.Errorf("%s without SWITCHBOARD_STICKINESS_FREE=true: polling requests that reach another node get \"Session ID unknown\"", b.name)
		}
		if !on {
			return
		}
		// As the pod sees it: $(POD_IP) expanded to the (fake) pod IP.
		adv := ""
		for _, kv := range podEnv(t, b, c, nil) {
			if v, ok := strings.CutPrefix(kv, "SWITCHBOARD_ADVERTISE_ADDR="); ok {
				adv = v
			}
		}
		host, port, err := net.SplitHostPort(adv)
		if err != nil || host == "" || host == "0.0.0.0" || host == "::" || strings.HasPrefix(host, "127.") || host == "localhost" || strings.Contains(host, "$(") {
			t.Errorf("SWITCHBOARD_ADVERTISE_ADDR %q: other nodes cannot reach that (%v)", adv, err)
			return
		}
		if want := mustPort(t, effective(t, c, "SWITCHBOARD_INTERNAL_LISTEN")); port != strconv.Itoa(int(want)) {
			t.Errorf("SWITCHBOARD_ADVERTISE_ADDR port %s, the internal listener is on %d", port, want)
		}
		for _, env := range []string{"SWITCHBOARD_REDIS_URL", "SWITCHBOARD_CLUSTER_SECRET"} {
			found := false
			for _, e := range c.Env {
				found = found || e.Name == env
			}
			if !found {
				t.Errorf("stickiness-free mode without %s", env)
			}
		}
	})
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func secretValue(t *testing.T, b *bundle, ref *corev1.SecretKeySelector) string {
	t.Helper()
	for _, s := range b.secrets {
		if s.Name != ref.Name {
			continue
		}
		if v, ok := s.StringData[ref.Key]; ok {
			return v
		}
		if v, ok := s.Data[ref.Key]; ok {
			return string(v)
		}
		t.Fatalf("Secret %s has no key %q", ref.Name, ref.Key)
	}
	t.Fatalf("no Secret %s in %s", ref.Name, b.name)
	return ""
}
