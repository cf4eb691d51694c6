// Hostile load on one `switchboard serve` node (issue 12).
//
// For each flood, twice (default flags, then with limits), this script
// starts a fresh node on free loopback ports, connects healthy clients (the
// official socket.io-client, each from its own address 127.0.1.N, polling
// then upgrading to WebSocket as a browser does), one of which draws a
// `drawing` event every 20 ms carrying its emission time; the whiteboard
// relays it to all the others, who measure the relay latency. Timeline:
//
//   baseline  healthy clients only
//   flood     the attack runs (from 127.0.0.2 … 127.0.0.250)
//   after     the attacker has stopped; the server still holds what it left
//             (abandoned sessions until they time out)
//
// The floods, each paced at --rate connection attempts per second in all:
//
//   polling    abandoned polling handshakes: GET /socket.io/?EIO=4&transport=polling,
//              the open packet read and the session never used again;
//              --sessions attempts, then the attacker's TCP connections close
//   slowloris  --sockets TCP connections that send part of a WebSocket
//              upgrade request and hold it (a header line every 5 s); each one
//              the server closes is opened again, for --hold seconds
//   silent-ws  --sockets WebSocket upgrades completed at the HTTP level whose
//              client then never sends anything (no Socket.IO CONNECT, no pong);
//              each one the server closes is opened again, for --hold seconds
//
// Every 500 ms the script samples the server's RSS (/proc/<pid>/status), open
// file descriptors, CPU time, and from its internal listener's /metrics the
// goroutines and the open Engine.IO sessions; and the CPU time of the machine
// (/proc/stat), to tell other processes' load and the time the hypervisor
// stole. It prints three Markdown tables (server, healthy clients, the server
// over time) and, with --json FILE, appends every run as one JSON line (with
// the samples and each second's p99 and max latency). With --pprof DIR it
// saves a 10-s CPU profile taken during each flood, and goroutine and heap
// profiles at its end (a short stop of the world, seen in the clients' last
// second of the flood window).
//
// Usage (from the repository root, after `make build`):
//
//   node bench/hostile/run.mjs                       all floods, both configurations
//   node bench/hostile/run.mjs --floods slowloris --configs limits
//   node bench/hostile/run.mjs --smoke               small sizes, short phases (< 2 min)
//   bash bench/hostile/run.sh                        builds the server, waits for a quiet
//                                                    machine, runs each flood under flock
//   node bench/hostile/run.mjs --report FILE         the tables of the runs in a --json file
//
// Options: --bin PATH (default bin/switchboard), --floods a,b, --configs
// default,limits, --limits "FLAGS" (the flags of the `limits` configuration),
// --clients N, --sessions N, --sockets N, --rate N, --hold S, --baseline S,
// --json FILE, --pprof DIR, --smoke. Internally the script re-runs itself
// as `--role healthy` and `--role flood` child processes, so that neither
// the clients nor the attacker share an event loop with the measurements.

