// Engine-level wire details where a server must do what Node's engine.io and socket.io do
// (issue 15), driven at the wire level where the official client hides the difference. They
// pass against Node's reference server (run.sh's default) and the Go server alike.
import { describe, test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { readFileSync } from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import {
  startServer, Clients, ask, waitFor, until, toBuffer, isBinary, MODE, FINAL_TRANSPORT, T, RAW,
  REPO_ROOT,
} from "./lib/harness.mjs";
import { RawPolling, RawWebSocket, wsBase } from "./lib/raw.mjs";

/** Starts a server for the enclosing describe: {server, clients}, set in its before(). */
function serverPerSuite() {
  const suite = {};
  before(async () => {
    suite.server = await startServer();
    suite.clients = new Clients(suite.server);
  });
  afterEach(() => suite.clients.closeAll());
  after(async () => {
    suite.clients?.closeAll();
    await suite.server?.stop();
  });
  return suite;
}

// The raw exchanges do not depend on the client's transport mode: they run in one mode.
const rawOnly = MODE === "default" ? {} : { skip: "transport-independent: runs in the default mode" };

describe(`upgrade keeps polling (${MODE})`, rawOnly, () => {
  const suite = serverPerSuite();

  /** A polling session at /engine.io/ (the echo server) and a probed WebSocket for it. */
  async function probed({ before = [] } = {}) {
    const raw = new RawPolling(suite.server.url, "/engine.io/");
    suite.clients.onClose(() => raw.close());
    await raw.open();
    if (before.length) assert.equal((await raw.post(before)).status, 200);
    const ws = new RawWebSocket(`${wsBase(suite.server.url)}/engine.io/?EIO=4&transport=websocket&sid=${encodeURIComponent(raw.sid)}`);
    suite.clients.onClose(() => ws.close());
    await ws.opened();
    ws.send("2probe");
    assert.equal(await ws.next(), "3probe");
    return { raw, ws };
  }

  /** Finishes the upgrade and checks that the session goes on over the WebSocket only. */
  async function upgrade(raw, ws) {
    ws.send("5");
    ws.send("4after");
    assert.equal(await ws.next(), "4after");
    assert.equal((await raw.get()).status, 400);
  }

  test("a GET during the upgrade gets the packets queued before it, not a noop", T, async () => {
    const { raw, ws } = await probed({ before: ["4before"] });
    const r = await raw.get();
    assert.equal(r.status, 200);
    assert.deepEqual(r.packets, ["4before"]);
    await upgrade(raw, ws);
  });

  test("packets sent during the upgrade go out over polling; idle GETs get noops", T, async () => {
    const { raw, ws } = await probed();
    // Node answers a GET that stays pending with a noop from a 100 ms interval: GET until the
    // echo arrives; every other answer must be a bare noop.
    const first = raw.get();
    assert.equal((await raw.post(["4during"])).status, 200);
    let r = await first;
    for (let i = 0; i < 200 && r.status === 200 && !r.packets.includes("4during"); i++) {
      assert.deepEqual(r.packets, ["6"], `GET ${i} during the upgrade`);
      r = await raw.get();
    }
    assert.equal(r.status, 200);
    assert.deepEqual(r.packets, ["4during"]);
    // With nothing to send, the pending GET is released by a noop, so a client can pause.
    assert.deepEqual((await raw.get()).packets, ["6"]);
    await upgrade(raw, ws);
  });
});

describe(`handshake as Node builds it (${MODE})`, () => {
  const suite = serverPerSuite();

  test("socket.handshake.headers has the host", T, async () => {
    const s = await suite.clients.connect("/");
    const h = await ask(s, "handshake");
    assert.equal(h.host, `127.0.0.1:${suite.server.port}`);
  });

  test("of a repeated query key the last value wins, as a string", RAW, async () => {
    // The official client cannot repeat a key (it sends its query as an object): raw polling.
    const raw = new RawPolling(suite.server.url, "/socket.io/", "&foo=1&foo=2&one=x");
    suite.clients.onClose(() => raw.close());
    await raw.open();
    await raw.connectSocketIO();
    assert.equal((await raw.post(['420["handshake"]'])).status, 200);
    let ack;
    for (let i = 0; i < 20 && !ack; i++) {
      const { status, packets } = await raw.get();
      assert.equal(status, 200);
      ack = packets.find((p) => p.startsWith("430"));
    }
    assert.ok(ack, "no ack to handshake");
    const [h] = JSON.parse(ack.slice(3));
    assert.equal(h.query.foo, "2");
    assert.equal(h.query.one, "x");
  });
});

describe(`base64 clients (forceBase64) (${MODE})`, () => {
  const suite = serverPerSuite();

  test(`Socket.IO binary both ways on ${FINAL_TRANSPORT}`, T, async () => {
    const s = await suite.clients.connect("/", { forceBase64: true });
    await until(() => s.io.engine.transport.name === FINAL_TRANSPORT, 5000, `the ${FINAL_TRANSPORT} transport`);
    const back = waitFor(s, "message-back", 5000);
    s.emit("message", Buffer.from([1, 2, 3]), { nested: Buffer.from([255]) }, "text");
    const [bin, obj, text] = await back;
    assert.deepEqual(toBuffer(bin), Buffer.from([1, 2, 3]));
    assert.deepEqual(toBuffer(obj.nested), Buffer.from([255]));
    assert.equal(text, "text");
  });

  test(`Engine.IO binary echo on ${FINAL_TRANSPORT}`, T, async () => {
    const e = suite.clients.engine({ forceBase64: true });
    await waitFor(e, "open", 5000);
    await until(() => e.transport.name === FINAL_TRANSPORT, 5000, `the ${FINAL_TRANSPORT} transport`);
    const got = waitFor(e, "message", 5000);
    e.send(Buffer.from([0, 1, 2, 255]));
    const [m] = await got;
    assert.ok(isBinary(m), `echo came back as ${typeof m}`);
    assert.deepEqual(toBuffer(m), Buffer.from([0, 1, 2, 255]));
  });
});

describe(`the client bundle, as Node serves it (${MODE})`, rawOnly, () => {
  const suite = serverPerSuite();
  const pkg = path.join(REPO_ROOT, "node_modules", "socket.io-client");
  const version = JSON.parse(readFileSync(path.join(pkg, "package.json"), "utf8")).version;
  const FILES = [
    "socket.io.js", "socket.io.js.map", "socket.io.min.js", "socket.io.min.js.map",
    "socket.io.esm.min.js", "socket.io.esm.min.js.map", "socket.io.msgpack.min.js", "socket.io.msgpack.min.js.map",
  ];

  /** One GET with exactly the given headers; resolves {status, headers, body (Buffer)}. */
  function get(name, headers = {}) {
    return new Promise((resolve, reject) => {
      const req = http.get(`${suite.server.url}/socket.io/${name}`, { headers }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.setTimeout(10_000, () => req.destroy(new Error(`GET ${name} timed out`)));
    });
  }

  test("every bundle and map, byte for byte, with Node's headers", T, async () => {
    for (const name of FILES) {
      const r = await get(name);
      assert.equal(r.status, 200, name);
      assert.equal(r.headers["content-encoding"], undefined, name);
      assert.ok(r.body.equals(readFileSync(path.join(pkg, "dist", name))), `${name}: not the package's file`);
      const type = name.endsWith(".map") ? "application/json" : "application/javascript";
      assert.equal(r.headers["content-type"], `${type}; charset=utf-8`, name);
      assert.equal(r.headers["cache-control"], "public, max-age=0", name);
      assert.equal(r.headers.etag, `"${version}"`, name);
    }
  });

  test("the version's ETag, strong or weak, gets 304 with no body", T, async () => {
    for (const etag of [`"${version}"`, `W/"${version}"`]) {
      const r = await get("socket.io.min.js", { "if-none-match": etag });
      assert.equal(r.status, 304, etag);
      assert.equal(r.body.length, 0, etag);
    }
    assert.equal((await get("socket.io.min.js", { "if-none-match": '"0.0.0"' })).status, 200);
  });

  test("compressed as Accept-Encoding asks, with Node's choice", T, async () => {
    const file = readFileSync(path.join(pkg, "dist", "socket.io.js"));
    const decode = { br: zlib.brotliDecompressSync, gzip: zlib.gunzipSync, deflate: zlib.inflateSync };
    for (const [accept, want] of [["gzip, deflate, br", "gzip"], ["br", "br"], ["deflate", "deflate"], ["br;q=0.5, gzip", "gzip"]]) {
      const r = await get("socket.io.js", { "accept-encoding": accept });
      assert.equal(r.status, 200, accept);
      assert.equal(r.headers["content-encoding"], want, accept);
      assert.ok(decode[want](r.body).equals(file), `${accept}: the decoded body is not the file`);
    }
  });
});
