// The Admin UI itself (@socket.io/admin-ui 0.5.1's page, served by node A's
// internal listener) in Chromium against two Switchboard nodes on Redis:
// it logs in to node A's public listener (a cross-origin page: CORS with
// credentials), shows both nodes on its Servers page and the clients of
// both nodes on its Sockets page, and a screenshot of the Servers page is
// saved to ADMIN_UI_SCREENSHOT (default test/artifacts/admin-ui.png; the
// one in docs/ is made with ADMIN_UI_SCREENSHOT=docs/admin-ui.png).
// CHROMIUM_PATH defaults to /usr/bin/chromium.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";
import { io } from "socket.io-client";
import { REPO_ROOT, startRedis, startNode } from "../lb/lib.mjs";

const require = createRequire(import.meta.url);
const bcrypt = require("bcryptjs");
const chromiumPath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const shot = path.resolve(REPO_ROOT, process.env.ADMIN_UI_SCREENSHOT || "test/artifacts/admin-ui.png");
const WAIT = 60_000;

const stops = [];
after(async () => { for (const stop of stops.reverse()) await stop().catch(() => {}); });

test("the Admin UI shows a two-node cluster", { skip: !existsSync(chromiumPath) && `no ${chromiumPath}` }, async () => {
  const redis = await startRedis();
  stops.push(() => redis.stop());
  const flags = ["--admin-ui", "--admin-auth", `admin:${bcrypt.hashSync("s3cret", 4)}`];
  const a = await startNode("node-a", redis.url, flags);
  stops.push(() => a.stop());
  const b = await startNode("node-b", redis.url, flags);
  stops.push(() => b.stop());
  const clients = [a, a, b, b, b].map((n) => io(n.url, { forceNew: true, reconnection: false }));
  stops.push(async () => clients.forEach((c) => c.close()));
  await Promise.all(clients.map((c) => new Promise((r) => c.once("connect", r))));

  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  stops.push(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 640 }, deviceScaleFactor: 1 });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // The page asks for web fonts and icons from CDNs: not here (offline).
  await page.route((url) => !url.host.startsWith("127.0.0.1"), (r) => r.abort());
  await page.goto(`http://127.0.0.1:${a.iport}/admin/`);
  await page.getByLabel("Server URL").fill(a.url);
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill("s3cret");
  await page.getByRole("button", { name: /connect/i }).click();

  await page.getByText("Connection", { exact: true }).waitFor({ state: "hidden", timeout: WAIT });
  await page.getByText("Servers", { exact: true }).first().click();
  for (const name of ["node-a#", "node-b#"]) {
    await page.getByText(name).first().waitFor({ timeout: WAIT });
  }
  // The page change's transitions and the click's ripple have ended.
  await page.mouse.move(900, 500);
  await page.waitForFunction(() => document.getAnimations().every((x) => x.playState !== "running") &&
    !document.querySelector(".v-ripple__animation"), null, { timeout: WAIT });
  mkdirSync(path.dirname(shot), { recursive: true });
  await page.screenshot({ path: shot });

  await page.getByText("Sockets", { exact: true }).first().click();
  for (const c of clients) await page.getByText(c.id).first().waitFor({ timeout: WAIT });
  assert.deepEqual(errors, []);
});
