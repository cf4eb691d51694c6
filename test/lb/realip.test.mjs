// The client's real address behind a balancer: a `switchboard serve` node
// behind a real HAProxy speaking the PROXY protocol (send-proxy-v2, with
// check-send-proxy health checks, node flag --proxy-protocol) and behind a
// real nginx appending to X-Forwarded-For, each with --trusted-proxies
// naming the balancer. Clients connect from distinct 127.0.0.x source
// addresses. Shows that (a) the handshake address the node sees (its debug
// log "socket connected ... address=") is the client's source address, not
// the balancer's, and (b) --handshake-rate limits one client address while
// another behind the same balancer still connects, and a client cannot
// dodge the limit with an X-Forwarded-For of its own.
//
//   SWITCHBOARD_BIN=$PWD/bin/switchboard node --test test/lb/realip.test.mjs
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { io } from "socket.io-client";
import { startHAProxy, startNginx, startNode, until } from "./lib.mjs";

// One handshake per client address for the length of the test (a burst of
// one, the next token after 100 s); the balancers connect from 127.0.0.1.
const FLAGS = ["--trusted-proxies", "127.0.0.1", "--handshake-rate", "0.01", "--log-level", "debug"];

/** An official client connecting through url from the source address from; resolves once connected. */
function connectFrom(url, from) {
  const agent = new http.Agent({ localAddress: from, keepAlive: true });
  const s = io(url, { forceNew: true, reconnection: false, localAddress: from, agent });
  return new Promise((resolve, reject) => {
    s.once("connect", () => resolve({ close: () => { s.close(); agent.destroy(); } }));
    s.once("connect_error", (e) => { s.close(); agent.destroy(); reject(e); });
  });
}

/** A polling handshake through url from the source address from; resolves to the status code. */
function handshakeFrom(url, from, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}/socket.io/?EIO=4&transport=polling`, { localAddress: from, headers, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode));
    });
    req.on("error", reject);
  });
}

/** The node's debug lines for a connected socket and a refused handshake of address. */
const connectedLine = (address) => new RegExp(`msg="socket connected" .*address=${address.replaceAll(".", "\\.")} `);
const refusedLine = (address) => new RegExp(`msg="engine.io request refused" .*message="too many handshakes" .*remote=${address.replaceAll(".", "\\.")}:`);

/** The checks shared by both balancers; nodeProc is the node behind url. */
async function checkClientAddresses(url, nodeProc) {
  // (a) The handshake address is the client's.
  const c = await connectFrom(url, "127.0.0.5");
  try {
    await until(() => connectedLine("127.0.0.5").test(nodeProc.log), 5000, "the node logged the client's address");
    assert.doesNotMatch(nodeProc.log, connectedLine("127.0.0.1"), "a socket with the balancer's address");
  } finally {
    c.close();
  }
  // (b) One address is limited; another behind the same balancer is not.
  assert.equal(await handshakeFrom(url, "127.0.0.6"), 200);
  assert.equal(await handshakeFrom(url, "127.0.0.6"), 403, "the second handshake of 127.0.0.6");
  await until(() => refusedLine("127.0.0.6").test(nodeProc.log), 5000, "the refusal logged with the client's address");
  assert.equal(await handshakeFrom(url, "127.0.0.7"), 200, "another client behind the same balancer");
  const d = await connectFrom(url, "127.0.0.8");
  d.close();
  // A client's own X-Forwarded-For does not make it someone else: 127.0.0.6
  // claiming 127.0.0.9 is still refused, and 127.0.0.9's handshake is unspent.
  assert.equal(await handshakeFrom(url, "127.0.0.6", { "X-Forwarded-For": "127.0.0.9" }), 403, "a spoofed X-Forwarded-For");
  assert.equal(await handshakeFrom(url, "127.0.0.9"), 200, "the spoofed address's own handshake");
  await assert.rejects(connectFrom(url, "127.0.0.5"), /xhr poll error|websocket error/, "127.0.0.5 spent its handshake");
}

describe("the client's address behind balancers", { timeout: 120_000 }, () => {
  const procs = [];
  after(async () => { for (const p of procs.reverse()) await p.stop(); });

  test("HAProxy with send-proxy-v2 and --proxy-protocol", async () => {
    const node = await startNode("realip-haproxy", null, [...FLAGS, "--proxy-protocol"]);
    procs.push(node);
    // Health checks on the public port with check-send-proxy: LOCAL headers.
    // startHAProxy waits until the frontend answers, so they pass.
    const lb = await startHAProxy([node], "roundrobin", { sendProxy: "v2", checkPublic: true });
    procs.push(lb);
    await checkClientAddresses(lb.url, node);
    assert.doesNotMatch(node.log, /connection refused: PROXY protocol/, "HAProxy's headers refused");
    // A PROXY header sent directly by a client (not a trusted peer) gets the
    // connection closed without an answer.
    const answer = await new Promise((resolve) => {
      const s = net.connect({ port: node.port, host: "127.0.0.1", localAddress: "127.0.0.10" }, () => {
        s.write("PROXY TCP4 203.0.113.1 127.0.0.1 1234 80\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
      });
      let data = "";
      s.on("data", (d) => { data += d; });
      s.on("close", () => resolve(data));
      s.on("error", () => {});
    });
    assert.equal(answer, "", "a client's own PROXY header was answered");
    await until(() => /connection refused: PROXY protocol.*peer=127\.0\.0\.10:.*untrusted/.test(node.log), 5000, "the refusal logged");
    // The configuration of docs/load-balancing.md: health checks on the
    // internal port, which HAProxy then sends without a PROXY header.
    const lb2 = await startHAProxy([node], "roundrobin", { sendProxy: "v2" });
    procs.push(lb2);
    assert.match(lb2.config, /send-proxy-v2 check port \d+ /);
    const e = await connectFrom(lb2.url, "127.0.0.11");
    e.close();
    await until(() => connectedLine("127.0.0.11").test(node.log), 5000, "the node logged the client's address");
  });

  test("nginx with X-Forwarded-For", async () => {
    const node = await startNode("realip-nginx", null, FLAGS);
    procs.push(node);
    const lb = await startNginx([node], { forwardedFor: true });
    procs.push(lb);
    await checkClientAddresses(lb.url, node);
  });
});
