// A Node socket.io 4.8 server with @socket.io/redis-streams-adapter 0.3.1
// (connection state recovery on) and a Switchboard node (--recovery: its
// streams mode) share one redis-server: broadcasts flow both ways with
// stream entry ids as offsets, and a session left on one implementation is
// recovered, with the events it missed, on the other.
//
//   make build && node --test test/recovery/interop.test.mjs
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createClient } from "redis";
import { Server } from "socket.io";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import { io as ioClient } from "socket.io-client";
import { sleep, startNode, startRedis, until } from "../lb/lib.mjs";

const OFFSET = /^\d+-\d+$/;
let redis, goNode, nodeIO, nodeURL, redisClient;
const open = [];

before(async () => {
  redis = await startRedis();
  goNode = await startNode("go-1", redis.url, ["--recovery"]);
  redisClient = createClient({ url: redis.url });
  await redisClient.connect();
  const http = createServer();
  nodeIO = new Server(http, { adapter: createAdapter(redisClient), connectionStateRecovery: {} });
  nodeIO.on("connection", (s) => {
    s.on("drawing", (d) => s.broadcast.emit("drawing", d));
    s.emit("hello", { node: "node-js" });
  });
  await new Promise((r) => http.listen(0, "127.0.0.1", r));
  nodeURL = `http://127.0.0.1:${http.address().port}`;
});

after(async () => {
  for (const s of open) s.close();
  nodeIO?.close();
  await redisClient?.quit().catch(() => {});
  await goNode?.stop();
  await redis?.stop();
});

/** A stroke that Switchboard's whiteboard accepts; n rides along as an annotation. */
const DOT = { x0: 0, y0: 0, x1: 0, y1: 0, color: "#000" };

/** A client recording its drawings (with their offsets). */
async function client(url, auth) {
  const s = ioClient(url, { transports: ["websocket"], reconnection: false, forceNew: true, auth });
  open.push(s);
  s.drawings = [];
  s.on("drawing", (d, offset) => s.drawings.push({ n: d.n, offset }));
  await new Promise((resolve, reject) => { s.once("connect", resolve); s.once("connect_error", reject); });
  await until(() => s._lastOffset, 5000, "the hello event with its offset");
  return s;
}

const got = (s, n) => until(() => s.drawings.find((d) => d.n === n), 5000, `drawing ${n}`);

test("broadcasts flow both ways, with stream entry ids as offsets", async () => {
  const a = await client(nodeURL);
  const b = await client(goNode.url);
  a.emit("drawing", { n: 1, ...DOT });
  assert.match((await got(b, 1)).offset, OFFSET);
  b.emit("drawing", { n: 2, ...DOT });
  assert.match((await got(a, 2)).offset, OFFSET);
});

/** Leaves a session behind on one side and recovers it on the other. */
async function handover(fromURL, toURL, publisherURL) {
  const pub = await client(publisherURL);
  const gone = await client(fromURL);
  pub.emit("drawing", { n: 10, ...DOT });
  await got(gone, 10);
  const { id, _pid: pid, _lastOffset: offset } = gone;
  gone.io.engine.close(); // a transport close: the session is kept
  await sleep(300);
  pub.emit("drawing", { n: 11, ...DOT });
  pub.emit("drawing", { n: 12, ...DOT });
  await sleep(300);
  // A new client presents the old pid and offset, as the official client
  // does when it reconnects.
  const back = await client(toURL, { pid, offset });
  await until(() => back.drawings.length >= 2, 5000, "the missed drawings");
  assert.equal(back.id, id, "the recovered socket keeps its id");
  assert.deepEqual(back.drawings.slice(0, 2).map((d) => d.n), [11, 12]);
  for (const d of back.drawings) assert.match(d.offset, OFFSET);
  pub.emit("drawing", { n: 13, ...DOT });
  await got(back, 13);
  assert.deepEqual(back.drawings.map((d) => d.n), [11, 12, 13], "no duplicate, nothing lost");
}

test("a session left on Node is recovered by Switchboard", () => handover(nodeURL, goNode.url, nodeURL));

test("a session left on Switchboard is recovered by Node", () => handover(goNode.url, nodeURL, goNode.url));
