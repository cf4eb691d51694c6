// Copies the built Admin UI of the pinned @socket.io/admin-ui package
// (node_modules/@socket.io/admin-ui/ui/dist, without its source maps) into
// internal/admindist/dist/, which the Go package internal/admindist embeds,
// so that `switchboard serve --admin-ui` serves the UI on its internal
// listener.
//
//   npm ci && npm run build:admin
//
// VERSION holds the package version. The output directory is emptied
// first, except for the tracked placeholder .gitkeep that keeps the Go
// embed pattern valid in an unbuilt checkout.

import { cp, mkdir, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const outDir = path.join(repoRoot, "internal", "admindist", "dist");
const require = createRequire(path.join(repoRoot, "package.json"));
const pkgDir = path.dirname(require.resolve("@socket.io/admin-ui/package.json"));

async function main() {
  await mkdir(outDir, { recursive: true });
  for (const name of await readdir(outDir)) {
    if (name !== ".gitkeep") await rm(path.join(outDir, name), { recursive: true, force: true });
  }
  const keep = path.join(outDir, ".gitkeep");
  await stat(keep).catch(() => writeFile(keep, ""));
  const src = path.join(pkgDir, "ui", "dist");
  await stat(path.join(src, "index.html"));
  await cp(src, outDir, { recursive: true, filter: (f) => !f.endsWith(".map") });
  const { version } = JSON.parse(await readFile(path.join(pkgDir, "package.json"), "utf8"));
  await writeFile(path.join(outDir, "VERSION"), version + "\n");
  console.log(`admin UI ${version} copied to ${path.relative(repoRoot, outDir)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
