// Rooms, broadcast operators, broadcast with acks, volatile.
import { describe, test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  startServer, Clients, ask, waitFor, collectUntil, settled, sleep, uniq, lastReason, MODE, T,
  RAW,
} from "./lib/harness.mjs";
import { RawPolling } from "./lib/raw.mjs";

const TIMEOUT_MSG = "operation has timed out";

describe(`rooms and broadcast (${MODE})`, () => {
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

  /** n connected clients, all joined to a fresh "group" room used as a fence. */
  async function group(n) {
    const group = uniq("group");
    const socks = await Promise.all([...Array(n)].map(() => clients.connect("/")));
    for (const s of socks) assert.equal(await ask(s, "join", group), true);
    return { socks, group };
  }

  /**
   * Runs `action` (which triggers broadcasts), then broadcasts "fence" to the whole group;
   * returns for each socket the list of events it received before the fence (per-connection
   * ordering guarantees anything sent before the fence has arrived).
   */
  async function received({ socks, group }, action) {
    const seen = socks.map((s) => collectUntil(s, "fence", 5000));
    await action();
    await ask(socks[0], "broadcast", { to: [group], event: "fence", args: [] });
    return Promise.all(seen);
  }

  const names = (evs) => evs.map((e) => e[0]);

  test("join, rooms, leave", T, async () => {
    const s = await clients.connect("/");
    const room = uniq();
    assert.deepEqual(await ask(s, "rooms"), [s.id], "a socket starts in its own id room");
    assert.equal(await ask(s, "join", room), true);
    assert.deepEqual((await ask(s, "rooms")).sort(), [s.id, room].sort());
    assert.equal(await ask(s, "join", room), true, "joining twice is harmless");
    assert.deepEqual((await ask(s, "rooms")).sort(), [s.id, room].sort());
    assert.equal(await ask(s, "leave", room), true);
    assert.deepEqual(await ask(s, "rooms"), [s.id]);
    assert.equal(await ask(s, "leave", "never-joined"), true);
  });

  test("to(room) reaches exactly the room members, sender included if member", T, async () => {
    const g = await group(3);
    const [a, b, c] = g.socks;
    const room = uniq();
    await ask(a, "join", room);
    await ask(b, "join", room);
    const got = await received(g, () => ask(a, "broadcast", { to: [room], event: "hi", args: ["x", 1] }));
    assert.deepEqual(got[0], [["hi", "x", 1]]);
    assert.deepEqual(got[1], [["hi", "x", 1]]);
    assert.deepEqual(got[2], []);
  });

  test("to(several rooms) delivers once per socket", T, async () => {
    const g = await group(3);
    const [a, b, c] = g.socks;
    const r1 = uniq(), r2 = uniq();
    await ask(a, "join", r1);
    await ask(a, "join", r2);
    await ask(b, "join", r2);
    const got = await received(g, () => ask(c, "broadcast", { to: [r1, r2], event: "multi", args: [] }));
    assert.deepEqual(names(got[0]), ["multi"]);
    assert.deepEqual(names(got[1]), ["multi"]);
    assert.deepEqual(names(got[2]), []);
  });

  test("to a socket id room reaches that socket only", T, async () => {
    const g = await group(3);
    const [a, b] = g.socks;
    const got = await received(g, () => ask(a, "broadcast", { to: [b.id], event: "direct", args: [{ k: 1 }] }));
    assert.deepEqual(got.map(names), [[], ["direct"], []]);
    assert.deepEqual(got[1][0], ["direct", { k: 1 }]);
  });

  test("except(rooms) with and without to()", T, async () => {
    const g = await group(4);
    const [a, b, c, d] = g.socks;
    const r1 = uniq(), r2 = uniq();
    for (const s of [a, b, c]) await ask(s, "join", r1);
    await ask(b, "join", r2);
    await ask(d, "join", r2);
    const got = await received(g, async () => {
      await ask(a, "broadcast", { to: [r1], except: [r2], event: "to-r1-except-r2", args: [] });
      await ask(a, "broadcast", { to: [g.group], except: [r1], event: "group-except-r1", args: [] });
      await ask(a, "broadcast", { except: [r2], event: "all-except-r2", args: [] });
    });
    assert.deepEqual(names(got[0]), ["to-r1-except-r2", "all-except-r2"]);
    assert.deepEqual(names(got[1]), []);
    assert.deepEqual(names(got[2]), ["to-r1-except-r2", "all-except-r2"]);
    assert.deepEqual(names(got[3]), ["group-except-r1"]);
  });

  test("except a socket id", T, async () => {
    const g = await group(3);
    const [a, b, c] = g.socks;
    const got = await received(g, () => ask(a, "broadcast", { to: [g.group], except: [b.id], event: "nb", args: [] }));
    assert.deepEqual(got.map(names), [["nb"], [], ["nb"]]);
  });

  test("broadcast to the whole namespace (no to)", T, async () => {
    const g = await group(3);
    const got = await received(g, () => ask(g.socks[1], "broadcast", { event: "everyone", args: [true] }));
    assert.deepEqual(got, [[["everyone", true]], [["everyone", true]], [["everyone", true]]]);
  });

  test("socket.broadcast reaches everyone but the sender", T, async () => {
    const g = await group(3);
    const [a, b, c] = g.socks;
    const got = await received(g, () => ask(b, "broadcast-others", { event: "others", args: ["from-b"] }));
    assert.deepEqual(got[0], [["others", "from-b"]]);
    assert.deepEqual(got[1], []);
    assert.deepEqual(got[2], [["others", "from-b"]]);
  });

  test("after leave, a socket no longer receives room broadcasts", T, async () => {
    const g = await group(2);
    const [a, b] = g.socks;
    const room = uniq();
    await ask(a, "join", room);
    await ask(b, "join", room);
    await ask(b, "leave", room);
    const got = await received(g, () => ask(a, "broadcast", { to: [room], event: "r", args: [] }));
    assert.deepEqual(got.map(names), [["r"], []]);
  });

  test("namespaces are isolated: broadcast on / does not reach /custom", T, async () => {
    const m = clients.manager();
    const root = clients.managedSocket(m, "/");
    const custom = clients.managedSocket(m, "/custom");
    await Promise.all([waitFor(root, "auth", 5000), waitFor(custom, "auth", 5000)]);
    let leaked = 0;
    custom.onAny(() => leaked++);
    const p = waitFor(root, "ns-check", 5000);
    await ask(root, "broadcast", { event: "ns-check", args: [] });
    await p;
    await sleep(100);
    assert.equal(leaked, 0);
  });

  describe("broadcast with acks", () => {
    test("collects one response per client in the room", T, async () => {
      const socks = await Promise.all([0, 1, 2].map(() => clients.connect("/")));
      const room = uniq();
      socks.forEach((s, i) => {
        s.on("collect", (x, cb) => cb({ i, x }));
      });
      for (const s of socks) await ask(s, "join", room);
      const outsider = await clients.connect("/");
      let outsiderCalled = false;
      outsider.on("collect", (x, cb) => {
        outsiderCalled = true;
        cb({ i: 99, x });
      });
      const r = await ask(outsider, "broadcast-ack", { to: [room], event: "collect", args: ["q"], timeout: 3000 });
      assert.equal(r.ok, true, JSON.stringify(r));
      const sorted = r.responses.sort((p, q) => p.i - q.i);
      assert.deepEqual(sorted, [{ i: 0, x: "q" }, { i: 1, x: "q" }, { i: 2, x: "q" }]);
      assert.equal(outsiderCalled, false);
    });

    test("only the first ack argument of each client is collected", T, async () => {
      const a = await clients.connect("/");
      const room = uniq();
      a.on("multi-arg", (cb) => cb("first", "second"));
      await ask(a, "join", room);
      const r = await ask(a, "broadcast-ack", { to: [room], event: "multi-arg", args: [], timeout: 2000 });
      assert.deepEqual(r, { ok: true, responses: ["first"] });
    });

    test("times out when one client does not answer, with partial responses", T, async () => {
      const socks = await Promise.all([0, 1, 2].map(() => clients.connect("/")));
      const room = uniq();
      socks[0].on("partial", (cb) => cb("a"));
      socks[1].on("partial", (cb) => cb("b"));
      let silentGotIt = false;
      socks[2].on("partial", () => {
        silentGotIt = true; // never answers
      });
      for (const s of socks) await ask(s, "join", room);
      const t0 = Date.now();
      const r = await ask(socks[0], "broadcast-ack", { to: [room], event: "partial", args: [], timeout: 1500 });
      assert.ok(Date.now() - t0 >= 1400, "not before the timeout");
      assert.equal(r.ok, false);
      assert.equal(r.error, TIMEOUT_MSG);
      assert.deepEqual(r.responses.sort(), ["a", "b"]);
      assert.equal(silentGotIt, true);
    });

    test("empty room completes at once with no responses", T, async () => {
      const a = await clients.connect("/");
      const t0 = Date.now();
      const r = await ask(a, "broadcast-ack", { to: [uniq("empty")], event: "nobody", args: [], timeout: 4500 });
      assert.deepEqual(r, { ok: true, responses: [] });
      assert.ok(Date.now() - t0 < 3000, "did not wait for the timeout");
    });

    test("a disconnected client has left its rooms (no ghost recipient)", T, async () => {
      const a = await clients.connect("/");
      const b = await clients.connect("/");
      const room = uniq();
      a.on("ghost", (cb) => cb("a"));
      await ask(a, "join", room);
      await ask(b, "join", room);
      const bId = b.id;
      b.disconnect();
      // wait until the server has processed the disconnect
      assert.equal(await lastReason(a, bId), "client namespace disconnect");
      const r = await ask(a, "broadcast-ack", { to: [room], event: "ghost", args: [], timeout: 3000 });
      assert.deepEqual(r, { ok: true, responses: ["a"] });
    });

    test("binary arguments and binary responses", T, async () => {
      const a = await clients.connect("/");
      const room = uniq();
      a.on("bin-ack", (buf, cb) => cb({ len: Buffer.from(buf).length }));
      await ask(a, "join", room);
      const r = await ask(a, "broadcast-ack", { to: [room], event: "bin-ack", args: [Buffer.alloc(10, 1)], timeout: 2000 });
      assert.deepEqual(r, { ok: true, responses: [{ len: 10 }] });
    });
  });

  describe("volatile", () => {
    test("volatile broadcast reaches an idle connected client", T, async () => {
      const sender = await clients.connect("/");
      const recv = await clients.connect("/");
      const room = uniq();
      await ask(recv, "join", room);
      await settled(recv);
      await sleep(100);
      const p = waitFor(recv, "vol", 5000);
      await ask(sender, "broadcast", { to: [room], event: "vol", args: [1], volatile: true });
      assert.deepEqual(await p, [1]);
    });

    test("volatile packets are dropped while the transport is not writable (raw polling, no GET pending)", RAW, async () => {
      const sender = await clients.connect("/");
      const raw = new RawPolling(server.url);
      clients.onClose(() => raw.close());
      await raw.open();
      await raw.connectSocketIO();
      const room = uniq();
      let r = await raw.post([`420["join","${room}"]`]);
      assert.equal(r.status, 200);
      // drain until the join ack: after this no GET is pending
      const seen = [...raw.pending];
      for (let i = 0; i < 5 && !seen.includes("430[true]"); i++) {
        const g = await raw.get();
        assert.equal(g.status, 200);
        seen.push(...g.packets);
      }
      assert.ok(seen.includes("430[true]"), `join ack not received: ${JSON.stringify(seen)}`);

      await ask(sender, "broadcast", { to: [room], event: "v-dropped", args: [], volatile: true });
      await ask(sender, "broadcast", { to: [room], event: "kept", args: [] });
      const g = await raw.get();
      assert.equal(g.status, 200);
      const events = g.packets.filter((p) => p.startsWith("42"));
      assert.deepEqual(events, ['42["kept"]']);

      // with a GET pending the transport is writable: volatile is delivered
      const pending = raw.get();
      await sleep(150);
      await ask(sender, "broadcast", { to: [room], event: "v-delivered", args: [], volatile: true });
      const g2 = await pending;
      assert.deepEqual(g2.packets.filter((p) => p.startsWith("42")), ['42["v-delivered"]']);
    });
  });
});