import { fork, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { freePort } from "../../test/freeport.mjs";

const DEFAULT_LIMITS = "--handshake-rate 2 --read-header-timeout 2s --idle-timeout 10s";
const ATTACKERS = Array.from({ length: 249 }, (_, i) => `127.0.0.${i + 2}`); // 127.0.0.2 … 127.0.0.250
const healthyAddress = (i) => `127.0.1.${i + 1}`;
const DRAW_EVERY_MS = 20;

const { values: opt } = parseArgs({
  options: {
    role: { type: "string", default: "main" },
    bin: { type: "string", default: "bin/switchboard" },
    floods: { type: "string", default: "polling,slowloris,silent-ws" },
    configs: { type: "string", default: "default,limits" },
    limits: { type: "string", default: DEFAULT_LIMITS },
    clients: { type: "string", default: "30" },
    sessions: { type: "string", default: "20000" },
    sockets: { type: "string", default: "5000" },
    rate: { type: "string", default: "2000" },
    hold: { type: "string", default: "" },
    baseline: { type: "string", default: "15" },
    json: { type: "string", default: "" },
    report: { type: "string", default: "" },
    pprof: { type: "string", default: "" },
    smoke: { type: "boolean", default: false },
    // the child roles' own options
    url: { type: "string" }, kind: { type: "string" }, port: { type: "string" },
  },
});

// ---------------------------------------------------------------- main

async function main() {
  const cfg = {
    clients: Number(opt.clients),
    sessions: opt.smoke ? 1000 : Number(opt.sessions),
    sockets: opt.smoke ? 300 : Number(opt.sockets),
    rate: Number(opt.rate),
    baseline: opt.smoke ? 4 : Number(opt.baseline),
  };
  if (opt.report) {
    const lines = fs.readFileSync(opt.report, "utf8").split("\n").filter(Boolean);
    console.log(report(lines.map((l) => JSON.parse(l))));
    return;
  }
  if (!fs.existsSync(opt.bin)) fail(`${opt.bin} not found: run make build, or pass --bin`);
  const configs = { default: [], limits: opt.limits.split(/\s+/).filter(Boolean) };
  const runs = [];
  for (const flood of opt.floods.split(",")) {
    for (const name of opt.configs.split(",")) {
      if (!configs[name]) fail(`unknown configuration ${name}`);
      // The hold floods span one server timeout: 45 s for silent WebSockets
      // (Socket.IO's connect timeout, and the missed pong), a few 10-s
      // read-header timeouts for slowloris.
      const hold = opt.hold ? Number(opt.hold) : opt.smoke ? 6 : flood === "silent-ws" ? 50 : 30;
      log(`run: ${flood}, ${name} flags ${configs[name].join(" ") || "(none)"}`);
      const r = await measure(flood, name, configs[name], { ...cfg, hold });
      runs.push(r);
      if (opt.json) fs.appendFileSync(opt.json, JSON.stringify(r) + "\n");
      log(`done: ${flood}, ${name}: ${r.verdict}`);
    }
  }
  console.log(report(runs));
}

async function measure(flood, configName, flags, cfg) {
  const loadStart = loadavg();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-"));
  const [port, internal] = [await freePort(), await freePort()];
  const args = ["serve", "--listen", `127.0.0.1:${port}`, "--internal-listen", `127.0.0.1:${internal}`,
    "--node-name", "hostile", "--log-level", "warn", "--drain-window", "0s", "--shutdown-grace", "3s", ...flags];
  const logFile = path.join(tmp, "server.log");
  const logFd = fs.openSync(logFile, "w");
  const server = spawn(opt.bin, args, { stdio: ["ignore", logFd, logFd] });
  const killServer = () => server.kill("SIGKILL");
  process.once("exit", killServer); // should this script fail midway
  let exited = null;
  server.on("exit", (code, signal) => { exited = { code, signal }; });
  const metricsURL = `http://127.0.0.1:${internal}/metrics`;
  await waitFor(async () => (await metrics(metricsURL)) !== null, 10_000, "the server to listen");

  const sampler = startSampler(server.pid, metricsURL);
  const healthy = child("healthy", ["--url", `http://127.0.0.1:${port}`, "--clients", String(cfg.clients)]);
  sampler.track(healthy.pid);
  await healthy.next("ready");
  await sleep(3000); // warm-up
  // phase(next) starts the window `next` and returns the one it closes.
  const phases = {};
  const phase = async (next) => {
    const closed = await healthy.ask({ cmd: "window", name: next }, "window");
    sampler.mark(next);
    return closed;
  };
  await phase("baseline");
  await sleep(cfg.baseline * 1000);

  const floodArgs = ["--kind", flood, "--port", String(port), "--rate", String(cfg.rate),
    "--sessions", String(cfg.sessions), "--sockets", String(cfg.sockets)];
  const attacker = child("flood", floodArgs);
  sampler.track(attacker.pid);
  await attacker.next("started");
  phases.baseline = await phase("flood");
  const profiles = opt.pprof ? captureProfiles(internal, `${flood}-${configName}`, flood === "polling" ? 8 : 10) : null;
  if (flood === "polling") await attacker.next("done");
  else await sleep(cfg.hold * 1000);
  if (profiles) await profiles.cpu;
  if (profiles) await profiles.snapshot();
  const attack = await attacker.ask({ cmd: "stop" }, "stopped");
  phases.flood = await phase("after");

  // After: abandoned polling sessions last until their ping times out (45 s
  // with the defaults); the hold floods' sockets close with the attacker.
  const healthySessions = cfg.clients;
  const settled = () => {
    const s = sampler.last();
    return s && s.polling + s.websocket <= healthySessions && s.fds < sampler.first().fds + 20;
  };
  const afterLimit = opt.smoke ? 8_000 : flood === "polling" ? 70_000 : 15_000;
  const t0 = Date.now();
  while (Date.now() - t0 < afterLimit && !(Date.now() - t0 > 5000 && settled())) await sleep(500);
  await sleep(2000);
  phases.after = await phase("end");
  const clientTotals = await healthy.ask({ cmd: "stop" }, "stopped");
  const samples = sampler.stop();
  const alive = exited === null;
  server.kill("SIGTERM");
  await Promise.race([new Promise((r) => server.once("exit", r)), sleep(6000)]);
  if (exited === null) server.kill("SIGKILL");
  process.off("exit", killServer);
  fs.closeSync(logFd);
  const serverLog = fs.readFileSync(logFile, "utf8");
  const crashed = !alive || /panic:|fatal error:/.test(serverLog);
  if (crashed) log(`server log kept in ${logFile}`);
  else fs.rmSync(tmp, { recursive: true, force: true });

  const r = {
    flood, config: configName, flags: flags.join(" "), when: new Date().toISOString(), versions: versions(),
    sizes: { clients: cfg.clients, rate: cfg.rate, sessions: flood === "polling" ? cfg.sessions : undefined,
      sockets: flood === "polling" ? undefined : cfg.sockets, hold: flood === "polling" ? undefined : cfg.hold },
    loadavg: { start: loadStart, end: loadavg() },
    server: summarize(samples),
    attack, phases, clients: clientTotals,
    crashed, serverExit: alive ? null : exited,
  };
  const ratio = Math.max(r.phases.flood.p99, r.phases.after.p99) / r.phases.baseline.p99;
  r.p99Ratio = ratio;
  r.verdict = crashed ? "CRASHED" : ratio <= 2 && clientTotals.disconnects === 0 ? "goal met" : "goal missed";
  return r;
}

// startSampler polls the server every 500 ms; mark() labels the phase the
// following samples belong to. Each sample also has the CPU time of the
// whole machine and of our processes (the server, this script and the
// processes given to track()), to tell the load of other processes.
function startSampler(pid, metricsURL) {
  const samples = [];
  const ours = new Map([[pid, 0], [process.pid, 0]]); // pid → last CPU seconds seen
  const oursCpu = () => {
    for (const p of ours.keys()) {
      const st = procStat(p, false);
      if (st) ours.set(p, st.cpu); // a process gone keeps its last figure
    }
    return [...ours.values()].reduce((x, y) => x + y, 0);
  };
  let phase = "setup";
  const t0 = performance.now();
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const m = await metrics(metricsURL);
      const st = procStat(pid);
      if (st) {
        samples.push({
          t: (performance.now() - t0) / 1000, phase, ...st, machine: machineBusy(), oursCpu: oursCpu(),
          goroutines: m?.get("switchboard_goroutines") ?? NaN,
          polling: m?.get('switchboard_connected_clients{transport="polling"}') ?? NaN,
          websocket: m?.get('switchboard_connected_clients{transport="websocket"}') ?? NaN,
        });
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(tick, 500);
  tick();
  return {
    mark(p) { phase = p; tick(); },
    track(p) { ours.set(p, 0); },
    last: () => samples.at(-1),
    first: () => samples.find((s) => s.phase === "baseline") ?? samples[0],
    stop() { clearInterval(timer); return samples; },
  };
}

function procStat(pid, withFds = true) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpu = (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in s (USER_HZ = 100)
    const fds = withFds ? fs.readdirSync(`/proc/${pid}/fd`).length : 0;
    return { rss, cpu, fds };
  } catch {
    return null; // the process is gone
  }
}

// summarize reduces the samples to the figures of the tables.
function summarize(samples) {
  const of = (p) => samples.filter((s) => s.phase === p);
  const base = of("baseline");
  const during = samples.filter((s) => s.phase === "flood" || s.phase === "after");
  const end = samples.findLast((s) => s.phase === "after");
  const peak = (k) => Math.max(...during.map((s) => s[k]).filter(Number.isFinite));
  const cores = (p, k = "cpu") => {
    const s = of(p);
    return s.length > 1 ? (s.at(-1)[k] - s[0][k]) / (s.at(-1).t - s[0].t) : NaN;
  };
  const machine = (p, k) => {
    const s = of(p);
    return s.length > 1 ? (s.at(-1).machine[k] - s[0].machine[k]) / (s.at(-1).t - s[0].t) : NaN;
  };
  const others = (p) => Math.max(0, machine(p, "busy") - cores(p, "oursCpu"));
  return {
    rssBase: base[0]?.rss, rssPeak: peak("rss"), rssAfter: end?.rss,
    goroutinesBase: base[0]?.goroutines, goroutinesPeak: peak("goroutines"), goroutinesAfter: end?.goroutines,
    sessionsPeak: Math.max(...during.map((s) => s.polling + s.websocket).filter(Number.isFinite)),
    fdsBase: base[0]?.fds, fdsPeak: peak("fds"), fdsAfter: end?.fds,
    coresBaseline: cores("baseline"), coresFlood: cores("flood"), coresAfter: cores("after"),
    otherBaseline: others("baseline"), otherFlood: others("flood"), otherAfter: others("after"),
    stealBaseline: machine("baseline", "steal"), stealFlood: machine("flood", "steal"), stealAfter: machine("after", "steal"),
    series: samples.map(({ t, phase, rss, goroutines, polling, websocket, fds }) =>
      ({ t: +t.toFixed(1), phase, rss: +rss.toFixed(1), goroutines, sessions: polling + websocket, fds })),
  };
}

// captureProfiles takes a CPU profile starting 2 s into the flood; snapshot
// saves the goroutine and heap profiles.
function captureProfiles(internal, name, seconds) {
  fs.mkdirSync(opt.pprof, { recursive: true });
  const base = `http://127.0.0.1:${internal}/debug/pprof`;
  const save = async (what, file) => {
    const res = await fetch(`${base}/${what}`);
    fs.writeFileSync(path.join(opt.pprof, file), Buffer.from(await res.arrayBuffer()));
  };
  return {
    cpu: sleep(2000).then(() => save(`profile?seconds=${seconds}`, `${name}.cpu.pprof`)).catch((e) => log(`pprof: ${e}`)),
    snapshot: () => Promise.all([save("goroutine", `${name}.goroutine.pprof`), save("heap", `${name}.heap.pprof`)])
      .catch((e) => log(`pprof: ${e}`)),
  };
}

// child forks this script in a role and wraps its IPC messages.
function child(role, args) {
  const p = fork(new URL(import.meta.url).pathname, ["--role", role, ...args], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const waiting = [];
  const inbox = [];
  p.on("message", (m) => {
    const i = waiting.findIndex((w) => w.type === m.type);
    if (i >= 0) waiting.splice(i, 1)[0].resolve(m);
    else inbox.push(m);
  });
  p.on("exit", (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`${role} exited (${code}) before ${w.type}`));
  });
  const next = (type) => {
    const i = inbox.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]);
    return new Promise((resolve, reject) => waiting.push({ type, resolve, reject }));
  };
  return {
    pid: p.pid,
    next,
    ask(msg, type) { const r = next(type); p.send(msg); return r.then((m) => m.data); },
  };
}

