// 200 concurrent clients: all connect, each receives a broadcast exactly once.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, Clients, ask, within, collectUntil, MODE } from "./lib/harness.mjs";

const N = 200;

describe(`load (${MODE})`, () => {
  let server, clients;
  before(async () => {
    server = await startServer();
    clients = new Clients(server);
  });
  after(async () => {
    clients?.closeAll();
    await server?.stop();
  });

  test(`${N} concurrent clients each receive one broadcast exactly once`, { timeout: 90_000 }, async () => {
    const socks = [];
    for (let i = 0; i < N; i++) socks.push(clients.socket("/", { auth: { i }, timeout: 30_000 }));
    const auths = await within(
      Promise.all(socks.map((s) => new Promise((resolve) => s.once("auth", resolve)))),
      40_000,
      `${N} connections`,
    );
    auths.forEach((a, i) => assert.deepEqual(a, { i }));
    assert.ok(socks.every((s) => s.connected));
    assert.equal(new Set(socks.map((s) => s.id)).size, N, "distinct socket ids");

    // every client answers a broadcast with ack: proves the server holds all N sockets
    socks.forEach((s, i) => s.on("count-me", (cb) => cb(i)));
    const r = await within(
      socks[0].timeout(35_000).emitWithAck("broadcast-ack", { event: "count-me", args: [], timeout: 30_000 }),
      35_000,
      "broadcast-ack",
    );
    assert.equal(r.ok, true, JSON.stringify({ ...r, responses: r.responses?.length }));
    assert.deepEqual([...r.responses].sort((a, b) => a - b), [...Array(N).keys()]);

    // one broadcast, then a fence: nobody gets it twice or misses it
    const seen = socks.map((s) => collectUntil(s, "fence", 30_000));
    await ask(socks[N - 1], "broadcast", { event: "hello", args: ["all", { n: N }] });
    await ask(socks[N - 1], "broadcast", { event: "fence", args: [] });
    const got = await Promise.all(seen);
    got.forEach((evs, i) => assert.deepEqual(evs, [["hello", "all", { n: N }]], `client ${i}`));
  });
});
