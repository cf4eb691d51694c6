// Headless-browser test of the whiteboard demo: a stroke drawn on one page
// must appear, as pixels, on another page connected to the same cluster; a
// page opened later shows the board's strokes, Clear clears every page of
// the board, two boards (?board=) stay apart, and a tap on a phone-sized
// touch screen draws a dot the other pages show. With SWITCHBOARD_BIN, on a
// cluster of its own (two nodes of that binary and a redis-server, started
// here on free loopback ports and stopped by pid): the board outlives the
// restart of every node, pages on two nodes draw together with WebSockets
// blocked (long-polling), and a page whose node restarts reconnects and
// draws again.
//
//   WHITEBOARD_URL=http://127.0.0.1:8080/ node --test test/browser/
//   SWITCHBOARD_BIN=$PWD/bin/switchboard node --test test/browser/whiteboard.test.mjs
//
// Environment:
//   WHITEBOARD_URL            page URL for both pages
//   WHITEBOARD_URL_A/_B       per-page URLs (e.g. two different nodes); each
//                             defaults to WHITEBOARD_URL, then to the other
//   WHITEBOARD_EXPECT_NODES   optional "nodeA,nodeB": names pages A and B must show
//   WHITEBOARD_SCREENSHOT     optional path for a PNG of page B after the stroke
//   SWITCHBOARD_BIN           the binary the cluster tests run (they are
//                             skipped without it)
//   CHROMIUM_PATH             browser binary, default /usr/bin/chromium
//
// Without any URL the single-node tests are skipped.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { chromium } from "playwright-core";
import { nodeMetrics, startNode, startRedis } from "../lb/lib.mjs";

const env = process.env;
const urlA = env.WHITEBOARD_URL_A || env.WHITEBOARD_URL || env.WHITEBOARD_URL_B;
const urlB = env.WHITEBOARD_URL_B || env.WHITEBOARD_URL || env.WHITEBOARD_URL_A;
const expectNodes = (env.WHITEBOARD_EXPECT_NODES || "")
  .split(",")
  .map((s) => s.trim())
  .filter(Boolean);
const screenshotPath = env.WHITEBOARD_SCREENSHOT || "";
const chromiumPath = env.CHROMIUM_PATH || "/usr/bin/chromium";

const VIEWPORT = { width: 1000, height: 650 };
const READY_TIMEOUT_MS = 20_000;
const PIXEL_DEADLINE_MS = 5_000;

// The stroke: a horizontal line across the middle of the board, well clear
// of the status bar (top) and the palette (bottom).
const STROKE_Y = Math.round(VIEWPORT.height / 2);
const STROKE_X0 = 150;
const STROKE_X1 = 850;
const STROKE_STEPS = 14;

/** Points (CSS pixels, page coordinates) where the stroke at y must be visible. */
function strokeSamples(y = STROKE_Y) {
  const pts = [];
  const step = (STROKE_X1 - STROKE_X0) / STROKE_STEPS;
  for (let i = 0; i <= STROKE_STEPS * 2; i++) {
    pts.push([Math.round(STROKE_X0 + (i * step) / 2), y]);
  }
  return pts;
}

/**
 * Draws the stroke at y on page with the mouse: press, several moves with
 * pauses longer than the client's throttle, release.
 */
async function drawStroke(page, y = STROKE_Y) {
  await page.mouse.move(STROKE_X0, y);
  await page.mouse.down();
  for (let i = 1; i <= STROKE_STEPS; i++) {
    const x = STROKE_X0 + ((STROKE_X1 - STROKE_X0) * i) / STROKE_STEPS;
    await page.mouse.move(x, y, { steps: 3 });
    await page.waitForTimeout(20);
  }
  await page.mouse.up();
}