async function metrics(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    const m = new Map();
    for (const line of (await res.text()).split("\n")) {
      if (line && !line.startsWith("#")) {
        const i = line.lastIndexOf(" ");
        m.set(line.slice(0, i), Number(line.slice(i + 1)));
      }
    }
    return m;
  } catch {
    return null;
  }
}


async function waitFor(cond, ms, what) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(100);
  }
  fail(`timed out waiting for ${what}`);
}

// versions names what was measured: the binary's version line, Node, the
// commit of the work tree.
function versions() {
  const out = (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    return r.status === 0 ? r.stdout.trim() : "?";
  };
  const dirty = out("git", ["status", "--porcelain", "--untracked-files=no"]) !== "";
  return { server: out(opt.bin, ["version"]), node: process.version,
    commit: out("git", ["rev-parse", "--short", "HEAD"]) + (dirty ? " (work tree modified)" : "") };
}

// machineBusy returns the CPU seconds all cores spent busy since boot, and
// apart the time stolen by the hypervisor (this box is a VM).
function machineBusy() {
  const [user, nice, system, , , irq, softirq, steal] = fs.readFileSync("/proc/stat", "utf8")
    .split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  return { busy: (user + nice + system + irq + softirq) / 100, steal: steal / 100 };
}

const loadavg = () => fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const log = (s) => console.error(`hostile: ${s}`);
function fail(s) {
  log(s);
  process.exit(1);
}

