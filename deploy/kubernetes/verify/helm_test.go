package verify

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// The Helm chart (deploy/helm/switchboard) against the kustomize
// manifests: rendered with a value set, it must give the objects of the
// overlay that set stands for, and every render passes the invariants the
// overlays do. helm is the binary run.sh builds from helm.sh/helm/v4
// (SWITCHBOARD_HELM, else run.sh's cache); without it these tests skip.

const helmVersion = "v4.3.2" // run.sh's HELM_VERSION default

var chartDir = filepath.Join(repoRoot, "deploy", "helm", "switchboard")

// helmBinary is SWITCHBOARD_HELM, else the helm run.sh caches; the test
// skips when there is none.
func helmBinary(t *testing.T) string {
	t.Helper()
	p := os.Getenv("SWITCHBOARD_HELM")
	if p == "" {
		root := os.Getenv("SWITCHBOARD_K8S_CACHE")
		if root == "" {
			base, err := os.UserCacheDir()
			if err != nil {
				t.Skipf("no helm: SWITCHBOARD_HELM unset and no cache directory (%v)", err)
			}
			root = filepath.Join(base, "switchboard-k8s")
		}
		p = filepath.Join(root, "helm-"+helmVersion, "bin", "helm")
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no helm at %s (bash deploy/kubernetes/verify/run.sh builds it): %v", p, err)
	}
	return p
}

// runHelm runs helm with its configuration and cache in a temp directory.
func runHelm(t *testing.T, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	cmd := exec.Command(helmBinary(t), args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home+"/config", "HELM_CACHE_HOME="+home+"/cache", "HELM_DATA_HOME="+home+"/data")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.Bytes(), errb.Bytes(), err
}

var chartCache sync.Map // name -> *renderResult

// renderChart renders the chart as release "switchboard" (so that its
// names are the base's) with the value set verify/helm/SET.yaml ("defaults":
// none) and extra helm arguments, and decodes it like a kustomize build.
func renderChart(t *testing.T, set string, extra ...string) *bundle {
	t.Helper()
	name := "helm/" + set
	if len(extra) > 0 {
		name += " " + strings.Join(extra, " ")
	}
	args := []string{"template", "switchboard", chartDir}
	if set != "defaults" {
		args = append(args, "-f", filepath.Join(kustomizeRoot, "verify", "helm", set+".yaml"))
	}
	args = append(args, extra...)
	v, _ := chartCache.LoadOrStore(name, &renderResult{})
	r := v.(*renderResult)
	r.once.Do(func() {
		out, errOut, err := runHelm(t, args...)
		if err != nil {
			r.err = fmt.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, errOut)
			return
		}
		r.b, r.err = decodeHelm(name, out)
	})
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.b
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

