// A Node socket.io 4.8 node with @socket.io/redis-adapter, for the Go
// emitter's interop test. argv: port redisURL. Server-side events "tick"
// are forwarded to every local client as "news" "server-side:<arg>".
import http from "node:http";
import { createRequire } from "node:module";
const require = createRequire(process.cwd() + "/package.json");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

const [port, url] = process.argv.slice(2);
const pub = createClient({ url });
const sub = pub.duplicate();
await Promise.all([pub.connect(), sub.connect()]);
const httpServer = http.createServer();
const io = new Server(httpServer, { adapter: createAdapter(pub, sub) });
io.on("tick", (arg) => io.local.emit("news", `server-side:${arg}`));
httpServer.listen(Number(port), "127.0.0.1", () => console.log("listening"));
process.on("SIGTERM", () => process.exit(0));
