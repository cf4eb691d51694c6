// Loopback TCP ports for the servers the suites start.
//
// Listening on port 0 and closing yields a port of the kernel's ephemeral
// range, the pool every other port-0 listener and every outbound
// connection on the machine draws from: another process can take it before
// the started server binds it. freePort picks at random below that range
// and checks the port is free (the Go helpers do the same:
// internal/freeport).
import { readFileSync } from "node:fs";
import net from "node:net";

const LOWEST = 10000;

function ephemeralStart() {
  try {
    const start = parseInt(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8"), 10);
    return Number.isFinite(start) ? start : 32768;
  } catch {
    return 32768;
  }
}

/** Resolves with the port once a listener on 127.0.0.1:port opened and closed, or null. */
function tryListen(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.unref();
    s.once("error", () => resolve(null));
    s.listen(port, "127.0.0.1", () => {
      const got = s.address().port;
      s.close(() => resolve(got));
    });
  });
}

/** A loopback TCP port free when checked, from below the ephemeral range when there is room. */
export async function freePort() {
  const top = ephemeralStart();
  for (let i = 0; i < 100 && top - LOWEST >= 1000; i++) {
    const port = await tryListen(LOWEST + Math.floor(Math.random() * (top - LOWEST)));
    if (port !== null) return port;
  }
  const port = await tryListen(0);
  if (port === null) throw new Error("freePort: cannot listen on 127.0.0.1");
  return port;
}
