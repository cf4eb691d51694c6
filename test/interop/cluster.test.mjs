// A Node socket.io 4.8 server with @socket.io/redis-adapter 8.3 and a Go
// node (adapter/redis) share one redis-server: every cluster operation is
// checked in both directions, in classic and in sharded mode.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  HAVE_REDIS, startRedis, startGoNode, startNodeServer, connectClient,
  waitEvent, noEvent, waitUntil,
} from "./lib.mjs";

const MODES = [
  { name: "classic", sharded: false },
  { name: "sharded (dynamic)", sharded: true },
];

for (const mode of MODES) {
  describe(`Go and Node nodes, ${mode.name}`, { skip: !HAVE_REDIS && "redis-server not installed" }, () => {
    let redis, goNode, nodeSrv, goClient, nodeClient;
    const key = `interop-${mode.sharded ? "sharded" : "classic"}`;

    before(async () => {
      redis = await startRedis();
      nodeSrv = await startNodeServer({ redisUrl: redis.url, key, sharded: mode.sharded });
      const args = ["-redis", redis.url, "-key", key];
      if (mode.sharded) args.push("-sharded");
      goNode = await startGoNode(args);
      goClient = await connectClient(goNode.url, "go-client");
      nodeClient = await connectClient(nodeSrv.url, "node-client");
      await waitUntil(async () => (await nodeSrv.io.of("/").adapter.serverCount()) === 2 &&
        (await goNode.ctl("serverCount")).count === 2, 5000, "both nodes subscribed");
    });

    after(async () => {
      goClient?.disconnect();
      nodeClient?.disconnect();
      await nodeSrv?.close();
      await goNode?.stop();
      await redis?.stop();
    });

    it("counts both servers", async () => {
      assert.equal(await nodeSrv.io.of("/").adapter.serverCount(), 2);
      assert.equal((await goNode.ctl("serverCount")).count, 2);
    });

    it("broadcasts from Go to every client", async () => {
      const got = [waitEvent(nodeClient, "g2all"), waitEvent(goClient, "g2all")];
      assert.equal((await goNode.ctl("emit", { event: "g2all", args: [1, { a: "x" }] })).error, null);
      for (const args of await Promise.all(got)) assert.deepEqual(args, [1, { a: "x" }]);
    });

    it("broadcasts from Node to every client", async () => {
      const got = [waitEvent(nodeClient, "n2all"), waitEvent(goClient, "n2all")];
      nodeSrv.io.emit("n2all", { b: [true, null, 1.5] });
      for (const args of await Promise.all(got)) assert.deepEqual(args, [{ b: [true, null, 1.5] }]);
    });

    it("broadcasts binary both ways", async () => {
      let got = waitEvent(nodeClient, "bin");
      await goNode.ctl("emit", { event: "bin", args: ["go"], binary: Buffer.from([1, 2, 255]).toString("base64") });
      let [label, buf] = await got;
      assert.equal(label, "go");
      assert.deepEqual([...buf], [1, 2, 255]);
      got = waitEvent(goClient, "bin");
      nodeSrv.io.emit("bin", "node", { nested: Buffer.from([7, 8]) });
      [label, buf] = await got;
      assert.equal(label, "node");
      assert.deepEqual([...buf.nested], [7, 8]);
    });

    it("joins rooms from Go (awaited, Node applies before it returns)", async () => {
      const res = await goNode.ctl("socketsJoin", { rooms: [nodeClient.id], join: ["roomG"] });
      assert.equal(res.error, null);
      const got = waitEvent(nodeClient, "inRoomG");
      await goNode.ctl("emit", { event: "inRoomG", rooms: ["roomG"], args: ["now"] });
      assert.deepEqual(await got, ["now"]);
      await goNode.ctl("socketsLeave", { rooms: [nodeClient.id], join: ["roomG"] });
      const none = noEvent(nodeClient, "inRoomG");
      await goNode.ctl("emit", { event: "inRoomG", rooms: ["roomG"], args: ["gone"] });
      await none;
    });

    it("joins rooms from Node", async () => {
      nodeSrv.io.in(goClient.id).socketsJoin("roomN");
      await waitUntil(async () => {
        const { sockets } = await goNode.ctl("fetchSockets", { rooms: ["roomN"] });
        return sockets.length === 1 && sockets[0].id === goClient.id;
      }, 3000, "Go socket in roomN");
      const got = waitEvent(goClient, "inRoomN");
      const none = noEvent(nodeClient, "inRoomN");
      nodeSrv.io.to("roomN").emit("inRoomN", 42);
      assert.deepEqual(await got, [42]);
      await none;
      nodeSrv.io.in(goClient.id).socketsLeave("roomN");
      await waitUntil(async () => (await goNode.ctl("fetchSockets", { rooms: ["roomN"] })).sockets.length === 0,
        3000, "Go socket out of roomN");
    });

    it("excludes rooms both ways", async () => {
      let got = waitEvent(goClient, "ex");
      let none = noEvent(nodeClient, "ex");
      await goNode.ctl("emit", { event: "ex", except: [nodeClient.id] });
      await got;
      await none;
      got = waitEvent(nodeClient, "ex");
      none = noEvent(goClient, "ex");
      nodeSrv.io.except(goClient.id).emit("ex");
      await got;
      await none;
    });

    it("fetches sockets both ways", async () => {
      const socks = await nodeSrv.io.fetchSockets();
      assert.equal(socks.length, 2);
      const fromGo = socks.find((s) => s.id === goClient.id);
      assert.deepEqual(fromGo.data, { node: "go" });
      assert.ok(fromGo.rooms.has(goClient.id));
      assert.equal(fromGo.handshake.address, "127.0.0.1");
      assert.equal(typeof fromGo.handshake.issued, "number");
      const { sockets, error } = await goNode.ctl("fetchSockets");
      assert.equal(error, null);
      assert.deepEqual(sockets.map((s) => s.data.node).sort(), ["go", "node"]);
      const fromNode = sockets.find((s) => s.id === nodeClient.id);
      assert.ok(fromNode.rooms.includes(nodeClient.id));
    });

    it("serverSideEmit with and without acks both ways", async () => {
      assert.deepEqual(await nodeSrv.io.serverSideEmitWithAck("ping", "from-node"), ["pong-go"]);
      const res = await goNode.ctl("serverSideEmitWithAck", { event: "ping", args: ["from-go"] });
      assert.equal(res.error, null);
      assert.deepEqual(res.responses, ["pong-node"]);
      assert.deepEqual(nodeSrv.received.at(-1), { event: "ping", args: ["from-go"] });
      nodeSrv.io.serverSideEmit("note", "n1");
      await goNode.ctl("serverSideEmit", { event: "note", args: ["g1"] });
      await waitUntil(async () => (await goNode.ctl("received")).events.some((e) => e.event === "note"),
        3000, "note on the Go node");
      await waitUntil(() => nodeSrv.received.some((e) => e.event === "note" && e.args[0] === "g1"),
        3000, "note on the Node node");
    });

    it("broadcasts with acks spanning both nodes", async () => {
      const fromNode = await nodeSrv.io.timeout(3000).emitWithAck("ask");
      assert.deepEqual(fromNode.sort(), ["go-client", "node-client"]);
      const res = await goNode.ctl("emitWithAck", { event: "ask", timeoutMs: 3000 });
      assert.equal(res.error, null);
      assert.deepEqual(res.responses.sort(), ["go-client", "node-client"]);
    });

    it("disconnects sockets both ways", async () => {
      const [goC, nodeC] = await Promise.all([connectClient(goNode.url, "g2"), connectClient(nodeSrv.url, "n2")]);
      let gone = waitEvent(nodeC, "disconnect");
      assert.equal((await goNode.ctl("disconnectSockets", { rooms: [nodeC.id], close: true })).error, null);
      assert.equal((await gone)[0], "io server disconnect");
      gone = waitEvent(goC, "disconnect");
      nodeSrv.io.in(goC.id).disconnectSockets();
      assert.equal((await gone)[0], "io server disconnect");
    });
  });
}
