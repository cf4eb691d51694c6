// The traefik overlay (with the traefik-ingressclass component) applied for
// real to the kube-apiserver run.sh starts, read by Traefik v3.6's
// kubernetesIngress provider, in front of 3 local Switchboard nodes and
// redis-server: the pods are those processes, reached through a hand-made
// EndpointSlice (addressType FQDN with IP strings: the apiserver refuses
// loopback IPv4 endpoints), and the nodes run with the overlay
// Deployment's own SWITCHBOARD_* settings (stickiness-free, drain window).
// Official clients, default transports and polling-only, keep Traefik's
// sticky cookie. One node drains as Kubernetes drains a pod: its endpoint
// turns terminating (not ready, still serving), SIGTERM, and once its
// /readyz fails (the readiness probe) not serving either. Every client of
// that node must get "transport close" and reconnect to another, nobody
// else is disturbed, and Traefik's access log has no 400 (Session ID unknown).
// First, the overlay alone (no IngressClass traefik) is ignored by Traefik
// (404), until the traefik-ingressclass component is applied: a witness
// Ingress of another class, for another host, tells when Traefik has read
// the namespace.
//
// Run by run.sh with KUBECONFIG (admin token of the test apiserver),
// KUBECTL, TRAEFIK_BIN and SWITCHBOARD_BIN set.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  connectClients, startClusterSharedPorts, startRedis, startTraefik, traefikEntryPoints, until,
} from "../../../test/lb/lib.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const NS = "traefik-drain";
const DEFAULT_CLIENTS = 90;
const POLLING_CLIENTS = 60;
// Settings of the Deployment that are addresses or wiring, set here for
// the local processes instead.
const LOCAL = new Set(["SWITCHBOARD_LISTEN", "SWITCHBOARD_INTERNAL_LISTEN", "SWITCHBOARD_REDIS_URL",
  "SWITCHBOARD_ADVERTISE_ADDR", "SWITCHBOARD_LOG_FORMAT", "SWITCHBOARD_NODE_NAME", "SWITCHBOARD_CLUSTER_SECRET"]);