// report renders the runs as two Markdown tables.
function report(runs) {
  const mb = (x) => (Number.isFinite(x) ? x.toFixed(0) : "?");
  const ms = (x) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 2 : 1) : "?");
  const fx = (x) => (Number.isFinite(x) ? x.toFixed(2) : "?");
  const n = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "?");
  const what = (r) => {
    const a = r.attack;
    if (r.flood === "polling") return `${n(a.attempts)} handshakes: ${n(a.accepted)} sessions, ${n(a.refused)} refused, ${n(a.errors)} errors`;
    const life = Number.isFinite(a.lifetimeP50) ? `, held ${a.lifetimeP50.toFixed(1)} s (p50)` : "";
    const kind = r.flood === "slowloris" ? "partial upgrades" : "silent WebSockets";
    return `${n(a.peakOpen)} ${kind} open at peak; ${n(a.attempts)} attempts, ${n(a.accepted)} ${r.flood === "slowloris" ? "connected" : "upgraded"}, ${n(a.refused)} refused, ${n(a.serverClosed)} closed by the server${life}`;
  };
  const flags = (r) => (r.flags ? "`" + r.flags + "`" : "defaults");
  const v = runs[0]?.versions ?? {};
  const lines = [
    `${runs.length} run(s), ${runs[0]?.when ?? ""} to ${runs.at(-1)?.when ?? ""}; ${os.cpus().length} CPUs; ${v.server}; Node ${v.node}; commit ${v.commit}.`, "",
    "| flood | flags | attacker | server sessions (peak) | fds base → peak → after | RSS MB base → peak → after | goroutines base → peak → after | server CPU, cores: baseline / flood / after | other processes' CPU, cores: baseline / flood / after | CPU stolen by the hypervisor, cores: baseline / flood / after | crashed | loadavg start → end |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of runs) {
    const s = r.server;
    lines.push(`| ${r.flood} | ${flags(r)} | ${what(r)} | ${n(s.sessionsPeak)} | ${n(s.fdsBase)} → ${n(s.fdsPeak)} → ${n(s.fdsAfter)} | ${mb(s.rssBase)} → ${mb(s.rssPeak)} → ${mb(s.rssAfter)} | ${n(s.goroutinesBase)} → ${n(s.goroutinesPeak)} → ${n(s.goroutinesAfter)} | ${s.coresBaseline.toFixed(2)} / ${s.coresFlood.toFixed(2)} / ${s.coresAfter.toFixed(2)} | ${fx(s.otherBaseline)} / ${fx(s.otherFlood)} / ${fx(s.otherAfter)} | ${fx(s.stealBaseline)} / ${fx(s.stealFlood)} / ${fx(s.stealAfter)} | ${r.crashed ? "**yes**" : "no"} | ${r.loadavg.start} → ${r.loadavg.end} |`);
  }
  lines.push("", `Healthy clients (${runs[0]?.sizes.clients} socket.io-client, one \`drawing\` every ${DRAW_EVERY_MS} ms relayed to the others), relay latency in ms, p50 / p99 (samples):`, "",
    "| flood | flags | baseline | flood | after | p99 flood or after ÷ baseline | lost | disconnects | goal: p99 ≤ 2× and no crash |",
    "|---|---|---|---|---|---|---|---|---|");
  for (const r of runs) {
    const p = (w) => `${ms(w.p50)} / ${ms(w.p99)} (${n(w.count)}, ${ms(w.seconds)} s)`;
    const ph = r.phases;
    const lost = ph.baseline.lost + ph.flood.lost + ph.after.lost;
    lines.push(`| ${r.flood} | ${flags(r)} | ${p(ph.baseline)} | ${p(ph.flood)} | ${p(ph.after)} | ${r.p99Ratio.toFixed(2)} | ${n(lost)} | ${n(r.clients.disconnects)} | ${r.verdict === "goal met" ? "met" : "**" + r.verdict.replace("goal ", "") + "**"} |`);
  }
  // The server over time, every 10 s from 5 s before the flood started.
  const series = runs.map((r) => {
    const ss = r.server.series;
    const f0 = ss.find((x) => x.phase === "flood")?.t ?? 0;
    const cells = [];
    for (let t = -5; t <= ss.at(-1).t - f0 + 1; t += 10) {
      const x = ss.reduce((a, b) => (Math.abs(b.t - f0 - t) < Math.abs(a.t - f0 - t) ? b : a));
      cells.push(`${mb(x.rss)} · ${n(x.goroutines)} · ${n(x.sessions)}`);
    }
    return { r, cells };
  });
  const width = Math.max(...series.map((x) => x.cells.length));
  lines.push("", "The server over time: RSS MB · goroutines · Engine.IO sessions, at t seconds from the flood's start:", "",
    `| flood | flags | ${Array.from({ length: width }, (_, i) => `t = ${i * 10 - 5}`).join(" | ")} |`,
    `|---|---|${"---|".repeat(width)}`);
  for (const { r, cells } of series) lines.push(`| ${r.flood} | ${flags(r)} | ${cells.join(" | ")}${" |".repeat(width - cells.length + 1)}`);
  return lines.join("\n");
}

