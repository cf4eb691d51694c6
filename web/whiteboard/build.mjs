// Builds the whiteboard page into internal/whiteboard/dist/, which the Go
// package internal/whiteboard embeds and serves in place of the page's
// sources (internal/whiteboard/web/, served as they are without this build).
//
//   npm ci && npm run build:whiteboard
//
// main.js is bundled and minified with esbuild, its socket module
// (./sioclient.js, our own small client) replaced by official.js, which
// puts the official socket.io-client behind the same interface;
// index.html and style.css are copied unchanged. The output directory is
// emptied first, except for the tracked placeholder .gitkeep that keeps the
// Go embed pattern valid in an unbuilt checkout.

import { build } from "esbuild";
import { copyFile, mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const buildDir = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(buildDir, "..", "..");
const srcDir = path.join(repoRoot, "internal", "whiteboard", "web");
const outDir = path.join(repoRoot, "internal", "whiteboard", "dist");

// The page's socket module, whichever way it is imported, becomes official.js.
const officialClient = {
  name: "official-socket.io-client",
  setup(b) {
    b.onResolve({ filter: /(^|\/)sioclient\.js$/ }, () => ({ path: path.join(buildDir, "official.js") }));
  },
};
const KEEP = new Set([".gitkeep"]);

async function cleanOutDir() {
  await mkdir(outDir, { recursive: true });
  for (const name of await readdir(outDir)) {
    if (!KEEP.has(name)) await rm(path.join(outDir, name), { recursive: true, force: true });
  }
  // Recreate the placeholder if it went missing so `go build` keeps working
  // even after the dist directory was deleted by hand.
  const keep = path.join(outDir, ".gitkeep");
  await stat(keep).catch(() => writeFile(keep, ""));
}

async function main() {
  await cleanOutDir();

  const result = await build({
    entryPoints: [path.join(srcDir, "main.js")],
    outfile: path.join(outDir, "main.js"),
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: ["es2020", "chrome90", "firefox90", "safari14"],
    legalComments: "eof",
    logLevel: "warning",
    metafile: true,
    absWorkingDir: repoRoot,
    plugins: [officialClient],
  });

  for (const name of ["index.html", "style.css"]) {
    await copyFile(path.join(srcDir, name), path.join(outDir, name));
  }

  const files = (await readdir(outDir)).filter((n) => !KEEP.has(n)).sort();
  const sizes = await Promise.all(files.map(async (n) => (await stat(path.join(outDir, n))).size));
  const rel = path.relative(repoRoot, outDir);
  console.log(`whiteboard: built ${rel}/ (${Object.keys(result.metafile.inputs).length} modules bundled)`);
  files.forEach((n, i) => console.log(`  ${n.padEnd(12)} ${String(sizes[i]).padStart(8)} bytes`));
}

main().catch((err) => {
  console.error("whiteboard: build failed:", err && err.message ? err.message : err);
  process.exitCode = 1;
});