function kubectl(args, input) {
  return execFileSync(process.env.KUBECTL, ["--request-timeout=60s", ...args],
    { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
}

/** The Deployment's plain SWITCHBOARD_* values as flags (SWITCHBOARD_DRAIN_WINDOW=20s -> --drain-window=20s). */
function deploymentFlags(deployment) {
  const env = deployment.spec.template.spec.containers[0].env;
  const names = env.map((e) => e.name);
  assert.ok(names.includes("SWITCHBOARD_ADVERTISE_ADDR"), "the overlay's Deployment has no SWITCHBOARD_ADVERTISE_ADDR");
  return env.filter((e) => e.name.startsWith("SWITCHBOARD_") && !LOCAL.has(e.name) && e.value !== undefined)
    .map((e) => `--${e.name.slice("SWITCHBOARD_".length).toLowerCase().replaceAll("_", "-")}=${e.value}`);
}

/** The EndpointSlice of the Service switchboard, one endpoint per node; states[i]: ready | terminating | gone. */
function endpointSlice(nodes, states) {
  const cond = { ready: "{ready: true, serving: true, terminating: false}",
    terminating: "{ready: false, serving: true, terminating: true}",
    gone: "{ready: false, serving: false, terminating: true}" };
  return `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: switchboard-local
  labels:
    kubernetes.io/service-name: switchboard
    endpointslice.kubernetes.io/managed-by: switchboard-verify
addressType: FQDN
ports:
  - name: http
    port: ${nodes[0].port}
    protocol: TCP
endpoints:
${nodes.map((n, i) => `  - addresses: ["${n.host}"]\n    conditions: ${cond[states[i]]}`).join("\n")}
`;
}

/** An IngressClass and an Ingress of it for the host witness.invalid, to the same Service. */
const WITNESS = `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: witness}
spec: {controller: traefik.io/ingress-controller}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: witness
  annotations: {traefik.ingress.kubernetes.io/router.entrypoints: web}
spec:
  ingressClassName: witness
  rules:
    - host: witness.invalid
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: switchboard, port: {name: http}}}}
`;

/** The status of GET / through url, with an optional Host header. */
function status(url, host) {
  return new Promise((resolve) => {
    const req = http.get(`${url}/`, { headers: host ? { host } : {} }, (res) => { res.resume(); resolve(res.statusCode); });
    req.on("error", () => resolve(0));
  });
}

/** Traefik's access log: its entries, and those answered 400. */
function accessEntries(file) {
  const all = fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  return { all, bad: all.filter((e) => e.DownstreamStatus === 400) };
}

describe("the traefik overlay under Traefik's kubernetesIngress provider", { timeout: 300_000 }, () => {
  let redis, nodes = [], traefik, flags;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sb-k8s-traefik-"));
  const accessLog = path.join(dir, "access.json");

  let ignoredWithoutClass;
  before(async () => {
    kubectl(["create", "namespace", NS]);
    kubectl(["apply", "-n", NS, "-f", "-"], kubectl(["kustomize", path.join(here, "../overlays/traefik")]) + "---\n" + WITNESS);
    flags = [...deploymentFlags(JSON.parse(kubectl(["get", "-n", NS, "deployment/switchboard", "-o", "json"]))),
      "--cluster-secret", "k8s-verify-secret"];
    redis = await startRedis();
    nodes = await startClusterSharedPorts(3, redis.url, flags);
    kubectl(["apply", "-n", NS, "-f", "-"], endpointSlice(nodes, ["ready", "ready", "ready"]));
    traefik = await startTraefik(traefikEntryPoints(), null, {
      providers: `  kubernetesIngress:\n    namespaces: [${NS}]\n`,
      env: { KUBECONFIG: process.env.KUBECONFIG }, accessLog,
      ready: async (url) => (await status(url, "witness.invalid")) === 200,
    });
    ignoredWithoutClass = await status(traefik.url);
    kubectl(["apply", "-n", NS, "-f", "-"], kubectl(["kustomize", path.join(here, "testdata/traefik-ingressclass")]));
    kubectl(["delete", "-n", NS, "ingress/witness"]);
    await until(async () => (await status(traefik.url)) === 200, 60_000, "the overlay's Ingress served once its IngressClass exists");
  });

  test("without the IngressClass traefik, Traefik ignores the overlay's Ingress", () => {
    assert.equal(ignoredWithoutClass, 404, "GET / through Traefik before the IngressClass existed");
  });
  after(async () => {
    await traefik?.stop();
    await Promise.all(nodes.map((n) => n.stop(40_000)));
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("a rolling drain of one node: its clients get transport close and reconnect, 0 Session ID unknown", { timeout: 240_000 }, async (t) => {
    t.diagnostic(`node flags from the overlay's Deployment: ${flags.slice(0, -2).join(" ")}`);
    const ws = await connectClients(traefik.url, DEFAULT_CLIENTS);
    const polling = await connectClients(traefik.url, POLLING_CLIENTS, { transports: ["polling"] });
    const all = [...ws.clients, ...polling.clients];
    try {
      assert.deepEqual([...ws.errors, ...polling.errors], [], "connect errors");
      const spread = {};
      for (const c of all) spread[c.node] = (spread[c.node] ?? 0) + 1;
      t.diagnostic(`sessions per node: ${JSON.stringify(spread)}`);
      assert.equal(Object.keys(spread).length, 3, "Traefik did not spread the sessions over the three endpoints");
      await until(() => ws.clients.every((c) => c.socket.io.engine?.transport?.name === "websocket"), 60_000, "upgrades");

      const victims = all.filter((c) => c.node === "node-2");
      const others = all.filter((c) => c.node !== "node-2");
      const draining = nodes[1];
      // Kubernetes: the pod is deleted (terminating, not ready, still
      // serving), then SIGTERM after preStop; its readiness probe fails once
      // the drain has begun, and the endpoint stops serving.
      kubectl(["apply", "-n", NS, "-f", "-"], endpointSlice(nodes, ["ready", "terminating", "ready"]));
      draining.child.kill("SIGTERM");
      await until(async () => {
        try { return (await fetch(`http://${draining.host}:${draining.iport}/readyz`)).status === 503; } catch { return true; }
      }, 30_000, "node-2's /readyz failing");
      kubectl(["apply", "-n", NS, "-f", "-"], endpointSlice(nodes, ["ready", "gone", "ready"]));

      await until(() => victims.every((c) => c.disconnects.length > 0 && c.socket.connected && c.node !== "node-2"),
        120_000, "every client of node-2 disconnected and reconnected elsewhere");
      const { code } = await draining.exited;
      const reasons = {};
      for (const c of victims) reasons[c.disconnects[0]] = (reasons[c.disconnects[0]] ?? 0) + 1;
      const pollingVictims = victims.filter((c) => polling.clients.includes(c)).length;
      const { all: logged, bad } = accessEntries(accessLog);
      t.diagnostic(`node-2: ${victims.length} clients (${pollingVictims} polling-only), first disconnects ${JSON.stringify(reasons)}, exit ${code}; 400s through Traefik: ${bad.length} of ${logged.length} requests`);
      assert.ok(logged.length > all.length, "Traefik's access log holds fewer requests than there are clients");
      assert.deepEqual(reasons, { "transport close": victims.length }, "a client of the draining node was not closed by the drain");
      assert.equal(code, 0, `node-2 exit code; its log: ${draining.log.slice(-1500)}`);
      for (const c of others) assert.deepEqual(c.disconnects, [], "a client of another node was disconnected");
      assert.deepEqual(bad.map((e) => `${e.RequestMethod} ${e.RequestPath}`), [], "400 answers (Session ID unknown) through Traefik");
      assert.ok(pollingVictims > 0, "no polling-only client on the draining node");
    } finally {
      ws.close();
      polling.close();
    }
  });
});
