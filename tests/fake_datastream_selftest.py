#!/usr/bin/python3
"""Self-test for tests/fake-datastream.

Run with Debian's interpreter (it has python3-websockets 10.4):

    /usr/bin/python3 tests/fake_datastream_selftest.py

Starts the fake server three times (plain ws with an API key, wss with a
throwaway self-signed certificate, and --demo), drives it with a real
websockets client and through the control socket, and checks every feature.
Exits 0 when everything passed; prints the first failure otherwise.
"""

import asyncio
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time

import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatusCode
from websockets.frames import Opcode
from websockets.legacy.client import WebSocketClientProtocol

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fake-datastream")
PYTHON = "/usr/bin/python3"
KEY = "sch_test_secret_key"
CLIENT_HEADERS = {
    "X-Schematic-Api-Key": KEY,
    "X-Schematic-Client": "schematic-streamd",
    "X-Schematic-Client-Version": "0.0.0-test",
    "X-Schematic-Datastream-Mode": "replicator",
}
QUIET = 0.4  # how long "no message arrives" is observed


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


def passed(what):
    print(f"  ok  {what}")


class FrameLogClient(WebSocketClientProtocol):
    """Client protocol that remembers the opcode of every frame it reads."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.opcodes = []

    async def read_frame(self, max_size):
        frame = await super().read_frame(max_size)
        self.opcodes.append(frame.opcode)
        return frame


class Server:
    """One fake-datastream process plus a control-socket connection."""

    def __init__(self, tmp, name, *extra):
        self.tmp = tmp
        self.control_path = os.path.join(tmp, f"{name}.ctl")
        self.port_file = os.path.join(tmp, f"{name}.port")
        self.record = os.path.join(tmp, f"{name}.rec")
        self.stderr_path = os.path.join(tmp, f"{name}.log")
        self.argv = [PYTHON, FAKE, "--listen", "127.0.0.1:0", "--control", self.control_path,
                     "--port-file", self.port_file, "--record", self.record, *extra]
        self.proc = None
        self.port = None
        self.reader = self.writer = None

    async def start(self):
        self.stderr = open(self.stderr_path, "w")
        self.proc = await asyncio.create_subprocess_exec(*self.argv, stderr=self.stderr)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.port_file):  # test-side wait for startup
            check(self.proc.returncode is None, f"server exited early, see {self.stderr_path}")
            check(time.monotonic() < deadline, "server did not write its port file")
            await asyncio.sleep(0.05)
        with open(self.port_file) as f:
            text = f.read()
        check(text.endswith("\n") and text.strip().isdigit(), f"port file content {text!r}")
        self.port = int(text)
        self.reader, self.writer = await asyncio.open_unix_connection(
            self.control_path, limit=64 * 1024 * 1024)
        return self

    async def raw(self, line):
        self.writer.write(line.encode() + b"\n")
        await self.writer.drain()
        return json.loads(await asyncio.wait_for(self.reader.readline(), 60))

    async def ctl(self, **req):
        return await self.raw(json.dumps(req))

    async def ok(self, **req):
        reply = await self.ctl(**req)
        check(reply.get("ok") is True, f"control {req.get('cmd')} failed: {reply}")
        return reply

    def url(self, path="/datastream", scheme="ws"):
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def stop(self, sig=signal.SIGTERM):
        if self.writer:
            self.writer.close()
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        rc = await asyncio.wait_for(self.proc.wait(), 15)
        self.stderr.close()
        return rc

    def events(self):
        with open(self.record) as f:
            return [json.loads(line) for line in f]


async def connect(url, headers=CLIENT_HEADERS, **kwargs):
    kwargs.setdefault("ping_interval", None)  # the test pings by hand
    kwargs.setdefault("max_size", None)
    kwargs.setdefault("open_timeout", 5)
    return await websockets.connect(url, extra_headers=headers, **kwargs)


async def recv_json(ws, timeout=5):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def expect_silence(ws, what):
    try:
        message = await asyncio.wait_for(ws.recv(), QUIET)
    except asyncio.TimeoutError:
        return
    raise Failure(f"{what}: unexpected message {message[:200]!r}")


async def expect_closed(ws, code, reason=None, timeout=10):
    try:
        message = await asyncio.wait_for(ws.recv(), timeout)
        raise Failure(f"expected close {code}, got message {message[:100]!r}")
    except ConnectionClosed:
        pass
    check(ws.close_code == code, f"close code {ws.close_code}, expected {code}")
    if reason is not None:
        check(ws.close_reason == reason, f"close reason {ws.close_reason!r}, expected {reason!r}")


def subscribe(entity_type, action="start", **extra):
    data = {"action": action, "entity_type": entity_type, **extra}
    if action is None:
        del data["action"]
    return json.dumps({"data": data})


# ---------------------------------------------------------------------------


async def test_plain(tmp):
    print("plain ws server with --api-key (reject mode close4001):")
    srv = await Server(tmp, "plain", "--api-key", KEY, "--flags", "5").start()

    c1 = await connect(srv.url(), create_protocol=FrameLogClient)
    await srv.ok(cmd="wait_connections", count=1, timeout=5)

    # Paged snapshot.
    await c1.send(subscribe("rulesengine.Flags", page_size=2))
    pages = [await recv_json(c1) for _ in range(3)]
    check([len(p["data"]) for p in pages] == [2, 2, 1], "page sizes 2,2,1")
    check([p["pagination"] for p in pages] == [
        {"has_more": True, "page": 1, "total": 5},
        {"has_more": True, "page": 2, "total": 5},
        {"has_more": False, "page": 3, "total": 5}], f"pagination {pages}")
    check(all(p["entity_type"] == "rulesengine.Flags" and p["message_type"] == "full"
              and p["entity_id"] is None and "stream_id" not in p for p in pages),
          "snapshot envelope")
    keys = [f["key"] for p in pages for f in p["data"]]
    check(len(set(keys)) == 5, "5 distinct flags across pages")
    await expect_silence(c1, "after the last page")
    passed("flags snapshot in pages of page_size 2 (2+2+1, has_more/page/total)")

    # Unpaged snapshot ("" action = start).
    await c1.send(subscribe("rulesengine.Flags", action=""))
    whole = await recv_json(c1)
    check("pagination" not in whole and len(whole["data"]) == 5, "unpaged snapshot")
    await c1.send(subscribe("rulesengine.Flags", action=None))
    whole = await recv_json(c1)
    check("pagination" not in whole and len(whole["data"]) == 5, "action absent")
    passed('no page_size -> one unpaginated message (action "" and absent)')

    # Company / user lookups, stop.
    await c1.send(subscribe("rulesengine.Company", keys={"company_id": "acme-123"}))
    company = await recv_json(c1)
    check(company["entity_type"] == "rulesengine.Company" and company["message_type"] == "full"
          and company["entity_id"] == company["data"]["id"]
          and company["entity_id"].startswith("comp_")
          and company["data"]["keys"] == {"company_id": "acme-123"}
          and "stream_id" not in company, f"company full {company}")
    await c1.send(subscribe("rulesengine.User", keys={"user_id": "u-42"}))
    user = await recv_json(c1)
    check(user["entity_type"] == "rulesengine.User" and user["data"]["keys"] == {"user_id": "u-42"}
          and user["entity_id"].startswith("user_"), f"user full {user}")
    await c1.send(subscribe("rulesengine.Company", action="stop", keys={"company_id": "acme-123"}))
    await expect_silence(c1, "after stop")
    passed("company/user start -> full entity carrying the keys; stop -> no answer")

    # Recording and the status/wait/frames/handshakes commands.
    reply = await srv.ok(cmd="wait_frames", count=6, timeout=5)
    check(reply["frames"] == 6, "wait_frames count")
    frames = (await srv.ok(cmd="frames"))["frames"]
    check(len(frames) == 6 and all(f["conn"] == frames[0]["conn"] for f in frames),
          "frames list")
    check(json.loads(frames[0]["text"])["data"]["page_size"] == 2, "frames keep the text")
    conn1 = frames[0]["conn"]
    hs = (await srv.ok(cmd="handshakes"))["handshakes"]
    check(len(hs) == 1 and hs[0]["path"] == "/datastream" and hs[0]["status"] == 101
          and hs[0]["headers"]["x-schematic-api-key"] == KEY
          and hs[0]["headers"]["x-schematic-datastream-mode"] == "replicator",
          f"handshakes {hs}")
    status = await srv.ok(cmd="status")
    check(status["connections"] == [conn1] and status["total_connections"] == 1
          and status["handshakes"] == 1 and status["listening"] and status["port"] == srv.port,
          f"status {status}")
    reply = await srv.ctl(cmd="wait_frames", count=99, timeout=0.2)
    check(reply["ok"] is False and "timeout" in reply["error"], "wait_frames timeout")
    reply = await srv.ctl(cmd="wait_connections", count=2, timeout=0.2)
    check(reply["ok"] is False and "timeout" in reply["error"], "wait_connections timeout")
    passed("status, wait_connections, wait_frames (incl. timeouts), frames, handshakes")

    # A wait that is satisfied later, from a second control connection.
    ctl2_reader, ctl2_writer = await asyncio.open_unix_connection(srv.control_path)
    ctl2_writer.write(b'{"cmd":"wait_frames","count":7,"timeout":5}\n')
    await ctl2_writer.drain()
    await asyncio.sleep(0.2)
    await c1.send("not json at all")
    reply = json.loads(await asyncio.wait_for(ctl2_reader.readline(), 5))
    check(reply == {"ok": True, "frames": 7}, f"deferred wait_frames {reply}")
    ctl2_writer.close()
    passed("wait_frames wakes up when a frame arrives (second control client)")

    # send / send_many.
    reply = await srv.ok(cmd="send", text='{"hello":1}', conn=conn1)
    check(reply["sent"] == 1 and reply["connections"] == [conn1], f"send reply {reply}")
    check(await c1.recv() == '{"hello":1}', "send to conn")
    await srv.ok(cmd="send", text="{invalid json")
    check(await c1.recv() == "{invalid json", "send of invalid JSON to all")
    reply = await srv.ok(cmd="send_many", texts=["a", "b", "c"])
    check([await c1.recv() for _ in range(3)] == ["a", "b", "c"], "send_many order")
    passed("send (one conn / all, invalid JSON verbatim), send_many in order")

    # send_generated.
    reply = await srv.ok(cmd="send_generated", count=50, size=1000)
    check(reply["sent"] == 50, f"send_generated reply {reply}")
    texts = [await asyncio.wait_for(c1.recv(), 5) for _ in range(50)]
    msgs = [json.loads(t) for t in texts]
    check([m["data"]["seq"] for m in msgs] == list(range(50)), "seq 0..49")
    check(all(len(t.encode()) == 1000 and "\n" not in t for t in texts),
          f"size 1000, one line: {sorted(set(len(t) for t in texts))}")
    check(all(m["entity_type"] == "rulesengine.Flag" and m["message_type"] == "full"
              and m["entity_id"] == m["data"]["id"] for m in msgs), "generated envelope")
    ids = [tuple(map(int, m["stream_id"].split("-"))) for m in msgs]
    check(all(a < b for a, b in zip(ids, ids[1:])), "stream_id increasing")
    await srv.ok(cmd="send_generated", count=3, size=600, pretty=True)
    texts = [await c1.recv() for _ in range(3)]
    check(all(t.count("\n") > 5 and len(t) == 600 for t in texts), "pretty, size 600")
    check([json.loads(t)["data"]["seq"] for t in texts] == [0, 1, 2], "pretty seq")
    await srv.ok(cmd="send_generated", count=1, size=10)
    check(json.loads(await c1.recv())["data"]["seq"] == 0, "size smaller than minimum")
    passed("send_generated: seq 0..N-1, exact size, increasing stream_id, pretty multi-line")

    # send_fragmented, including a split inside multi-byte UTF-8 sequences.
    text = json.dumps({"data": {"name": "Café Müller ☕ " * 20}, "entity_id": None,
                       "entity_type": "rulesengine.Flags", "message_type": "full"},
                      ensure_ascii=False)
    nbytes = len(text.encode())
    c1.opcodes.clear()
    reply = await srv.ok(cmd="send_fragmented", text=text, fragment_size=7)
    expected = -(-nbytes // 7)
    check(reply["fragments"] == expected, f"fragments {reply}")
    check(await c1.recv() == text, "fragmented message reassembled")
    check(c1.opcodes == [Opcode.TEXT] + [Opcode.CONT] * (expected - 1),
          f"wire frames {c1.opcodes[:3]}... ({len(c1.opcodes)})")
    c1.opcodes.clear()
    await srv.ok(cmd="send_fragmented", text="short", fragment_size=100)
    check(await c1.recv() == "short" and c1.opcodes == [Opcode.TEXT], "single fragment")
    passed(f"send_fragmented: one message of {nbytes} bytes arrived as {expected} frames "
           "(TEXT + CONT...), splits inside UTF-8 sequences")

    # send_binary, and a binary frame from the client.
    await srv.ok(cmd="send_binary", len=1000)
    data = await c1.recv()
    check(isinstance(data, bytes) and len(data) == 1000, "binary frame")
    await c1.send(b"\x00\x01\x02")
    passed("send_binary; client binary frame recorded (checked in the record below)")

    # Pings: answered, then ignored, then answered again.
    waiter = await c1.ping()
    await asyncio.wait_for(waiter, 2)
    check((await srv.ok(cmd="received_pings"))["count"] == 1, "ping counted")
    check(Opcode.PONG in c1.opcodes, "a PONG frame was on the wire")
    await srv.ok(cmd="set", ignore_pings=True)
    c1.opcodes.clear()
    waiter = await c1.ping(b"ignored")
    try:
        await asyncio.wait_for(asyncio.shield(waiter), 1.5)
        raise Failure("pong received although ignore_pings is on")
    except asyncio.TimeoutError:
        pass
    check(c1.opcodes == [], f"no frame at all came back: {c1.opcodes}")
    reply = await srv.ok(cmd="received_pings")
    check(reply["count"] == 2 and reply["by_conn"] == {str(conn1): 2}, f"pings {reply}")
    await srv.ok(cmd="set", ignore_pings=False)
    waiter2 = await c1.ping(b"answered")
    await asyncio.wait_for(waiter2, 2)
    check(c1.state.name == "OPEN", "connection survives")
    passed("pings answered; ignore_pings suppresses the pong (no pong in 1.5 s); "
           "received_pings counts them")

    # auto_snapshot off, send_snapshot, flags count.
    await srv.ok(cmd="set", auto_snapshot=False)
    await c1.send(subscribe("rulesengine.Flags", page_size=2))
    await c1.send(subscribe("rulesengine.Company", keys={"company_id": "x"}))
    await expect_silence(c1, "auto_snapshot off")
    reply = await srv.ok(cmd="send_snapshot", page_size=3)
    check(reply["pages"] == 2, "send_snapshot pages")
    pages = [await recv_json(c1) for _ in range(2)]
    check([p["pagination"]["has_more"] for p in pages] == [True, False], "send_snapshot paging")
    await srv.ok(cmd="send_snapshot")
    check("pagination" not in await recv_json(c1), "send_snapshot unpaged")
    reply = await srv.ok(cmd="set", auto_snapshot=True, flags=7)
    check(reply["settings"]["flags"] == 7 and reply["settings"]["auto_snapshot"], "set reply")
    await c1.send(subscribe("rulesengine.Flags"))
    check(len((await recv_json(c1))["data"]) == 7, "7 flags after set flags")
    passed("set auto_snapshot=false silences answers; send_snapshot paged/unpaged; set flags")

    # Malformed control requests keep the control connection usable.
    for line, fragment in [("this is not json", "not valid JSON"),
                           ("[1,2]", "JSON object"),
                           ('{"cmd":"explode"}', "unknown cmd"),
                           ('{"nocmd":1}', "unknown cmd"),
                           ('{"cmd":"send"}', "missing"),
                           ('{"cmd":"send","text":5}', "string"),
                           ('{"cmd":"send","text":"x","conn":999}', "not open"),
                           ('{"cmd":"set","reject":"bogus"}', "reject"),
                           ('{"cmd":"set","colour":"red"}', "unknown setting"),
                           ('{"cmd":"set","auto_snapshot":"yes"}', "true or false"),
                           ('{"cmd":"wait_frames","count":"x"}', "integer"),
                           ('{"cmd":"send_generated","count":-1}', ">= 0"),
                           ('{"cmd":"send_fragmented","text":"x","fragment_size":0}', ">= 1"),
                           ('{"cmd":"close","code":1006}', "cannot send close code"),
                           ('{"cmd":"drop","conn":12345}', "does not exist")]:
        reply = await srv.raw(line)
        check(reply["ok"] is False and fragment in reply["error"],
              f"malformed {line!r} -> {reply}")
    await srv.ok(cmd="status")
    passed("malformed control requests -> ok:false with an error, connection kept")

    # close with a code.
    await srv.ok(cmd="close", code=4002, reason="bye now")
    await expect_closed(c1, 4002, "bye now")
    passed("close code 4002 with reason reaches the client")

    # drop: TCP abort without close frame.
    c2 = await connect(srv.url())
    await srv.ok(cmd="wait_connections", count=2)
    reply = await srv.ok(cmd="drop")
    check(len(reply["dropped"]) == 1, f"drop {reply}")
    await expect_closed(c2, 1006)
    passed("drop aborts TCP (client sees 1006, no close frame)")

    # stall_handshake.
    await srv.ok(cmd="set", stall_handshake=True)
    before = (await srv.ok(cmd="status"))["handshakes"]
    stalled = asyncio.ensure_future(connect(srv.url(), open_timeout=2.5))
    for _ in range(50):
        status = await srv.ok(cmd="status")
        if status["stalled"]:
            break
        await asyncio.sleep(0.05)
    check(len(status["stalled"]) == 1 and status["handshakes"] == before + 1, f"stall {status}")
    check(not stalled.done(), "client still in the handshake")
    try:
        await stalled
        raise Failure("stalled handshake completed")
    except asyncio.TimeoutError:
        pass
    hs = (await srv.ok(cmd="handshakes"))["handshakes"][-1]
    check(hs["stalled"] is True and hs["status"] is None, f"stalled handshake record {hs}")
    # A second stalled client is released by drop.
    stalled = asyncio.ensure_future(connect(srv.url(), open_timeout=10))
    for _ in range(50):
        if (await srv.ok(cmd="status"))["stalled"]:
            break
        await asyncio.sleep(0.05)
    await srv.ok(cmd="drop")
    try:
        await asyncio.wait_for(stalled, 5)
        raise Failure("dropped stalled handshake completed")
    except asyncio.TimeoutError:
        raise Failure("drop did not end the stalled handshake")
    except (OSError, websockets.exceptions.InvalidMessage, EOFError):
        pass
    await srv.ok(cmd="set", stall_handshake=False)
    passed("stall_handshake: TCP accepted, no HTTP answer (client timed out after 2.5 s); "
           "drop ends a stalled one")

    # Rejections.
    async def expect_http(status_code, url=srv.url(), headers=CLIENT_HEADERS):
        try:
            ws = await connect(url, headers=headers)
            await ws.close()
            raise Failure(f"expected HTTP {status_code}, the upgrade succeeded")
        except InvalidStatusCode as exc:
            check(exc.status_code == status_code, f"HTTP {exc.status_code} != {status_code}")

    for mode, code in [("http401", 401), ("http403", 403), ("http500", 500)]:
        await srv.ok(cmd="set", reject=mode)
        await expect_http(code)
    await srv.ok(cmd="set", reject="close4001")
    ws = await connect(srv.url())
    await expect_closed(ws, 4001, "unauthorized")
    await srv.ok(cmd="set", reject="none")
    ws = await connect(srv.url(), headers={**CLIENT_HEADERS, "X-Schematic-Api-Key": "wrong"})
    await expect_closed(ws, 4001, "unauthorized")
    ws = await connect(srv.url(), headers={"X-Schematic-Client": "schematic-streamd"})
    await expect_closed(ws, 4001, "unauthorized")
    await expect_http(404, url=srv.url("/not-datastream"))
    hs = (await srv.ok(cmd="handshakes"))["handshakes"]
    check([h["status"] for h in hs[-7:]] == [401, 403, 500, 101, 101, 101, 404],
          f"handshake statuses {[h['status'] for h in hs]}")
    passed("reject http401/403/500 -> HTTP status; close4001 and wrong/missing key -> "
           "close 4001 'unauthorized'; other path -> 404")

    # stop_listening / start_listening.
    c3 = await connect(srv.url())
    reply = await srv.ok(cmd="stop_listening")
    check(reply["changed"] and not (await srv.ok(cmd="status"))["listening"], "stopped")
    try:
        await connect(srv.url())
        raise Failure("connected while not listening")
    except ConnectionRefusedError:
        pass
    await srv.ok(cmd="send", text="still here")
    check(await c3.recv() == "still here", "existing connection survives stop_listening")
    await srv.ok(cmd="close", code=1012, reason="restarting")
    await expect_closed(c3, 1012)
    reply = await srv.ok(cmd="start_listening")
    check(reply["changed"] and reply["port"] == srv.port, f"start_listening {reply}")
    check(not (await srv.ok(cmd="start_listening"))["changed"], "start twice")
    c4 = await connect(srv.url())
    await c4.send(subscribe("rulesengine.Flags"))
    check(len((await recv_json(c4))["data"]) == 7, "snapshot after restart")
    passed("stop_listening refuses new connections (ECONNREFUSED), keeps open ones; "
           "start_listening reopens the same port")

    # A client vanishing in the middle of a big send.
    total_before = (await srv.ok(cmd="status"))["total_connections"]
    big = asyncio.ensure_future(srv.ctl(cmd="send_generated", count=20000, size=4000))
    await c4.recv()
    c4.transport.abort()
    reply = await asyncio.wait_for(big, 30)
    check(reply["ok"] is True and reply["failed"] and reply["sent"] == 0, f"vanish {reply}")
    status = await srv.ok(cmd="status")
    check(status["connections"] == [] and status["total_connections"] == total_before,
          f"after vanish {status}")
    passed("client vanishing during send_generated: command returns, server fine")

    # send timeout while the client does not read: reply ok:false, sending continues.
    c5 = await connect(srv.url())
    c5.transport.pause_reading()
    reply = await srv.ctl(cmd="send_generated", count=3000, size=20000, timeout=1)
    check(reply["ok"] is False and "timed out" in reply["error"], f"send timeout {reply}")
    c5.transport.resume_reading()
    seen = [json.loads(await asyncio.wait_for(c5.recv(), 10))["data"]["seq"]
            for _ in range(3000)]
    check(seen == list(range(3000)), "all messages after resuming")
    passed("send_* timeout -> ok:false while the peer does not read; the rest follows")

    # SIGTERM with a client connected.
    c6 = await connect(srv.url())
    await srv.ok(cmd="wait_connections", count=total_before + 2)
    rc = await srv.stop(signal.SIGTERM)
    await expect_closed(c6, 1001)
    check(rc == 0, f"exit status {rc}")
    check(not os.path.exists(srv.control_path), "control socket removed")
    passed("SIGTERM: clients get 1001, exit 0, control socket removed")

    # The record file.
    events = srv.events()
    kinds = {e["event"] for e in events}
    check(kinds == {"handshake", "frame", "binary", "ping", "close"}, f"event kinds {kinds}")
    first = events[0]
    check(first["event"] == "handshake" and first["path"] == "/datastream"
          and first["headers"]["x-schematic-api-key"] == KEY and first["conn"] == conn1,
          f"first event {first}")
    check(sum(e["event"] == "frame" for e in events) >= 9, "frames recorded")
    check({"event": "binary", "conn": conn1, "len": 3} in events, "binary recorded")
    check(sum(e["event"] == "ping" for e in events) == 3, "pings recorded")
    codes = [e["code"] for e in events if e["event"] == "close"]
    check({4002, 1006, 4001, 1012, 1001} <= set(codes), f"close codes {codes}")
    passed(f"record file: {len(events)} events, kinds {sorted(kinds)}, close codes {codes}")


async def test_tls(tmp):
    print("wss server (--tls-cert, --no-page-size-honour, --reject-mode http401):")
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    srv = await Server(tmp, "tls", "--tls-cert", cert, "--tls-key", key, "--api-key", KEY,
                       "--reject-mode", "http401", "--no-page-size-honour").start()
    ctx = ssl.create_default_context(cafile=cert)
    ws = await connect(srv.url(scheme="wss"), ssl=ctx, create_protocol=FrameLogClient)
    await ws.send(subscribe("rulesengine.Flags", page_size=2))
    snapshot = await recv_json(ws)
    check("pagination" not in snapshot and len(snapshot["data"]) == 5, "unpaged over TLS")
    await expect_silence(ws, "page_size ignored")
    passed("wss handshake with the self-signed cert; page_size ignored when not honoured")
    await srv.ok(cmd="send_generated", count=200, size=5000)
    seqs = [json.loads(await ws.recv())["data"]["seq"] for _ in range(200)]
    check(seqs == list(range(200)), "generated over TLS")
    ws.opcodes.clear()
    await srv.ok(cmd="send_fragmented", text="x" * 1000, fragment_size=64)
    check(await ws.recv() == "x" * 1000 and len(ws.opcodes) == 16, "fragmented over TLS")
    passed("send_generated and send_fragmented over TLS")
    try:
        await connect(srv.url(scheme="wss"), ssl=ctx, headers={"X-Schematic-Api-Key": "nope"})
        raise Failure("wrong key accepted")
    except InvalidStatusCode as exc:
        check(exc.status_code == 401, f"status {exc.status_code}")
    passed("wrong key with --reject-mode http401 -> HTTP 401")
    try:
        await connect(srv.url(scheme="ws"), open_timeout=3)
        raise Failure("plain ws accepted by the wss server")
    except (OSError, EOFError, asyncio.TimeoutError, websockets.exceptions.InvalidMessage):
        pass
    rc = await srv.stop(signal.SIGTERM)
    await expect_closed(ws, 1001)
    check(rc == 0, f"exit status {rc}")
    passed("plain ws refused by the TLS listener; SIGTERM closes wss clients with 1001")


async def test_demo(tmp):
    print("demo server (--demo --flags 4):")
    srv = await Server(tmp, "demo", "--demo", "--flags", "4").start()
    ws = await connect(srv.url(), headers={})
    await expect_silence(ws, "demo before subscribing")
    await ws.send(subscribe("rulesengine.Flags", page_size=100))
    snapshot = await recv_json(ws)
    check(snapshot["pagination"] == {"has_more": False, "page": 1, "total": 4}, "demo snapshot")
    await ws.send(subscribe("rulesengine.Company", keys={"company_id": "c-1"}))
    mine = await recv_json(ws)
    check(mine["message_type"] == "full", "company full")
    flags = {f["id"]: f for f in snapshot["data"]}
    companies = {mine["entity_id"]}
    updates = []
    deadline = time.monotonic() + 15
    while len(updates) < 8 and time.monotonic() < deadline:
        updates.append(await recv_json(ws, timeout=5))
    check(len(updates) >= 8, "eight updates within 15 s")
    ids = [tuple(map(int, u["stream_id"].split("-"))) for u in updates]
    check(all(a < b for a, b in zip(ids, ids[1:])), "demo stream_ids increase")
    kinds = set()
    for u in updates:
        kinds.add((u["entity_type"], u["message_type"]))
        if u["entity_type"] == "rulesengine.Flag":
            check(u["entity_id"] in flags and "default_value" in u["data"], f"flag update {u}")
        else:
            check(u["entity_type"] == "rulesengine.Company", f"update type {u}")
            if u["message_type"] == "partial":
                check(u["entity_id"] in companies, "company partial only after its full")
                check(set(u["data"]) == {"id", "traits"}, f"company partial {u}")
            companies.add(u["entity_id"])
    passed(f"{len(updates)} live updates, increasing stream_id, kinds {sorted(kinds)}")
    rc = await srv.stop(signal.SIGINT)
    await expect_closed(ws, 1001)
    check(rc == 0, f"exit status {rc}")
    passed("SIGINT: exit 0")


def test_cli():
    print("command line:")
    r = subprocess.run([PYTHON, FAKE, "--listen", "nonsense"], capture_output=True, text=True)
    check(r.returncode == 2 and "HOST:PORT" in r.stderr, "bad --listen")
    r = subprocess.run([PYTHON, FAKE, "--listen", "127.0.0.1:0", "--tls-cert", "x"],
                       capture_output=True, text=True)
    check(r.returncode == 2 and "go together" in r.stderr, "cert without key")
    passed("bad arguments -> usage error (exit 2)")


async def main():
    tmp = tempfile.mkdtemp(prefix="fake-datastream-test.")
    try:
        test_cli()
        await test_plain(tmp)
        await test_tls(tmp)
        await test_demo(tmp)
    except Failure as exc:
        print(f"FAIL: {exc}\n(server logs in {tmp})")
        return 1
    shutil.rmtree(tmp)
    print("all fake-datastream self-tests passed")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
