// JSONP polling (the `j` parameter of old browsers' script-tag transport), raw, against a server
// with allowEIO3: the responses are `___eio[<j digits>]("<payload as a JS string>");`, POSTs are
// forms whose `d` holds the payload with the client's newline escaping. Run once, in the polling
// mode of test/compat/run.sh (COMPAT_SUITE=test/compat-v2/).
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, MODE, until, T } from "../compat/lib/harness.mjs";

const only = MODE === "polling" ? {} : { skip: "transport-independent: run in the polling mode" };

/** The JS string literal of a JSONP response, as a value (the response is trusted test data). */
function unwrap(body, index) {
  const head = `___eio[${index}](`;
  assert.ok(body.startsWith(head) && body.endsWith(");"), `not a JSONP call: ${body}`);
  return JSON.parse(body.slice(head.length, -2));
}

/** A v3 text payload of the given packets: <length in UTF-16 units>:<packet>, each. */
const payloadV3 = (...packets) => packets.map((p) => `${p.length}:${p}`).join("");

/** What the JSONP client does to a payload before it POSTs it (engine.io-client 3.x). */
const escapeNewlines = (s) => s.replace(/\\n/g, "\\\n").replace(/\n/g, "\\n");

describe("JSONP polling", only, () => {
  let server;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
  });

  const url = (q) => `${server.url}/socket.io/?${q}`;

  async function get(q) {
    const res = await fetch(url(q));
    return { status: res.status, type: res.headers.get("content-type"), body: await res.text() };
  }

  async function post(q, payload) {
    const res = await fetch(url(q), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ d: escapeNewlines(payload) }).toString(),
    });
    return { status: res.status, body: await res.text() };
  }

  /** Polls until the v3 payload holds a packet starting with prefix; returns that packet's payload. */
  async function pollFor(q, index, prefix) {
    let found;
    await until(async () => {
      const { body } = await get(q);
      const payload = unwrap(body, index);
      if (payload.includes(prefix)) found = payload;
      return found;
    }, 8000, `a packet ${prefix}`);
    return found;
  }

  test("EIO=4 and EIO=3 handshakes are JSONP calls, the index's digits kept", T, async () => {
    for (const [eio, open] of [["4", /^0\{"sid":"[\w-]{20}"/], ["3", /^\d+:0\{"sid":"[\w-]{20}"/]]) {
      const r = await get(`EIO=${eio}&transport=polling&j=a1b2`);
      assert.equal(r.status, 200);
      assert.equal(r.type, "text/plain; charset=UTF-8");
      assert.match(unwrap(r.body, "12"), open);
    }
  });

  test("a v3 session: the implicit CONNECT, an event with newlines and U+2028, binary as base64", T, async () => {
    // b64=1 as the JSONP client sends it (it takes no binary; without it Node's JSONP
    // responses would carry a binary payload JSON.stringify'd as a Buffer object).
    const hs = unwrap((await get("EIO=3&transport=polling&j=3&b64=1")).body, "3");
    const sid = JSON.parse(hs.slice(hs.indexOf(":") + 2)).sid;
    const q = `EIO=3&transport=polling&j=3&b64=1&sid=${sid}`;
    const first = await get(q);
    assert.equal(first.body, `___eio[3](${JSON.stringify(payloadV3("40", '42["auth",{}]'))});`);

    const event = JSON.stringify(["message", "line 1\nline 2 \\n", "sep\u2028arator"]);
    assert.deepEqual(await post(q, payloadV3(`42${event}`)), { status: 200, body: "ok" });
    const back = await pollFor(q, "3", "message-back");
    assert.ok(back.includes(JSON.stringify(["message-back", "line 1\nline 2 \\n", "sep\u2028arator"])), back);

    const raw = (await fetch(url(q), { method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ d: payloadV3('451-["message",{"_placeholder":true,"num":0}]', "b4AQID") }) }));
    assert.equal(raw.status, 200);
    const bin = await pollFor(q, "3", "message-back");
    assert.ok(bin.includes("b4AQID"), `binary not sent back as base64: ${bin}`);
  });

  test("the response escapes U+2028 and U+2029 as Node does", T, async () => {
    const hs = unwrap((await get("EIO=3&transport=polling&j=0")).body, "0");
    const sid = JSON.parse(hs.slice(hs.indexOf(":") + 2)).sid;
    const q = `EIO=3&transport=polling&j=0&sid=${sid}`;
    await get(q);
    await post(q, payloadV3('42["message","\u2028\u2029"]'));
    let body;
    await until(async () => (body = (await get(q)).body).includes("message-back"), 8000, "message-back");
    assert.ok(body.includes("\\u2028\\u2029") && !/[\u2028\u2029]/.test(body), body);
  });
});
