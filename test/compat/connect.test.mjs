// Connection, auth payload, handshake details and transport selection.
import { describe, test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  startServer, Clients, ask, waitFor, sleep, until, MODE, FIRST_TRANSPORT, FINAL_TRANSPORT, T,
} from "./lib/harness.mjs";

describe(`connect (${MODE})`, () => {
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

  test("connects to / and gets auth {} when no auth is given", T, async () => {
    const s = await clients.connect("/");
    assert.equal(s.connected, true);
    assert.deepEqual(s.authPayload, {});
    assert.equal(typeof s.id, "string");
    assert.equal(s.id.length, 20, "socket ids are 20-char base64id values");
    assert.notEqual(s.id, s.io.engine.id, "the Socket.IO socket id is not the Engine.IO sid");
  });

  test("auth event echoes handshake.auth", T, async () => {
    const auth = { token: "abc", n: 42, nested: { list: [1, "two", null, true] }, html: "<a href='x'>&</a>" };
    const s = await clients.connect("/", { auth });
    assert.deepEqual(s.authPayload, auth);
    // key order preserved (the server relays the object, it must not reorder it)
    assert.equal(JSON.stringify(s.authPayload), JSON.stringify(auth));
  });

  test("auth event fires again for every connection with that connection's auth", T, async () => {
    const a = await clients.connect("/", { auth: { who: "a" } });
    const b = await clients.connect("/", { auth: { who: "b" } });
    assert.deepEqual(a.authPayload, { who: "a" });
    assert.deepEqual(b.authPayload, { who: "b" });
    assert.notEqual(a.id, b.id);
  });

  test("handshake details", T, async () => {
    const before = Date.now();
    const s = await clients.connect("/", { query: { foo: "bar", n: "1" }, auth: { k: "v" } });
    const after = Date.now();
    const h = await ask(s, "handshake");
    assert.deepEqual(h.auth, { k: "v" });
    assert.equal(h.query.EIO, "4");
    assert.equal(h.query.transport, FIRST_TRANSPORT);
    assert.equal(h.query.foo, "bar");
    assert.equal(h.query.n, "1");
    assert.equal(h.query.sid, undefined, "query is the first request's (handshake) query");
    assert.equal(h.headersHasHost, true);
    assert.equal(h.address, "127.0.0.1");
    assert.equal(h.xdomain, false, "no Origin header was sent");
    assert.equal(h.secure, false);
    assert.equal(typeof h.issued, "number");
    assert.ok(h.issued >= before - 1000 && h.issued <= after + 1000, `issued ${h.issued} not in [${before}, ${after}]`);
    assert.match(h.url, /^\/socket\.io\/\?/);
    assert.match(h.url, /[?&]EIO=4(&|$)/);
    assert.match(h.url, new RegExp(`[?&]transport=${FIRST_TRANSPORT}(&|$)`));
    assert.match(h.url, /[?&]foo=bar(&|$)/);
  });

  test("handshake.xdomain is true when an Origin header is sent", T, async () => {
    const s = await clients.connect("/", { extraHeaders: { origin: "http://example.com" } });
    const h = await ask(s, "handshake");
    assert.equal(h.xdomain, true);
  });

  test(`uses the configured transport (${FINAL_TRANSPORT} after settling)`, T, async () => {
    const s = await clients.connect("/");
    const engine = s.io.engine;
    if (MODE === "default") {
      // polling first, then upgrade to websocket
      await until(() => engine.transport.name === "websocket", 5000, "upgrade to websocket");
    } else {
      await sleep(300);
      assert.equal(engine.transport.name, FINAL_TRANSPORT);
    }
    // still usable after the upgrade window
    assert.deepEqual(await ask(s, "message-with-ack", "after-upgrade"), "after-upgrade");
  });

  test("client-side disconnect then manual reconnect gets a new socket and a new auth event", T, async () => {
    const s = await clients.connect("/", { auth: { round: 1 } });
    const firstId = s.id;
    s.disconnect();
    assert.equal(s.connected, false);
    s.auth = { round: 2 };
    const authP = waitFor(s, "auth", 5000);
    s.connect();
    const [auth] = await authP;
    assert.deepEqual(auth, { round: 2 });
    assert.notEqual(s.id, firstId);
  });
});