// decodeHelm splits helm template's output into its objects.
func decodeHelm(name string, out []byte) (*bundle, error) {
	b := &bundle{name: name, yaml: out}
	for _, doc := range docSep.Split(string(out), -1) {
		var probe map[string]any
		if err := yaml.Unmarshal([]byte(doc), &probe); err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		if len(probe) == 0 { // only comments
			continue
		}
		if err := b.add([]byte(doc)); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return b, nil
}

// chartValueSets lists the value sets of verify/helm, "defaults" first.
func chartValueSets(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(kustomizeRoot, "verify", "helm", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no value sets in verify/helm (%v)", err)
	}
	sets := []string{"defaults"}
	for _, f := range files {
		sets = append(sets, strings.TrimSuffix(filepath.Base(f), ".yaml"))
	}
	return sets
}

// The value sets that stand for a kustomize build. Host and TLS are not
// in the overlays: the comparison renders ingress-nginx without them
// (TestChartValueSets checks them).
var chartEquivalents = []struct {
	set       string
	extra     []string
	kustomize string
}{
	{"defaults", nil, "base"},
	{"ingress-nginx", []string{"--set", "ingress.host=,ingress.tls.secretName="}, "overlays/ingress-nginx"},
	{"stickiness-free", nil, "overlays/no-sticky"},
	{"traefik", nil, "verify/testdata/traefik-ingressclass"},
}

// The chart gives the kustomize build's objects: the same kinds and names,
// every label the build has (the chart adds its own, and
// app.kubernetes.io/instance to the selectors), the same annotations (the
// pods' may add checksum/*), and otherwise the same fields: container
// args, env, ports, probes, preStop, resources, security contexts, the
// Services, PDB, HPA, Ingress and IngressClass. Secrets: the same keys
// (kustomize's generated name loses its hash suffix here).
func TestChartMatchesKustomize(t *testing.T) {
	helmBinary(t)
	for _, c := range chartEquivalents {
		t.Run(c.set, func(t *testing.T) {
			compareBundles(t, render(t, c.kustomize), renderChart(t, c.set, c.extra...))
		})
	}
}

func objectKey(o map[string]any) string {
	md, _ := o["metadata"].(map[string]any)
	return fmt.Sprintf("%v/%v", o["kind"], md["name"])
}

var hashSuffix = regexp.MustCompile(`-[a-z0-9]{10}$`)

// unhashedSecrets maps kustomize's generated Secret names to the names
// they were generated from.
func unhashedSecrets(b *bundle) map[string]string {
	m := map[string]string{}
	for _, s := range b.secrets {
		m[s.Name] = hashSuffix.ReplaceAllString(s.Name, "")
	}
	return m
}

// renameStrings replaces, at any depth, the strings that are keys of names.
func renameStrings(v any, names map[string]string) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			out[k] = renameStrings(e, names)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = renameStrings(e, names)
		}
		return out
	case string:
		if n, ok := names[v]; ok {
			return n
		}
	}
	return v
}

func compareBundles(t *testing.T, want, got *bundle) {
	t.Helper()
	names := unhashedSecrets(want)
	wantObjs := map[string]map[string]any{}
	for _, o := range want.raw {
		o = renameStrings(o, names).(map[string]any)
		wantObjs[objectKey(o)] = o
	}
	gotObjs := map[string]map[string]any{}
	for _, o := range got.raw {
		gotObjs[objectKey(o)] = o
	}
	var keys []string
	for k := range wantObjs {
		keys = append(keys, k)
	}
	for k := range gotObjs {
		if _, ok := wantObjs[k]; !ok {
			t.Errorf("the chart renders %s, which %s has not", k, want.name)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, ok := gotObjs[k]
		if !ok {
			t.Errorf("%s has %s, the chart (%s) has not", want.name, k, got.name)
			continue
		}
		w := wantObjs[k]
		if w["kind"] == "Secret" {
			compareSecrets(t, k, w, g)
			continue
		}
		var diffs []string
		sameTree(k, w, g, &diffs)
		for _, d := range diffs {
			t.Errorf("%s vs %s: %s", want.name, got.name, d)
		}
	}
}

func compareSecrets(t *testing.T, k string, w, g map[string]any) {
	t.Helper()
	keysOf := func(o map[string]any) []string {
		var out []string
		for _, f := range []string{"data", "stringData"} {
			m, _ := o[f].(map[string]any)
			for key := range m {
				out = append(out, key)
			}
		}
		slices.Sort(out)
		return out
	}
	if wk, gk := keysOf(w), keysOf(g); !slices.Equal(wk, gk) {
		t.Errorf("%s: keys %v, the kustomize build's %v", k, gk, wk)
	}
}

// superset maps: the chart may add labels, and checksums to the pods.
func supersetField(path string) bool {
	return strings.HasSuffix(path, ".labels") || strings.HasSuffix(path, ".matchLabels") ||
		strings.HasSuffix(path, ".spec.selector") || strings.HasSuffix(path, ".template.metadata.annotations")
}

// sameTree compares want and got at path, appending what differs to diffs.
func sameTree(path string, want, got any, diffs *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: %v, want %v", path, got, want))
			return
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				*diffs = append(*diffs, fmt.Sprintf("%s.%s missing (want %v)", path, k, wv))
				continue
			}
			sameTree(path+"."+k, wv, gv, diffs)
		}
		for k, gv := range g {
			if _, ok := w[k]; ok {
				continue
			}
			if supersetField(path) && (!strings.HasSuffix(path, ".annotations") || strings.HasPrefix(k, "checksum/")) ||
				k == "labels" && strings.HasSuffix(path, ".metadata") {
				continue
			}
			*diffs = append(*diffs, fmt.Sprintf("%s.%s: %v, which the kustomize build does not set", path, k, gv))
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			*diffs = append(*diffs, fmt.Sprintf("%s: %v, want %v", path, got, want))
			return
		}
		for i := range w {
			sameTree(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], diffs)
		}
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) {
			*diffs = append(*diffs, fmt.Sprintf("%s: %v, want %v", path, got, want))
		}
	}
}

