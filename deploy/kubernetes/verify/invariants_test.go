package verify

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// mustPort returns the port of a listen address such as ":3000".
func mustPort(t *testing.T, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("listen address %q: %v", addr, err)
	}
	n, err := strconv.ParseInt(p, 10, 32)
	if err != nil || n <= 0 {
		t.Fatalf("listen address %q: port %q is not a fixed number", addr, p)
	}
	return int32(n)
}

// containerPort resolves a probe's or Service's port (a name or a number)
// to a container port number, requiring a name to exist.
func containerPort(c *corev1.Container, p intstr.IntOrString) (int32, error) {
	if p.Type == intstr.Int {
		return p.IntVal, nil
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort, nil
		}
	}
	return 0, fmt.Errorf("container %s has no port named %q", c.Name, p.StrVal)
}

// Probe paths and ports are those of the binary: readiness /readyz,
// liveness (and startup) /healthz, all on the internal listener; the
// container ports are exactly the ports of SWITCHBOARD_LISTEN and
// SWITCHBOARD_INTERNAL_LISTEN.
func TestProbesAndPortsMatchTheBinary(t *testing.T) {
	forEachBuild(t, func(t *testing.T, b *bundle) {
		d, c := b.app(t)
		public := mustPort(t, effective(t, c, "SWITCHBOARD_LISTEN"))
		internal := mustPort(t, effective(t, c, "SWITCHBOARD_INTERNAL_LISTEN"))
		if public == internal {
			t.Fatalf("public and internal listen on the same port %d", public)
		}
		byName := map[string]int32{}
		var numbers []int32
		for _, cp := range c.Ports {
			byName[cp.Name] = cp.ContainerPort
			numbers = append(numbers, cp.ContainerPort)
			if cp.Protocol != "" && cp.Protocol != corev1.ProtocolTCP {
				t.Errorf("container port %s: protocol %s, want TCP", cp.Name, cp.Protocol)
			}
		}
		slices.Sort(numbers)
		want := []int32{min(public, internal), max(public, internal)}
		if !slices.Equal(numbers, want) {
			t.Errorf("container ports %v, want exactly the listen ports %v (SWITCHBOARD_LISTEN %d, SWITCHBOARD_INTERNAL_LISTEN %d)", numbers, want, public, internal)
		}
		if byName["http"] != public {
			t.Errorf("container port \"http\" is %d, SWITCHBOARD_LISTEN says %d", byName["http"], public)
		}
		if byName["internal"] != internal {
			t.Errorf("container port \"internal\" is %d, SWITCHBOARD_INTERNAL_LISTEN says %d", byName["internal"], internal)
		}
		for _, p := range []struct {
			name, path string
			probe      *corev1.Probe
			required   bool
		}{
			{"readinessProbe", "/readyz", c.ReadinessProbe, true},
			{"livenessProbe", "/healthz", c.LivenessProbe, true},
			{"startupProbe", "/healthz", c.StartupProbe, false},
		} {
			if p.probe == nil {
				if p.required {
					t.Errorf("%s: missing", p.name)
				}
				continue
			}
			if p.probe.HTTPGet == nil {
				t.Errorf("%s: not an httpGet probe", p.name)
				continue
			}
			g := p.probe.HTTPGet
			if g.Path != p.path {
				t.Errorf("%s: path %q, the binary serves %q", p.name, g.Path, p.path)
			}
			if g.Scheme != "" && g.Scheme != corev1.URISchemeHTTP {
				t.Errorf("%s: scheme %s, the internal listener is plain HTTP", p.name, g.Scheme)
			}
			port, err := containerPort(c, g.Port)
			if err != nil {
				t.Errorf("%s: %v", p.name, err)
			} else if port != internal {
				t.Errorf("%s: port %s (%d), want the internal port %d", p.name, g.Port.String(), port, internal)
			}
		}
		// Scrape annotations point at the internal listener too.
		ann := d.Spec.Template.Annotations
		if v, ok := ann["prometheus.io/port"]; ok && v != strconv.Itoa(int(internal)) {
			t.Errorf("prometheus.io/port %q, metrics are on the internal port %d", v, internal)
		}
		if v, ok := ann["prometheus.io/path"]; ok && v != "/metrics" {
			t.Errorf("prometheus.io/path %q, want /metrics", v)
		}
	})
}

