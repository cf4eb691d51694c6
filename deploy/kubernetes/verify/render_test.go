package verify

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// repoRoot is the Switchboard repository, three levels up from this
// package (deploy/kubernetes/verify).
var repoRoot = func() string {
	p, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		panic(err)
	}
	return p
}()

var kustomizeRoot = filepath.Join(repoRoot, "deploy", "kubernetes")

// The overlays this suite knows what to expect of. A new overlay directory
// fails TestOverlaySet until it is added here (and to the stickiness table).
var knownOverlays = []string{"ingress-nginx", "no-sticky", "traefik"}

// The name of the Switchboard Deployment, its container and its public Service.
const appName = "switchboard"

// bundle is one rendered kustomization, decoded into API types. Decoding
// is strict: a field the API type does not have fails the render, so a typo
// such as readinessProbes is caught here as well as by the apiserver.
type bundle struct {
	name        string
	yaml        []byte
	raw         []map[string]any // every object, generic
	deployments []*appsv1.Deployment
	services    []*corev1.Service
	secrets     []*corev1.Secret
	configMaps  []*corev1.ConfigMap
	ingresses   []*networkingv1.Ingress
	ingClasses  []*networkingv1.IngressClass
	pdbs        []*policyv1.PodDisruptionBudget
	hpas        []*autoscalingv2.HorizontalPodAutoscaler
}

var renderCache sync.Map // dir -> *renderResult

type renderResult struct {
	once sync.Once
	b    *bundle
	err  error
}

// render runs kustomize (the same library kubectl embeds) on a directory
// under deploy/kubernetes ("base" or "overlays/NAME").
func render(t *testing.T, rel string) *bundle {
	t.Helper()
	v, _ := renderCache.LoadOrStore(rel, &renderResult{})
	r := v.(*renderResult)
	r.once.Do(func() { r.b, r.err = doRender(rel) })
	if r.err != nil {
		t.Fatalf("render %s: %v", rel, r.err)
	}
	return r.b
}

