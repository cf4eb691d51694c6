// Raw Engine.IO (no Socket.IO) echo server at /engine.io/, driven by engine.io-client.
import { describe, test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  startServer, Clients, waitFor, within, until, toBuffer, isBinary, MODE, FINAL_TRANSPORT, FIRST_TRANSPORT, T,
} from "./lib/harness.mjs";

describe(`engine.io echo (${MODE})`, () => {
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

  async function open() {
    const e = clients.engine();
    const hs = waitFor(e, "handshake", 5000);
    await waitFor(e, "open", 5000);
    return { e, handshake: (await hs)[0] };
  }

  /** Sends each message and collects the same number of echoes, in order. */
  async function echo(e, messages, ms = 5000) {
    const got = [];
    const done = new Promise((resolve) => {
      const on = (m) => {
        got.push(m);
        if (got.length === messages.length) {
          e.off("message", on);
          resolve();
        }
      };
      e.on("message", on);
    });
    for (const m of messages) e.send(m);
    await within(done, ms, `${messages.length} echoes`);
    return got;
  }

  test("handshake", T, async () => {
    const { e, handshake } = await open();
    assert.equal(typeof handshake.sid, "string");
    assert.equal(handshake.sid.length, 20);
    assert.equal(e.id, handshake.sid);
    assert.deepEqual(handshake.upgrades, FIRST_TRANSPORT === "polling" ? ["websocket"] : []);
    assert.equal(handshake.pingInterval, 25000);
    assert.equal(handshake.pingTimeout, 20000);
    assert.equal(handshake.maxPayload, 1000000);
  });

  test("text messages are echoed", T, async () => {
    const { e } = await open();
    const msgs = ["hello", "unicode é 漢字 😀", "4 looks like a packet", "x".repeat(100_000), '{"json":true}'];
    assert.deepEqual(await echo(e, msgs), msgs);
  });

  test("binary messages are echoed as binary", T, async () => {
    const { e } = await open();
    const msgs = [Buffer.from([0, 1, 2, 255]), Buffer.alloc(70_000, 7), Buffer.from("text-as-bytes")];
    const got = await echo(e, msgs);
    for (let i = 0; i < msgs.length; i++) {
      assert.ok(isBinary(got[i]), `message ${i} came back as ${typeof got[i]}`);
      assert.deepEqual(toBuffer(got[i]), msgs[i]);
    }
  });

  test("mixed text and binary keep their order", T, async () => {
    const { e } = await open();
    const msgs = [];
    for (let i = 0; i < 50; i++) msgs.push(i % 3 === 0 ? Buffer.from([i]) : `m${i}`);
    const got = await echo(e, msgs);
    assert.deepEqual(
      got.map((m) => (isBinary(m) ? [...toBuffer(m)] : m)),
      msgs.map((m) => (Buffer.isBuffer(m) ? [...m] : m)),
    );
  });

  test(`ends on ${FINAL_TRANSPORT} and still echoes`, T, async () => {
    const { e } = await open();
    await until(() => e.transport.name === FINAL_TRANSPORT, 5000, `transport ${FINAL_TRANSPORT}`);
    assert.deepEqual(await echo(e, ["after"]), ["after"]);
  });

  test("echo is per connection", T, async () => {
    const a = (await open()).e;
    const b = (await open()).e;
    let bGot = 0;
    b.on("message", () => bGot++);
    assert.deepEqual(await echo(a, ["only-a"]), ["only-a"]);
    assert.deepEqual(await echo(b, ["only-b"]), ["only-b"]);
    assert.equal(bGot, 1);
  });

  test("an empty text message is echoed (the client decodes a bare \"4\" as undefined)", T, async () => {
    const { e } = await open();
    const got = await echo(e, ["", "after-empty"]);
    assert.ok(got[0] === "" || got[0] === undefined, `got ${JSON.stringify(got[0])}`);
    assert.equal(got[1], "after-empty");
  });
});
