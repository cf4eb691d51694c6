// Heartbeat and connect timeout, with a server started with small timings:
// pingInterval 500 ms, pingTimeout 2000 ms, connectTimeout 2000 ms. (pingTimeout is generous
// because the official client also enforces pingInterval + pingTimeout on its side and CI
// machines can stall for a few hundred ms.)
import { describe, test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  startServer, Clients, ask, waitFor, fires, lastReason, sleep, until, MODE, FIRST_TRANSPORT, T,
  RAW,
} from "./lib/harness.mjs";
import { RawPolling, RawWebSocket, wsBase } from "./lib/raw.mjs";

const PING_INTERVAL = 500;
const PING_TIMEOUT = 2000;
const CONNECT_TIMEOUT = 2000;

describe(`heartbeat (${MODE})`, () => {
  let server, clients;
  before(async () => {
    server = await startServer({ pingInterval: PING_INTERVAL, pingTimeout: PING_TIMEOUT, connectTimeout: CONNECT_TIMEOUT });
    clients = new Clients(server);
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    clients?.closeAll();
    await server?.stop();
  });

  /**
   * A Socket.IO session on "/" driven at the wire level over the configured transport mode
   * (polling: raw HTTP; websocket: raw WebSocket; default: polling handshake then a raw
   * WebSocket upgrade). Returns {socketId, answerPings(), closed(ms)}.
   */
  async function rawSession() {
    if (MODE === "websocket") {
      const ws = new RawWebSocket(`${wsBase(server.url)}/socket.io/?EIO=4&transport=websocket`);
      clients.onClose(() => ws.close());
      await ws.opened();
      const open = await ws.next();
      assert.match(open, /^0\{/);
      assert.deepEqual(JSON.parse(open.slice(1)).upgrades, []);
      ws.send("40");
      const ack = await ws.nextMatching((m) => typeof m === "string" && m.startsWith("40{"));
      return wsSession(ws, JSON.parse(ack.slice(2)).sid);
    }
    const raw = new RawPolling(server.url);
    clients.onClose(() => raw.close());
    const hs = await raw.open();
    assert.deepEqual(hs.upgrades, ["websocket"]);
    const socketId = await raw.connectSocketIO();
    if (MODE === "default") {
      const ws = new RawWebSocket(`${wsBase(server.url)}/socket.io/?EIO=4&transport=websocket&sid=${encodeURIComponent(raw.sid)}`);
      clients.onClose(() => ws.close());
      await ws.opened();
      ws.send("2probe");
      assert.equal(await ws.nextMatching((m) => m === "3probe"), "3probe");
      ws.send("5");
      return wsSession(ws, socketId);
    }
    // polling
    let stopped = false;
    let closedByServer = null;
    const closedP = new Promise((resolve) => (closedByServer = resolve));
    return {
      socketId,
      answerPings() {
        (async () => {
          while (!stopped) {
            let g;
            try {
              g = await raw.get(PING_INTERVAL + PING_TIMEOUT + 1000);
            } catch {
              if (stopped) return;
              continue;
            }
            if (g.status !== 200 || g.packets.includes("1")) return closedByServer(g.status);
            if (g.packets.includes("2")) await raw.post(["3"]).catch(() => {});
          }
        })();
        return () => {
          stopped = true;
          raw.close();
        };
      },
      // without a GET loop the session is observed through a later GET (400 once gone)
      async closed(ms) {
        const g = await raw.get(ms).catch((e) => ({ status: `error ${e.message}`, packets: [] }));
        return g.status === 400 || (g.status === 200 && g.packets.includes("1"));
      },
      closedP,
    };
  }

  function wsSession(ws, socketId) {
    return {
      socketId,
      answerPings() {
        let stopped = false;
        (async () => {
          while (!stopped) {
            let m;
            try {
              m = await ws.next(PING_INTERVAL + PING_TIMEOUT + 1000);
            } catch {
              if (ws.closed) return;
              continue;
            }
            if (m === "2") ws.send("3");
          }
        })();
        return () => {
          stopped = true;
        };
      },
      async closed(ms) {
        return ws.waitClosed(ms).then(
          () => true,
          () => false,
        );
      },
    };
  }

  test("handshake advertises the configured timings and exactly the five keys", T, async () => {
    const e = clients.engine({ path: "/socket.io/" });
    const [hs] = await waitFor(e, "handshake", 5000);
    assert.deepEqual(Object.keys(hs).sort(), ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"]);
    assert.equal(hs.pingInterval, PING_INTERVAL);
    assert.equal(hs.pingTimeout, PING_TIMEOUT);
    assert.equal(hs.maxPayload, 1000000);
    assert.equal(typeof hs.sid, "string");
    assert.equal(hs.sid.length, 20);
    assert.deepEqual(hs.upgrades, FIRST_TRANSPORT === "polling" ? ["websocket"] : []);
  });

  test("an official client that answers pings stays connected across many ping cycles", T, async () => {
    const observer = await clients.connect("/");
    const s = await clients.connect("/");
    let pings = 0;
    s.io.on("ping", () => pings++);
    const dropped = fires(s, "disconnect", PING_INTERVAL * 5);
    assert.equal(await dropped, false, "client was disconnected");
    assert.ok(pings >= 3, `expected at least 3 pings in ${PING_INTERVAL * 5} ms, got ${pings}`);
    assert.equal(await ask(s, "message-with-ack", "alive"), "alive");
    assert.equal(await ask(observer, "last-reason", s.id), null);
  });

  test("a raw client that answers pings stays connected", RAW, async () => {
    const observer = await clients.connect("/");
    const sess = await rawSession();
    const stop = sess.answerPings();
    await sleep(PING_INTERVAL * 2 + PING_TIMEOUT + 200);
    assert.equal(await ask(observer, "last-reason", sess.socketId), null, "server closed a client that answered pings");
    stop();
  });

  test("server reason 'ping timeout' when the client stops answering pings", RAW, async () => {
    const observer = await clients.connect("/");
    const t0 = Date.now();
    const sess = await rawSession();
    // no pong is ever sent: the server must close after pingInterval + pingTimeout
    assert.equal(await lastReason(observer, sess.socketId, PING_INTERVAL + PING_TIMEOUT + 3000), "ping timeout");
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= PING_INTERVAL + PING_TIMEOUT - 100, `closed too early (${elapsed} ms)`);
    assert.equal(await sess.closed(5000), true, "the transport is closed too");
  });

  test("connect timeout closes an Engine.IO connection that joins no namespace", RAW, async () => {
    const idle = clients.engine({ path: "/socket.io/" });
    const joined = clients.engine({ path: "/socket.io/" });
    await Promise.all([waitFor(idle, "open", 5000), waitFor(joined, "open", 5000)]);
    const t0 = Date.now();
    joined.send("0");
    const closeP = waitFor(idle, "close", CONNECT_TIMEOUT + 3000);
    const [reason] = await closeP;
    const elapsed = Date.now() - t0;
    // closed by the server: "transport close" (polling may race a pong POST → "transport error")
    assert.ok(["transport close", "transport error"].includes(reason), `engine close reason: ${reason}`);
    assert.ok(elapsed >= CONNECT_TIMEOUT - 300, `closed too early (${elapsed} ms)`);
    assert.equal(joined.readyState, "open", "a connection that joined a namespace stays open");
    assert.equal(await fires(joined, "close", 300), false);
  });
});