func doRender(rel string) (*bundle, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(kustomizeRoot, rel))
	if err != nil {
		return nil, err
	}
	b := &bundle{name: rel}
	if b.yaml, err = m.AsYaml(); err != nil {
		return nil, err
	}
	for _, res := range m.Resources() {
		doc, err := res.AsYAML()
		if err != nil {
			return nil, err
		}
		if err := b.add(doc); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// appendNew appends a new, zero T to list and returns it.
func appendNew[T any](list *[]*T) *T {
	v := new(T)
	*list = append(*list, v)
	return v
}

// add decodes one object (a YAML document) into the bundle.
func (b *bundle) add(doc []byte) error {
	var generic map[string]any
	if err := yaml.Unmarshal(doc, &generic); err != nil {
		return err
	}
	apiVersion, _ := generic["apiVersion"].(string)
	kind, _ := generic["kind"].(string)
	md, _ := generic["metadata"].(map[string]any)
	id := fmt.Sprintf("%s/%v", kind, md["name"])
	b.raw = append(b.raw, generic)
	var target any
	switch apiVersion + " " + kind {
	case "apps/v1 Deployment":
		target = appendNew(&b.deployments)
	case "v1 Service":
		target = appendNew(&b.services)
	case "v1 Secret":
		target = appendNew(&b.secrets)
	case "v1 ConfigMap":
		target = appendNew(&b.configMaps)
	case "networking.k8s.io/v1 Ingress":
		target = appendNew(&b.ingresses)
	case "networking.k8s.io/v1 IngressClass":
		target = appendNew(&b.ingClasses)
	case "policy/v1 PodDisruptionBudget":
		target = appendNew(&b.pdbs)
	case "autoscaling/v2 HorizontalPodAutoscaler":
		target = appendNew(&b.hpas)
	default:
		return fmt.Errorf("%s (%s): no checks for this kind; add it to bundle.add in render_test.go and decide which invariants apply", id, apiVersion)
	}
	if err := yaml.UnmarshalStrict(doc, target); err != nil {
		return fmt.Errorf("%s does not decode strictly into its API type: %w", id, err)
	}
	return nil
}

// overlayDirs lists the overlays present on disk.
func overlayDirs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(kustomizeRoot, "overlays"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// composedBuilds lists the kustomizations under verify/testdata: overlays
// combined with optional components, as a site's own overlay would.
func composedBuilds(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(kustomizeRoot, "verify", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, "verify/testdata/"+e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// forEachBuild runs f for the base, every overlay and every composed build,
// each as a subtest.
func forEachBuild(t *testing.T, f func(t *testing.T, b *bundle)) {
	t.Helper()
	builds := []string{"base"}
	for _, o := range overlayDirs(t) {
		builds = append(builds, "overlays/"+o)
	}
	builds = append(builds, composedBuilds(t)...)
	for _, rel := range builds {
		t.Run(rel, func(t *testing.T) { f(t, render(t, rel)) })
	}
}

// forEachOverlay runs f for every overlay, each as a subtest.
func forEachOverlay(t *testing.T, f func(t *testing.T, name string, b *bundle)) {
	t.Helper()
	for _, o := range overlayDirs(t) {
		t.Run(o, func(t *testing.T) { f(t, o, render(t, "overlays/"+o)) })
	}
}

func (b *bundle) deployment(t *testing.T, name string) *appsv1.Deployment {
	t.Helper()
	for _, d := range b.deployments {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("%s: no Deployment %q", b.name, name)
	return nil
}

func (b *bundle) service(name string) *corev1.Service {
	for _, s := range b.services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// app returns the Switchboard Deployment and its switchboard container.
func (b *bundle) app(t *testing.T) (*appsv1.Deployment, *corev1.Container) {
	t.Helper()
	d := b.deployment(t, appName)
	for i := range d.Spec.Template.Spec.Containers {
		if c := &d.Spec.Template.Spec.Containers[i]; c.Name == appName {
			return d, c
		}
	}
	t.Fatalf("%s: Deployment %s has no container %q", b.name, appName, appName)
	return nil, nil
}

// podsSelected names the Deployments whose pod template labels sel matches.
func (b *bundle) podsSelected(sel labels.Selector) []string {
	var out []string
	for _, d := range b.deployments {
		if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			out = append(out, d.Name)
		}
	}
	return out
}

// walk calls f for every key/value pair in every object, at any depth, with
// the path to it.
func (b *bundle) walk(f func(obj, path string, key string, value any)) {
	var rec func(obj, path string, v any)
	rec = func(obj, path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				f(obj, path, k, v[k])
				rec(obj, path+"."+k, v[k])
			}
		case []any:
			for i, e := range v {
				rec(obj, fmt.Sprintf("%s[%d]", path, i), e)
			}
		}
	}
	for _, o := range b.raw {
		md, _ := o["metadata"].(map[string]any)
		rec(fmt.Sprintf("%v/%v", o["kind"], md["name"]), "", o)
	}
}

// annotations returns every annotation of every object, keyed by
// "Kind/name: key".
func (b *bundle) annotations() map[string]string {
	out := map[string]string{}
	for _, o := range b.raw {
		md, _ := o["metadata"].(map[string]any)
		ann, _ := md["annotations"].(map[string]any)
		for k, v := range ann {
			out[fmt.Sprintf("%v/%v: %s", o["kind"], md["name"], k)] = fmt.Sprint(v)
		}
	}
	return out
}

func TestOverlaySet(t *testing.T) {
	got := overlayDirs(t)
	if !slices.Equal(got, knownOverlays) {
		t.Fatalf("overlays on disk %v, this suite knows %v: update knownOverlays and the per-overlay expectations (stickiness) in the verify module", got, knownOverlays)
	}
}

func TestEveryBuildRenders(t *testing.T) {
	forEachBuild(t, func(t *testing.T, b *bundle) {
		if len(b.deployments) == 0 || b.service(appName) == nil {
			t.Fatalf("%s renders no Deployment or Service %q", b.name, appName)
		}
		if !strings.Contains(string(b.yaml), "kind: Deployment") {
			t.Fatalf("%s: rendered YAML lacks the Deployment", b.name)
		}
	})
}
