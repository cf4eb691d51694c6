// Switchboard whiteboard demo.
//
// The page draws on one board: `?board=name` in its URL, the default board
// without it. Every stroke segment is drawn locally at once and sent to the
// server as a `drawing` event with coordinates normalised to 0..1 of the
// canvas size; the server stores it, answers its entry id and relays it to
// the board's other pages. A page that connects first asks for the board's
// history, page by page, while it keeps the live segments that arrive
// meanwhile; then it applies those newer than the history's last id (the
// seam: no gap, no duplicate). All segments are kept in memory so the board
// can be redrawn after a resize or a change of devicePixelRatio. See
// web/whiteboard/README.md for the full protocol.
//
// The socket is sioclient.js's small interface: in a binary built without
// `make assets` it is our own client; the bundled build maps it to the
// official socket.io-client (web/whiteboard/official.js).

import { connect } from "./sioclient.js";

/** Minimum time between two emitted segments of one stroke, in ms. */
const THROTTLE_MS = 10;
/** Pen width in CSS pixels. */
const LINE_WIDTH = 3;
/** Segments a page keeps (the server's default --max-board-entries); the oldest are dropped beyond it. */
const MAX_SEGMENTS = 20_000;
/** How long a history request may wait for its answer, in ms. */
const HISTORY_TIMEOUT_MS = 10_000;
/** Board names the server accepts. */
const BOARD_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** Text shown where a value is unknown. */
const UNKNOWN = "–";

const canvas = document.getElementById("board");
const ctx = canvas.getContext("2d");
const statusBar = document.querySelector(".status");
const nodeEl = document.getElementById("node-name");
const countEl = document.getElementById("client-count");
const stateEl = document.getElementById("conn-state");
const transportEl = document.getElementById("transport");
const boardEl = document.getElementById("board-name");
const clearButton = document.getElementById("clear");
const swatches = Array.from(document.querySelectorAll(".swatch[data-color]"));

// ---------------------------------------------------------------------------
// Status bar

/** Reads the node name the server rendered into the page, if it did. */
function initialNodeName() {
  const meta = document.querySelector('meta[name="switchboard-node"]');
  const name = meta ? meta.content.trim() : "";
  // An unrendered template (page served as a plain file) still holds the
  // placeholder; treat that as unknown until the server says hello.
  return name && name !== "{{NODE}}" ? name : "";
}

function setNode(name) {
  nodeEl.textContent = name || UNKNOWN;
  nodeEl.title = name || "";
}

function setCount(n) {
  countEl.textContent = Number.isInteger(n) && n >= 0 ? String(n) : UNKNOWN;
}

/** @param {"connected"|"disconnected"|"reconnecting"} state */
function setState(state) {
  stateEl.textContent = state;
  stateEl.dataset.state = state;
  statusBar.dataset.state = state;
}

function setTransport(name) {
  transportEl.textContent = name || UNKNOWN;
}

/** The board named by ?board=, or "" for the default board. */
function requestedBoard() {
  const name = new URLSearchParams(window.location.search).get("board") || "";
  return BOARD_NAME.test(name) ? name : "";
}
const board = requestedBoard();

function setBoard(name) {
  boardEl.textContent = name || "default";
  boardEl.title = name || "";
}

setBoard(board);
setNode(initialNodeName());
setCount(NaN);
setState("disconnected");
setTransport("");

// ---------------------------------------------------------------------------
// Palette

const HEX_COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
let color = "#1f2328";

function selectSwatch(button) {
  color = button.dataset.color;
  for (const b of swatches) {
    b.setAttribute("aria-pressed", b === button ? "true" : "false");
  }
}

for (const b of swatches) {
  // Set via the CSSOM so the page needs no inline styles.
  b.style.setProperty("--swatch", b.dataset.color);
  b.addEventListener("click", () => selectSwatch(b));
}
const preselected = swatches.find((b) => b.getAttribute("aria-pressed") === "true");
if (preselected) selectSwatch(preselected);
else if (swatches.length) selectSwatch(swatches[0]);

// ---------------------------------------------------------------------------
// Canvas: segments in memory, redrawn on resize

/**
 * Segments on the board, oldest first. id is the board entry id ("ms-seq"),
 * null for an own segment the server has not acknowledged yet.
 * @type {{id:string|null,x0:number,y0:number,x1:number,y1:number,color:string}[]}
 */
let segments = [];
let cssWidth = 0;
let cssHeight = 0;

function strokeSegment(s) {
  const x0 = s.x0 * cssWidth;
  const y0 = s.y0 * cssHeight;
  const x1 = s.x1 * cssWidth;
  const y1 = s.y1 * cssHeight;
  ctx.strokeStyle = s.color;
  ctx.fillStyle = s.color;
  if (x0 === x1 && y0 === y1) {
    // A tap: a zero-length line would not be painted, draw a dot instead.
    ctx.beginPath();
    ctx.arc(x0, y0, LINE_WIDTH / 2, 0, Math.PI * 2);
    ctx.fill();
    return;
  }
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1, y1);
  ctx.stroke();
}