// ------------------------------------------------------ healthy clients

// healthyRole connects --clients official clients; the first draws every
// 20 ms, the others measure the relay latency. A "window" message closes
// the current measurement window and returns its figures.
async function healthyRole() {
  const { io } = await import("socket.io-client");
  const count = Number(opt.clients);
  const sockets = [];
  let win = newWindow("setup");
  let disconnects = 0, connectErrors = 0;
  for (let i = 0; i < count; i++) {
    const localAddress = healthyAddress(i);
    const s = io(opt.url, {
      forceNew: true,
      transportOptions: {
        polling: { agent: new http.Agent({ keepAlive: true, localAddress }) },
        websocket: { localAddress },
      },
    });
    s.on("disconnect", () => { disconnects++; win.disconnects++; });
    s.on("connect_error", () => { connectErrors++; });
    if (i > 0) {
      s.on("drawing", (d) => {
        const now = performance.now();
        win.latencies.push(now - d.t);
        win.at.push(now);
      });
    }
    sockets.push(s);
  }
  const upgraded = () => sockets.every((s) => s.connected && s.io.engine?.transport?.name === "websocket");
  const t0 = Date.now();
  while (!upgraded()) {
    if (Date.now() - t0 > 20_000) throw new Error("healthy clients did not connect and upgrade within 20 s");
    await sleep(50);
  }
  let seq = 0;
  const drawer = sockets[0];
  const timer = setInterval(() => {
    if (!drawer.connected) return;
    const x = seq % 500;
    drawer.emit("drawing", { x0: x / 500, y0: 0.01, x1: (x + 1) / 500, y1: 0.011, color: "#222", seq: seq++, t: performance.now() });
    win.sent++;
  }, DRAW_EVERY_MS);
  process.send({ type: "ready" });
  process.on("message", async (m) => {
    const done = closeWindow(win, count - 1);
    if (m.cmd === "window") {
      win = newWindow(m.name);
      process.send({ type: "window", data: done });
    } else if (m.cmd === "stop") {
      clearInterval(timer);
      process.send({ type: "stopped", data: { disconnects, connectErrors } });
      for (const s of sockets) s.close();
      await sleep(100);
      process.exit(0);
    }
  });
}

