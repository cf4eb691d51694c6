// Namespaces: static, dynamic, refused, middleware, multiplexing over one Engine.IO connection.
import { describe, test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  startServer, Clients, connected, ask, waitFor, fires, lastReason, MODE, T,
} from "./lib/harness.mjs";

/** Resolves with the connect_error Error (rejects if the socket connects instead). */
function connectError(s, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connect_error within ${ms} ms`)), ms);
    s.once("connect_error", (err) => {
      clearTimeout(timer);
      resolve(err);
    });
    s.once("connect", () => {
      clearTimeout(timer);
      reject(new Error(`${s.nsp} connected but should have been refused`));
    });
  });
}

describe(`namespaces (${MODE})`, () => {
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

  test("static namespace /custom", T, async () => {
    const s = await clients.connect("/custom", { auth: { a: 1 } });
    assert.equal(s.nsp, "/custom");
    assert.deepEqual(s.authPayload, { a: 1 });
  });

  test("dynamic namespace /dyn-<digits> emits auth and nsp", T, async () => {
    const s = clients.socket("/dyn-123", { auth: { d: true } });
    const nspP = waitFor(s, "nsp", 5000);
    await connected(s);
    assert.deepEqual(s.authPayload, { d: true });
    const [name] = await nspP;
    assert.equal(name, "/dyn-123");
  });

  test("two dynamic namespaces are distinct", T, async () => {
    const a = clients.socket("/dyn-1");
    const b = clients.socket("/dyn-22");
    const pa = waitFor(a, "nsp", 5000);
    const pb = waitFor(b, "nsp", 5000);
    await Promise.all([connected(a), connected(b)]);
    assert.deepEqual([(await pa)[0], (await pb)[0]], ["/dyn-1", "/dyn-22"]);
  });

  for (const nsp of ["/nope", "/dyn-abc", "/dyn-", "/custom2", "/dyn-12x"]) {
    test(`refused namespace ${nsp} → connect_error "Invalid namespace"`, T, async () => {
      const s = clients.socket(nsp);
      const err = await connectError(s);
      assert.equal(err.message, "Invalid namespace");
      assert.equal(err.data, undefined);
      assert.equal(s.connected, false);
    });
  }

  test("middleware rejection carries message and data", T, async () => {
    const s = clients.socket("/restricted", { auth: { token: "wrong" } });
    const err = await connectError(s);
    assert.equal(err.message, "not authorized");
    assert.deepEqual(err.data, { reason: "bad token" });
  });

  test("middleware rejection without any auth", T, async () => {
    const s = clients.socket("/restricted");
    const err = await connectError(s);
    assert.equal(err.message, "not authorized");
    assert.deepEqual(err.data, { reason: "bad token" });
  });

  test("middleware accepts the right token", T, async () => {
    const s = await clients.connect("/restricted", { auth: { token: "secret" } });
    assert.equal(s.connected, true);
    assert.deepEqual(s.authPayload, { token: "secret" });
  });

  test("several namespaces share one Engine.IO connection", T, async () => {
    const m = clients.manager();
    const root = clients.managedSocket(m, "/", { auth: { n: "root" } });
    const custom = clients.managedSocket(m, "/custom", { auth: { n: "custom" } });
    const dyn = clients.managedSocket(m, "/dyn-7", { auth: { n: "dyn" } });
    const restricted = clients.managedSocket(m, "/restricted", { auth: { token: "secret" } });
    const dynNsp = waitFor(dyn, "nsp", 5000);
    await Promise.all([connected(root), connected(custom), connected(dyn), connected(restricted)]);
    assert.deepEqual(root.authPayload, { n: "root" });
    assert.deepEqual(custom.authPayload, { n: "custom" });
    assert.deepEqual(dyn.authPayload, { n: "dyn" });
    assert.deepEqual(restricted.authPayload, { token: "secret" });
    assert.equal((await dynNsp)[0], "/dyn-7");
    // one engine on the client side...
    for (const s of [root, custom, dyn, restricted]) assert.equal(s.io, m);
    assert.ok(m.engine.id);
    const ids = new Set([root.id, custom.id, dyn.id, restricted.id]);
    assert.equal(ids.size, 4, "each namespace socket has its own id");
    assert.ok(!ids.has(m.engine.id));

    // ...and on the server side: disconnect(true) on "/" closes the shared connection,
    // so every namespace of this client goes down.
    const observer = await clients.connect("/");
    const downs = [root, custom, dyn, restricted].map((s) => waitFor(s, "disconnect", 5000));
    root.emit("disconnect-me", true);
    await Promise.all(downs);
    for (const s of [root, custom, dyn, restricted]) assert.equal(s.connected, false);
    assert.equal(observer.connected, true, "another client is not affected");
    for (const id of ids) {
      assert.equal(await lastReason(observer, id), "server namespace disconnect");
    }
  });

  test("a refused namespace does not break the shared connection", T, async () => {
    const m = clients.manager();
    const root = clients.managedSocket(m, "/");
    await connected(root);
    const bad = clients.managedSocket(m, "/nope");
    const err = await connectError(bad);
    assert.equal(err.message, "Invalid namespace");
    const denied = clients.managedSocket(m, "/restricted", { auth: { token: "x" } });
    assert.equal((await connectError(denied)).message, "not authorized");
    assert.equal(root.connected, true);
    assert.deepEqual(await ask(root, "message-with-ack", "still", "here"), "still");
    // and a valid namespace can still be added afterwards
    const custom = clients.managedSocket(m, "/custom");
    await connected(custom);
    assert.equal(custom.io.engine, root.io.engine);
  });

  test("leaving one namespace keeps the others (client namespace disconnect)", T, async () => {
    const m = clients.manager();
    const root = clients.managedSocket(m, "/");
    const custom = clients.managedSocket(m, "/custom");
    await Promise.all([connected(root), connected(custom)]);
    const customId = custom.id;
    const engine = m.engine;
    custom.disconnect();
    assert.equal(await lastReason(root, customId), "client namespace disconnect");
    assert.equal(root.connected, true);
    assert.equal(m.engine, engine);
    assert.equal(engine.readyState, "open");
    assert.equal(await ask(root, "message-with-ack", 1), 1);
  });

  test("events other than auth are only handled on /", T, async () => {
    const s = await clients.connect("/custom");
    await assert.rejects(s.timeout(300).emitWithAck("message-with-ack", "x"), { message: "operation has timed out" });
    s.emit("message", "x");
    assert.equal(await fires(s, "message-back", 300), false);
  });
});
