// The whiteboard in two headless Chromium pages behind HAProxy round-robin
// with no stickiness (3 stickiness-free nodes + redis-server): the pages are
// served by different nodes (the node names they show differ), a stroke
// drawn with the mouse on page A shows up as pixels on page B's canvas.
//
//   make build && SWITCHBOARD_BIN=$PWD/bin/switchboard node --test test/lb/browser.test.mjs
//
// CHROMIUM_PATH overrides the browser binary (default /usr/bin/chromium).
// Each HTTP request of a page (the HTML, its script, the polling requests,
// the WebSocket upgrade) may land on any node; the node a page names is the
// one whose application serves its Socket.IO session ("hello").
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { nodeMetrics, sleep, startCluster, startHAProxy, startRedis } from "./lib.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const VIEWPORT = { width: 1000, height: 650 };
const STROKE_Y = 325;
const STROKE_X0 = 150;
const STROKE_X1 = 850;
const STEPS = 14;
const OPEN_ATTEMPTS = 8; // page B is reopened until its node differs from A's

const samples = [];
for (let i = 0; i <= STEPS * 2; i++) samples.push([Math.round(STROKE_X0 + (i * (STROKE_X1 - STROKE_X0)) / (STEPS * 2)), STROKE_Y]);

/** For each point: is some opaque pixel near it (nearly) of colour rgb? */
function colourAt(page, points, rgb) {
  return page.evaluate(({ points, rgb }) => {
    const canvas = document.getElementById("board");
    const ctx = canvas.getContext("2d");
    const rect = canvas.getBoundingClientRect();
    const sx = canvas.width / rect.width;
    const sy = canvas.height / rect.height;
    const r = Math.max(2, Math.ceil(2 * sx));
    return points.map(([x, y]) => {
      const d = ctx.getImageData(Math.round((x - rect.left) * sx) - r, Math.round((y - rect.top) * sy) - r, 2 * r + 1, 2 * r + 1).data;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] >= 200 && Math.abs(d[i] - rgb[0]) <= 40 && Math.abs(d[i + 1] - rgb[1]) <= 40 && Math.abs(d[i + 2] - rgb[2]) <= 40) return true;
      }
      return false;
    });
  }, { points, rgb });
}

function status(page) {
  return page.evaluate(() => {
    const text = (id) => (document.getElementById(id)?.textContent ?? "").trim();
    return {
      node: text("node-name"), // set by "hello": the node serving the session
      htmlFrom: document.querySelector('meta[name="switchboard-node"]')?.content ?? null, // the node that served the HTML
      clients: text("client-count"),
      state: text("conn-state"),
      transport: text("transport"),
    };
  });
}

/**
 * Connected, and the client count is known (so "hello", which comes before
 * any count, has named the node), with at least `min` clients.
 */
async function waitReady(page, label, min) {
  try {
    await page.waitForFunction((min) => document.getElementById("conn-state")?.textContent.trim() === "connected"
      && Number(document.getElementById("client-count")?.textContent) >= min, min, { timeout: 20_000, polling: 100 });
  } catch (err) {
    throw new Error(`page ${label} not ready (>= ${min} clients): ${JSON.stringify(await status(page).catch(() => ({})))}: ${err.message}`);
  }
}

let redis, nodes, lb, browser;
before(async () => {
  redis = await startRedis();
  nodes = await startCluster(3, redis.url, ["--stickiness-free", "--cluster-secret", "lb-browser-secret"]);
  lb = await startHAProxy(nodes, "roundrobin");
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});
after(async () => {
  await browser?.close();
  await lb?.stop();
  await Promise.all((nodes ?? []).map((n) => n.stop()));
  await redis?.stop();
});

