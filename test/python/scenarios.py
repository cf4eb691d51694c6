"""Scenarios of Debian's python-socketio client against a server of the
compatibility contract (test/compat/CONTRACT.md): the Go compat server or
Node's reference server.

    /usr/bin/python3 test/python/scenarios.py URL MODE FLAVOR

MODE is polling, websocket or default (polling, then the upgrade); FLAVOR
is threading (socketio.Client) or asyncio (socketio.AsyncClient). Each
scenario prints one line, "ok NAME" or "FAIL NAME: why"; the exit status
is the number of failures. Every wait has a timeout: a scenario that does
not get its answer fails, it never hangs.
"""

import asyncio
import sys
import threading

import socketio

WAIT = 10  # seconds any one answer may take


def transports(mode):
    return {"polling": ["polling"], "websocket": ["websocket"], "default": ["polling", "websocket"]}[mode]


def check(cond, why):
    if not cond:
        raise AssertionError(why)


class Inbox:
    """Events received by a client, by name; a waiter for each."""

    def __init__(self):
        self.cond = threading.Condition()
        self.got = {}

    def put(self, event, args):
        with self.cond:
            self.got.setdefault(event, []).append(args)
            self.cond.notify_all()

    def take(self, event):
        with self.cond:
            ok = self.cond.wait_for(lambda: self.got.get(event), WAIT)
            check(ok, "no %r event within %d s" % (event, WAIT))
            return self.got[event].pop(0)


def listen(sio, inbox, events, namespace="/"):
    for name in events:
        sio.on(name, lambda *args, _n=name: inbox.put(_n, args), namespace=namespace)


# The scenarios. Each gets a connect function: connect(namespaces, auth)
# returns (client, inbox), connected, with its events recorded.

EVENTS = ["auth", "message-back", "news", "nsp"]


def scenario_connect(connect):
    sio, inbox = connect(["/"], None)
    check(inbox.take("auth") == ({},), "auth of a CONNECT without payload")
    check(len(sio.get_sid("/") or "") == 20, "socket id %r" % sio.get_sid("/"))


def scenario_emit(connect):
    sio, inbox = connect(["/"], None)
    sio.emit("message", ("text", 1, {"a": [1, 2]}, None))
    check(inbox.take("message-back") == ("text", 1, {"a": [1, 2]}, None), "relayed arguments")


def scenario_binary(connect):
    sio, inbox = connect(["/"], None)
    sio.emit("message", (b"\x00\x01\xff", {"nested": b"\x02"}))
    back = inbox.take("message-back")
    check(back == (b"\x00\x01\xff", {"nested": b"\x02"}), "binary relayed: %r" % (back,))


def scenario_ack(connect):
    sio, _ = connect(["/"], None)
    got = sio.call("message-with-ack", ("a", 2, b"\x07"), timeout=WAIT)
    check(got == ("a", 2, b"\x07"), "ack arguments %r" % (got,))


def scenario_server_ack(connect):
    sio, _ = connect(["/"], None)
    sio.on("ping-me", lambda x: x * 2)
    got = sio.call("server-ack", {"event": "ping-me", "args": [21], "timeout": WAIT * 1000}, timeout=WAIT)
    check(got == {"ok": True, "value": 42}, "the server's ack %r" % (got,))


def scenario_rooms(connect):
    sio, inbox = connect(["/"], None)
    check(sio.call("join", "python-room", timeout=WAIT) is True, "join")
    sio.call("broadcast", {"to": "python-room", "event": "news", "args": ["to the room"]}, timeout=WAIT)
    check(inbox.take("news") == ("to the room",), "broadcast to the room")


def scenario_namespace(connect):
    sio, inbox = connect(["/custom"], {"token": "x"})
    check(inbox.take("auth") == ({"token": "x"},), "auth on /custom")


def scenario_middleware_error(connect):
    try:
        connect(["/restricted"], {"token": "wrong"})
    except socketio.exceptions.ConnectionError as e:
        check("not authorized" in str(e), "refusal %r" % str(e))
        return
    raise AssertionError("/restricted accepted a wrong token")


def scenario_server_disconnect(connect):
    sio, inbox = connect(["/"], None)
    gone = threading.Event()
    sio.on("disconnect", gone.set)
    sio.emit("disconnect-me", True)
    check(gone.wait(WAIT), "no disconnect after disconnect-me")


SCENARIOS = [(name[len("scenario_"):], f) for name, f in sorted(globals().items()) if name.startswith("scenario_")]


def run_threading(url, mode):
    clients = []

    def connect(namespaces, auth):
        sio = socketio.Client(reconnection=False)
        inbox = Inbox()
        errors = []
        for nsp in namespaces:
            listen(sio, inbox, EVENTS, nsp)
            sio.on("connect_error", lambda data, _e=errors: _e.append(data), namespace=nsp)
        clients.append(sio)
        try:
            sio.connect(url, namespaces=namespaces, transports=transports(mode), auth=auth, wait_timeout=WAIT)
        except socketio.exceptions.ConnectionError as e:
            raise socketio.exceptions.ConnectionError("%s %r" % (e, errors)) from e
        return sio, inbox

    failures = 0
    for name, f in SCENARIOS:
        try:
            f(connect)
            print("ok threading/%s" % name, flush=True)
        except Exception as e:  # a failed scenario, whatever it raised
            failures += 1
            print("FAIL threading/%s: %s: %s" % (name, type(e).__name__, e), flush=True)
        for sio in clients:
            sio.disconnect()
        clients.clear()
    return failures


async def run_asyncio(url, mode):
    """The basic exchanges with socketio.AsyncClient."""
    failures = 0

    async def one(name, coro):
        nonlocal failures
        try:
            await asyncio.wait_for(coro, WAIT * 2)
            print("ok asyncio/%s" % name, flush=True)
        except Exception as e:
            failures += 1
            print("FAIL asyncio/%s: %s: %s" % (name, type(e).__name__, e), flush=True)

    async def exchanges():
        sio = socketio.AsyncClient(reconnection=False)
        back = asyncio.Queue()
        sio.on("message-back", lambda *args: back.put_nowait(args))
        await sio.connect(url, namespaces=["/", "/custom"], transports=transports(mode), wait_timeout=WAIT)
        try:
            await sio.emit("message", ("text", b"\x00\xff"))
            got = await asyncio.wait_for(back.get(), WAIT)
            check(got == ("text", b"\x00\xff"), "relayed %r" % (got,))
            got = await sio.call("message-with-ack", ("a", 1), timeout=WAIT)
            check(got == ("a", 1), "ack %r" % (got,))
            check(len(sio.get_sid("/custom") or "") == 20, "a socket on /custom")
        finally:
            await sio.disconnect()

    async def refused():
        sio = socketio.AsyncClient(reconnection=False)
        try:
            await sio.connect(url, namespaces=["/restricted"], transports=transports(mode), auth={"token": "no"},
                              wait_timeout=WAIT)
        except socketio.exceptions.ConnectionError:
            return
        finally:
            await sio.disconnect()
        raise AssertionError("/restricted accepted a wrong token")

    await one("exchanges", exchanges())
    await one("middleware_error", refused())
    return failures


def main():
    url, mode, flavor = sys.argv[1:4]
    if flavor == "asyncio":
        failures = asyncio.run(run_asyncio(url, mode))
    else:
        failures = run_threading(url, mode)
    sys.exit(min(failures, 100))


if __name__ == "__main__":
    main()
