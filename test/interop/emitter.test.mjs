// @socket.io/redis-emitter 5.1 publishing into a cluster of Go nodes.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { Emitter } from "@socket.io/redis-emitter";
import { createClient } from "redis";
import { HAVE_REDIS, startRedis, startGoNode, connectClient, waitEvent, noEvent, waitUntil } from "./lib.mjs";

describe("redis-emitter → Go node", { skip: !HAVE_REDIS && "redis-server not installed" }, () => {
  let redis, goNode, redisClient, emitter, a, b;
  const key = "interop-emitter";

  before(async () => {
    redis = await startRedis();
    goNode = await startGoNode(["-redis", redis.url, "-key", key]);
    redisClient = createClient({ url: redis.url });
    await redisClient.connect();
    emitter = new Emitter(redisClient, { key });
    a = await connectClient(goNode.url, "a");
    b = await connectClient(goNode.url, "b");
    await waitUntil(async () => (await goNode.ctl("serverCount")).count === 1, 5000, "Go node subscribed");
  });

  after(async () => {
    a?.disconnect();
    b?.disconnect();
    await redisClient?.quit();
    await goNode?.stop();
    await redis?.stop();
  });

  it("emits to every client, with binary", async () => {
    const got = [waitEvent(a, "news"), waitEvent(b, "news")];
    emitter.emit("news", "hello", Buffer.from([3, 4]), { when: new Date(Date.UTC(2024, 0, 1)) });
    for (const [text, buf, obj] of await Promise.all(got)) {
      assert.equal(text, "hello");
      assert.deepEqual([...buf], [3, 4]);
      assert.deepEqual(obj, { when: "2024-01-01T00:00:00.000Z" });
    }
  });

  it("emits to a room and except a room", async () => {
    emitter.in(a.id).socketsJoin("club");
    await waitUntil(async () => (await goNode.ctl("fetchSockets", { rooms: ["club"] })).sockets.length === 1,
      3000, "join applied");
    let got = waitEvent(a, "club");
    let none = noEvent(b, "club");
    emitter.to("club").emit("club", 1);
    await got;
    await none;
    got = waitEvent(b, "not-club");
    none = noEvent(a, "not-club");
    emitter.except("club").emit("not-club", 2);
    await got;
    await none;
    emitter.in("club").socketsLeave("club");
    await waitUntil(async () => (await goNode.ctl("fetchSockets", { rooms: ["club"] })).sockets.length === 0,
      3000, "leave applied");
  });

  it("serverSideEmit reaches the Go node's handlers", async () => {
    emitter.serverSideEmit("note", "from-emitter");
    await waitUntil(async () => (await goNode.ctl("received")).events.some((e) => e.args[0] === "from-emitter"),
      3000, "server-side event");
  });

  it("disconnects sockets", async () => {
    const gone = waitEvent(b, "disconnect");
    emitter.in(b.id).disconnectSockets(true);
    assert.equal((await gone)[0], "io server disconnect");
  });
});
