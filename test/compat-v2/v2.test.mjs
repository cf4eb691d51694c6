// The official Socket.IO v2 client (socket.io-client 2.5.0: Engine.IO v3, Socket.IO protocol v4)
// against a server with allowEIO3 (COMPAT_EIO3=1): the Node reference server or the Go one.
// Run by test/compat/run.sh with COMPAT_SUITE=test/compat-v2/, once per transport mode.
import { describe, test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import {
  startServer, Clients, ask, waitFor, within, toBuffer, transports, MODE, FINAL_TRANSPORT, until, T,
} from "../compat/lib/harness.mjs";

const require = createRequire(import.meta.url);
const ioV2 = require("socket.io-client-v2");

if (process.env.COMPAT_EIO3 !== "1") throw new Error("the v2 suite needs COMPAT_EIO3=1 (a server with allowEIO3)");

/** A v2 client socket on its own Manager, tracked by `clients`. */
function v2Socket(clients, nsp = "/", opts = {}) {
  const s = ioV2(clients.server.url + nsp, {
    forceNew: true, transports: transports(), reconnection: false, timeout: 5000, ...opts,
  });
  s.on("disconnect", (reason) => {
    s.lastDisconnect = reason;
  });
  clients.onClose(() => s.close());
  return s;
}

/** Waits for `connect` and the contract's `auth` event (sent right after it). */
async function v2Connect(clients, nsp = "/", opts = {}) {
  const s = v2Socket(clients, nsp, opts);
  const auth = waitFor(s, "auth", 10_000);
  auth.catch(() => {});
  await within(new Promise((resolve, reject) => {
    s.once("connect", resolve);
    s.once("connect_error", (e) => reject(new Error(`connect_error: ${e.message}`)));
    s.once("error", (e) => reject(new Error(`error: ${JSON.stringify(e)}`)));
  }), 10_000, `v2 connect to ${nsp}`);
  [s.authPayload] = await auth;
  return s;
}

/** emit with an ack, bounded. */
const v2Ask = (s, event, ...args) =>
  within(new Promise((resolve) => s.emit(event, ...args, (...res) => resolve(res))), 5000, `ack of ${event}`);

/** The server's disconnect reason of a socket, asked through a connected v2 socket. */
const v2LastReason = (observer, id) =>
  until(async () => (await v2Ask(observer, "last-reason", id))[0], 8000, `a disconnect reason for ${id}`);

/** Waits until the v2 client's engine settled on the mode's final transport. */
const v2Settled = (s) =>
  until(() => s.io.engine?.transport?.name === FINAL_TRANSPORT && s.io.engine.readyState === "open", 8000,
    `transport ${FINAL_TRANSPORT}`);

describe(`socket.io-client 2.5.0 (${MODE})`, () => {
  let server, clients;
  before(async () => {
    server = await startServer();
    clients = new Clients(server);
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    clients?.closeAll();
    await server?.stop();
  });

  test("connects to / without a CONNECT; its id is the engine's; the mode's transport", T, async () => {
    const s = await v2Connect(clients, "/");
    assert.deepEqual(s.authPayload, {});
    assert.equal(s.id, s.io.engine.id);
    await v2Settled(s);
    const h = await v2Ask(s, "handshake");
    assert.equal(h[0].query.EIO, "3");
  });

  test("emit both ways, byte-exact JSON", T, async () => {
    const s = await v2Connect(clients, "/");
    const args = ["hello", 42, -1.5, true, null, { z: 1, a: [2, {}] }, "<b> & é 漢字 😀", ""];
    const back = waitFor(s, "message-back", 5000);
    s.emit("message", ...args);
    const got = await back;
    assert.equal(JSON.stringify(got), JSON.stringify(args));
  });

  test("acks both ways", T, async () => {
    const s = await v2Connect(clients, "/");
    assert.deepEqual(await v2Ask(s, "message-with-ack", "a", 1, { b: [2] }), ["a", 1, { b: [2] }]);
    s.on("ping-me", (x, ack) => ack(`pong ${x}`));
    const [res] = await v2Ask(s, "server-ack", { event: "ping-me", args: [7], timeout: 3000 });
    assert.deepEqual(res, { ok: true, value: "pong 7" });
  });

  test("binary both ways, in events and acks", T, async () => {
    const s = await v2Connect(clients, "/");
    await v2Settled(s);
    const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
    const back = waitFor(s, "message-back", 5000);
    s.emit("message", "bin", bytes, { nested: [Buffer.from("xyz")] });
    const [label, b1, obj] = await back;
    assert.equal(label, "bin");
    assert.deepEqual([...toBuffer(b1)], [...bytes]);
    assert.equal(toBuffer(obj.nested[0]).toString(), "xyz");
    const [ackBin] = await v2Ask(s, "message-with-ack", Buffer.from([9, 8, 7]));
    assert.deepEqual([...toBuffer(ackBin)], [9, 8, 7]);
  });

  test("binary with forceBase64 (b64=1: b4<base64> packets both ways)", T, async () => {
    const s = await v2Connect(clients, "/", { forceBase64: true });
    await v2Settled(s);
    const back = waitFor(s, "message-back", 5000);
    s.emit("message", Buffer.from([1, 2, 3, 255]));
    const [b] = await back;
    assert.deepEqual([...toBuffer(b)], [1, 2, 3, 255]);
  });

  test("a custom namespace: id nsp#engine id, query as auth", T, async () => {
    const s = await v2Connect(clients, "/custom", { query: { token: "abc", n: "1" } });
    assert.equal(s.id, `/custom#${s.io.engine.id}`);
    assert.deepEqual(s.authPayload, { token: "abc", n: "1" });
  });

  test("an unknown namespace is refused with Node's message", T, async () => {
    const s = v2Socket(clients, "/nope");
    const [err] = await waitFor(s, "error", 5000);
    assert.deepEqual(err, { message: "Invalid namespace" });
  });

  test("a middleware error reaches the client as err.data; the right token passes", T, async () => {
    const bad = v2Socket(clients, "/restricted", { query: { token: "wrong" } });
    const [err] = await waitFor(bad, "error", 5000);
    assert.deepEqual(err, { reason: "bad token" });
    const good = await v2Connect(clients, "/restricted", { query: { token: "secret" } });
    assert.deepEqual(good.authPayload, { token: "secret" });
  });

  test("disconnect reasons: server namespace disconnect, client namespace disconnect", T, async () => {
    const observer = await v2Connect(clients, "/");
    const s = await v2Connect(clients, "/custom");
    const a = await v2Connect(clients, "/");
    const aId = a.id; // the v2 client forgets it on disconnect
    const down = waitFor(a, "disconnect", 5000);
    a.emit("disconnect-me", false);
    assert.deepEqual(await down, ["io server disconnect"]);
    assert.equal(await v2LastReason(observer, aId), "server namespace disconnect");
    const b = await v2Connect(clients, "/");
    const id = b.id;
    const gone = waitFor(b, "disconnect", 5000);
    b.close();
    assert.deepEqual(await gone, ["io client disconnect"]);
    assert.ok(["client namespace disconnect", "transport close"].includes(await v2LastReason(observer, id)));
    assert.ok(s.connected);
  });

  test("reconnects by itself after a server restart", { timeout: 30_000 }, async () => {
    const s = await v2Connect(clients, "/", { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300, randomizationFactor: 0 });
    const firstId = s.id;
    const down = waitFor(s, "disconnect", 10_000);
    const back = waitFor(s, "reconnect", 15_000);
    const auth = waitFor(s, "auth", 15_000);
    await server.restart();
    const [reason] = await down;
    assert.notEqual(reason, "io server disconnect");
    await back;
    await auth;
    assert.notEqual(s.id, firstId);
    assert.deepEqual(await v2Ask(s, "message-with-ack", "after"), ["after"]);
  });

  test("a v2 and a v4 client on one server get the same broadcast", T, async () => {
    const v2 = await v2Connect(clients, "/");
    const v4 = await clients.connect("/");
    await v2Settled(v2);
    const args = ["news", 1, Buffer.from([1, 2, 3]), { deep: Buffer.from([4]) }];
    const got2 = waitFor(v2, "mixed", 5000);
    const got4 = waitFor(v4, "mixed", 5000);
    assert.equal(await ask(v4, "broadcast", { event: "mixed", args }), true);
    for (const got of [await got2, await got4]) {
      assert.equal(got[0], "news");
      assert.equal(got[1], 1);
      assert.deepEqual([...toBuffer(got[2])], [1, 2, 3]);
      assert.deepEqual([...toBuffer(got[3].deep)], [4]);
    }
  });
});
