// Reconnection after the server process is restarted on the same port.
import { describe, test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { startServer, Clients, ask, waitFor, within, MODE } from "./lib/harness.mjs";

describe(`reconnection (${MODE})`, () => {
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

  test("client reconnects by itself after a server restart and gets a new auth event", { timeout: 30_000 }, async () => {
    const reconnectOpts = {
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 300,
      randomizationFactor: 0,
    };
    const s = await clients.connect("/", { ...reconnectOpts, auth: { user: "r1" } });
    const m = clients.manager(reconnectOpts);
    const custom = clients.managedSocket(m, "/custom", { auth: { user: "r2" } });
    await waitFor(custom, "auth", 5000);
    const firstId = s.id;
    const firstCustomId = custom.id;
    assert.equal(await ask(s, "message-with-ack", "before"), "before");

    const downs = [waitFor(s, "disconnect", 10_000), waitFor(custom, "disconnect", 10_000)];
    const auths = [waitFor(s, "auth", 15_000), waitFor(custom, "auth", 15_000)];
    const reconnected = waitFor(s.io, "reconnect", 15_000);
    await server.restart();
    const [[reason], [customReason]] = await Promise.all(downs);
    // the server went away: not a server-side namespace disconnect (which would stop reconnection)
    assert.notEqual(reason, "io server disconnect");
    assert.notEqual(customReason, "io server disconnect");

    const [[auth], [customAuth]] = await within(Promise.all(auths), 15_000, "auth after reconnect");
    const [attempts] = await reconnected;
    assert.ok(attempts >= 1);
    assert.deepEqual(auth, { user: "r1" });
    assert.deepEqual(customAuth, { user: "r2" });
    assert.equal(s.connected, true);
    assert.equal(custom.connected, true);
    assert.notEqual(s.id, firstId, "a new server session means a new socket id");
    assert.notEqual(custom.id, firstCustomId);
    // and the new connection works
    assert.equal(await ask(s, "message-with-ack", "after"), "after");
    assert.deepEqual(await ask(s, "last-reason", firstId), null, "the new server process has no record of the old socket");
  });

  test("events emitted while disconnected are buffered and sent after reconnection", { timeout: 30_000 }, async () => {
    const s = await clients.connect("/", {
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 300,
      randomizationFactor: 0,
    });
    const down = waitFor(s, "disconnect", 10_000);
    const stopP = server.stop();
    await down;
    await stopP;
    const back = waitFor(s, "message-back", 15_000);
    s.emit("message", "buffered", 1); // sent once reconnected
    await server.restart();
    assert.deepEqual(await back, ["buffered", 1]);
  });
});