// Every value set renders objects that pass the overlays' invariants (pod
// security, the drain, env names, references and values the binary
// accepts), and what the set asks for.
func TestChartValueSets(t *testing.T) {
	helmBinary(t)
	for _, set := range chartValueSets(t) {
		t.Run(set, func(t *testing.T) {
			b := renderChart(t, set)
			withSiteSecrets(b)
			for _, check := range []func(*testing.T, *bundle){
				checkPodSecurityAll, checkDrainFits, checkEnvVarsAreSettings, checkEnvReferences, checkEnvAccepted,
			} {
				check(t, b)
			}
			expect, ok := chartExpectations[set]
			if !ok {
				t.Fatalf("value set %s: no expectation in chartExpectations (helm_test.go); add one", set)
			}
			expect(t, b)
		})
	}
}

// withSiteSecrets adds a made-up Secret for each one the pods name that
// the render does not have (a site's own, such as redis.existingSecret).
func withSiteSecrets(b *bundle) {
	have := map[string]bool{}
	for _, s := range b.secrets {
		have[s.Name] = true
	}
	for _, d := range b.deployments {
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, e := range c.Env {
				if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || have[e.ValueFrom.SecretKeyRef.Name] {
					continue
				}
				ref := e.ValueFrom.SecretKeyRef
				s := &corev1.Secret{StringData: map[string]string{ref.Key: "a-secret-of-the-site-" + ref.Key}}
				s.Name = ref.Name
				b.secrets = append(b.secrets, s)
				have[ref.Name] = true
			}
		}
	}
}

