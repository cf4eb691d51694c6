// The classic Node whiteboard's server side, for the whiteboard scenarios
// of the benchmark harness (bench/loadgen, WB and WBpin): a plain Node http
// server and socket.io 4.8 with its defaults, whose one handler relays each
// "drawing" to every other client with socket.broadcast. Like the classic
// app it emits nothing else (Switchboard's page also gets "hello" and
// "clients" count updates); it serves no page, the clients are the load
// generator's.
//
//   node bench/node-whiteboard.mjs [--host 127.0.0.1] [--port 0]
//
// Prints "listening http=HOST:PORT" once listening; exits on SIGTERM/SIGINT.
import http from "node:http";
import { parseArgs } from "node:util";
import { Server } from "socket.io";

// `node --test` treats every .mjs it finds as a test file: do nothing then.
if (process.env.NODE_TEST_CONTEXT) process.exit(0);

const { values } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "0" },
  },
});

const httpServer = http.createServer((req, res) => {
  res.writeHead(404);
  res.end("not found\n");
});
const io = new Server(httpServer);

io.on("connection", (socket) => {
  socket.on("drawing", (data) => socket.broadcast.emit("drawing", data));
});

httpServer.listen(Number(values.port), values.host, () => {
  const a = httpServer.address();
  console.log(`listening http=${a.address}:${a.port}`);
});

for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
