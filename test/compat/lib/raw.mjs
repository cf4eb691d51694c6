// Minimal raw Engine.IO v4 clients (HTTP long-polling and WebSocket) for the few tests that
// must control the wire directly: a client that stops answering pings, or that has no GET
// pending. Packets are handled as Engine.IO text strings ("0{...}", "40", "42[...]", "2", ...).
import WebSocket from "ws";

const SEP = "\x1e";

export class RawPolling {
  /**
   * @param {string} base e.g. http://127.0.0.1:1234 ; path e.g. /socket.io/
   * @param {string} query extra query parameters for every request, e.g. "&a=1&a=2"
   */
  constructor(base, path = "/socket.io/", query = "") {
    this.base = base;
    this.path = path;
    this.query = query;
    this.sid = null;
    this.handshake = null;
    this.controllers = new Set();
    this.n = 0;
  }

  url(extra = "") {
    const sid = this.sid ? `&sid=${encodeURIComponent(this.sid)}` : "";
    return `${this.base}${this.path}?EIO=4&transport=polling&t=raw${this.n++}${sid}${this.query}${extra}`;
  }

  async request(method, body, ms) {
    const ac = new AbortController();
    this.controllers.add(ac);
    const timer = setTimeout(() => ac.abort(new Error(`raw ${method} timed out after ${ms} ms`)), ms);
    try {
      const res = await fetch(this.url(), {
        method,
        body,
        headers: body !== undefined ? { "content-type": "text/plain;charset=UTF-8" } : {},
        signal: ac.signal,
      });
      const text = await res.text();
      return { status: res.status, text };
    } finally {
      clearTimeout(timer);
      this.controllers.delete(ac);
    }
  }

  /** Handshake; returns the parsed open packet. */
  async open(ms = 10_000) {
    const { status, text } = await this.request("GET", undefined, ms);
    if (status !== 200 || !text.startsWith("0{")) throw new Error(`bad handshake: ${status} ${text}`);
    this.handshake = JSON.parse(text.slice(1).split(SEP)[0]);
    this.sid = this.handshake.sid;
    return this.handshake;
  }

  /** One GET; returns {status, packets}. Bounded by `ms`. */
  async get(ms = 10_000) {
    const { status, text } = await this.request("GET", undefined, ms);
    return { status, packets: status === 200 ? text.split(SEP) : [], text };
  }

  /** POST packets (strings); returns {status, text}. */
  async post(packets, ms = 10_000) {
    return this.request("POST", packets.join(SEP), ms);
  }

  /**
   * Connects the Socket.IO namespace "/" (POST "40") and GETs until the CONNECT reply;
   * returns the socket id. Extra packets seen on the way are kept in this.pending.
   */
  async connectSocketIO(ms = 10_000) {
    this.pending = [];
    const r = await this.post(["40"], ms);
    if (r.status !== 200) throw new Error(`POST 40 failed: ${r.status} ${r.text}`);
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const { status, packets } = await this.get(ms);
      if (status !== 200) throw new Error(`GET failed: ${status}`);
      for (const p of packets) {
        if (p.startsWith("40{")) this.socketId = JSON.parse(p.slice(2)).sid;
        else this.pending.push(p);
      }
      if (this.socketId) return this.socketId;
    }
    throw new Error("no CONNECT reply");
  }

  close() {
    for (const ac of this.controllers) ac.abort(new Error("closed"));
    this.controllers.clear();
  }
}

/** A raw WebSocket speaking Engine.IO text packets, with a message queue. */
export class RawWebSocket {
  constructor(url) {
    this.ws = new WebSocket(url);
    this.queue = [];
    this.waiters = [];
    this.closed = false;
    this.ws.on("error", () => {});
    this.ws.on("message", (data, isBinary) => {
      const msg = isBinary ? data : data.toString();
      const w = this.waiters.shift();
      if (w) w.resolve(msg);
      else this.queue.push(msg);
    });
    this.closedP = new Promise((resolve) => {
      this.ws.on("close", (code) => {
        this.closed = true;
        for (const w of this.waiters.splice(0)) w.reject(new Error("websocket closed"));
        resolve(code);
      });
    });
    this.openP = new Promise((resolve, reject) => {
      this.ws.once("open", resolve);
      this.ws.once("error", reject);
      this.ws.once("close", () => reject(new Error("closed before open")));
    });
  }

  opened(ms = 10_000) {
    return withTimeout(this.openP, ms, "websocket open");
  }

  /** Next message (string for text frames, Buffer for binary frames). */
  next(ms = 10_000) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.closed) return Promise.reject(new Error("websocket closed"));
    return withTimeout(
      new Promise((resolve, reject) => this.waiters.push({ resolve, reject })),
      ms,
      "websocket message",
    );
  }

  /** Skips messages until one satisfies `pred`; returns it. */
  async nextMatching(pred, ms = 10_000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("no matching websocket message");
      const m = await this.next(left);
      if (pred(m)) return m;
    }
  }

  send(s) {
    this.ws.send(s);
  }

  /** Resolves with the close code, or rejects after `ms`. */
  waitClosed(ms = 10_000) {
    return withTimeout(this.closedP, ms, "websocket close");
  }

  close() {
    try {
      this.ws.terminate();
    } catch {}
  }
}

function withTimeout(p, ms, what) {
  let t;
  return Promise.race([
    p,
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

/** ws://host:port from http://host:port */
export const wsBase = (httpUrl) => httpUrl.replace(/^http/, "ws");
