// Headless-browser test of the client bundle a Switchboard node serves as
// Node's socket.io does: a page written for Node, loading the classic
// <script src="/socket.io/socket.io.js"> tag, connects with the global io()
// and upgrades to WebSocket. The page itself is answered by the browser
// (page.route), at the node's origin; the script and the connection go to
// the node.
//
//   WHITEBOARD_URL=http://127.0.0.1:8080/ node --test test/browser/
//
// Environment: WHITEBOARD_URL (the node's origin; without it the test is
// skipped), WHITEBOARD_EXPECT_NODES (its first name is the node's),
// CHROMIUM_PATH (default /usr/bin/chromium).

import { test } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const env = process.env;
const base = env.WHITEBOARD_URL || env.WHITEBOARD_URL_A;
const expectNode = (env.WHITEBOARD_EXPECT_NODES || "").split(",")[0].trim();
const chromiumPath = env.CHROMIUM_PATH || "/usr/bin/chromium";

/** A page as a Node tutorial writes it, for one of the served bundles. */
const page = (script) => `<!doctype html>
<html><head><meta charset="utf-8"><title>classic</title>
<script src="/socket.io/${script}"></script>
<script>
  window.result = new Promise((resolve, reject) => {
    const socket = io();
    socket.on("connect_error", (err) => reject(new Error("connect_error: " + err.message)));
    socket.on("hello", (hello) => {
      const engine = socket.io.engine;
      const upgraded = engine.transport.name === "websocket"
        ? Promise.resolve()
        : new Promise((r) => engine.once("upgrade", r));
      upgraded.then(() => resolve({ node: hello.node, transport: engine.transport.name, id: socket.id }));
    });
  });
</script></head><body></body></html>`;

test("a page loading the classic script tag connects", { timeout: 120_000 }, async (t) => {
  if (!base) {
    t.skip("set WHITEBOARD_URL to a node's URL to run this test");
    return;
  }
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    // A page answered by page.route has no address space of its own, so
    // Chromium's local network access checks would block its WebSocket to
    // the loopback node; the node's own pages are not affected.
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-features=LocalNetworkAccessChecks"],
  });
  try {
    for (const script of ["socket.io.js", "socket.io.min.js"]) {
      const context = await browser.newContext();
      const p = await context.newPage();
      const errors = [];
      p.on("pageerror", (err) => errors.push(err.message));
      const url = new URL(`classic-${script}.html`, base).href;
      await p.route(url, (route) => route.fulfill({ status: 200, contentType: "text/html", body: page(script) }));
      const scriptRes = p.waitForResponse((res) => res.url().endsWith(`/socket.io/${script}`));
      await p.goto(url, { waitUntil: "load" });
      const res = await scriptRes;
      assert.equal(res.status(), 200, `${script}: status`);
      assert.match(res.headers()["content-type"], /^application\/javascript/, `${script}: content type`);
      const got = await p.evaluate(() => Promise.race([
        window.result,
        new Promise((_, reject) => setTimeout(() => reject(new Error("no hello within 20 s")), 20_000)),
      ]));
      assert.deepEqual(errors, [], `${script}: page errors`);
      assert.equal(got.transport, "websocket", `${script}: transport`);
      assert.equal(typeof got.id, "string");
      if (expectNode) assert.equal(got.node, expectNode, `${script}: node`);
      await context.close();
    }
  } finally {
    await browser.close();
  }
});
