// The socket interface of internal/whiteboard/web/sioclient.js over the
// official socket.io-client: build.mjs bundles this module in place of
// sioclient.js, so the page `make assets` builds speaks through the
// official client (HTTP long-polling first, then the upgrade to WebSocket,
// connection state recovery when the server has it on).

import { io } from "socket.io-client";

/** Events of the Manager rather than of the socket. */
const MANAGER_EVENTS = new Set(["reconnect_attempt"]);

/** Connects to the page's own server; see sioclient.js for the interface. */
export function connect(opts) {
  const socket = io(opts);
  return {
    on(event, fn) {
      if (event === "transport") {
        socket.on("connect", () => {
          const engine = socket.io.engine;
          fn(engine.transport.name);
          engine.once("upgrade", (transport) => fn(transport.name));
        });
      } else if (MANAGER_EVENTS.has(event)) {
        socket.io.on(event, fn);
      } else {
        socket.on(event, fn);
      }
    },
    emit: (event, ...args) => socket.emit(event, ...args),
    request: (event, arg, ms) => socket.timeout(ms).emitWithAck(event, arg),
    get connected() {
      return socket.connected;
    },
    get active() {
      return socket.active;
    },
    get recovered() {
      return socket.recovered;
    },
  };
}