// Services select pods that exist, exactly one Deployment's, and their
// target ports exist in that pod; the Ingress backends name a Service port.
func TestServicesSelectPods(t *testing.T) {
	forEachBuild(t, func(t *testing.T, b *bundle) {
		for _, d := range b.deployments {
			sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
			if err != nil {
				t.Fatalf("Deployment %s selector: %v", d.Name, err)
			}
			if got := b.podsSelected(sel); !slices.Equal(got, []string{d.Name}) {
				t.Errorf("Deployment %s's selector %v matches the pod templates of %v, want only its own", d.Name, sel, got)
			}
		}
		for _, s := range b.services {
			if len(s.Spec.Selector) == 0 {
				t.Errorf("Service %s has no selector", s.Name)
				continue
			}
			sel := metav1.SetAsLabelSelector(s.Spec.Selector)
			ls, _ := metav1.LabelSelectorAsSelector(sel)
			got := b.podsSelected(ls)
			if len(got) != 1 {
				t.Errorf("Service %s selector %v matches the pods of %v, want exactly one Deployment", s.Name, s.Spec.Selector, got)
				continue
			}
			d := b.deployment(t, got[0])
			for _, sp := range s.Spec.Ports {
				tp := sp.TargetPort
				if tp.Type == intstr.Int && tp.IntVal == 0 {
					tp = intstr.FromInt32(sp.Port)
				}
				found := false
				for i := range d.Spec.Template.Spec.Containers {
					if _, err := containerPort(&d.Spec.Template.Spec.Containers[i], tp); err == nil {
						found = true
					}
				}
				if !found {
					t.Errorf("Service %s port %s: targetPort %s is no port of Deployment %s", s.Name, sp.Name, tp.String(), d.Name)
				}
			}
		}
		// The public Service targets the public port, the headless one the
		// internal port (node-to-node forwarding).
		_, c := b.app(t)
		wantTarget := map[string]int32{
			appName:               mustPort(t, effective(t, c, "SWITCHBOARD_LISTEN")),
			appName + "-internal": mustPort(t, effective(t, c, "SWITCHBOARD_INTERNAL_LISTEN")),
		}
		for name, want := range wantTarget {
			s := b.service(name)
			if s == nil {
				t.Errorf("no Service %s", name)
				continue
			}
			for _, sp := range s.Spec.Ports {
				if got, err := containerPort(c, sp.TargetPort); err != nil || got != want {
					t.Errorf("Service %s port %s targets %s (%d, %v), want port %d", name, sp.Name, sp.TargetPort.String(), got, err, want)
				}
			}
		}
		if s := b.service(appName + "-internal"); s != nil {
			if s.Spec.ClusterIP != corev1.ClusterIPNone || !s.Spec.PublishNotReadyAddresses {
				t.Errorf("Service %s-internal must be headless with publishNotReadyAddresses (draining nodes still own sessions)", appName)
			}
		}
		for _, ing := range b.ingresses {
			for _, r := range ing.Spec.Rules {
				if r.HTTP == nil {
					continue
				}
				for _, p := range r.HTTP.Paths {
					be := p.Backend.Service
					if be == nil {
						t.Errorf("Ingress %s path %s has no Service backend", ing.Name, p.Path)
						continue
					}
					s := b.service(be.Name)
					if s == nil {
						t.Errorf("Ingress %s path %s: no Service %s", ing.Name, p.Path, be.Name)
						continue
					}
					ok := false
					for _, sp := range s.Spec.Ports {
						if (be.Port.Name != "" && sp.Name == be.Port.Name) || (be.Port.Number != 0 && sp.Port == be.Port.Number) {
							ok = true
						}
					}
					if !ok {
						t.Errorf("Ingress %s path %s: Service %s has no port %+v", ing.Name, p.Path, be.Name, be.Port)
					}
					if be.Name != appName {
						t.Errorf("Ingress %s routes to Service %s, want %s", ing.Name, be.Name, appName)
					}
				}
			}
		}
	})
}

