// The balancer configurations of docs/load-balancing.md, run as written.
// Every code block preceded by `<!-- tested: <balancer> <mode> -->` is
// extracted, its addresses (bind :80 / listen 80, 10.0.0.1N:3000, port 9090)
// replaced by those of 3 local nodes, and the balancer started in front of
// them: official clients on default transports must connect, upgrade and
// exchange broadcasts, polling-only clients too; for nginx round-robin, a
// draining node's 503s on handshakes must be retried on another node.
// Traefik's two blocks (`traefik sticky`, the file provider's dynamic
// configuration, and `traefik entrypoints`, the static one) run together,
// with Traefik v3.6 built by test/lb/traefik-build.sh, in front of nodes
// that share their ports on 127.0.1.11-13 (the block's single health-check
// port) and do not forward: the cookie alone must keep polling on its node.
//
//   SWITCHBOARD_BIN=$PWD/bin/switchboard node --test test/lb/docs-configs.test.mjs
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  REPO_ROOT, connectClients, freePort, sleep, startCluster, startClusterSharedPorts, startRedis, startTraefik, until,
} from "./lib.mjs";

const DOC = process.env.DOCS_FILE || path.join(REPO_ROOT, "docs/load-balancing.md");
const N = Number(process.env.DOCS_CLIENTS || 90);
const FREE = ["--stickiness-free", "--cluster-secret", "docs-test-secret"];
const FLAGS = { free: FREE, cookie: [], "io-cookie": ["--cookie", "io"], source: [], hash: [], sticky: [] };

/** {"haproxy free": text, ...} from the doc's marked blocks. */
function blocks() {
  const text = fs.readFileSync(DOC, "utf8");
  const out = {};
  for (const m of text.matchAll(/<!-- tested: (\w+) ([\w-]+) -->\n```\w+\n([\s\S]*?)```/g)) out[`${m[1]} ${m[2]}`] = m[3];
  return out;
}

