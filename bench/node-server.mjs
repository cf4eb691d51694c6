// Node reference server of the benchmark harness: socket.io 4.8 with Node's
// defaults (the `ws` engine, no compression), @socket.io/redis-adapter for
// cluster runs. Same events and endpoints as bench/goserver (see its doc):
//
//   node bench/node-server.mjs [--host 127.0.0.1] [--port 0] [--redis URL]
//
// Prints "listening http=HOST:PORT" once listening; exits on SIGTERM/SIGINT.
//
// Socket events: echo-ack (args..., ack), join (room, ack), bench-broadcast (opts, ack).
// HTTP: /bench/broadcast?rate=R&duration=MS&size=B&rooms=K, /bench/stop,
// /bench/drop-all, /bench/stats.
import http from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";

// `node --test` treats every .mjs it finds as a test file: do nothing then.
if (process.env.NODE_TEST_CONTEXT) process.exit(0);

const { values } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "0" },
    redis: { type: "string" },
  },
});

// CLOCK_MONOTONIC in µs: the clock bench/internal/mono reads in Go.
const monoMicros = () => Number(process.hrtime.bigint() / 1000n);

const httpServer = http.createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  const q = url.searchParams;
  switch (url.pathname) {
    case "/bench/broadcast":
      startBroadcast({
        rate: Number(q.get("rate")),
        duration: Number(q.get("duration")),
        size: Number(q.get("size")),
        rooms: Number(q.get("rooms") || 0),
      });
      res.end("ok\n");
      return;
    case "/bench/stop":
      stopBroadcast();
      res.end("ok\n");
      return;
    case "/bench/drop-all": {
      const clients = Object.values(io.engine.clients);
      for (const c of clients) c.close(); // transport close: clients reconnect
      res.end(`${clients.length}\n`);
      return;
    }
    case "/bench/stats":
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ pid: process.pid, clients: io.engine.clientsCount, rss: process.memoryUsage.rss() }));
      return;
  }
  res.writeHead(404);
  res.end("not found\n");
});

const io = new Server(httpServer); // Node's defaults, path /socket.io/

if (values.redis) {
  const { createClient } = await import("redis");
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const pub = createClient({ url: values.redis });
  const sub = pub.duplicate();
  pub.on("error", (err) => console.error("redis:", err.message));
  sub.on("error", (err) => console.error("redis:", err.message));
  await Promise.all([pub.connect(), sub.connect()]);
  io.adapter(createAdapter(pub, sub));
}

io.on("connection", (socket) => {
  socket.on("echo-ack", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack(true);
  });
  socket.on("bench-broadcast", (opts, ack) => {
    startBroadcast(opts || {});
    if (typeof ack === "function") ack("ok");
  });
});

// The broadcast loop, the same as the Go server's: every 5 ms, emit the
// broadcasts due since the start (rate × elapsed), each with a fresh
// timestamp; a server that falls behind catches up in bursts.
let loop = null;
function stopBroadcast() {
  if (loop) clearInterval(loop);
  loop = null;
}
function startBroadcast({ rate, duration, size, rooms = 0 }) {
  stopBroadcast();
  if (!(rate > 0) || !(duration > 0)) return;
  const pad = "x".repeat(Math.max(size, 1));
  const names = Array.from({ length: rooms }, (_, i) => "r" + i);
  const start = performance.now();
  let sent = 0;
  loop = setInterval(() => {
    const el = performance.now() - start;
    if (el >= duration) {
      stopBroadcast();
      return;
    }
    const due = Math.floor((el / 1000) * rate);
    for (; sent < due; sent++) {
      const ts = String(monoMicros()) + ":";
      const payload = ts + pad.slice(0, Math.max(0, size - ts.length));
      if (rooms > 0) io.to(names[sent % rooms]).emit("tick", payload);
      else io.emit("tick", payload);
    }
  }, 5);
}

httpServer.listen(Number(values.port), values.host, () => {
  const a = httpServer.address();
  console.log(`listening http=${a.address}:${a.port}`);
});

for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