// Every secretKeyRef and configMapKeyRef names an object and key the build
// renders (generated names carry a hash suffix that kustomize must have
// rewritten into the reference).
func TestReferencedSecretsExist(t *testing.T) {
	forEachBuild(t, func(t *testing.T, b *bundle) {
		for _, d := range b.deployments {
			for _, c := range d.Spec.Template.Spec.Containers {
				for _, e := range c.Env {
					if e.ValueFrom == nil {
						continue
					}
					if r := e.ValueFrom.SecretKeyRef; r != nil {
						_ = secretValue(t, b, r)
					}
					if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
						found := false
						for _, cm := range b.configMaps {
							if _, ok := cm.Data[r.Key]; ok && cm.Name == r.Name {
								found = true
							}
						}
						if !found {
							t.Errorf("env %s: no ConfigMap %s with key %s", e.Name, r.Name, r.Key)
						}
					}
				}
			}
		}
	})
}

func preStopSleep(t *testing.T, c *corev1.Container) time.Duration {
	t.Helper()
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		return 0
	}
	h := c.Lifecycle.PreStop
	switch {
	case h.Sleep != nil:
		return time.Duration(h.Sleep.Seconds) * time.Second
	case h.Exec != nil && len(h.Exec.Command) == 2 && strings.HasSuffix(h.Exec.Command[0], "sleep"):
		n, err := strconv.Atoi(h.Exec.Command[1])
		if err != nil {
			t.Fatalf("preStop %v: %v", h.Exec.Command, err)
		}
		return time.Duration(n) * time.Second
	}
	t.Fatalf("preStop hook %+v: only sleep is understood by this check", h)
	return 0
}

// The drain fits: terminationGracePeriodSeconds >= preStop sleep +
// SWITCHBOARD_SHUTDOWN_GRACE (else the kubelet SIGKILLs a node mid-drain),
// and SWITCHBOARD_DRAIN_WINDOW < SWITCHBOARD_SHUTDOWN_GRACE (the binary
// refuses otherwise).
func TestDrainFitsTheGracePeriod(t *testing.T) {
	forEachBuild(t, checkDrainFits)
}

// checkDrainFits is TestDrainFitsTheGracePeriod for one build.
func checkDrainFits(t *testing.T, b *bundle) {
	d, c := b.app(t)
	tgps := time.Duration(30) * time.Second // the API default
	if p := d.Spec.Template.Spec.TerminationGracePeriodSeconds; p != nil {
		tgps = time.Duration(*p) * time.Second
	}
	sleep := preStopSleep(t, c)
	grace := effectiveDuration(t, c, "SWITCHBOARD_SHUTDOWN_GRACE")
	drain := effectiveDuration(t, c, "SWITCHBOARD_DRAIN_WINDOW")
	if tgps < sleep+grace {
		t.Errorf("terminationGracePeriodSeconds %v < preStop sleep %v + SWITCHBOARD_SHUTDOWN_GRACE %v: the kubelet kills the node before its shutdown deadline", tgps, sleep, grace)
	}
	if drain >= grace {
		t.Errorf("SWITCHBOARD_DRAIN_WINDOW %v >= SWITCHBOARD_SHUTDOWN_GRACE %v", drain, grace)
	}
	if sleep == 0 {
		t.Errorf("no preStop sleep: new connections may reach the pod after SIGTERM, until endpoints update")
	}
}

// pingDeadline is pingInterval + pingTimeout: the longest a healthy idle
// connection stays silent in one direction.
func pingDeadline(t *testing.T, b *bundle) time.Duration {
	_, c := b.app(t)
	return effectiveDuration(t, c, "SWITCHBOARD_PING_INTERVAL") + effectiveDuration(t, c, "SWITCHBOARD_PING_TIMEOUT")
}

const nginxPrefix = "nginx.ingress.kubernetes.io/"

// parseNginxSize reads an nginx size ("2m", "512k", "1000").
func parseNginxSize(v string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(strings.ToLower(v), "m"):
		mult, v = 1<<20, v[:len(v)-1]
	case strings.HasSuffix(strings.ToLower(v), "k"):
		mult, v = 1<<10, v[:len(v)-1]
	case strings.HasSuffix(strings.ToLower(v), "g"):
		mult, v = 1<<30, v[:len(v)-1]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n * mult, err
}