function newWindow(name) {
  return { name, start: performance.now(), cpu: process.cpuUsage(), latencies: [], at: [], sent: 0, disconnects: 0 };
}

function closeWindow(w, receivers) {
  const seconds = (performance.now() - w.start) / 1000;
  const cpu = process.cpuUsage(w.cpu);
  // p99 and max of each second of the window, to place the slow moments
  const bySecond = [];
  w.latencies.forEach((v, i) => {
    (bySecond[Math.floor((w.at[i] - w.start) / 1000)] ??= []).push(v);
  });
  const perSecond = bySecond.map((v) => {
    v.sort((x, y) => x - y);
    return [+quantile(v, 0.99).toFixed(2), +v.at(-1).toFixed(2)];
  });
  const l = w.latencies.sort((x, y) => x - y);
  const q = (p) => quantile(l, p);
  return {
    name: w.name, seconds, count: l.length, p50: q(0.5), p99: q(0.99), max: l.at(-1) ?? NaN,
    // events still in flight at the window's end count as lost here
    // and as received in the next window: a small ± at each boundary.
    lost: Math.max(0, w.sent * receivers - l.length), disconnects: w.disconnects,
    clientCores: (cpu.user + cpu.system) / 1e6 / seconds,
    perSecond, // [p99, max] of each second
  };
}

