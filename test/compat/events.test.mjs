// Emit both ways, acks both ways (with/without timeout), binary payloads.
import { describe, test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  startServer, Clients, ask, waitFor, within, toBuffer, isBinary, MODE, T,
} from "./lib/harness.mjs";

const TIMEOUT_MSG = "operation has timed out";

/** Replaces every binary value by {bin: [...bytes]} so results can be deep-compared. */
function normalize(v) {
  if (isBinary(v)) return { bin: [...toBuffer(v)] };
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === "object") {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = normalize(x);
    return o;
  }
  return v;
}

describe(`events and acks (${MODE})`, () => {
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

  describe("emit", () => {
    test("client→server→client with JSON values of every kind, byte-exact", T, async () => {
      const s = await clients.connect("/");
      const args = [
        "hello",
        42,
        -1.5,
        true,
        false,
        null,
        [1, [2, [3]], {}],
        { z: 1, a: 2, m: { y: [], b: "x" } }, // key order must survive
        "<script>alert('x') && \"y\"</script>", // no HTML escaping
        "unicode: é ü 漢字 😀 \u2028\u2029",
        "",
        { "": "empty key", "with space": 1, "\u00e9": "é" },
      ];
      const p = waitFor(s, "message-back", 5000);
      s.emit("message", ...args);
      const got = await p;
      assert.deepEqual(got, args);
      assert.equal(JSON.stringify(got), JSON.stringify(args));
    });

    test("event with no arguments", T, async () => {
      const s = await clients.connect("/");
      const p = waitFor(s, "message-back", 5000);
      s.emit("message");
      assert.deepEqual(await p, []);
    });

    test("many events keep their order", T, async () => {
      const s = await clients.connect("/");
      const got = [];
      const done = new Promise((resolve) => {
        s.on("message-back", (i) => {
          got.push(i);
          if (got.length === 100) resolve();
        });
      });
      for (let i = 0; i < 100; i++) s.emit("message", i);
      await within(done, 5000, "100 echoes");
      assert.deepEqual(got, [...Array(100).keys()]);
    });

    test("large payload (~500 kB) round trip", T, async () => {
      const s = await clients.connect("/");
      const big = "x".repeat(500_000);
      const p = waitFor(s, "message-back", 10000);
      s.emit("message", big);
      const [got] = await p;
      assert.equal(got.length, big.length);
      assert.equal(got, big);
    });
  });

  describe("acks", () => {
    test("client emitWithAck resolves with the first ack argument", T, async () => {
      const s = await clients.connect("/");
      assert.equal(await s.emitWithAck("message-with-ack", "first", "second"), "first");
      assert.deepEqual(await s.emitWithAck("message-with-ack", { a: [1, 2] }), { a: [1, 2] });
    });

    test("client ack callback receives every argument", T, async () => {
      const s = await clients.connect("/");
      const got = await within(
        new Promise((resolve) => s.emit("message-with-ack", 1, "2", { 3: [false] }, null, (...a) => resolve(a))),
        5000,
        "ack",
      );
      assert.deepEqual(got, [1, "2", { 3: [false] }, null]);
    });

    test("ack with no arguments", T, async () => {
      const s = await clients.connect("/");
      const got = await within(new Promise((resolve) => s.emit("message-with-ack", (...a) => resolve(a))), 5000, "ack");
      assert.deepEqual(got, []);
    });

    test("client timeout().emitWithAck resolves when the server acks in time", T, async () => {
      const s = await clients.connect("/");
      assert.equal(await s.timeout(2000).emitWithAck("message-with-ack", "in-time"), "in-time");
    });

    test("client timeout(ms).emit callback gets (null, ...args)", T, async () => {
      const s = await clients.connect("/");
      const got = await within(
        new Promise((resolve) => s.timeout(2000).emit("message-with-ack", "a", "b", (...a) => resolve(a))),
        5000,
        "ack",
      );
      assert.deepEqual(got, [null, "a", "b"]);
    });

    test("client timeout().emitWithAck to an event the server never acks rejects", T, async () => {
      const s = await clients.connect("/");
      const t0 = Date.now();
      await assert.rejects(s.timeout(300).emitWithAck("never-acked", 1), { message: TIMEOUT_MSG });
      assert.ok(Date.now() - t0 >= 250);
      // the connection is fine afterwards
      assert.equal(await ask(s, "message-with-ack", "ok"), "ok");
    });

    test("many concurrent acks are matched to the right calls", T, async () => {
      const s = await clients.connect("/");
      const results = await Promise.all([...Array(50).keys()].map((i) => ask(s, "message-with-ack", i, `v${i}`)));
      assert.deepEqual(results, [...Array(50).keys()]);
    });

    test("server→client ack answered in time", T, async () => {
      const s = await clients.connect("/");
      s.on("question", (a, b, cb) => cb({ sum: a + b, echo: [a, b] }));
      const r = await ask(s, "server-ack", { event: "question", args: [2, 3], timeout: 2000 });
      assert.deepEqual(r, { ok: true, value: { sum: 5, echo: [2, 3] } });
    });

    test("server→client ack with no event arguments", T, async () => {
      const s = await clients.connect("/");
      let received;
      s.on("ping-me", (...a) => {
        received = a.length;
        a[a.length - 1]("pong");
      });
      const r = await ask(s, "server-ack", { event: "ping-me", args: [], timeout: 2000 });
      assert.deepEqual(r, { ok: true, value: "pong" });
      assert.equal(received, 1, "only the ack callback");
    });

    test("server→client ack not answered in time → timeout error", T, async () => {
      const s = await clients.connect("/");
      let called = false;
      s.on("slow-question", (cb) => {
        called = true;
        setTimeout(() => cb("too late"), 800);
      });
      const t0 = Date.now();
      const r = await ask(s, "server-ack", { event: "slow-question", args: [], timeout: 200 });
      assert.deepEqual(r, { ok: false, error: TIMEOUT_MSG });
      assert.ok(called, "the client got the event");
      assert.ok(Date.now() - t0 >= 150, "did not time out early");
      // the late ack must be ignored and the connection must stay healthy
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(await ask(s, "message-with-ack", "alive"), "alive");
    });

    test("server→client ack when the client has no handler → timeout error", T, async () => {
      const s = await clients.connect("/");
      const r = await ask(s, "server-ack", { event: "unhandled", args: [1], timeout: 200 });
      assert.deepEqual(r, { ok: false, error: TIMEOUT_MSG });
    });
  });

  describe("binary", () => {
    test("Buffer at top level, client→server→client", T, async () => {
      const s = await clients.connect("/");
      const buf = Buffer.from([0, 1, 2, 3, 254, 255]);
      const p = waitFor(s, "message-back", 5000);
      s.emit("message", buf);
      const [got] = await p;
      assert.ok(isBinary(got), "received value is binary");
      assert.deepEqual(toBuffer(got), buf);
    });

    test("several attachments nested in objects and arrays, mixed with JSON", T, async () => {
      const s = await clients.connect("/");
      const b = (n, len = 16) => Buffer.alloc(len, n);
      const args = [
        "text",
        b(1),
        { file: b(2, 1000), meta: { name: "f", parts: [b(3, 3), { deep: b(4, 70000) }] } },
        [b(5, 1), 7, [b(6, 2)]],
        Buffer.alloc(0),
      ];
      const p = waitFor(s, "message-back", 5000);
      s.emit("message", ...args);
      const got = await p;
      assert.deepEqual(normalize(got), normalize(args));
    });

    test("binary in client ack (BINARY_ACK from the server)", T, async () => {
      const s = await clients.connect("/");
      const a = Buffer.from("abc");
      const got = await within(
        new Promise((resolve) => s.emit("message-with-ack", a, { x: [Buffer.from([9, 8])] }, (...r) => resolve(r))),
        5000,
        "binary ack",
      );
      assert.deepEqual(normalize(got), normalize([a, { x: [Buffer.from([9, 8])] }]));
    });

    test("binary server→client event args and binary client ack (BINARY_ACK to the server)", T, async () => {
      const s = await clients.connect("/");
      let receivedArgs;
      s.on("bin-question", (x, y, cb) => {
        receivedArgs = normalize([x, y]);
        cb({ reply: Buffer.from([7, 7, 7]), list: [Buffer.from("z")] });
      });
      const r = await ask(s, "server-ack", {
        event: "bin-question",
        args: [Buffer.from([1, 2]), { nested: [Buffer.from([3])] }],
        timeout: 3000,
      });
      assert.deepEqual(receivedArgs, [{ bin: [1, 2] }, { nested: [{ bin: [3] }] }]);
      assert.equal(r.ok, true);
      assert.deepEqual(normalize(r.value), { reply: { bin: [7, 7, 7] }, list: [{ bin: [...Buffer.from("z")] }] });
    });

    test("binary broadcast to a room", T, async () => {
      const a = await clients.connect("/");
      const b = await clients.connect("/");
      await ask(b, "join", "bin-room");
      const p = waitFor(b, "bin-bcast", 5000);
      await ask(a, "broadcast", { to: ["bin-room"], event: "bin-bcast", args: [Buffer.from([1, 2, 3]), { k: Buffer.from([4]) }] });
      assert.deepEqual(normalize(await p), [{ bin: [1, 2, 3] }, { k: { bin: [4] } }]);
    });
  });
});
