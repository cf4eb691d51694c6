// A small Socket.IO client: what the whiteboard page needs, no more, so that
// a binary built without `make assets` (plain `go build` or `go install`)
// serves a working page. The bundled build replaces this module with
// web/whiteboard/official.js, the same interface over the official
// socket.io-client.
//
// The interface main.js uses:
//
//   const conn = connect({ auth });   // same origin, path /socket.io/
//   conn.on(event, fn)                // server events, and "connect",
//                                     // "disconnect" (reason), "connect_error"
//                                     // (Error), "transport" (name),
//                                     // "reconnect_attempt" (n)
//   conn.emit(event, ...args[, ack])  // buffered while disconnected
//   conn.request(event, arg, ms)      // a Promise of the ack's first value
//   conn.connected, conn.active, conn.recovered
//
// Engine.IO v4: a WebSocket first; when it cannot open (no open packet, an
// error, or nothing within OPEN_TIMEOUT_MS, as behind a proxy without
// WebSocket), HTTP long-polling, whose payloads join packets with \x1e. The
// server pings; a page that hears nothing for pingInterval + pingTimeout
// closes the connection ("ping timeout"). Socket.IO v5 on the default
// namespace: CONNECT with the auth object, events, acks, CONNECT_ERROR,
// DISCONNECT. Text only: the page sends and receives no binary. After a
// lost connection it reconnects, waiting 1 s, 2 s, 4 s, then 5 s between
// attempts, each wait varied by up to half at random.

const PATH = "/socket.io/";
const SEPARATOR = "\x1e";
const OPEN_TIMEOUT_MS = 10_000;
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 5000;
const RETRY_JITTER = 0.5;
/** Names the page's own handlers use: never taken from the server. */
const LOCAL_EVENTS = new Set(["connect", "connect_error", "disconnect", "transport", "reconnect_attempt"]);

function engineURL(transport, sid) {
  const u = new URL(PATH, window.location.href);
  if (transport === "websocket") u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.searchParams.set("EIO", "4");
  u.searchParams.set("transport", transport);
  if (sid) u.searchParams.set("sid", sid);
  if (transport === "polling") u.searchParams.set("t", Date.now().toString(36) + Math.random().toString(36).slice(2, 6));
  return u.toString();
}

/**
 * One Engine.IO connection. on.open() once the handshake is in, on.message(text)
 * for each message, then exactly one of on.failed(reason) (it never opened)
 * or on.closed(reason).
 */
class Engine {
  constructor(on) {
    this.on = on;
    this.state = "opening"; // then "open", then "closed"
    this.transport = "";
    this.sid = "";
    this.heartbeat = 0;
    this.timer = 0;
    this.send = () => {}; // (packets: string[]) once a transport is up
    this.stop = () => {};
  }

  open() {
    if (typeof WebSocket === "function") this.openWebSocket();
    else this.openPolling();
  }

  openWebSocket() {
    let ws;
    try {
      ws = new WebSocket(engineURL("websocket"));
    } catch {
      this.openPolling();
      return;
    }
    let heard = false;
    const giveUp = () => {
      clearTimeout(timeout);
      ws.onmessage = ws.onerror = ws.onclose = null;
      ws.close();
      if (this.state === "opening") this.openPolling();
    };
    const timeout = setTimeout(giveUp, OPEN_TIMEOUT_MS);
    ws.onmessage = (e) => {
      if (typeof e.data !== "string") return;
      if (!heard) {
        heard = true;
        clearTimeout(timeout);
        this.transport = "websocket";
        this.send = (packets) => packets.forEach((p) => ws.send(p));
        this.stop = () => ws.close();
      }
      this.receive(e.data);
    };
    ws.onerror = ws.onclose = () => (heard ? this.close("transport close") : giveUp());
  }

  openPolling() {
    this.transport = "polling";
    const abort = new AbortController();
    const queue = [];
    let posting = false;
    const request = async (init) => {
      const res = await fetch(engineURL("polling", this.sid), { cache: "no-store", signal: abort.signal, ...init });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return res.text();
    };
    const post = async () => {
      if (posting || queue.length === 0 || this.state === "closed") return;
      posting = true;
      try {
        await request({ method: "POST", body: queue.splice(0).join(SEPARATOR), headers: { "Content-Type": "text/plain;charset=UTF-8" } });
      } catch {
        this.close("transport error");
        return;
      }
      posting = false;
      post();
    };
    const poll = async () => {
      while (this.state !== "closed") {
        let body;
        try {
          body = await request({});
        } catch {
          this.close("transport error");
          return;
        }
        for (const p of body.split(SEPARATOR)) {
          this.receive(p);
          if (this.state === "closed") return;
        }
      }
    };
    this.send = (packets) => {
      queue.push(...packets);
      post();
    };
    this.stop = () => {
      abort.abort();
      // Tell the server, best effort: the session then ends at once.
      if (this.sid) fetch(engineURL("polling", this.sid), { method: "POST", body: "1", keepalive: true }).catch(() => {});
    };
    poll();
  }

  receive(p) {
    switch (p[0]) {
      case "0": {
        let hs;
        try {
          hs = JSON.parse(p.slice(1));
        } catch {
          this.close("parse error");
          return;
        }
        this.sid = hs.sid;
        this.heartbeat = hs.pingInterval + hs.pingTimeout;
        this.state = "open";
        this.alive();
        this.on.open();
        return;
      }
      case "2": // ping
        this.alive();
        this.send(["3"]);
        return;
      case "4":
        if (this.state === "open") this.on.message(p.slice(1));
        return;
      case "6": // noop
        return;
      case "1":
        this.close("transport close");
        return;
      default:
        this.close("parse error");
    }
  }