/** Polls until every sample's colour presence is want (true: all shown, false: none). */
async function waitColour(page, points, rgb, want, what) {
  const deadline = Date.now() + PIXEL_DEADLINE_MS;
  for (;;) {
    const got = await colourAt(page, points, rgb);
    if (got.every((v) => v === want)) return;
    if (Date.now() > deadline) {
      const bad = got.filter((v) => v !== want).length;
      assert.fail(`${what}: ${bad}/${points.length} points still ${want ? "lack" : "show"} the colour after ${PIXEL_DEADLINE_MS} ms`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Parses "#rgb" or "#rrggbb". */
function parseHex(hex) {
  let h = hex.trim().replace(/^#/, "");
  if (h.length === 3) h = [...h].map((c) => c + c).join("");
  assert.match(h, /^[0-9a-f]{6}$/i, `not a hex colour: ${hex}`);
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
}

/**
 * For each point, reports whether some opaque pixel within a few device
 * pixels of it has (nearly) the given colour. Reads the canvas bitmap.
 */
function colourAt(page, points, rgb) {
  return page.evaluate(
    ({ points, rgb }) => {
      const canvas = document.getElementById("board");
      const ctx = canvas.getContext("2d");
      const rect = canvas.getBoundingClientRect();
      const sx = canvas.width / rect.width;
      const sy = canvas.height / rect.height;
      const r = Math.max(2, Math.ceil(2 * sx));
      const tol = 40; // per channel
      return points.map(([x, y]) => {
        const px = Math.round((x - rect.left) * sx);
        const py = Math.round((y - rect.top) * sy);
        const d = ctx.getImageData(px - r, py - r, 2 * r + 1, 2 * r + 1).data;
        for (let i = 0; i < d.length; i += 4) {
          if (
            d[i + 3] >= 200 &&
            Math.abs(d[i] - rgb[0]) <= tol &&
            Math.abs(d[i + 1] - rgb[1]) <= tol &&
            Math.abs(d[i + 2] - rgb[2]) <= tol
          ) {
            return true;
          }
        }
        return false;
      });
    },
    { points, rgb },
  );
}

/** Current status-bar values of a page. */
function status(page) {
  return page.evaluate(() => {
    const text = (id) => (document.getElementById(id)?.textContent ?? "").trim();
    return {
      node: text("node-name"),
      meta: document.querySelector('meta[name="switchboard-node"]')?.content ?? null,
      clients: text("client-count"),
      state: text("conn-state"),
      transport: text("transport"),
    };
  });
}

/** Waits until the page is connected and sees at least two clients. */
async function waitReady(page, label) {
  try {
    await page.waitForFunction(
      () =>
        document.getElementById("conn-state")?.textContent.trim() === "connected" &&
        Number(document.getElementById("client-count")?.textContent) >= 2,
      null,
      { timeout: READY_TIMEOUT_MS, polling: 100 },
    );
  } catch (err) {
    const s = await status(page).catch(() => ({}));
    throw new Error(
      `page ${label} not connected with >= 2 clients after ${READY_TIMEOUT_MS} ms ` +
        `(status: ${JSON.stringify(s)}): ${err.message}`,
    );
  }
}

function launch() {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * Opens url in a context of its own (an independent visitor), recording
 * uncaught errors in pageErrors; contextOptions default to the desktop
 * viewport; prepare(context), when given, runs before the page loads.
 */
async function openPage(browser, t, pageErrors, label, url, contextOptions = { viewport: VIEWPORT, deviceScaleFactor: 1 }, prepare = null) {
  const context = await browser.newContext(contextOptions);
  if (prepare) await prepare(context);
  const page = await context.newPage();
  page.on("pageerror", (err) => pageErrors.push(`page ${label}: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") t.diagnostic(`page ${label} console error: ${msg.text()}`);
  });
  const res = await page.goto(url, { waitUntil: "load" });
  assert.ok(res, `page ${label}: no response for ${url}`);
  assert.equal(res.status(), 200, `page ${label}: HTTP ${res.status()} for ${url}`);
  return page;
}

/** Waits until the page is connected and has caught up with its board. */
function waitSynced(page, label) {
  return page
    .waitForFunction(() => document.documentElement.dataset.synced === "true", null, { timeout: READY_TIMEOUT_MS, polling: 100 })
    .catch((err) => {
      throw new Error(`page ${label} never caught up with its board: ${err.message}`);
    });
}

/** base with ?board=name. */
function boardURL(base, name) {
  const u = new URL(base);
  u.searchParams.set("board", name);
  return u.toString();
}

test("whiteboard: a stroke drawn on page A shows up on page B", { timeout: 120_000 }, async (t) => {
  if (!urlA) {
    t.skip("set WHITEBOARD_URL (or WHITEBOARD_URL_A / WHITEBOARD_URL_B) to the whiteboard page to run this test");
    return;
  }
  t.diagnostic(`page A: ${urlA}`);
  t.diagnostic(`page B: ${urlB}`);

  const browser = await launch();
  try {
    const pageErrors = [];
    const open = (label, url) => openPage(browser, t, pageErrors, label, url);
    const [pageA, pageB] = await Promise.all([open("A", urlA), open("B", urlB)]);

    await Promise.all([waitReady(pageA, "A"), waitReady(pageB, "B")]);

    // Node names: shown, rendered into the meta tag, and consistent.
    const [sA, sB] = await Promise.all([status(pageA), status(pageB)]);
    t.diagnostic(`status A: ${JSON.stringify(sA)}`);
    t.diagnostic(`status B: ${JSON.stringify(sB)}`);
    for (const [label, s] of [["A", sA], ["B", sB]]) {
      assert.ok(s.node && s.node !== "–", `page ${label}: empty node name`);
      assert.notEqual(s.meta, "{{NODE}}", `page ${label}: meta tag not rendered by the server`);
      assert.equal(s.node, s.meta, `page ${label}: shown node name differs from the meta tag`);
      assert.match(s.transport, /^(polling|websocket|webtransport)$/, `page ${label}: transport`);
    }
    if (expectNodes.length > 0) {
      assert.equal(expectNodes.length, 2, "WHITEBOARD_EXPECT_NODES must be two comma-separated names");
      assert.equal(sA.node, expectNodes[0], "page A node name");
      assert.equal(sB.node, expectNodes[1], "page B node name");
    }

    // Pick red on page A.
    const red = pageA.locator('.palette button[aria-label="Red"]');
    await red.click();
    assert.equal(await red.getAttribute("aria-pressed"), "true", "red swatch not highlighted");
    const rgb = parseHex(await red.getAttribute("data-color"));

    const samples = strokeSamples();
    const before = await colourAt(pageB, samples, rgb);
    assert.ok(!before.some(Boolean), "page B already shows the stroke colour before drawing");

    await drawStroke(pageA);

    const onA = await colourAt(pageA, samples, rgb);
    assert.ok(onA.every(Boolean), `page A did not draw its own stroke locally: ${JSON.stringify(onA)}`);

    // Page B: poll the canvas pixels until the whole stroke is there.
    const deadline = Date.now() + PIXEL_DEADLINE_MS;
    let onB = [];
    for (;;) {
      onB = await colourAt(pageB, samples, rgb);
      if (onB.every(Boolean) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const missing = samples.filter((_, i) => !onB[i]);
    assert.deepEqual(
      missing,
      [],
      `page B lacks the stroke at ${missing.length}/${samples.length} points after ${PIXEL_DEADLINE_MS} ms`,
    );

    if (screenshotPath) {
      await mkdir(path.dirname(path.resolve(screenshotPath)), { recursive: true });
      await pageB.screenshot({ path: screenshotPath });
      t.diagnostic(`screenshot of page B: ${screenshotPath}`);
    }

    assert.deepEqual(pageErrors, [], "uncaught errors in the pages");
  } finally {
    await browser.close();
  }
});

/**
 * A test with a browser: body(t, browser, pageErrors) runs, then no page
 * may have thrown. Skipped without a URL.
 */
function browserTest(name, body) {
  test(name, { timeout: 120_000 }, async (t) => {
    if (!urlA) {
      t.skip("set WHITEBOARD_URL (or WHITEBOARD_URL_A / WHITEBOARD_URL_B) to the whiteboard page to run this test");
      return;
    }
    const browser = await launch();
    try {
      const pageErrors = [];
      await body(t, browser, pageErrors);
      assert.deepEqual(pageErrors, [], "uncaught errors in the pages");
    } finally {
      await browser.close();
    }
  });
}

browserTest("whiteboard: a page opened later shows the board, Clear clears every page, boards are separate", async (t, browser, pageErrors) => {
  // Boards of this run only: a cluster's boards outlive its nodes.
  const board = `bt-${Date.now()}`;
  const other = `${board}-other`;
  const open = async (label, url) => {
    const page = await openPage(browser, t, pageErrors, label, url);
    await waitSynced(page, label);
    return page;
  };
  const red = parseHex("#e03131");
  const blue = parseHex("#1c7ed6");
  const redLine = strokeSamples(STROKE_Y);
  const blueLine = strokeSamples(STROKE_Y + 80);

  const pageA = await open("A", boardURL(urlA, board));
  assert.equal(await pageA.locator("#board-name").textContent(), board, "page A: board name shown");
  await pageA.locator('.palette button[aria-label="Red"]').click();
  await drawStroke(pageA, STROKE_Y);

  // B, opened after A drew (on the other node when there are two), gets
  // the board's history.
  const pageB = await open("B", boardURL(urlB, board));
  await waitColour(pageB, redLine, red, true, "page B opened after A drew");

  // C draws blue on another board: a new page of that board shows it,
  // A and B never do, and C never showed A's red.
  const pageC = await open("C", boardURL(urlB, other));
  assert.ok(!(await colourAt(pageC, redLine, red)).some(Boolean), "page C (another board) shows board A's stroke");
  await pageC.locator('.palette button[aria-label="Blue"]').click();
  await drawStroke(pageC, STROKE_Y + 80);
  const pageD = await open("D", boardURL(urlA, other));
  await waitColour(pageD, blueLine, blue, true, "page D of C's board");

  // Clear on B: A and B are cleared; C's board is not.
  await pageB.locator("#clear").click();
  await waitColour(pageA, redLine, red, false, "page A after B's clear");
  await waitColour(pageB, redLine, red, false, "page B after its clear");
  for (const [label, page] of [["A", pageA], ["B", pageB]]) {
    assert.ok(!(await colourAt(page, blueLine, blue)).some(Boolean), `page ${label} shows another board's stroke`);
  }
  assert.ok((await colourAt(pageD, blueLine, blue)).every(Boolean), "the clear of one board cleared another");
  const pageE = await open("E", boardURL(urlA, board));
  assert.ok(!(await colourAt(pageE, redLine, red)).some(Boolean), "a page opened after the clear shows the cleared stroke");
});

browserTest("whiteboard: a tap on a phone-sized touch screen draws a dot that other pages show", async (t, browser, pageErrors) => {
  const board = `phone-${Date.now()}`;
  const phone = { viewport: { width: 375, height: 667 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
  const pagePhone = await openPage(browser, t, pageErrors, "phone", boardURL(urlA, board), phone);
  const pageDesk = await openPage(browser, t, pageErrors, "desktop", boardURL(urlB, board));
  await Promise.all([waitSynced(pagePhone, "phone"), waitSynced(pageDesk, "desktop")]);

  // Nothing overflows the phone's width, and the palette (Clear included)
  // is on screen.
  const layout = await pagePhone.evaluate(() => {
    const r = document.getElementById("clear").getBoundingClientRect();
    return { scroll: document.documentElement.scrollWidth, right: r.right, bottom: r.bottom };
  });
  assert.ok(layout.scroll <= 375 && layout.right <= 375 && layout.bottom <= 667, `phone layout: ${JSON.stringify(layout)}`);

  // A tap in the middle of the phone's board: a dot in the middle of the
  // desktop page's.
  const black = parseHex(await pagePhone.locator(".palette button[aria-pressed=true]").getAttribute("data-color"));
  await pagePhone.touchscreen.tap(187, 333);
  const dot = [[Math.round((187 / 375) * VIEWPORT.width), Math.round((333 / 667) * VIEWPORT.height)]];
  await waitColour(pagePhone, [[187, 333]], black, true, "the phone's own dot");
  await waitColour(pageDesk, dot, black, true, "the desktop page, the phone's dot");
});

// ---------------------------------------------------------------------------
// On a cluster of their own: two nodes of SWITCHBOARD_BIN sharing a
// redis-server.

/** Waits until the page's connection state is want. */
function waitState(page, label, want) {
  return page
    .waitForFunction((want) => document.getElementById("conn-state")?.textContent.trim() === want, want, {
      timeout: READY_TIMEOUT_MS,
      polling: 100,
    })
    .catch((err) => {
      throw new Error(`page ${label} never ${want}: ${err.message}`);
    });
}

// Pings every half second, so that the pages answer many during a test,
// and a page that hears none for 5.5 s gives its connection up.
const HEARTBEAT = ["--ping-interval", "500ms", "--ping-timeout", "5s"];

/**
 * A test on a cluster: body({t, browser, pageErrors, nodes, kill, start})
 * runs with two nodes up (nodes[i].url, no trailing slash; nodes[i].child
 * the process, pinging as HEARTBEAT says); kill(i) kills
 * node i (SIGKILL), start(i) starts it again on its ports. Everything
 * started is stopped by pid at the end, and no page may have thrown.
 */
function clusterTest(name, body) {
  test(name, { timeout: 180_000 }, async (t) => {
    if (!env.SWITCHBOARD_BIN) {
      t.skip("set SWITCHBOARD_BIN to the switchboard binary to run the cluster tests");
      return;
    }
    const redis = await startRedis();
    const nodes = [];
    let browser = null;
    try {
      for (const name of ["wb-node-1", "wb-node-2"]) nodes.push(await startNode(name, redis.url, HEARTBEAT));
      const kill = (i) => nodes[i].kill("SIGKILL");
      const start = async (i) => {
        const old = nodes[i];
        nodes[i] = await startNode(old.name, redis.url, HEARTBEAT, { port: old.port, iport: old.iport });
      };
      browser = await launch();
      const pageErrors = [];
      await body({ t, browser, pageErrors, nodes, kill, start });
      assert.deepEqual(pageErrors, [], "uncaught errors in the pages");
    } finally {
      if (browser) await browser.close();
      for (const n of nodes) await n.stop();
      await redis.stop();
    }
  });
}

/** Asserts that node n saw its pages connect once each and never leave. */
async function assertStayed(n, pages) {
  const got = await nodeMetrics([n], ["switchboard_socket_connects_total", "switchboard_socket_disconnects_total"]);
  assert.deepEqual(
    Object.values(got),
    [pages, 0],
    `${n.name}: its ${pages} page(s) connected once and never left (answering every ping): ${JSON.stringify(got)}`,
  );
}

/** The page of board on node n. */
const nodeBoard = (n, board) => boardURL(`${n.url}/`, board);

clusterTest("whiteboard: the board is still there after every node restarted", async ({ t, browser, pageErrors, nodes, kill, start }) => {
  const board = `kept-${Date.now()}`;
  const red = parseHex("#e03131");
  const line = strokeSamples();
  const pageA = await openPage(browser, t, pageErrors, "A", nodeBoard(nodes[0], board));
  const pageB = await openPage(browser, t, pageErrors, "B", nodeBoard(nodes[1], board));
  await Promise.all([waitSynced(pageA, "A"), waitSynced(pageB, "B")]);
  await pageA.locator('.palette button[aria-label="Red"]').click();
  await drawStroke(pageA);
  // Relayed after it was stored: once B shows it, Redis has it.
  await waitColour(pageB, line, red, true, "page B, A's stroke");

  await Promise.all([kill(0), kill(1)]);
  await Promise.all([waitState(pageA, "A", "reconnecting"), waitState(pageB, "B", "reconnecting")]);
  await start(0);
  await start(1);
  for (const [label, page] of [["A", pageA], ["B", pageB]]) {
    await page.reload({ waitUntil: "load" });
    await waitSynced(page, label);
    await waitColour(page, line, red, true, `page ${label} reloaded after every node restarted`);
  }
});

clusterTest("whiteboard: with WebSockets blocked, pages on two nodes draw together over long-polling", async ({ t, browser, pageErrors, nodes }) => {
  const board = `polling-${Date.now()}`;
  let blocked = 0;
  // As a proxy that lets no WebSocket through: each one is closed at once.
  const noWebSocket = (context) =>
    context.routeWebSocket(/\/socket\.io\//, (ws) => {
      blocked++;
      ws.close();
    });
  const pageA = await openPage(browser, t, pageErrors, "A", nodeBoard(nodes[0], board), undefined, noWebSocket);
  const pageB = await openPage(browser, t, pageErrors, "B", nodeBoard(nodes[1], board), undefined, noWebSocket);
  await Promise.all([waitSynced(pageA, "A"), waitSynced(pageB, "B")]);

  await pageA.locator('.palette button[aria-label="Red"]').click();
  await drawStroke(pageA, STROKE_Y);
  await waitColour(pageB, strokeSamples(STROKE_Y), parseHex("#e03131"), true, "page B, A's stroke over polling");
  await pageB.locator('.palette button[aria-label="Blue"]').click();
  await drawStroke(pageB, STROKE_Y + 80);
  await waitColour(pageA, strokeSamples(STROKE_Y + 80), parseHex("#1c7ed6"), true, "page A, B's stroke over polling");

  for (const [label, page] of [["A", pageA], ["B", pageB]]) {
    const s = await status(page);
    assert.equal(s.transport, "polling", `page ${label}: transport with WebSockets blocked (${JSON.stringify(s)})`);
    assert.equal(s.state, "connected", `page ${label}: state`);
  }
  assert.ok(blocked >= 2, `the pages tried ${blocked} WebSockets: the block was never exercised`);
  await assertStayed(nodes[0], 1);
  await assertStayed(nodes[1], 1);
  t.diagnostic(`${blocked} WebSockets blocked`);
});

clusterTest("whiteboard: a page whose node freezes gives it up, reconnects once it restarts, gets the board back and draws again", async ({ t, browser, pageErrors, nodes, kill, start }) => {
  const board = `restart-${Date.now()}`;
  const pageA = await openPage(browser, t, pageErrors, "A", nodeBoard(nodes[0], board));
  const pageB = await openPage(browser, t, pageErrors, "B", nodeBoard(nodes[1], board));
  await Promise.all([waitSynced(pageA, "A"), waitSynced(pageB, "B")]);
  await pageA.locator('.palette button[aria-label="Red"]').click();
  await drawStroke(pageA, STROKE_Y);
  await waitColour(pageB, strokeSamples(STROKE_Y), parseHex("#e03131"), true, "page B, A's stroke");

  // A frozen node closes nothing: only the missing pings tell the page.
  nodes[1].child.kill("SIGSTOP");
  await waitState(pageB, "B", "reconnecting");
  await kill(1);
  await start(1);
  // "connected" comes with a new session: the page empties its board and
  // reads it again.
  await waitState(pageB, "B", "connected");
  await waitSynced(pageB, "B");
  await waitColour(pageB, strokeSamples(STROKE_Y), parseHex("#e03131"), true, "page B after its node restarted, the board's stroke");

  await pageA.locator('.palette button[aria-label="Blue"]').click();
  await drawStroke(pageA, STROKE_Y + 80);
  await waitColour(pageB, strokeSamples(STROKE_Y + 80), parseHex("#1c7ed6"), true, "page B after its node restarted, A's new stroke");
  await pageB.locator('.palette button[aria-label="Green"]').click();
  await drawStroke(pageB, STROKE_Y + 160);
  await waitColour(pageA, strokeSamples(STROKE_Y + 160), parseHex("#2f9e44"), true, "page A, B's stroke after B's node restarted");
  // A, on the other node, went on answering its pings all along (more
  // than the 5.5 s B took to give its frozen node up).
  await assertStayed(nodes[0], 1);
  t.diagnostic(`page B: ${JSON.stringify(await status(pageB))}`);
});
