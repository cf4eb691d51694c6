// Copies the browser client bundles of the pinned socket.io-client package
// (node_modules/socket.io-client/dist) into internal/clientdist/dist/, which
// the Go package internal/clientdist embeds, so that a Socket.IO server
// serves /socket.io/socket.io.js and the other bundles as Node's socket.io
// serves them (its serveClient option).
//
//   npm ci && npm run build:client
//
// Each file is also written compressed with brotli (.br), gzip (.gz) and
// deflate (.zz), with Node's default settings, as Node compresses it for
// every request; VERSION holds the package version (Node's ETag). The
// output directory is emptied first, except for the tracked placeholder
// .gitkeep that keeps the Go embed pattern valid in an unbuilt checkout.

import { mkdir, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const outDir = path.join(repoRoot, "internal", "clientdist", "dist");
const require = createRequire(path.join(repoRoot, "package.json"));
const pkgDir = path.dirname(require.resolve("socket.io-client/package.json"));

// The files Node's socket.io serves (its CLIENT_FILES).
const FILES = [
  "socket.io.esm.min.js", "socket.io.esm.min.js.map",
  "socket.io.js", "socket.io.js.map",
  "socket.io.min.js", "socket.io.min.js.map",
  "socket.io.msgpack.min.js", "socket.io.msgpack.min.js.map",
];

const encodings = {
  br: (b) => zlib.brotliCompressSync(b),
  gz: (b) => zlib.gzipSync(b),
  zz: (b) => zlib.deflateSync(b),
};

async function main() {
  await mkdir(outDir, { recursive: true });
  for (const name of await readdir(outDir)) {
    if (name !== ".gitkeep") await rm(path.join(outDir, name), { recursive: true, force: true });
  }
  const keep = path.join(outDir, ".gitkeep");
  await stat(keep).catch(() => writeFile(keep, ""));

  const { version } = JSON.parse(await readFile(path.join(pkgDir, "package.json"), "utf8"));
  let total = 0;
  for (const name of FILES) {
    const body = await readFile(path.join(pkgDir, "dist", name));
    if (body.length === 0) throw new Error(`${name} is empty`);
    await writeFile(path.join(outDir, name), body);
    total += body.length;
    for (const [ext, compress] of Object.entries(encodings)) {
      const c = compress(body);
      await writeFile(path.join(outDir, `${name}.${ext}`), c);
      total += c.length;
    }
  }
  // Written last: its presence means the build is complete.
  await writeFile(path.join(outDir, "VERSION"), version);
  console.log(`client: socket.io-client ${version}, ${FILES.length} files (${total} bytes with their compressed forms) in ${path.relative(repoRoot, outDir)}/`);
}

main().catch((err) => {
  console.error("client: build failed:", err && err.message ? err.message : err);
  process.exitCode = 1;
});