  /** Re-arms the heartbeat: the server pings again within its interval + timeout. */
  alive() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.close("ping timeout"), this.heartbeat);
  }

  close(reason) {
    if (this.state === "closed") return;
    const opened = this.state === "open";
    this.state = "closed";
    clearTimeout(this.timer);
    this.stop();
    if (opened) this.on.closed(reason);
    else this.on.failed(reason);
  }
}

/** A Socket.IO socket on the default namespace, reconnecting by itself. */
class Socket {
  constructor(auth) {
    this.auth = auth;
    this.handlers = new Map();
    this.acks = new Map(); // id -> { done(args), fail(err) }
    this.nextID = 0;
    this.outbox = []; // packets emitted while disconnected
    this.inbox = []; // events received before the CONNECT reply
    this.connected = false;
    this.active = true; // false once the server refused or ended the socket
    this.recovered = false; // no connection state recovery here
    this.transport = "";
    this.attempts = 0;
    this.retry = 0;
    this.engine = null;
    // Connect after the caller has registered its handlers.
    setTimeout(() => this.open(), 0);
  }

  on(event, fn) {
    if (!this.handlers.has(event)) this.handlers.set(event, []);
    this.handlers.get(event).push(fn);
  }

  fire(event, ...args) {
    for (const fn of this.handlers.get(event) || []) fn(...args);
  }

  emit(event, ...args) {
    const packet = { data: [event, ...args] };
    if (typeof args[args.length - 1] === "function") {
      const fn = packet.data.pop();
      packet.id = this.nextID++;
      this.acks.set(packet.id, { done: (values) => fn(...values) });
    }
    this.send(packet);
  }

  request(event, arg, ms) {
    return new Promise((resolve, reject) => {
      const packet = { id: this.nextID++, data: [event, arg] };
      const timer = setTimeout(() => {
        this.acks.delete(packet.id);
        this.outbox = this.outbox.filter((p) => p !== packet);
        reject(new Error("operation has timed out"));
      }, ms);
      const settle = (fn, v) => {
        clearTimeout(timer);
        fn(v);
      };
      this.acks.set(packet.id, { done: (values) => settle(resolve, values[0]), fail: (err) => settle(reject, err) });
      this.send(packet);
    });
  }

  send(packet) {
    if (this.connected) this.engine.send(["42" + (packet.id ?? "") + JSON.stringify(packet.data)]);
    else this.outbox.push(packet);
  }

  open() {
    const engine = new Engine({
      open: () => engine.send(["40" + JSON.stringify(this.auth)]),
      message: (text) => engine === this.engine && this.receive(text),
      failed: (reason) => engine === this.engine && this.lost(reason),
      closed: (reason) => engine === this.engine && this.lost(reason),
    });
    this.engine = engine;
    engine.open();
  }

  receive(text) {
    const type = text[0];
    let i = 1;
    if (text[i] === "/") return; // another namespace's packet: not ours
    let id = "";
    while (text[i] >= "0" && text[i] <= "9") id += text[i++];
    let data;
    try {
      data = i < text.length ? JSON.parse(text.slice(i)) : undefined;
    } catch {
      this.engine.close("parse error");
      return;
    }
    switch (type) {
      case "0": // CONNECT
        this.connected = true;
        this.attempts = 0;
        this.transport = this.engine.transport;
        for (const p of this.outbox.splice(0)) this.send(p);
        this.fire("connect");
        this.fire("transport", this.transport);
        for (const args of this.inbox.splice(0)) this.event(args);
        return;
      case "2": // EVENT
        if (this.connected) this.event(data);
        else this.inbox.push(data);
        return;
      case "3": {
        // ACK
        const ack = this.acks.get(Number(id));
        this.acks.delete(Number(id));
        if (ack && Array.isArray(data)) ack.done(data);
        return;
      }
      case "4": // CONNECT_ERROR: a middleware refused; no retry
        this.end();
        this.fire("connect_error", new Error(data && data.message ? data.message : "connect error"));
        return;
      case "1": // DISCONNECT by the server; no retry
        this.end();
        this.dropAcks();
        this.fire("disconnect", "io server disconnect");
        return;
      default:
        this.engine.close("parse error");
    }
  }

  event(args) {
    if (Array.isArray(args) && typeof args[0] === "string" && !LOCAL_EVENTS.has(args[0])) this.fire(...args);
  }

  /** Stops for good: the server refused or ended the socket. */
  end() {
    this.active = false;
    this.connected = false;
    this.transport = "";
    const engine = this.engine;
    this.engine = null;
    engine.close("forced close");
  }

  /** The connection is gone: fail the acks it owed, then try again. */
  lost(reason) {
    const was = this.connected;
    this.connected = false;
    this.transport = "";
    this.dropAcks();
    if (was) this.fire("disconnect", reason);
    else this.fire("connect_error", new Error(reason));
    const wait = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** this.attempts) * (1 + RETRY_JITTER * (2 * Math.random() - 1));
    this.attempts++;
    this.retry = setTimeout(() => {
      this.fire("reconnect_attempt", this.attempts);
      this.open();
    }, wait);
  }

  /** Acks of packets sent on a lost connection never come; buffered ones may. */
  dropAcks() {
    for (const [id, ack] of this.acks) {
      if (this.outbox.some((p) => p.id === id)) continue;
      this.acks.delete(id);
      if (ack.fail) ack.fail(new Error("socket has been disconnected"));
    }
  }
}

/** Connects to the page's own server; see the interface at the top. */
export function connect({ auth = {} } = {}) {
  return new Socket(auth);
}