// quantile of a sorted array (nearest rank).
const quantile = (l, p) => (l.length ? l[Math.min(l.length - 1, Math.ceil(p * l.length) - 1)] : NaN);

// ------------------------------------------------------------- attacker

// floodRole runs one flood against 127.0.0.1:--port from the 249 attacker
// addresses, at most --rate connection attempts per second in all. It
// reports "started", for the polling flood "done" once every handshake was
// answered, and "stopped" (with its counters) when told to stop.
async function floodRole() {
  const a = opt; // this role's options: --kind, --port, --rate, --sessions, --sockets
  const port = Number(a.port), rate = Number(a.rate);
  const st = { attempts: 0, accepted: 0, refused: 0, errors: 0, serverClosed: 0, open: 0, peakOpen: 0, lifetimes: [] };
  const cpu0 = process.cpuUsage(), t0 = performance.now();
  const stopped = () => {
    const l = st.lifetimes.sort((x, y) => x - y);
    const cpu = process.cpuUsage(cpu0);
    const { lifetimes, ...counters } = st;
    return { ...counters, lifetimeP50: l.length ? l[Math.floor(l.length / 2)] : NaN,
      attackerCores: (cpu.user + cpu.system) / 1e6 / ((performance.now() - t0) / 1000) };
  };
  // pace calls start() up to rate times a second while want() holds.
  const pace = (want, start) => {
    let tokens = 0;
    const timer = setInterval(() => {
      tokens = Math.min(tokens + rate / 100, rate / 10);
      while (tokens >= 1 && want()) { tokens--; start(); }
    }, 10);
    return () => clearInterval(timer);
  };
  let stop;
  if (a.kind === "polling") stop = pollingFlood(port, Number(a.sessions), st, pace);
  else if (a.kind === "slowloris" || a.kind === "silent-ws") stop = holdFlood(a.kind, port, Number(a.sockets), st, pace);
  else throw new Error(`unknown flood ${a.kind}`);
  process.send({ type: "started" });
  process.on("message", async (m) => {
    if (m.cmd !== "stop") return;
    stop();
    process.send({ type: "stopped", data: stopped() });
    await sleep(200);
    process.exit(0);
  });
}