// envOf returns the app container's variable name, and whether it is set.
func envOf(t *testing.T, b *bundle, name string) (corev1.EnvVar, bool) {
	t.Helper()
	_, c := b.app(t)
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

func wantEnvValue(t *testing.T, b *bundle, name, value string) {
	t.Helper()
	e, ok := envOf(t, b, name)
	if !ok || e.ValueFrom != nil || e.Value != value {
		t.Errorf("%s: %s is %+v (set %v), want %q", b.name, name, e, ok, value)
	}
}

func wantSecretRef(t *testing.T, b *bundle, name, secret, key string) {
	t.Helper()
	e, _ := envOf(t, b, name)
	if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != secret || e.ValueFrom.SecretKeyRef.Key != key {
		t.Errorf("%s: %s is %+v, want it from Secret %s key %s", b.name, name, e, secret, key)
	}
}

func wantCounts(t *testing.T, b *bundle, deployments, secrets, hpas, pdbs, ingresses, classes int) {
	t.Helper()
	got := []int{len(b.deployments), len(b.secrets), len(b.hpas), len(b.pdbs), len(b.ingresses), len(b.ingClasses)}
	if want := []int{deployments, secrets, hpas, pdbs, ingresses, classes}; !slices.Equal(got, want) {
		t.Errorf("%s: Deployments, Secrets, HPAs, PDBs, Ingresses, IngressClasses: %v, want %v", b.name, got, want)
	}
}

// What each value set of verify/helm asks for, beyond the comparison with
// its kustomize equivalent. (Secrets counted after withSiteSecrets.)
var chartExpectations = map[string]func(*testing.T, *bundle){
	"defaults": func(t *testing.T, b *bundle) {
		wantCounts(t, b, 2, 1, 1, 1, 0, 0)
		d, _ := b.app(t)
		sel := d.Spec.Selector.MatchLabels
		if sel["app.kubernetes.io/name"] != appName || sel["app.kubernetes.io/instance"] != "switchboard" {
			t.Errorf("selector %v: want the name and the release (two releases in a namespace must not select each other's pods)", sel)
		}
	},
	"ingress-nginx": func(t *testing.T, b *bundle) {
		wantCounts(t, b, 2, 1, 1, 1, 1, 0)
		ing := b.ingresses[0]
		if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != "realtime.example.com" {
			t.Errorf("Ingress rules %+v, want one for host realtime.example.com", ing.Spec.Rules)
		}
		if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "realtime-example-com-tls" || !slices.Equal(ing.Spec.TLS[0].Hosts, []string{"realtime.example.com"}) {
			t.Errorf("Ingress TLS %+v, want realtime-example-com-tls for realtime.example.com", ing.Spec.TLS)
		}
	},
	"stickiness-free": func(t *testing.T, b *bundle) {
		wantCounts(t, b, 2, 1, 1, 1, 1, 0)
		wantEnvValue(t, b, "SWITCHBOARD_STICKINESS_FREE", "true")
	},
	"traefik": func(t *testing.T, b *bundle) {
		wantCounts(t, b, 2, 1, 1, 1, 1, 1)
		wantEnvValue(t, b, "SWITCHBOARD_ADVERTISE_ADDR", "$(POD_IP):9090")
	},
	"external-redis": func(t *testing.T, b *bundle) {
		wantCounts(t, b, 1, 2, 1, 1, 0, 0) // both Secrets the site's
		wantSecretRef(t, b, "SWITCHBOARD_REDIS_URL", "switchboard-redis-url", "url")
		wantSecretRef(t, b, "SWITCHBOARD_CLUSTER_SECRET", "my-cluster-secret", "token")
		if b.service("switchboard-redis") != nil {
			t.Error("the bundled Redis's Service is rendered")
		}
	},
	"no-hpa-pdb": func(t *testing.T, b *bundle) {
		wantCounts(t, b, 1, 1, 0, 0, 0, 0)
		if d, _ := b.app(t); d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
			t.Errorf("Deployment replicas %v, want 2 (no HPA owns the scale)", d.Spec.Replicas)
		}
		wantEnvValue(t, b, "SWITCHBOARD_REDIS_URL", "redis://redis.data.svc.cluster.local:6379/0")
	},
	"recovery": func(t *testing.T, b *bundle) {
		wantCounts(t, b, 2, 1, 1, 1, 0, 0)
		wantEnvValue(t, b, "SWITCHBOARD_RECOVERY", "true")
		wantEnvValue(t, b, "SWITCHBOARD_RECOVERY_WINDOW", "5m")
		_, c := b.app(t)
		if !slices.Equal(c.Args, []string{"serve", "--max-payload=2000000"}) {
			t.Errorf("args %q, want serve --max-payload=2000000", c.Args)
		}
		if last := c.Env[len(c.Env)-1]; last.Name != "SWITCHBOARD_CORS_ORIGINS" {
			t.Errorf("extraEnv is not last: %s is", last.Name)
		}
		if c.Image != "ghcr.io/switchboard-io/switchboard:v1.0.0" || c.ImagePullPolicy != corev1.PullIfNotPresent {
			t.Errorf("image %s (%s), want ghcr.io/switchboard-io/switchboard:v1.0.0 (IfNotPresent)", c.Image, c.ImagePullPolicy)
		}
		wantSecretRef(t, b, "SWITCHBOARD_CLUSTER_SECRET", "switchboard-cluster", "secret")
		if got := secretValue(t, b, &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "switchboard-cluster"}, Key: "secret"}); got != "a-cluster-secret-of-at-least-16-characters" {
			t.Errorf("cluster secret %q, want the value given", got)
		}
	},
}

// The chart's own Secret keeps one value per render: the pods' checksum
// annotation is that of the Secret's value (so a new secret rolls them).
func TestChartSecretChecksum(t *testing.T) {
	helmBinary(t)
	b := renderChart(t, "defaults")
	d, _ := b.app(t)
	v := secretValue(t, b, &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "switchboard-cluster"}, Key: "secret"})
	if len(v) < 32 {
		t.Errorf("generated cluster secret %q: too short", v)
	}
	if got, want := d.Spec.Template.Annotations["checksum/cluster-secret"], fmt.Sprintf("%x", sha256.Sum256([]byte(v))); got != want {
		t.Errorf("checksum/cluster-secret %s, the Secret's value hashes to %s", got, want)
	}
}
