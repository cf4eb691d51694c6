// Two races of stickiness-free takeover, reproduced deterministically with
// raw HTTP and WebSocket requests against two nodes (no balancer). Both were
// server bugs found by test/rolling, now fixed; these tests keep them fixed.
//
//   SWITCHBOARD_BIN=$PWD/bin/switchboard node --test test/lb/takeover-race.test.mjs
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import WebSocket from "ws";
import { sleep, startCluster, startRedis } from "./lib.mjs";

const SECRET = ["--stickiness-free", "--cluster-secret", "race-secret"];

async function handshake(node) {
  const body = await (await fetch(`${node.url}/socket.io/?EIO=4&transport=polling`)).text();
  return JSON.parse(body.slice(1)).sid;
}

/** Opens a WebSocket upgrade for sid on node; resolves "open" or the HTTP status. */
function upgrade(node, sid, frames) {
  const ws = new WebSocket(`ws://127.0.0.1:${node.port}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
  ws.on("message", (m) => frames.push(String(m)));
  ws.on("error", () => {});
  const result = new Promise((resolve) => {
    ws.once("open", () => resolve("open"));
    ws.once("unexpected-response", (_req, res) => resolve(`HTTP ${res.statusCode}`));
    ws.once("error", (e) => resolve(`error ${e.message}`));
  });
  return { ws, result };
}

let redis;
before(async () => { redis = await startRedis(); });
after(async () => { await redis?.stop(); });

// Bug 1. A POST that reaches the owner while the session is being released
// (body read, waiting for the receive lock) finds the session closed
// ("moved"): engineio/polling.go servePost drops its packets (errStop on
// isClosed) and still answers 200 "ok". When the POST carries the client's
// Socket.IO CONNECT ("40"), the adopting node never gets it: the client's
// engine is open (on WebSocket) but the socket never connects, with no
// error, until the server's 45 s connect timeout. The POST is held here
// mid-body so that the release happens inside that window.
test("a POST in flight during a takeover is not lost", {
  timeout: 30_000,
}, async () => {
  const [a, b] = await startCluster(2, redis.url, [...SECRET, "--takeover-window", "5s"]);
  let post, ws;
  try {
    const sid = await handshake(a);
    post = net.connect(a.port, "127.0.0.1");
    await new Promise((resolve, reject) => { post.once("connect", resolve); post.once("error", reject); });
    let answer = "";
    post.on("data", (d) => { answer += d; });
    post.write(`POST /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: 127.0.0.1\r\n`
      + "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: 2\r\n\r\n4");
    await sleep(200); // A is reading the body
    const frames = [];
    const up = upgrade(b, sid, frames); // B takes the session over (A releases it)
    ws = up.ws;
    assert.equal(await up.result, "open");
    ws.send("2probe");
    await sleep(200);
    ws.send("5");
    await sleep(200);
    post.write("0"); // the rest of "40": the Socket.IO CONNECT
    await sleep(1500);
    const status = answer.split("\r\n")[0];
    // Either the POST is refused (the client then reconnects) or its CONNECT
    // reaches the session wherever it lives; never "200 ok" and nothing.
    if (status === "HTTP/1.1 200 OK") {
      assert.ok(frames.some((f) => f.startsWith("40")),
        `POST answered ${status} but the CONNECT was never answered on the WebSocket (frames ${JSON.stringify(frames)})`);
    }
  } finally {
    ws?.terminate();
    post?.destroy();
    await Promise.all([a.stop(), b.stop()]);
  }
});

// Bug 2. A draining node (SIGTERM received, readiness 503, handshakes
// refused) still takes over sessions: cluster/router.go takeover asks the
// owner to release the session before engine.Adopt, which then fails
// (SERVER_CLOSING, the upgrade gets 400). The healthy owner has already
// closed the session ("moved"), so its client must reconnect. The window is
// the time a balancer takes to notice the readiness change. Expected: a
// node that is not accepting does not ask for a release (it proxies or
// refuses the upgrade and leaves the session where it is).
test("a draining node does not take over (and lose) another node's session", {
  timeout: 30_000,
}, async () => {
  const [a, b] = await startCluster(2, redis.url, [...SECRET, "--takeover-window", "5s",
    "--drain-window", "5s", "--shutdown-grace", "10s"]);
  let ws;
  try {
    // 50 idle sessions keep B draining for about 5 s (one closed per 100 ms).
    for (let i = 0; i < 50; i++) await handshake(b);
    b.child.kill("SIGTERM");
    await sleep(300);
    assert.equal((await fetch(`http://127.0.0.1:${b.iport}/readyz`)).status, 503, "B is draining");
    const sid = await handshake(a);
    const up = upgrade(b, sid, []);
    ws = up.ws;
    const result = await up.result;
    // The session must still be usable on A: POST the Socket.IO CONNECT.
    const post = await fetch(`${a.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`,
      { method: "POST", body: "40", headers: { "Content-Type": "text/plain;charset=UTF-8" } });
    const body = await post.text();
    assert.equal(post.status, 200, `upgrade via the draining node: ${result}; then the session on the healthy node is gone: ${post.status} ${body}`);
  } finally {
    ws?.terminate();
    await Promise.all([a.stop(12_000), b.stop(12_000)]);
  }
});