// ingress-nginx must keep idle WebSockets and long polls open longer than
// pingInterval + pingTimeout, and accept the bodies the binary accepts.
func TestNginxTimeoutsAndBodySize(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, name string, b *bundle) {
		_, c := b.app(t)
		deadline := pingDeadline(t, b)
		for _, ing := range b.ingresses {
			if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" {
				continue
			}
			for _, key := range []string{"proxy-read-timeout", "proxy-send-timeout"} {
				v, ok := ing.Annotations[nginxPrefix+key]
				if !ok {
					t.Errorf("Ingress %s: no %s%s (nginx's 60 s default is too close to the %v heartbeat)", ing.Name, nginxPrefix, key, deadline)
					continue
				}
				s, err := strconv.Atoi(v)
				if err != nil {
					t.Errorf("Ingress %s: %s=%q is not a number of seconds", ing.Name, key, v)
					continue
				}
				if time.Duration(s)*time.Second <= deadline {
					t.Errorf("Ingress %s: %s %ds <= pingInterval + pingTimeout %v: idle connections would be cut", ing.Name, key, s, deadline)
				}
			}
			maxPayload, err := strconv.ParseInt(effective(t, c, "SWITCHBOARD_MAX_PAYLOAD"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			if v, ok := ing.Annotations[nginxPrefix+"proxy-body-size"]; ok {
				n, err := parseNginxSize(v)
				if err != nil {
					t.Errorf("Ingress %s: proxy-body-size %q: %v", ing.Name, v, err)
				} else if n != 0 && n < maxPayload {
					t.Errorf("Ingress %s: proxy-body-size %s (%d bytes) < SWITCHBOARD_MAX_PAYLOAD %d: nginx would refuse bodies the server accepts", ing.Name, v, n, maxPayload)
				}
			} else if maxPayload > 1<<20 {
				t.Errorf("Ingress %s: nginx's default body limit (1m) < SWITCHBOARD_MAX_PAYLOAD %d", ing.Name, maxPayload)
			}
		}
	})
}

// Stickiness is declared exactly one way per overlay: Traefik's sticky
// cookie on the Service, ingress-nginx's cookie affinity on the Ingress, or
// nothing at all; and never Service sessionAffinity: ClientIP, anywhere
// (combined with a cookie it pins clients behind one NAT to one node and
// fights the cookie; alone it is not what no-sticky means).
func TestStickiness(t *testing.T) {
	const traefikSticky = "traefik.ingress.kubernetes.io/service.sticky.cookie"
	forEachBuild(t, func(t *testing.T, b *bundle) {
		b.walk(func(obj, path, key string, value any) {
			if key == "sessionAffinity" && value != "None" {
				t.Errorf("%s%s.sessionAffinity: %v; stickiness, if any, is the ingress's cookie", obj, path, value)
			}
			if key == "sessionAffinityConfig" {
				t.Errorf("%s%s.sessionAffinityConfig set", obj, path)
			}
		})
	})
	forEachOverlay(t, func(t *testing.T, name string, b *bundle) {
		ann := b.annotations()
		var sticky []string
		for k, v := range ann {
			kl := strings.ToLower(k)
			if strings.Contains(kl, "sticky") || strings.Contains(kl, "affinity") || strings.Contains(kl, "session-cookie") || strings.Contains(kl, "upstream-hash-by") {
				sticky = append(sticky, k+"="+v)
			}
		}
		slices.Sort(sticky)
		svc := b.service(appName)
		switch name {
		case "traefik":
			if svc.Annotations[traefikSticky] != "true" {
				t.Errorf("Service %s lacks %s: \"true\"", appName, traefikSticky)
			}
			if svc.Annotations[traefikSticky+".name"] == "" {
				t.Errorf("Service %s lacks %s.name", appName, traefikSticky)
			}
			for _, k := range sticky {
				if !strings.HasPrefix(k, "Service/"+appName+": "+traefikSticky) {
					t.Errorf("stickiness outside the public Service's Traefik annotations: %s", k)
				}
			}
			for _, ing := range b.ingresses {
				if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "traefik" {
					t.Errorf("Ingress %s: ingressClassName is not traefik", ing.Name)
				}
			}
		case "ingress-nginx":
			if len(b.ingresses) != 1 {
				t.Fatalf("%d Ingresses, want 1", len(b.ingresses))
			}
			ing := b.ingresses[0]
			if ing.Annotations[nginxPrefix+"affinity"] != "cookie" {
				t.Errorf("Ingress %s: %saffinity is %q, want cookie", ing.Name, nginxPrefix, ing.Annotations[nginxPrefix+"affinity"])
			}
			if ing.Annotations[nginxPrefix+"session-cookie-name"] == "" {
				t.Errorf("Ingress %s: no %ssession-cookie-name", ing.Name, nginxPrefix)
			}
			for _, k := range sticky {
				if !strings.HasPrefix(k, "Ingress/"+ing.Name+": "+nginxPrefix) {
					t.Errorf("stickiness outside the Ingress's nginx annotations: %s", k)
				}
			}
		case "no-sticky":
			if len(sticky) > 0 {
				t.Errorf("no-sticky declares stickiness: %v", sticky)
			}
		default:
			t.Errorf("overlay %s: no stickiness expectation; add one to TestStickiness", name)
		}
	})
}