// pollingFlood opens `total` polling sessions and abandons each once its
// open packet is read; connections are kept alive (2 per address) while
// the flood runs and closed at the end.
function pollingFlood(port, total, st, pace) {
  const agents = ATTACKERS.map((localAddress) => new http.Agent({ keepAlive: true, maxSockets: 2, localAddress }));
  let inflight = 0, answered = 0;
  const stopPacing = pace(() => st.attempts < total && inflight < 1000, () => {
    const agent = agents[st.attempts++ % agents.length];
    inflight++;
    const done = () => {
      inflight--;
      if (++answered === total) process.send({ type: "done" });
    };
    http.get({ host: "127.0.0.1", port, path: "/socket.io/?EIO=4&transport=polling", agent }, (res) => {
      if (res.statusCode === 200) st.accepted++;
      else st.refused++;
      res.resume();
      res.on("end", done);
    }).on("error", () => { st.errors++; done(); });
  });
  return () => {
    stopPacing();
    for (const ag of agents) ag.destroy();
  };
}

// holdFlood keeps up to `sockets` half-open connections; each one the
// server closes is opened again (paced), until stopped.
function holdFlood(kind, port, sockets, st, pace) {
  const live = new Set();
  let connecting = 0, flooding = true, next = 0;
  const open = () => {
    const localAddress = ATTACKERS[next++ % ATTACKERS.length];
    st.attempts++;
    connecting++;
    const sock = net.connect({ host: "127.0.0.1", port, localAddress });
    let opened = 0, upgraded = false, buf = "", trickle = null;
    sock.on("connect", () => {
      connecting--;
      opened = performance.now();
      live.add(sock);
      st.open = live.size;
      st.peakOpen = Math.max(st.peakOpen, st.open);
      const head = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
        "Upgrade: websocket\r\nConnection: Upgrade\r\n";
      if (kind === "slowloris") {
        st.accepted++;
        sock.write(head); // never the blank line that ends the headers
        trickle = setInterval(() => sock.write(`X-Pad-${next % 100}: ${next}\r\n`), 5000);
      } else {
        const key = randomBytes(16).toString("base64");
        sock.write(head + `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      }
    });
    sock.on("data", (d) => { // silent-ws: read the 101 (and whatever follows), never answer
      if (kind !== "silent-ws" || upgraded || buf === null) return;
      buf += d.toString("latin1");
      if (!buf.includes("\r\n")) return;
      upgraded = buf.startsWith("HTTP/1.1 101");
      if (upgraded) st.accepted++;
      else st.refused++;
      buf = null;
    });
    sock.on("error", () => {});
    sock.on("close", () => {
      clearInterval(trickle);
      if (opened) {
        live.delete(sock);
        st.open = live.size;
        if (flooding && (kind === "slowloris" || upgraded)) {
          st.serverClosed++;
          st.lifetimes.push((performance.now() - opened) / 1000);
        }
      } else {
        connecting--;
        st.errors++;
      }
    });
  };
  const stopPacing = pace(() => live.size + connecting < sockets, open);
  return () => {
    flooding = false;
    stopPacing();
    for (const s of live) s.destroy();
  };
}

// The role runs last, once every declaration above is initialized. A child
// ends with its parent.
if (opt.role !== "main") process.on("disconnect", () => process.exit(0));
if (opt.role === "healthy") await healthyRole();
else if (opt.role === "flood") await floodRole();
else await main();
