// One Redis cluster whose nodes speak different parsers with their clients:
// a Go node with the default (JSON) parser, which also serves a
// socket.io-client 2.x client (Engine.IO v3, --allow-eio3), a Go node and a
// Node node with socket.io-msgpack-parser. Between nodes the adapter's own format is used,
// so every broadcast (to all, to a room, from @socket.io/redis-emitter)
// reaches every client it targets, in its own parser's encoding, once.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { Emitter } from "@socket.io/redis-emitter";
import { createClient } from "redis";
import msgpackParser from "socket.io-msgpack-parser";
import ioV2 from "socket.io-client-v2";
import { HAVE_REDIS, startRedis, startGoNode, startNodeServer, connectClient, waitEvent, waitUntil } from "./lib.mjs";

describe("nodes with different parsers in one cluster", { skip: !HAVE_REDIS && "redis-server not installed" }, () => {
  const key = "interop-parsers";
  let redis, goJSON, goMsgpack, nodeMsgpack, redisClient, emitter;
  let clients; // name → socket
  const counts = new Map(); // "client event" → deliveries

  before(async () => {
    redis = await startRedis();
    goJSON = await startGoNode(["-redis", redis.url, "-key", key, "-allow-eio3"]);
    goMsgpack = await startGoNode(["-redis", redis.url, "-key", key, "-msgpack"]);
    nodeMsgpack = await startNodeServer({ redisUrl: redis.url, key, parser: msgpackParser });
    clients = {
      json: await connectClient(goJSON.url, "json"),
      goMsgpack: await connectClient(goMsgpack.url, "goMsgpack", msgpackParser),
      nodeMsgpack: await connectClient(nodeMsgpack.url, "nodeMsgpack", msgpackParser),
      v2: ioV2(goJSON.url, { transports: ["websocket"], reconnection: false, forceNew: true }),
    };
    await waitEvent(clients.v2, "connect");
    redisClient = createClient({ url: redis.url });
    await redisClient.connect();
    emitter = new Emitter(redisClient, { key });
    await waitUntil(async () => (await goJSON.ctl("serverCount")).count === 3 &&
      (await goMsgpack.ctl("serverCount")).count === 3 &&
      (await nodeMsgpack.io.of("/").adapter.serverCount()) === 3, 10000, "three servers");
  });

  after(async () => {
    for (const s of Object.values(clients ?? {})) s.disconnect();
    await redisClient?.quit();
    await nodeMsgpack?.close();
    await goMsgpack?.stop();
    await goJSON?.stop();
    await redis?.stop();
  });

  /** Waits until each named client got event with args, then checks that
   * the others did not, after a fence broadcast from every node. */
  async function expectOnce(event, want, targets, send) {
    for (const [name, socket] of Object.entries(clients)) { // the v2 client has no onAny
      socket.on(event, () => counts.set(`${name} ${event}`, (counts.get(`${name} ${event}`) ?? 0) + 1));
    }
    const got = targets.map((name) => waitEvent(clients[name], event, 10000));
    await send();
    for (const args of await Promise.all(got)) assert.deepEqual(normalize(args), want);
    const fence = `fence-${event}`;
    const fenced = Object.values(clients).map((s) => waitEvent(s, fence, 10000));
    await goJSON.ctl("emit", { event: fence });
    await Promise.all(fenced);
    for (const name of Object.keys(clients)) {
      assert.equal(counts.get(`${name} ${event}`) ?? 0, targets.includes(name) ? 1 : 0, `${name} got ${event}`);
    }
  }

  const everyone = ["json", "goMsgpack", "nodeMsgpack", "v2"];
  const payload = ["text", { n: 1.5, list: [true, null] }];
  const normalize = (args) => args.map((a) => (a instanceof Uint8Array ? [...a] : a));

  it("a broadcast from the JSON Go node reaches every client once", async () => {
    await expectOnce("from-go-json", [...payload, [1, 2, 255]], everyone, () =>
      goJSON.ctl("emit", { event: "from-go-json", args: payload, binary: Buffer.from([1, 2, 255]).toString("base64") }));
  });

  it("a broadcast from the msgpack Go node reaches every client once", async () => {
    await expectOnce("from-go-msgpack", [...payload, [3]], everyone, () =>
      goMsgpack.ctl("emit", { event: "from-go-msgpack", args: payload, binary: Buffer.from([3]).toString("base64") }));
  });

  it("a broadcast from the msgpack Node node reaches every client once", async () => {
    await expectOnce("from-node", [...payload, [4, 5]], everyone, async () =>
      nodeMsgpack.io.emit("from-node", ...payload, Buffer.from([4, 5])));
  });

  it("a broadcast to a room reaches its members on every node, once", async () => {
    nodeMsgpack.io.in([clients.json.id, clients.nodeMsgpack.id, clients.v2.id]).socketsJoin("mixed");
    await waitUntil(async () => (await goJSON.ctl("fetchSockets", { rooms: ["mixed"] })).sockets.length === 3,
      5000, "the room joined");
    await expectOnce("to-room", ["room"], ["json", "nodeMsgpack", "v2"], () =>
      goMsgpack.ctl("emit", { event: "to-room", rooms: ["mixed"], args: ["room"] }));
  });

  it("the emitter reaches every client once", async () => {
    await expectOnce("from-emitter", ["e", [9]], everyone, async () =>
      emitter.emit("from-emitter", "e", Buffer.from([9])));
  });
});