function addSegment(s) {
  segments.push(s);
  if (segments.length > MAX_SEGMENTS * 1.1) {
    segments = segments.slice(segments.length - MAX_SEGMENTS);
    redraw();
    return;
  }
  strokeSegment(s);
}

function redraw() {
  ctx.clearRect(0, 0, cssWidth, cssHeight);
  for (const s of segments) strokeSegment(s);
}

function resize() {
  const dpr = window.devicePixelRatio || 1;
  const rect = canvas.getBoundingClientRect();
  cssWidth = rect.width;
  cssHeight = rect.height;
  const w = Math.max(1, Math.round(rect.width * dpr));
  const h = Math.max(1, Math.round(rect.height * dpr));
  if (canvas.width !== w) canvas.width = w; // resizing clears the bitmap
  if (canvas.height !== h) canvas.height = h;
  // Map CSS pixels to device pixels exactly (w and h were rounded).
  const sx = cssWidth > 0 ? w / cssWidth : dpr;
  const sy = cssHeight > 0 ? h / cssHeight : dpr;
  ctx.setTransform(sx, 0, 0, sy, 0, 0);
  ctx.lineWidth = LINE_WIDTH;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  redraw();
}

let resizeQueued = false;
function queueResize() {
  if (resizeQueued) return;
  resizeQueued = true;
  requestAnimationFrame(() => {
    resizeQueued = false;
    resize();
  });
}

// A change of devicePixelRatio (zoom, moving to another screen) does not
// always fire "resize"; watch it with a media query that is re-armed each time.
function watchPixelRatio() {
  const mq = window.matchMedia(`(resolution: ${window.devicePixelRatio || 1}dppx)`);
  mq.addEventListener(
    "change",
    () => {
      queueResize();
      watchPixelRatio();
    },
    { once: true },
  );
}

window.addEventListener("resize", queueResize);
if (window.visualViewport) window.visualViewport.addEventListener("resize", queueResize);
watchPixelRatio();
resize();

// ---------------------------------------------------------------------------
// Socket

const socket = connect({ auth: board ? { board } : {} });

// ---------------------------------------------------------------------------
// Board entries and the replay seam
//
// Entry ids are "ms-seq" strings, ordered as the board's log. While a page
// catches up (syncing), live entries wait in `pending`; once the history is
// in, only live entries after its last id (`seam`) are applied: older ones
// are in the history already. A clear sets `floor`: segments before it are
// gone, whichever order the clear and they arrive in.

const ZERO = "0-0";
let syncing = false;
let pending = [];
let seam = ZERO;
let floor = ZERO;
let generation = 0; // counts connections; a stale history loop stops
const ownWhileSyncing = new Set(); // ids of own segments acked while syncing

function parseId(id) {
  const i = typeof id === "string" ? id.indexOf("-") : -1;
  if (i <= 0) return null;
  const ms = Number(id.slice(0, i));
  const seq = Number(id.slice(i + 1));
  return Number.isSafeInteger(ms) && Number.isSafeInteger(seq) ? [ms, seq] : null;
}

/** Reports whether id a comes after id b. */
function after(a, b) {
  const x = parseId(a);
  const y = parseId(b);
  return x !== null && y !== null && (x[0] > y[0] || (x[0] === y[0] && x[1] > y[1]));
}

function isCoord(v) {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= 1;
}

/** Returns the segment of a "drawing" entry, or null for malformed input. */
function toSegment(msg) {
  if (
    !msg ||
    typeof msg !== "object" ||
    parseId(msg.id) === null ||
    !isCoord(msg.x0) ||
    !isCoord(msg.y0) ||
    !isCoord(msg.x1) ||
    !isCoord(msg.y1) ||
    typeof msg.color !== "string" ||
    !HEX_COLOR.test(msg.color)
  ) {
    return null;
  }
  return { id: msg.id, x0: msg.x0, y0: msg.y0, x1: msg.x1, y1: msg.y1, color: msg.color };
}

/** Applies a clear entry: every segment before it goes. */
function applyClear(id) {
  if (parseId(id) === null || !after(id, floor)) return;
  floor = id;
  segments = segments.filter((s) => s.id === null || after(s.id, floor));
  redraw();
}

/** Applies one entry, from the history or live. */
function applyEntry(msg) {
  if (msg && msg.clear === true) {
    applyClear(msg.id);
    return;
  }
  const s = toSegment(msg);
  // An own segment drawn while catching up is drawn already.
  if (s !== null && after(s.id, floor) && !ownWhileSyncing.has(s.id)) addSegment(s);
}

/** Handles a live entry: kept while syncing, applied if past the seam. */
function live(msg) {
  if (syncing) {
    pending.push(msg);
    return;
  }
  // No id: a stroke the board could not keep (its store was away): drawn, never in history.
  if (msg && (msg.id === undefined || after(msg.id, seam))) applyEntry(msg);
}