test("whiteboard behind HAProxy round-robin: a stroke crosses nodes, pixels on the other page", { timeout: 120_000 }, async (t) => {
  const pageErrors = [];
  const open = async (label) => {
    const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
    const page = await context.newPage();
    page.on("pageerror", (e) => pageErrors.push(`page ${label}: ${e.message}`));
    page.on("console", (m) => { if (m.type() === "error") t.diagnostic(`page ${label} console error: ${m.text()}`); });
    const res = await page.goto(`${lb.url}/`, { waitUntil: "load" });
    assert.equal(res?.status(), 200, `page ${label}: HTTP ${res?.status()}`);
    return { context, page };
  };

  const a = await open("A");
  await waitReady(a.page, "A", 1);
  const sA = await status(a.page);

  let b, sB;
  for (let attempt = 1; ; attempt++) {
    b = await open("B");
    await waitReady(b.page, "B", 2);
    sB = await status(b.page);
    t.diagnostic(`page B attempt ${attempt}: ${JSON.stringify(sB)}`);
    if (sB.node !== sA.node) break;
    assert.ok(attempt < OPEN_ATTEMPTS, `page B named node ${sB.node} like page A in ${attempt} attempts`);
    await b.context.close();
    // Shift HAProxy's round-robin so that the next page's requests fall
    // elsewhere (a page makes the same number of requests every time).
    await fetch(`${lb.url}/`).then((r) => r.arrayBuffer());
    await sleep(200);
  }
  // Page A's count may lag by one announcement; both must see each other.
  await waitReady(a.page, "A", 2);
  const pageA = a.page, pageB = b.page;
  t.diagnostic(`page A: ${JSON.stringify(await status(pageA))}`);
  t.diagnostic(`page B: ${JSON.stringify(sB)}`);
  for (const [label, s] of [["A", sA], ["B", sB]]) {
    assert.match(s.node, /^node-[123]$/, `page ${label}: node name`);
    assert.match(s.htmlFrom, /^node-[123]$/, `page ${label}: meta tag not rendered`);
  }
  assert.notEqual(sA.node, sB.node, "both pages on one node");

  // Both upgrade to WebSocket through HAProxy (takeover or proxied: the
  // node names above are where the application sees the sessions).
  for (const [label, page] of [["A", pageA], ["B", pageB]]) {
    await page.waitForFunction(() => document.getElementById("transport")?.textContent.trim() === "websocket", null,
      { timeout: 10_000, polling: 100 }).catch(async () => {
      throw new Error(`page ${label} did not upgrade: ${JSON.stringify(await status(page))}`);
    });
  }

  const red = pageA.locator('.palette button[aria-label="Red"]');
  await red.click();
  const hex = (await red.getAttribute("data-color")).replace("#", "");
  const rgb = [0, 2, 4].map((i) => parseInt(hex.length === 3 ? hex[i / 2].repeat(2) : hex.slice(i, i + 2), 16));
  assert.ok(!(await colourAt(pageB, samples, rgb)).some(Boolean), "page B shows the colour before the stroke");

  await pageA.mouse.move(STROKE_X0, STROKE_Y);
  await pageA.mouse.down();
  for (let i = 1; i <= STEPS; i++) {
    await pageA.mouse.move(STROKE_X0 + ((STROKE_X1 - STROKE_X0) * i) / STEPS, STROKE_Y, { steps: 3 });
    await pageA.waitForTimeout(20);
  }
  await pageA.mouse.up();
  assert.ok((await colourAt(pageA, samples, rgb)).every(Boolean), "page A did not draw its own stroke");

  const t0 = Date.now();
  let onB = [];
  while (Date.now() - t0 < 5000) {
    onB = await colourAt(pageB, samples, rgb);
    if (onB.every(Boolean)) break;
    await sleep(100);
  }
  const missing = samples.filter((_, i) => !onB[i]);
  assert.deepEqual(missing, [], `page B lacks the stroke at ${missing.length}/${samples.length} points`);
  t.diagnostic(`stroke drawn on ${sA.node} visible on ${sB.node} after ${Date.now() - t0} ms`);

  const m = await nodeMetrics(nodes, ["switchboard_takeovers_total", "switchboard_upgrades_total",
    "switchboard_proxied_websockets_total", "switchboard_forwarded_requests_total"]);
  t.diagnostic(`router: ${JSON.stringify(m)}`);
  assert.deepEqual(pageErrors, [], "uncaught errors in the pages");
  for (const p of [pageA, pageB]) assert.equal((await status(p)).state, "connected");
});