// The PodDisruptionBudget and the HorizontalPodAutoscaler target the
// Switchboard Deployment; they leave room to evict and to scale.
func TestPDBAndHPATargetTheDeployment(t *testing.T) {
	forEachBuild(t, func(t *testing.T, b *bundle) {
		d, c := b.app(t)
		if len(b.pdbs) != 1 {
			t.Fatalf("%d PodDisruptionBudgets, want 1", len(b.pdbs))
		}
		pdb := b.pdbs[0]
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.podsSelected(sel); !slices.Equal(got, []string{appName}) {
			t.Errorf("PDB %s selects the pods of %v, want only %s", pdb.Name, got, appName)
		}
		if len(b.hpas) != 1 {
			t.Fatalf("%d HorizontalPodAutoscalers, want 1", len(b.hpas))
		}
		hpa := b.hpas[0]
		ref := hpa.Spec.ScaleTargetRef
		if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != d.Name {
			t.Errorf("HPA %s targets %s %s/%s, want apps/v1 Deployment/%s", hpa.Name, ref.APIVersion, ref.Kind, ref.Name, d.Name)
		}
		minR := int32(1)
		if hpa.Spec.MinReplicas != nil {
			minR = *hpa.Spec.MinReplicas
		}
		if minR < 2 {
			t.Errorf("HPA minReplicas %d: one node cannot drain without an outage", minR)
		}
		if hpa.Spec.MaxReplicas < minR {
			t.Errorf("HPA maxReplicas %d < minReplicas %d", hpa.Spec.MaxReplicas, minR)
		}
		// A PDB that allows no eviction blocks node drains forever.
		switch {
		case pdb.Spec.MaxUnavailable != nil:
			if v, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, int(minR), true); err != nil || v < 1 {
				t.Errorf("PDB maxUnavailable %s allows no eviction at %d replicas", pdb.Spec.MaxUnavailable.String(), minR)
			}
		case pdb.Spec.MinAvailable != nil:
			if v, err := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, int(minR), true); err != nil || v >= int(minR) {
				t.Errorf("PDB minAvailable %s allows no eviction at %d replicas", pdb.Spec.MinAvailable.String(), minR)
			}
		default:
			t.Errorf("PDB %s sets neither minAvailable nor maxUnavailable", pdb.Name)
		}
		// With an HPA, spec.replicas in the manifest resets the scale on
		// every `kubectl apply` (e.g. 8 -> 3, draining 5 nodes), as the
		// Kubernetes HPA documentation warns: leave it to the HPA.
		if d.Spec.Replicas != nil {
			t.Errorf("Deployment %s sets spec.replicas %d while HPA %s scales it: each apply would reset the scale; remove it", d.Name, *d.Spec.Replicas, hpa.Name)
		}
		// CPU utilization needs a CPU request.
		for _, m := range hpa.Spec.Metrics {
			if m.Resource != nil && m.Resource.Name == corev1.ResourceCPU {
				if q, ok := c.Resources.Requests[corev1.ResourceCPU]; !ok || q.Cmp(resource.MustParse("0")) <= 0 {
					t.Errorf("HPA scales on CPU utilization but container %s requests no CPU", c.Name)
				}
			}
		}
	})
}

