// Headless-browser test of the whiteboard demo: a stroke drawn on one page
// must appear, as pixels, on another page connected to the same cluster.
//
//   WHITEBOARD_URL=http://127.0.0.1:8080/ node --test test/browser/
//
// Environment:
//   WHITEBOARD_URL            page URL for both pages
//   WHITEBOARD_URL_A/_B       per-page URLs (e.g. two different nodes); each
//                             defaults to WHITEBOARD_URL, then to the other
//   WHITEBOARD_EXPECT_NODES   optional "nodeA,nodeB": names pages A and B must show
//   WHITEBOARD_SCREENSHOT     optional path for a PNG of page B after the stroke
//   CHROMIUM_PATH             browser binary, default /usr/bin/chromium
//
// Without any URL the test is skipped.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { chromium } from "playwright-core";

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

/** Points (CSS pixels, page coordinates) where the stroke must be visible. */
function strokeSamples() {
  const pts = [];
  const step = (STROKE_X1 - STROKE_X0) / STROKE_STEPS;
  for (let i = 0; i <= STROKE_STEPS * 2; i++) {
    pts.push([Math.round(STROKE_X0 + (i * step) / 2), STROKE_Y]);
  }
  return pts;
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

test("whiteboard: a stroke drawn on page A shows up on page B", { timeout: 120_000 }, async (t) => {
  if (!urlA) {
    t.skip("set WHITEBOARD_URL (or WHITEBOARD_URL_A / WHITEBOARD_URL_B) to the whiteboard page to run this test");
    return;
  }
  t.diagnostic(`page A: ${urlA}`);
  t.diagnostic(`page B: ${urlB}`);

  const browser = await chromium.launch({
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
  try {
    const pageErrors = [];
    const open = async (label, url) => {
      // Separate contexts: two independent visitors.
      const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
      const page = await context.newPage();
      page.on("pageerror", (err) => pageErrors.push(`page ${label}: ${err.message}`));
      page.on("console", (msg) => {
        if (msg.type() === "error") t.diagnostic(`page ${label} console error: ${msg.text()}`);
      });
      const res = await page.goto(url, { waitUntil: "load" });
      assert.ok(res, `page ${label}: no response for ${url}`);
      assert.equal(res.status(), 200, `page ${label}: HTTP ${res.status()} for ${url}`);
      return page;
    };
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

    // Draw on page A: press, several moves with pauses longer than the
    // client's throttle, release.
    await pageA.mouse.move(STROKE_X0, STROKE_Y);
    await pageA.mouse.down();
    for (let i = 1; i <= STROKE_STEPS; i++) {
      const x = STROKE_X0 + ((STROKE_X1 - STROKE_X0) * i) / STROKE_STEPS;
      await pageA.mouse.move(x, STROKE_Y, { steps: 3 });
      await pageA.waitForTimeout(20);
    }
    await pageA.mouse.up();

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
