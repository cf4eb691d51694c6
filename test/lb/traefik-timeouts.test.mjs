// Traefik's entry-point timeouts against long polling, as
// docs/load-balancing.md states them: a long-polling GET is held up to the
// ping interval, so respondingTimeouts.writeTimeout (it bounds each
// response) must be 0 or above the ping interval, while readTimeout (it
// bounds reading the request) does not matter. One node with a 5 s ping
// interval behind Traefik v3.6 (test/lb/traefik-build.sh), polling-only
// official clients:
//   writeTimeout 2s: no ping reaches any client, and every one is cut (v3.6.12:
//     "ping timeout", the held GET never answered);
//   writeTimeout 0 / readTimeout 2s, and writeTimeout 15s: nobody is cut
//   while each client gets two pings, each answering a GET held ~5 s.
//
//   SWITCHBOARD_BIN=$PWD/bin/switchboard node --test test/lb/traefik-timeouts.test.mjs
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { connectClients, startNode, startTraefik, traefikDynamic, traefikEntryPoints, until } from "./lib.mjs";

const CLIENTS = 5;
const PING = ["--ping-interval", "5s", "--ping-timeout", "5s"];
const CUT = new Set(["ping timeout", "transport error"]);

/** Polling-only clients through Traefik with the given entry-point timeouts; counts their pings. */
async function polling(node, timeouts, t) {
  const lb = await startTraefik(traefikEntryPoints(timeouts), traefikDynamic([node]));
  let conn;
  try {
    conn = await connectClients(lb.url, CLIENTS, { transports: ["polling"], reconnection: false });
    for (const c of conn.clients) {
      c.pings = 0;
      c.socket.io.engine.on("ping", () => c.pings++);
    }
    t.diagnostic(`Traefik entry point ${JSON.stringify(timeouts)}, ping interval 5s, ${CLIENTS} polling clients`);
    return { lb, conn };
  } catch (e) {
    await lb.stop();
    throw e;
  }
}

describe("Traefik timeouts and long polling", { timeout: 300_000 }, () => {
  let node;
  before(async () => { node = await startNode("node-1", null, PING); });
  after(async () => { await node?.stop(); });

  test("writeTimeout below the ping interval cuts every polling client", { timeout: 90_000 }, async (t) => {
    const { lb, conn } = await polling(node, { writeTimeout: "2s" }, t);
    try {
      await until(() => conn.clients.every((c) => c.disconnects.length > 0), 60_000, "every polling client cut");
      const reasons = conn.clients.map((c) => c.disconnects[0]);
      t.diagnostic(`disconnects: ${JSON.stringify(reasons)}; pings received before: ${conn.clients.map((c) => c.pings)}`);
      assert.ok(reasons.every((r) => CUT.has(r)), `cut for another reason: ${reasons}`);
      assert.deepEqual(conn.clients.map((c) => c.pings), Array(CLIENTS).fill(0), "a held GET outlived writeTimeout");
    } finally {
      conn.close();
      await lb.stop();
    }
  });

  for (const timeouts of [{ writeTimeout: "0s", readTimeout: "2s" }, { writeTimeout: "15s" }]) {
    test(`${JSON.stringify(timeouts)}: polling clients are not cut`, { timeout: 90_000 }, async (t) => {
      const { lb, conn } = await polling(node, timeouts, t);
      try {
        await until(() => conn.clients.every((c) => c.pings >= 2 || c.disconnects.length > 0), 60_000,
          "two pings (or a disconnect) for every client");
        for (const c of conn.clients) assert.deepEqual(c.disconnects, [], "a polling client was cut");
        assert.deepEqual(conn.errors, [], "connect errors");
      } finally {
        conn.close();
        await lb.stop();
      }
    });
  }
});