// Every container runs as non-root with a read-only root filesystem (and
// the rest of the restricted Pod Security Standard; run.sh also has the
// apiserver's PodSecurity admission check it).
func TestPodSecurity(t *testing.T) {
	forEachBuild(t, checkPodSecurityAll)
}

// checkPodSecurityAll runs checkPodSecurity on every Deployment of b.
func checkPodSecurityAll(t *testing.T, b *bundle) {
	for _, d := range b.deployments {
		checkPodSecurity(t, d)
	}
}

func checkPodSecurity(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	ps := d.Spec.Template.Spec.SecurityContext
	if ps == nil {
		ps = &corev1.PodSecurityContext{}
	}
	if d.Spec.Template.Spec.HostNetwork || d.Spec.Template.Spec.HostPID || d.Spec.Template.Spec.HostIPC {
		t.Errorf("Deployment %s uses host namespaces", d.Name)
	}
	for _, c := range append(d.Spec.Template.Spec.InitContainers, d.Spec.Template.Spec.Containers...) {
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		where := fmt.Sprintf("Deployment %s container %s", d.Name, c.Name)
		nonRoot := ps.RunAsNonRoot
		if sc.RunAsNonRoot != nil {
			nonRoot = sc.RunAsNonRoot
		}
		if nonRoot == nil || !*nonRoot {
			t.Errorf("%s: runAsNonRoot is not true", where)
		}
		uid := ps.RunAsUser
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if uid != nil && *uid == 0 {
			t.Errorf("%s: runAsUser 0", where)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s: readOnlyRootFilesystem is not true", where)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: allowPrivilegeEscalation is not false", where)
		}
		if sc.Privileged != nil && *sc.Privileged {
			t.Errorf("%s: privileged", where)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			t.Errorf("%s: capabilities must drop ALL and add none", where)
		}
		seccomp := ps.SeccompProfile
		if sc.SeccompProfile != nil {
			seccomp = sc.SeccompProfile
		}
		if seccomp == nil || (seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault && seccomp.Type != corev1.SeccompProfileTypeLocalhost) {
			t.Errorf("%s: no RuntimeDefault seccomp profile", where)
		}
		if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
			t.Errorf("%s: no memory limit", where)
		}
	}
}

// The traefik overlay's prerequisites are the documented ones: its Ingress
// routes on the entry point named web and names the IngressClass traefik;
// no overlay ships an IngressClass (one is cluster-wide, and Traefik's Helm
// chart makes it), and the optional component's, in the composed build,
// is the one the Ingress names, for Traefik's Kubernetes Ingress provider.
func TestTraefikPrerequisites(t *testing.T) {
	const entryPoints = "traefik.ingress.kubernetes.io/router.entrypoints"
	forEachOverlay(t, func(t *testing.T, name string, b *bundle) {
		if len(b.ingClasses) > 0 {
			t.Errorf("overlay %s ships an IngressClass: that belongs in an optional component", name)
		}
	})
	for _, rel := range []string{"overlays/traefik", "verify/testdata/traefik-ingressclass"} {
		b := render(t, rel)
		if len(b.ingresses) != 1 {
			t.Fatalf("%s: %d Ingresses, want 1", rel, len(b.ingresses))
		}
		ing := b.ingresses[0]
		if got := ing.Annotations[entryPoints]; got != "web" {
			t.Errorf("%s: Ingress %s routes on entry points %q, the docs say web", rel, ing.Name, got)
		}
		if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "traefik" {
			t.Errorf("%s: Ingress %s does not name the IngressClass traefik", rel, ing.Name)
		}
	}
	b := render(t, "verify/testdata/traefik-ingressclass")
	if len(b.ingClasses) != 1 {
		t.Fatalf("the traefik-ingressclass component adds %d IngressClasses, want 1", len(b.ingClasses))
	}
	if c := b.ingClasses[0]; c.Name != "traefik" || c.Spec.Controller != "traefik.io/ingress-controller" {
		t.Errorf("IngressClass %s with controller %q, want traefik with traefik.io/ingress-controller", c.Name, c.Spec.Controller)
	}
}
