// Reference server for the compatibility suite: Node socket.io 4.8.4 implementing
// test/compat/CONTRACT.md. The Go server under test implements the same contract.
//
//   node node-server.mjs --port P [--ping-interval ms] [--ping-timeout ms] [--connect-timeout ms]
//
// Prints exactly "listening on http://127.0.0.1:P" once listening; exits on SIGTERM/SIGINT.
import http from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";
import * as engine from "engine.io";

// `node --test` without arguments treats every .mjs under a `test/` directory as a test
// file; do nothing in that case instead of failing for lack of --port.
if (process.env.NODE_TEST_CONTEXT && !process.argv.includes("--port")) process.exit(0);

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    "ping-interval": { type: "string", default: "25000" },
    "ping-timeout": { type: "string", default: "20000" },
    "connect-timeout": { type: "string", default: "45000" },
  },
});
const num = (name) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`invalid --${name}: ${values[name]}`);
    process.exit(2);
  }
  return n;
};
if (values.port === undefined) {
  console.error("usage: node node-server.mjs --port P [--ping-interval ms] [--ping-timeout ms] [--connect-timeout ms]");
  process.exit(2);
}
const port = num("port");
const pingInterval = num("ping-interval");
const pingTimeout = num("ping-timeout");
const connectTimeout = num("connect-timeout");

// Anything that is neither /socket.io/ nor /engine.io/ gets a 404 (the engines call the
// listeners that were installed before they attached for paths they do not handle).
const httpServer = http.createServer((req, res) => {
  res.writeHead(404, { "Content-Type": "text/plain" });
  res.end("not found");
});

const io = new Server(httpServer, {
  path: "/socket.io/",
  cors: { origin: "*" },
  pingInterval,
  pingTimeout,
  connectTimeout,
  maxHttpBufferSize: 1e6,
  destroyUpgrade: false, // two engines share the HTTP server's "upgrade" event
  allowEIO3: process.env.COMPAT_EIO3 === "1", // the Socket.IO v2 client suite (test/compat-v2)
  ...(process.env.COMPAT_PARSER === "msgpack" ? { parser: await import("socket.io-msgpack-parser") } : {}),
});

// ---- disconnect reasons, last 1000 by socket id ----
const reasons = new Map();
function recordReason(id, reason) {
  reasons.delete(id);
  reasons.set(id, reason);
  while (reasons.size > 1000) reasons.delete(reasons.keys().next().value);
}

function common(socket) {
  socket.on("disconnect", (reason) => recordReason(socket.id, reason));
  socket.emit("auth", socket.handshake.auth);
}

const rooms = (list) => (Array.isArray(list) && list.length > 0 ? list : null);

// ---- main namespace ----
io.of("/").on("connection", (socket) => {
  common(socket);

  socket.on("message", (...args) => {
    socket.emit("message-back", ...args);
  });

  socket.on("message-with-ack", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });

  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack(true);
  });

  socket.on("leave", (room, ack) => {
    socket.leave(room);
    if (typeof ack === "function") ack(true);
  });

  socket.on("rooms", (ack) => {
    ack([...socket.rooms]);
  });

  socket.on("handshake", (ack) => {
    const h = socket.handshake;
    ack({
      auth: h.auth,
      query: { ...h.query },
      headersHasHost: h.headers.host !== undefined,
      host: h.headers.host,
      address: h.address,
      xdomain: h.xdomain,
      secure: h.secure,
      issued: h.issued,
      url: h.url,
    });
  });

  socket.on("broadcast", (opts, ack) => {
    let op = io.of("/");
    const to = rooms(opts.to);
    const except = rooms(opts.except);
    if (to) op = op.to(to);
    if (except) op = op.except(except);
    if (opts.volatile) op = op.volatile;
    op.emit(opts.event, ...(opts.args ?? []));
    if (typeof ack === "function") ack(true);
  });

  socket.on("broadcast-others", (opts, ack) => {
    socket.broadcast.emit(opts.event, ...(opts.args ?? []));
    if (typeof ack === "function") ack(true);
  });

  socket.on("server-ack", (opts, ack) => {
    socket
      .timeout(opts.timeout)
      .emitWithAck(opts.event, ...(opts.args ?? []))
      .then(
        (value) => ack({ ok: true, value }),
        (err) => ack({ ok: false, error: err.message }),
      );
  });

  socket.on("broadcast-ack", (opts, ack) => {
    let op = io.of("/");
    const to = rooms(opts.to);
    if (to) op = op.to(to);
    // callback form: on timeout Node passes the partial responses too
    op.timeout(opts.timeout).emit(opts.event, ...(opts.args ?? []), (err, responses) => {
      if (err) ack({ ok: false, error: err.message, responses });
      else ack({ ok: true, responses });
    });
  });

  socket.on("disconnect-me", (close) => {
    socket.disconnect(close === true);
  });

  socket.on("last-reason", (id, ack) => {
    ack(reasons.has(id) ? reasons.get(id) : null);
  });
});

// ---- other namespaces ----
io.of("/custom").on("connection", common);

io.of(/^\/dyn-\d+$/).on("connection", (socket) => {
  common(socket);
  socket.emit("nsp", socket.nsp.name);
});

const restricted = io.of("/restricted");
restricted.use((socket, next) => {
  if (socket.handshake.auth?.token !== "secret") {
    const err = new Error("not authorized");
    err.data = { reason: "bad token" };
    return next(err);
  }
  next();
});
restricted.on("connection", common);

// ---- raw Engine.IO echo at /engine.io/ ----
const eio = engine.attach(httpServer, {
  path: "/engine.io/",
  cors: { origin: "*" },
  pingInterval,
  pingTimeout,
  maxHttpBufferSize: 1e6,
  destroyUpgrade: false,
});
eio.on("connection", (s) => {
  s.on("message", (data) => s.send(data));
});

// Upgrade requests on any other path: refuse.
httpServer.on("upgrade", (req, socket) => {
  const path = (req.url ?? "").split("?")[0];
  if (path.startsWith("/socket.io/") || path.startsWith("/engine.io/")) return;
  socket.on("error", () => {});
  socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
});

httpServer.listen(port, "127.0.0.1", () => {
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
});

let stopping = false;
function shutdown() {
  if (stopping) return;
  stopping = true;
  io.close();
  eio.close();
  httpServer.closeAllConnections?.();
  setTimeout(() => process.exit(0), 50);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
