// A Node socket.io 4.8 server with @socket.io/redis-adapter 8.3 over
// node-redis's cluster client and a Go node (adapter/redis) share one Redis
// Cluster (3 masters from redis-server, created with redis-cli): the
// cluster operations in both directions, in sharded mode (Node's
// createShardedAdapter, what it is for) and in classic mode.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Server } from "socket.io";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createCluster } from "redis";
import {
  HAVE_REDIS, spawnRedis, startGoNode, connectClient, waitEvent, noEvent, waitUntil,
} from "./lib.mjs";

const REDIS_CLI = "/usr/bin/redis-cli";

/** Starts n cluster-enabled redis-servers and joins them as masters; on failure it stops what it started. */
async function startRedisCluster(n = 3) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "interop-cluster-"));
  const nodes = [];
  const stop = async () => {
    await Promise.all(nodes.map((nd) => nd.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < n; i++) {
      nodes.push(await spawnRedis(() => ["--cluster-config-file", path.join(dir, `nodes-${i}.conf`), "--dir", dir],
        { cluster: true }));
    }
    const addrs = nodes.map((nd) => `127.0.0.1:${nd.port}`);
    execFileSync(REDIS_CLI, ["--cluster", "create", ...addrs, "--cluster-replicas", "0", "--cluster-yes"], { stdio: "ignore" });
    await waitUntil(() => nodes.every((nd) => {
      const info = execFileSync(REDIS_CLI, ["-p", String(nd.port), "CLUSTER", "INFO"]).toString();
      return info.includes("cluster_state:ok") && info.includes(`cluster_known_nodes:${n}`);
    }), 30000, "cluster_state:ok");
    return {
      url: `redis://${addrs[0]}?` + addrs.slice(1).map((a) => `addr=${a}`).join("&"),
      rootNodes: addrs.map((a) => ({ url: `redis://${a}` })),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A Node socket.io server whose adapter uses node-redis's cluster client. */
async function startNodeOnCluster({ rootNodes, key, sharded }) {
  const pub = createCluster({ rootNodes });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  const adapter = sharded
    ? createShardedAdapter(pub, sub, { channelPrefix: key })
    : createAdapter(pub, sub, { key, requestsTimeout: 3000 });
  const httpServer = createServer();
  const io = new Server(httpServer, { adapter });
  io.on("connection", (socket) => { socket.data = { node: "node" }; });
  io.on("ping", (...args) => args.pop()("pong-node"));
  await new Promise((r) => httpServer.listen(0, "127.0.0.1", r));
  return {
    io,
    url: `http://127.0.0.1:${httpServer.address().port}`,
    async close() {
      io.close();
      await Promise.all([pub.quit().catch(() => {}), sub.quit().catch(() => {})]);
    },
  };
}

for (const mode of [{ name: "sharded", sharded: true }, { name: "classic", sharded: false }]) {
  describe(`Go and Node nodes on a Redis Cluster, ${mode.name}`, { skip: !HAVE_REDIS && "redis-server not installed" }, () => {
    let cluster, goNode, nodeSrv, goClient, nodeClient;
    const key = `interop-cluster-${mode.name}`;

    before(async () => {
      cluster = await startRedisCluster();
      nodeSrv = await startNodeOnCluster({ rootNodes: cluster.rootNodes, key, sharded: mode.sharded });
      const args = ["-redis", cluster.url, "-key", key];
      if (mode.sharded) args.push("-sharded");
      goNode = await startGoNode(args);
      goClient = await connectClient(goNode.url, "go-client");
      nodeClient = await connectClient(nodeSrv.url, "node-client");
    });

    after(async () => {
      goClient?.disconnect();
      nodeClient?.disconnect();
      await nodeSrv?.close();
      await goNode?.stop();
      await cluster?.stop();
    });

    it("counts both servers from Go", async () => {
      await waitUntil(async () => (await goNode.ctl("serverCount")).count === 2, 10000, "Go counts 2 servers");
    });

    it("counts both servers from Node", async () => {
      await waitUntil(async () => (await nodeSrv.io.of("/").adapter.serverCount()) === 2, 10000, "Node counts 2 servers");
    });

    it("broadcasts from Go to every client", async () => {
      const got = [waitEvent(nodeClient, "g2all"), waitEvent(goClient, "g2all")];
      assert.equal((await goNode.ctl("emit", { event: "g2all", args: [1] })).error, null);
      for (const args of await Promise.all(got)) assert.deepEqual(args, [1]);
    });

    it("broadcasts from Node to every client", async () => {
      const got = [waitEvent(nodeClient, "n2all"), waitEvent(goClient, "n2all")];
      nodeSrv.io.emit("n2all", 2);
      for (const args of await Promise.all(got)) assert.deepEqual(args, [2]);
    });

    it("broadcasts to a room joined from the other side", async () => {
      assert.equal((await goNode.ctl("socketsJoin", { rooms: [nodeClient.id], join: ["r"] })).error, null);
      let got = waitEvent(nodeClient, "inR");
      let none = noEvent(goClient, "inR");
      await goNode.ctl("emit", { event: "inR", rooms: ["r"], args: ["go"] });
      assert.deepEqual(await got, ["go"]);
      await none;
      nodeSrv.io.in(goClient.id).socketsJoin("r2");
      await waitUntil(async () => (await goNode.ctl("fetchSockets", { rooms: ["r2"] })).sockets.length === 1,
        5000, "Go socket in r2");
      got = waitEvent(goClient, "inR2");
      none = noEvent(nodeClient, "inR2");
      nodeSrv.io.to("r2").emit("inR2", "node");
      assert.deepEqual(await got, ["node"]);
      await none;
    });

    it("fetches sockets both ways", async () => {
      assert.equal((await nodeSrv.io.fetchSockets()).length, 2);
      const { sockets, error } = await goNode.ctl("fetchSockets");
      assert.equal(error, null);
      assert.deepEqual(sockets.map((s) => s.data.node).sort(), ["go", "node"]);
    });

    it("serverSideEmit with acks both ways", async () => {
      assert.deepEqual(await nodeSrv.io.serverSideEmitWithAck("ping", "from-node"), ["pong-go"]);
      const res = await goNode.ctl("serverSideEmitWithAck", { event: "ping", args: ["from-go"] });
      assert.equal(res.error, null);
      assert.deepEqual(res.responses, ["pong-node"]);
    });
  });
}
