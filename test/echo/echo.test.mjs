// The examples/echo program against the official clients, over polling,
// WebSocket and the upgrade: it must do what its documentation says.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { io } from "socket.io-client";
import { Socket as EngineSocket } from "engine.io-client";
import { freePort } from "../freeport.mjs";

const BIN = process.env.ECHO_BIN;
const MODES = { polling: ["polling"], websocket: ["websocket"], default: ["polling", "websocket"] };


function once(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no "${event}" within ${ms} ms`)), ms);
    emitter.once(event, (...args) => { clearTimeout(t); resolve(args); });
  });
}

describe("examples/echo", { skip: !BIN && "ECHO_BIN not set" }, () => {
  let proc, url;
  before(async () => {
    const port = await freePort();
    proc = spawn(BIN, ["-addr", `127.0.0.1:${port}`], { stdio: ["ignore", "pipe", "inherit"] });
    await once(proc.stdout, "data", 10000);
    url = `http://127.0.0.1:${port}`;
  });
  after(() => proc?.kill("SIGTERM"));

  for (const [mode, transports] of Object.entries(MODES)) {
    test(`${mode}: auth, echo with binary, ack, /custom, refused namespace`, async () => {
      const s = io(url, { transports, forceNew: true, auth: { token: "t1" } });
      try {
        const [auth] = await once(s, "auth");
        assert.deepEqual(auth, { token: "t1" });
        s.emit("message", 1, "two", { three: [3] }, Buffer.from([4, 5]));
        const back = await once(s, "message-back");
        assert.deepEqual(back, [1, "two", { three: [3] }, Buffer.from([4, 5])]);
        const acked = await s.timeout(5000).emitWithAck("message-with-ack", "x", { y: Buffer.from([6]) });
        assert.deepEqual(acked, "x");
        const custom = io(`${url}/custom`, { transports, forceNew: true });
        const [cauth] = await once(custom, "auth");
        assert.deepEqual(cauth, {});
        custom.close();
        const refused = io(`${url}/other`, { transports, forceNew: true });
        const [err] = await once(refused, "connect_error");
        assert.equal(err.message, "Invalid namespace");
        refused.close();
      } finally {
        s.close();
      }
    });
  }

  test("raw Engine.IO echo at /engine.io/", async () => {
    const e = new EngineSocket(url, { path: "/engine.io/", transports: ["websocket"] });
    try {
      await once(e, "open");
      e.send("hello");
      assert.deepEqual(await once(e, "message"), ["hello"]);
      e.send(Buffer.from([1, 2, 3]));
      const [bin] = await once(e, "message");
      assert.deepEqual(Buffer.from(bin), Buffer.from([1, 2, 3]));
    } finally {
      e.close();
    }
  });
});
