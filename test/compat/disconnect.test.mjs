// Disconnect reasons on both sides.
import { describe, test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  startServer, Clients, ask, waitFor, fires, lastReason, sleep, until, MODE, T,
  RAW,
} from "./lib/harness.mjs";

describe(`disconnect reasons (${MODE})`, () => {
  let server, clients, observer;
  before(async () => {
    server = await startServer();
    clients = new Clients(server);
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    clients?.closeAll();
    await server?.stop();
  });

  const observe = () => clients.connect("/");

  test("server socket.disconnect() → client 'io server disconnect', server 'server namespace disconnect', no auto-reconnect", T, async () => {
    observer = await observe();
    const s = await clients.connect("/", { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100 });
    const id = s.id;
    const p = waitFor(s, "disconnect", 5000);
    s.emit("disconnect-me", false);
    const [reason] = await p;
    assert.equal(reason, "io server disconnect");
    assert.equal(await lastReason(observer, id), "server namespace disconnect");
    // the client must not reconnect after a server-side namespace disconnect
    assert.equal(await fires(s, "connect", 500), false);
    assert.equal(s.connected, false);
    assert.equal(s.active, false);
  });

  test("server socket.disconnect(true) → DISCONNECT then the server closes the transport", T, async () => {
    observer = await observe();
    const s = await clients.connect("/");
    const id = s.id;
    const p = waitFor(s, "disconnect", 5000);
    s.emit("disconnect-me", true);
    const [reason] = await p;
    // Node sends the namespace DISCONNECT before closing, so the official client reports
    // "io server disconnect" (the close itself is observed at the engine level below)
    assert.equal(reason, "io server disconnect");
    assert.equal(await lastReason(observer, id), "server namespace disconnect");
  });

  test("disconnect(true) at the engine level: '1' packet then 'transport close'", RAW, async () => {
    observer = await observe();
    const e = clients.engine({ path: "/socket.io/" });
    const msgs = [];
    e.on("message", (m) => msgs.push(m));
    await waitFor(e, "open", 5000);
    e.send("0");
    await until(() => msgs.find((m) => m.startsWith("0{")), 8000, "CONNECT reply");
    const sid = JSON.parse(msgs.find((m) => m.startsWith("0{")).slice(1)).sid;
    const closeP = waitFor(e, "close", 5000);
    e.send('2["disconnect-me",true]');
    const [engineReason] = await closeP;
    assert.ok(msgs.includes("1"), `DISCONNECT packet before the close: ${JSON.stringify(msgs)}`);
    assert.equal(engineReason, "transport close");
    assert.equal(await lastReason(observer, sid), "server namespace disconnect");
  });

  test("disconnect(false) at the engine level: '1' packet, the Engine.IO connection stays open", RAW, async () => {
    observer = await observe();
    const e = clients.engine({ path: "/socket.io/" });
    const msgs = [];
    e.on("message", (m) => msgs.push(m));
    await waitFor(e, "open", 5000);
    e.send("0");
    await until(() => msgs.find((m) => m.startsWith("0{")), 8000, "CONNECT reply");
    const sid1 = JSON.parse(msgs.find((m) => m.startsWith("0{")).slice(1)).sid;
    e.send('2["disconnect-me",false]');
    await until(() => msgs.includes("1"), 8000, "DISCONNECT packet");
    assert.equal(await fires(e, "close", 400), false, "engine connection must stay open");
    // the same engine connection can join "/" again
    msgs.length = 0;
    e.send("0");
    await until(() => msgs.find((m) => m.startsWith("0{")), 8000, "second CONNECT reply");
    const sid2 = JSON.parse(msgs.find((m) => m.startsWith("0{")).slice(1)).sid;
    assert.notEqual(sid2, sid1);
    assert.equal(await lastReason(observer, sid1), "server namespace disconnect");
  });

  test("client socket.disconnect() → client 'io client disconnect', server 'client namespace disconnect'", T, async () => {
    observer = await observe();
    const s = await clients.connect("/");
    const id = s.id;
    const p = waitFor(s, "disconnect", 5000);
    s.disconnect();
    const [reason] = await p;
    assert.equal(reason, "io client disconnect");
    assert.equal(await lastReason(observer, id), "client namespace disconnect");
  });

  test("client closes the Engine.IO connection → server 'transport close'", T, async () => {
    observer = await observe();
    const s = await clients.connect("/");
    const id = s.id;
    const p = waitFor(s, "disconnect", 5000);
    s.io.engine.close();
    await p;
    assert.equal(await lastReason(observer, id), "transport close");
  });

  test("client closes the connection carrying several namespaces → every socket 'transport close'", T, async () => {
    observer = await observe();
    const m = clients.manager();
    const socks = ["/", "/custom", "/dyn-3"].map((n) => clients.managedSocket(m, n));
    await Promise.all(socks.map((s) => waitFor(s, "auth", 5000)));
    const ids = socks.map((s) => s.id);
    m.engine.close();
    for (const id of ids) assert.equal(await lastReason(observer, id), "transport close");
  });

  test("last-reason is null for an unknown or still connected socket", T, async () => {
    observer = await observe();
    assert.equal(await ask(observer, "last-reason", "no-such-socket-id-xx"), null);
    assert.equal(await ask(observer, "last-reason", observer.id), null);
  });
});