/** An own segment got its id: it goes if a clear came after it. */
function ownAcked(seg, id) {
  if (parseId(id) === null) return;
  seg.id = id;
  if (syncing) ownWhileSyncing.add(id);
  if (!after(id, floor)) {
    segments = segments.filter((s) => s !== seg);
    redraw();
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Reads the board's history page by page, then applies what waited. */
async function catchUp(gen) {
  let last = ZERO;
  for (;;) {
    let res;
    try {
      res = await socket.request("history", { after: last === ZERO ? "" : last }, HISTORY_TIMEOUT_MS);
    } catch {
      if (gen !== generation || !socket.connected) return;
      continue; // timed out while connected: ask again
    }
    if (gen !== generation) return;
    if (!res || typeof res !== "object" || !Array.isArray(res.entries)) {
      await sleep(1000); // the store failed: ask again
      continue;
    }
    for (const e of res.entries) {
      applyEntry(e);
      if (e && parseId(e.id) !== null) last = e.id;
    }
    if (!res.more) break;
  }
  seam = last;
  syncing = false;
  ownWhileSyncing.clear();
  const waiting = pending;
  pending = [];
  for (const msg of waiting) live(msg);
  document.documentElement.dataset.synced = "true";
}

socket.on("connect", () => {
  setState("connected");
  if (socket.recovered) return; // the server replays what was missed
  // A new session: the board is read again from its start.
  generation++;
  segments = [];
  seam = floor = ZERO;
  pending = [];
  ownWhileSyncing.clear();
  syncing = true;
  delete document.documentElement.dataset.synced;
  redraw();
  catchUp(generation);
});

socket.on("disconnect", () => {
  // socket.active is true when the client will try to reconnect by itself,
  // false after an explicit disconnect by either side.
  setState(socket.active ? "reconnecting" : "disconnected");
  setTransport("");
  setCount(NaN);
});

socket.on("connect_error", () => {
  setState(socket.active ? "reconnecting" : "disconnected");
});

socket.on("transport", setTransport);
socket.on("reconnect_attempt", () => setState("reconnecting"));

socket.on("hello", (msg) => {
  if (!msg || typeof msg !== "object") return;
  if (typeof msg.node === "string" && msg.node !== "") setNode(msg.node);
  if (typeof msg.clients === "number") setCount(msg.clients);
  if (typeof msg.board === "string") setBoard(msg.board === "default" && !board ? "" : msg.board);
});

socket.on("clients", (msg) => {
  if (msg && typeof msg === "object" && typeof msg.count === "number") setCount(msg.count);
});

socket.on("drawing", live);
socket.on("clear", (msg) => live(msg && typeof msg === "object" ? { id: msg.id, clear: true } : null));

// ---------------------------------------------------------------------------
// Drawing with pointer events (mouse, pen, touch)

let activePointer = null; // id of the pointer currently drawing
let last = null; // last emitted point, normalised
let lastSentAt = 0;
let moved = false;

function toNormalised(e) {
  const rect = canvas.getBoundingClientRect();
  const clamp = (v) => Math.min(1, Math.max(0, v));
  return {
    x: clamp((e.clientX - rect.left) / rect.width),
    y: clamp((e.clientY - rect.top) / rect.height),
  };
}

/** Round to 5 decimals: sub-pixel precision on any screen, smaller payloads. */
function round(v) {
  return Math.round(v * 1e5) / 1e5;
}

function emitSegment(from, to) {
  const s = { x0: round(from.x), y0: round(from.y), x1: round(to.x), y1: round(to.y), color };
  const seg = { id: null, ...s };
  addSegment(seg);
  socket.emit("drawing", s, (id) => ownAcked(seg, id));
}

clearButton.addEventListener("click", () => socket.emit("clear"));

canvas.addEventListener("pointerdown", (e) => {
  if (activePointer !== null) return; // one stroke at a time (ignore a second finger)
  if (e.pointerType === "mouse" && e.button !== 0) return;
  e.preventDefault();
  activePointer = e.pointerId;
  try {
    canvas.setPointerCapture(e.pointerId);
  } catch {
    // capture is best effort
  }
  last = toNormalised(e);
  lastSentAt = performance.now();
  moved = false;
});

canvas.addEventListener("pointermove", (e) => {
  if (e.pointerId !== activePointer) return;
  e.preventDefault();
  const now = performance.now();
  if (now - lastSentAt < THROTTLE_MS) return;
  const p = toNormalised(e);
  if (p.x === last.x && p.y === last.y) return;
  emitSegment(last, p);
  last = p;
  lastSentAt = now;
  moved = true;
});

function endStroke(e) {
  if (e.pointerId !== activePointer) return;
  if (e.type === "pointerup") {
    const p = toNormalised(e);
    // Flush the tail skipped by the throttle, or leave a dot for a tap.
    if (!moved || p.x !== last.x || p.y !== last.y) emitSegment(last, p);
  }
  activePointer = null;
  last = null;
}

canvas.addEventListener("pointerup", endStroke);
canvas.addEventListener("pointercancel", endStroke);
canvas.addEventListener("lostpointercapture", (e) => {
  if (e.pointerId === activePointer) {
    activePointer = null;
    last = null;
  }
});
canvas.addEventListener("contextmenu", (e) => e.preventDefault());
