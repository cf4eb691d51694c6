// Node socket.io 4.8.4 server for the Go client's tests (client/*_test.go), for
// what the contract server (test/compat/servers/node-server.mjs) cannot show:
// connection state recovery and a malformed packet.
//
//   node server.mjs --port P [--ping-interval ms] [--ping-timeout ms]
//
// Prints exactly "listening on http://127.0.0.1:P" once listening; exits on SIGTERM/SIGINT.
//
// Namespace "/" (connectionStateRecovery on, skipMiddlewares):
//   on connection: emit("hello", {recovered, auth})     (auth = socket.handshake.auth)
//   "join" (room, ack)        socket.join(room); ack(true)
//   "drop" (room)             close the socket's engine connection (the session is kept for
//                             recovery), then io.to(room).emit("missed", "m1") and "m2"
//   "garbage" ()              send the Engine.IO message "9" (an invalid Socket.IO packet)
import http from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    "ping-interval": { type: "string", default: "25000" },
    "ping-timeout": { type: "string", default: "20000" },
  },
});
if (values.port === undefined) {
  console.error("usage: node server.mjs --port P [--ping-interval ms] [--ping-timeout ms]");
  process.exit(2);
}
const port = Number(values.port);

const httpServer = http.createServer();
const io = new Server(httpServer, {
  path: "/socket.io/",
  pingInterval: Number(values["ping-interval"]),
  pingTimeout: Number(values["ping-timeout"]),
  connectionStateRecovery: { maxDisconnectionDuration: 60000, skipMiddlewares: true },
});

io.on("connection", (socket) => {
  socket.emit("hello", { recovered: socket.recovered, auth: socket.handshake.auth });

  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack(true);
  });

  socket.on("drop", (room) => {
    socket.conn.close();
    setTimeout(() => {
      io.to(room).emit("missed", "m1");
      io.to(room).emit("missed", "m2");
    }, 50);
  });

  socket.on("garbage", () => {
    socket.conn.send("9");
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
});

let stopping = false;
function shutdown() {
  if (stopping) return;
  stopping = true;
  io.close();
  httpServer.closeAllConnections?.();
  setTimeout(() => process.exit(0), 50);
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