/** Points the doc's example addresses at the local nodes. */
function localise(cfg, nodes, port) {
  const lines = cfg.split("\n").map((line) => {
    const m = line.match(/10\.0\.0\.1(\d):3000/);
    if (!m) return line;
    const n = nodes[Number(m[1]) - 1];
    assert.ok(n, `no node for ${m[0]}`);
    return line.replace(m[0], `127.0.0.1:${n.port}`).replace(/\bport 9090\b/, `port ${n.iport}`);
  });
  const out = lines.join("\n").replace(/bind :80\b/, `bind 127.0.0.1:${port}`).replace(/listen 80;/, `listen 127.0.0.1:${port};`);
  assert.ok(!/10\.0\.0\.|:9090|\b80\b;/.test(out.replace(/#.*$/gm, "")), `addresses left in:\n${out}`);
  return out;
}

/** The Traefik sticky block pointed at nodes of startClusterSharedPorts. */
function localiseTraefik(cfg, nodes) {
  const out = cfg.replace(/10\.0\.0\.1(\d):3000/g, (a, i) => {
    const n = nodes[Number(i) - 1];
    assert.ok(n, `no node for ${a}`);
    return `${n.host}:${n.port}`;
  }).replace(/\bport: 9090\b/, `port: ${nodes[0].iport}`);
  assert.ok(!/10\.0\.0\.|9090/.test(out.replace(/#.*$/gm, "")), `addresses left in:\n${out}`);
  return out;
}

function configFor(all, balancer, mode, nodes, port, dir) {
  const base = all[`${balancer} free`];
  assert.ok(base, `docs: no "${balancer} free" block`);
  let cfg = base;
  if (mode !== "free") {
    const part = all[`${balancer} ${mode}`];
    if (balancer === "haproxy") cfg = base.slice(0, base.indexOf("\nbackend switchboard") + 1) + part;
    else cfg = base.replace(/upstream switchboard \{[\s\S]*?\n\}/, part.trim());
  }
  cfg = localise(cfg, nodes, port);
  if (balancer === "nginx") {
    cfg = `daemon off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log warn;\nevents { worker_connections 4096; }\n`
      + `http {\n  access_log off;\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;\n${cfg}\n}\n`;
  }
  return cfg;
}

async function startBalancer(balancer, cfg, dir, port) {
  const file = path.join(dir, `${balancer}.cfg`);
  fs.writeFileSync(file, cfg);
  const args = balancer === "haproxy" ? ["-f", file, "-db"] : ["-c", file, "-p", dir];
  const child = spawn(balancer, args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout.on("data", (d) => { log += d; });
  child.stderr.on("data", (d) => { log += d; });
  const exited = new Promise((r) => child.once("exit", r));
  const url = `http://127.0.0.1:${port}`;
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`${balancer} exited: ${log}\n${cfg}`);
    try { return (await fetch(`${url}/`)).ok; } catch { return false; }
  }, 10_000, `${balancer} up`);
  return { url, stop: async () => { if (child.exitCode === null) { child.kill("SIGTERM"); await exited; } }, log: () => log };
}

/** Every client gets one drawing from a sender on each node. */
async function checkBroadcasts(clients) {
  const senders = [];
  for (const node of new Set(clients.map((c) => c.node))) senders.push(clients.find((c) => c.node === node));
  for (const s of senders) s.socket.emit("drawing", { x0: 0, y0: 0, x1: 1, y1: 1, color: "#e03131" });
  const want = (c) => senders.length - (senders.includes(c) ? 1 : 0);
  await until(() => clients.every((c) => c.drawings >= want(c)), 60_000, "every client got every drawing");
  await sleep(200);
  for (const c of clients) assert.equal(c.drawings, want(c), "a drawing arrived twice");
}

async function exercise(url, t) {
  const ws = await connectClients(url, N);
  try {
    assert.deepEqual(ws.errors, [], "connect errors");
    const spread = {};
    for (const c of ws.clients) spread[c.node] = (spread[c.node] ?? 0) + 1;
    t.diagnostic(`sessions per node: ${JSON.stringify(spread)}`);
    assert.ok(Object.keys(spread).length >= 2, "all sessions on one node");
    await until(() => ws.clients.every((c) => c.socket.io.engine?.transport?.name === "websocket"), 60_000, "every client upgraded");
    await checkBroadcasts(ws.clients);
    for (const c of ws.clients) assert.deepEqual(c.disconnects, [], "unexpected disconnect");
  } finally {
    ws.close();
  }
  const polling = await connectClients(url, 30, { transports: ["polling"] });
  try {
    assert.deepEqual(polling.errors, [], "polling connect errors");
    await checkBroadcasts(polling.clients);
    for (const c of polling.clients) assert.deepEqual(c.disconnects, [], "unexpected polling disconnect");
  } finally {
    polling.close();
  }
}

describe("docs/load-balancing.md configurations", { timeout: 300_000 }, () => {
  let redis;
  const all = blocks();
  before(async () => { redis = await startRedis(); });
  after(async () => { await redis?.stop(); });

  test("the doc has the tested blocks", () => {
    for (const k of ["haproxy free", "haproxy cookie", "haproxy io-cookie", "haproxy source", "nginx free", "nginx hash",
      "traefik sticky", "traefik entrypoints"]) {
      assert.ok(all[k], `docs/load-balancing.md lacks a "<!-- tested: ${k} -->" block`);
    }
  });

  test("traefik sticky: as written in the doc, with its entry point", { timeout: 90_000 }, async (t) => {
    assert.ok(all["traefik sticky"] && all["traefik entrypoints"], "the doc's Traefik blocks");
    const nodes = await startClusterSharedPorts(3, redis.url, FLAGS.sticky);
    let lb;
    try {
      lb = await startTraefik(all["traefik entrypoints"], localiseTraefik(all["traefik sticky"], nodes));
      await exercise(lb.url, t);
    } finally {
      await lb?.stop();
      await Promise.all(nodes.map((n) => n.stop()));
    }
  });

  for (const key of Object.keys(all)) {
    const [balancer, mode] = key.split(" ");
    if (balancer === "traefik") continue;   // above
    test(`${balancer} ${mode}: as written in the doc`, { timeout: 90_000 }, async (t) => {
      const drainTest = balancer === "nginx" && mode === "free";
      const flags = [...FLAGS[mode], ...(drainTest ? ["--drain-window", "6s", "--shutdown-grace", "10s"] : [])];
      const nodes = await startCluster(3, redis.url, flags);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sb-docs-${balancer}-`));
      const port = await freePort();
      let lb;
      try {
        lb = await startBalancer(balancer, configFor(all, balancer, mode, nodes, port, dir), dir, port);
        await exercise(lb.url, t);
        if (drainTest) {
          // Keep node 1 draining for a while (60 sessions, closed over 6 s),
          // then every new handshake through nginx must still succeed.
          const held = await connectClients(`http://127.0.0.1:${nodes[0].port}`, 60, { transports: ["polling"] });
          nodes[0].child.kill("SIGTERM");
          await until(async () => (await fetch(`http://127.0.0.1:${nodes[0].iport}/readyz`)).status === 503, 5000, "node 1 draining");
          const statuses = [];
          for (let i = 0; i < 30; i++) {
            statuses.push((await fetch(`${lb.url}/socket.io/?EIO=4&transport=polling`)).status);
          }
          held.close();
          assert.deepEqual(statuses.filter((s) => s !== 200), [], "handshakes through nginx while a node drains");
          t.diagnostic(`30 handshakes during node 1's drain: all 200`);
        }
      } finally {
        await lb?.stop();
        await Promise.all(nodes.map((n) => n.stop(12_000)));
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
