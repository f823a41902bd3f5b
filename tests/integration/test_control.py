#!/usr/bin/python3
"""The control socket, end to end: the real daemon, the fake datastream,
real control and stream clients. Each command must make the upstream
receive exactly the expected frame; bad input must get an error reply and
leave the stream flowing."""

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

from harness import API_KEY, Control, run, test, wait_for

FLAGS_START = {"data": {"action": "start", "entity_type": "rulesengine.Flags", "page_size": 100}}


def ready(env, *args, **kw):
    """A fake upstream, a daemon, a reader that has seen 'connected', and a
    control client."""
    fake = env.fake()
    d = env.daemon(fake, *args, **kw)
    r = env.reader(d)
    r.wait_event("connected")
    return fake, d, r, env.control(d)


def frames_before_marker(fake, ctl, tag):
    """Every frame the fake received before a marker sent now with `send`:
    the connection is one ordered channel, so all earlier frames are in."""
    ctl.ok(cmd="send", message={"marker": tag})
    wait_for(lambda: {"marker": tag} in fake.frames(), what="marker %r" % tag)
    frames = fake.frames()
    return frames[:frames.index({"marker": tag})]


def conn_frames(fake, conn):
    return [json.loads(f["text"]) for f in fake.ctl("frames", conn=conn)["frames"]]


def company(cid, action="start", **extra):
    data = {"action": action, "entity_type": "rulesengine.Company", "keys": {"company_id": cid}}
    data.update(extra)
    return {"data": data}


def wait_state(ctl, state, timeout=10):
    return wait_for(lambda: ctl.ok(cmd="status")["status"]["state"] == state, timeout,
                    "state %s" % state)


@test
def test_subscribe_sends_one_start_frame(env):
    fake, d, r, ctl = ready(env)
    reply = ctl.request(cmd="subscribe", entity_type="rulesengine.Company",
                        keys={"company_id": "acme-123"}, id="req-1")
    assert reply == {"ok": True, "id": "req-1", "pending": False, "duplicate": False}, reply
    assert frames_before_marker(fake, ctl, 1) == [FLAGS_START, company("acme-123")]
    # The server's answer to the lookup reaches the readers.
    wait_for(lambda: any(m.get("entity_type") == "rulesengine.Company" for m in r.data()),
             what="company message on the stream")


@test
def test_subscribe_deduplicated(env):
    fake, d, r, ctl = ready(env)
    ctl.ok(cmd="subscribe", entity_type="rulesengine.Company",
           keys={"company_id": "acme", "region": "eu"})
    # The same subscription: short type name, keys in another order.
    again = ctl.ok(cmd="subscribe", entity_type="company",
                   keys={"region": "eu", "company_id": "acme"})
    assert again["duplicate"] is True and again["pending"] is False, again
    # Identical to the configured flags subscription: not sent again.
    flags = ctl.ok(cmd="subscribe", entity_type="rulesengine.Flags")
    assert flags["duplicate"] is True, flags
    # From another connection: still the same subscription.
    other = env.control(d)
    assert other.ok(cmd="subscribe", entity_type="rulesengine.Company",
                    keys={"company_id": "acme", "region": "eu"})["duplicate"] is True
    # "keys":{} is no keys.
    ctl.ok(cmd="subscribe", entity_type="users")
    assert ctl.ok(cmd="subscribe", entity_type="users", keys={})["duplicate"] is True
    frames = frames_before_marker(fake, ctl, "dedup")
    assert frames == [FLAGS_START,
                      {"data": {"action": "start", "entity_type": "rulesengine.Company",
                                "keys": {"company_id": "acme", "region": "eu"}}},
                      {"data": {"action": "start", "entity_type": "rulesengine.Users"}}], frames
    subs = ctl.ok(cmd="status")["status"]["subscriptions"]
    assert subs == [{"entity_type": "rulesengine.Flags", "configured": True},
                    {"entity_type": "rulesengine.Company",
                     "keys": {"company_id": "acme", "region": "eu"}, "configured": False},
                    {"entity_type": "rulesengine.Users", "configured": False}], subs


@test
def test_unsubscribe_sends_stop_and_forgets(env):
    fake, d, r, ctl = ready(env)
    ctl.ok(cmd="subscribe", entity_type="rulesengine.User", keys={"user_id": "u-42"})
    reply = ctl.request(cmd="unsubscribe", entity_type="user", keys={"user_id": "u-42"}, id=7)
    assert reply == {"ok": True, "id": 7, "sent": True}, reply
    unknown = ctl.request(cmd="unsubscribe", entity_type="user", keys={"user_id": "u-42"})
    assert unknown["ok"] is False and "no such subscription" in unknown["error"], unknown
    configured = ctl.request(cmd="unsubscribe", entity_type="rulesengine.Flags")
    assert configured["ok"] is False and "configuration" in configured["error"], configured
    user = {"action": "start", "entity_type": "rulesengine.User", "keys": {"user_id": "u-42"}}
    stop = dict(user, action="stop")
    assert frames_before_marker(fake, ctl, 1) == [FLAGS_START, {"data": user}, {"data": stop}]
    assert ctl.ok(cmd="status")["status"]["subscriptions"] == [
        {"entity_type": "rulesengine.Flags", "configured": True}]
    # Forgotten: not sent again on the next connection.
    fake.ctl("close", code=1001)
    r.wait_event("connected", count=2)
    assert conn_frames(fake, 2) == [FLAGS_START]


@test
def test_send_is_verbatim_compact(env):
    fake, d, r, ctl = ready(env)
    message = {"data": {"action": "start", "entity_type": "rulesengine.Flag",
                        "keys": {"flag_key": "dark-mode"}},
               "extra": [1, -2, 2.5, True, None, "é \"q\" \\ \t", {}], "z": {"b": 1, "a": 2}}
    line = '{"cmd": "send", "id": 3, "message": %s}\n' % json.dumps(message, indent=2).replace("\n", " ")
    ctl.send_raw(line.encode())
    assert ctl.reply() == {"ok": True, "id": 3}
    frames_before_marker(fake, ctl, 1)
    texts = [f["text"] for f in fake.ctl("frames")["frames"]]
    assert texts[1] == json.dumps(message, separators=(",", ":"), ensure_ascii=False), texts[1]
    assert "send (%d bytes): sent" % len(texts[1].encode()) in d.logs()


@test
def test_send_while_down_fails_subscribe_is_pending(env):
    fake, d, r, ctl = ready(env, "--max-reconnect-attempts", "0")
    fake.ctl("stop_listening")
    fake.ctl("drop")
    r.wait_event("disconnected")
    reply = ctl.request(cmd="send", message={"x": 1}, id="s")
    assert reply == {"ok": False, "id": "s", "error": "not connected"}, reply
    pending = ctl.ok(cmd="subscribe", entity_type="company", keys={"company_id": "later"})
    assert pending["pending"] is True and pending["duplicate"] is False, pending
    again = ctl.ok(cmd="subscribe", entity_type="company", keys={"company_id": "later"})
    assert again["pending"] is True and again["duplicate"] is True, again
    # Made and dropped while down: nothing to stop, never sent.
    ctl.ok(cmd="subscribe", entity_type="user", keys={"user_id": "gone"})
    assert ctl.ok(cmd="unsubscribe", entity_type="user", keys={"user_id": "gone"})["sent"] is False
    assert ctl.ok(cmd="status")["status"]["state"] in ("backoff", "connecting")
    ctl.close()  # the subscription outlives the connection that made it
    frames_so_far = len(fake.frames())
    fake.ctl("start_listening")
    r.wait_event("connected", count=2, timeout=15)
    assert len(fake.frames()) == frames_so_far + 2
    assert conn_frames(fake, 2) == [FLAGS_START, company("later")]


@test
def test_resubscribe_after_upstream_restart_with_replay_from(env):
    fake = env.fake()
    d = env.daemon(fake, "--max-reconnect-attempts", "0")
    r = env.reader(d)
    r.wait_event("connected")
    ctl = env.control(d)
    ctl.ok(cmd="subscribe", entity_type="company", keys={"company_id": "acme"})
    ctl.ok(cmd="subscribe", entity_type="companies")
    # A reconnection before any stream_id was relayed: no replay_from.
    fake.ctl("close", code=1001)
    r.wait_event("connected", count=2)
    companies = {"data": {"action": "start", "entity_type": "rulesengine.Companies"}}
    assert conn_frames(fake, 2) == [FLAGS_START, company("acme"), companies]
    # Messages with stream ids are relayed; the last one is remembered.
    for i in (5, 6):
        fake.ctl("send", text=json.dumps({
            "data": {"id": "comp_1"}, "entity_id": "comp_1", "entity_type": "rulesengine.Company",
            "message_type": "partial", "stream_id": "1750000000000-%d" % i}))
    wait_for(lambda: len([m for m in r.data() if m.get("stream_id")]) == 2, what="two updates")
    status = ctl.ok(cmd="status")["status"]
    assert status["last_stream_id"] == "1750000000000-6", status
    # The server restarts: a new process on the same port.
    port = fake.port
    fake.stop()
    r.wait_event("disconnected", count=2)
    fake2 = env.fake("--listen", "127.0.0.1:%d" % port)
    assert fake2.port == port
    r.wait_event("connected", count=3, timeout=15)
    frames = fake2.frames()
    assert frames == [FLAGS_START, company("acme", replay_from="1750000000000-6"),
                      {"data": {"action": "start", "entity_type": "rulesengine.Companies",
                                "replay_from": "1750000000000-6"}}], frames
    assert ctl.ok(cmd="status")["status"]["reconnects"] >= 2


@test
def test_reload_clears_replay_position(env):
    fake, d, r, ctl = ready(env)
    ctl.ok(cmd="subscribe", entity_type="companies")
    fake.ctl("send", text='{"data":{},"entity_id":"c","entity_type":"rulesengine.Company",'
                          '"message_type":"partial","stream_id":"1750000000000-1"}')
    fake.ctl("send", text='{"data":null,"entity_id":null,"entity_type":"rulesengine.Companies",'
                          '"message_type":"reload"}')
    wait_for(lambda: any(m.get("message_type") == "reload" for m in r.data()), what="reload")
    fake.ctl("close", code=1001)
    r.wait_event("connected", count=2)
    assert conn_frames(fake, 2) == [FLAGS_START, {"data": {"action": "start",
                                                           "entity_type": "rulesengine.Companies"}}]


BAD_REQUESTS = [
    (b'{"cmd":"status"', None, "invalid JSON"),
    (b'not json at all', None, "invalid JSON"),
    (b'{"cmd":"ping"} trailing', None, "invalid JSON"),
    (b'\xff\xfe{}', None, "invalid JSON"),
    (b'[1,2]', None, "must be a JSON object"),
    (b'"status"', None, "must be a JSON object"),
    (b'42', None, "must be a JSON object"),
    (b'null', None, "must be a JSON object"),
    (b'{}', None, 'missing "cmd"'),
    (b'{"id":1}', 1, 'missing "cmd"'),
    (b'{"cmd":7,"id":"x"}', "x", '"cmd" must be a string'),
    (b'{"cmd":"frobnicate","id":[1]}', [1], 'unknown command "frobnicate"'),
    (b'{"cmd":"STATUS"}', None, "unknown command"),
    (b'{"cmd":"subscribe","id":{"a":1}}', {"a": 1}, 'missing "entity_type"'),
    (b'{"cmd":"subscribe","entity_type":3}', None, '"entity_type" must be a string'),
    (b'{"cmd":"subscribe","entity_type":"rulesengine.Plans"}', None,
     'unknown entity_type "rulesengine.Plans"'),
    (b'{"cmd":"subscribe","entity_type":"company","keys":[]}', None, '"keys" must be an object'),
    (b'{"cmd":"subscribe","entity_type":"company","keys":{"company_id":5}}', None,
     '"keys" must map'),
    (b'{"cmd":"subscribe","entity_type":"company","keys":{"company_id":""}}', None,
     '"keys" must map'),
    (b'{"cmd":"subscribe","entity_type":"company","key":{"company_id":"a"}}', None,
     'unknown field "key" for subscribe'),
    (b'{"cmd":"unsubscribe"}', None, 'missing "entity_type"'),
    (b'{"cmd":"unsubscribe","entity_type":"user","keys":{"user_id":"nobody"}}', None,
     "no such subscription"),
    (b'{"cmd":"send"}', None, 'missing "message"'),
    (b'{"cmd":"send","message":"{\\"a\\":1}"}', None, '"message" must be a JSON object'),
    (b'{"cmd":"send","message":[1]}', None, '"message" must be a JSON object'),
    (b'{"cmd":"ping","extra":true}', None, 'unknown field "extra" for ping'),
    (b'{"cmd":"status","entity_type":"flags"}', None, 'unknown field "entity_type" for status'),
]


@test
def test_bad_input_gets_errors_stream_keeps_flowing(env):
    fake, d, r, ctl = ready(env)
    base = len(r.data())
    for i, (line, rid, text) in enumerate(BAD_REQUESTS):
        fake.ctl("send", text='{"seq":%d}' % i)
        ctl.send_raw(line + b"\n")
        reply = ctl.reply()
        assert reply.get("ok") is False, (line, reply)
        assert text in reply["error"], (line, reply)
        assert reply.get("id") == rid and ("id" in reply) == (rid is not None), (line, reply)
        assert set(reply) <= {"ok", "id", "error"}, reply
    # The connection is still open and answers.
    assert ctl.request(cmd="ping", id="after") == {"ok": True, "id": "after"}
    n = len(BAD_REQUESTS)
    r.wait_data(base + n)
    assert r.data()[base:] == [{"seq": i} for i in range(n)]
    assert r.events("disconnected") == []
    assert d.running()
    # Nothing but the flags subscription and the marker reached the server.
    assert frames_before_marker(fake, ctl, "end") == [FLAGS_START]


@test
def test_line_too_long_error_then_closed(env):
    fake, d, r, ctl = ready(env, "--control-line-max", "1KiB")
    # Exactly the limit is fine (padded with white space).
    exact = b'{"cmd":"ping","id":"exact"}'
    exact += b" " * (1024 - len(exact))
    ctl.send_raw(exact + b"\n")
    assert ctl.reply() == {"ok": True, "id": "exact"}
    # One byte more: an error reply, then EOF; the lines before it count.
    over = b'{"cmd":"ping"}' + b" " * (1025 - 14)
    ctl.send_raw(b'{"cmd":"ping","id":1}\n' + over + b'\n{"cmd":"ping","id":2}\n')
    assert ctl.reply() == {"ok": True, "id": 1}
    reply = ctl.reply()
    assert reply["ok"] is False and "control_line_max (1024 bytes)" in reply["error"], reply
    assert ctl.at_eof()
    # A line that never ends is cut off just the same.
    c2 = env.control(d)
    c2.send_raw(b"x" * 5000)
    reply = c2.reply()
    assert reply["ok"] is False and "control_line_max" in reply["error"], reply
    assert c2.at_eof()
    assert d.running()
    env.control(d).ok(cmd="ping")


@test
def test_default_line_max_64k(env):
    fake, d, r, ctl = ready(env)
    big = {"cmd": "send", "message": {"blob": "b" * (65536 - 60)}}
    line = json.dumps(big).encode()
    line += b" " * (65536 - len(line))
    ctl.send_raw(line + b"\n")
    assert ctl.reply() == {"ok": True}
    ctl.send_raw(line + b" \n")
    assert "65536 bytes" in ctl.reply()["error"]
    assert ctl.at_eof()


@test
def test_max_control_clients(env):
    fake, d, r, c1 = ready(env, "--max-control-clients", "2")
    c2 = env.control(d)
    c2.ok(cmd="ping")
    c3 = env.control(d)
    reply = c3.reply()
    assert reply["ok"] is False and "max_control_clients is 2" in reply["error"], reply
    assert c3.at_eof()
    d.wait_log("max_control_clients (2) reached")
    assert c1.ok(cmd="status")["status"]["control_clients"] == 2
    c2.close()
    wait_for(lambda: c1.ok(cmd="status")["status"]["control_clients"] == 1,
             what="closed connection to be counted")
    env.control(d).ok(cmd="ping")


@test
def test_half_close_with_socat(env):
    fake, d, r, ctl = ready(env)
    out = subprocess.run("printf '{\"cmd\":\"status\"}\\n' | socat - UNIX-CONNECT:%s" % d.control_socket,
                         shell=True, capture_output=True, timeout=10)
    assert out.returncode == 0, out
    reply = json.loads(out.stdout)
    assert reply["ok"] is True and reply["status"]["state"] == "ready", reply
    # Several requests, the last without its newline: all answered, in order.
    out = subprocess.run("printf '{\"cmd\":\"ping\",\"id\":1}\\n\\n{\"cmd\":\"nope\"}\\n"
                         "{\"cmd\":\"ping\",\"id\":3}' | socat - UNIX-CONNECT:%s" % d.control_socket,
                         shell=True, capture_output=True, timeout=10)
    lines = [json.loads(l) for l in out.stdout.splitlines()]
    assert lines[0] == {"ok": True, "id": 1} and lines[1]["ok"] is False and \
        lines[2] == {"ok": True, "id": 3} and len(lines) == 3, lines
    # Python's own half-close: shutdown(SHUT_WR), then read to EOF.
    c = Control(d.control_socket)
    c.send_raw(b'{"cmd":"ping","id":"a"}\n{"cmd":"ping","id":"b"}\n')
    c.sock.shutdown(socket.SHUT_WR)
    assert c.reply() == {"ok": True, "id": "a"}
    assert c.reply() == {"ok": True, "id": "b"}
    assert c.at_eof()
    c.close()
    wait_for(lambda: ctl.ok(cmd="status")["status"]["control_clients"] == 1,
             what="half-closed connections to be closed")


@test
def test_pipelined_requests_answered_in_order(env):
    fake, d, r, ctl = ready(env)
    ctl.send_raw(b"".join(b'{"cmd":"ping","id":%d}\n' % i for i in range(500)))
    for i in range(500):
        assert ctl.reply() == {"ok": True, "id": i}


@test
def test_client_not_reading_replies_is_throttled(env):
    fake, d, r, ctl = ready(env)
    for i in range(50):
        ctl.ok(cmd="subscribe", entity_type="company", keys={"company_id": "c%03d" % i})
    # 3 MB of requests (padded to 1 KiB), whose replies (~4 KiB each) are
    # not read for a while: far more than the socket buffers hold.
    n = 3000
    ctl.sock.settimeout(60)
    request = lambda i: (b'{"cmd":"status","id":%d}' % i).ljust(1023) + b"\n"
    writer = threading.Thread(target=lambda: ctl.send_raw(
        b"".join(request(i) for i in range(n))), daemon=True)
    writer.start()
    time.sleep(1.0)
    # The daemon stopped reading from this client and serves others.
    assert writer.is_alive(), "the daemon read everything without the replies being read"
    fake.ctl("send", text='{"meanwhile":1}')
    wait_for(lambda: {"meanwhile": 1} in r.data(), what="stream to keep flowing")
    env.control(d).ok(cmd="ping")
    for i in range(n):
        reply = ctl.reply()
        assert reply["id"] == i and reply["ok"] is True
    writer.join(10)
    assert not writer.is_alive()


@test
def test_status_fields(env):
    fake, d, r, ctl = ready(env)
    base = len(r.data())  # the snapshot, unless it came before the reader
    fake.ctl("send", text='{"entity_type":"rulesengine.Flag","stream_id":"1750000000000-9"}')
    r.wait_data(base + 1)
    st = ctl.ok(cmd="status")["status"]
    rfc3339 = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"
    assert st["state"] == "ready"
    assert st["url"] == "ws://127.0.0.1:%d/datastream" % fake.port
    assert re.match(rfc3339, st["connected_since"]), st
    assert re.match(rfc3339, st["last_message"]), st
    assert st["last_stream_id"] == "1750000000000-9"
    assert st["reconnects"] == 0 and st["consecutive_failures"] == 0
    assert st["messages_in"] == 2 and st["bytes_in"] > 0 and st["messages_dropped"] == 0
    assert st["readers"] == 1 and st["readers_cut_off"] == 0
    assert st["control_clients"] == 1
    assert st["subscriptions"] == [{"entity_type": "rulesengine.Flags", "configured": True}]
    assert st["last_error"] is None
    assert st["pid"] == d.pid
    assert re.match(r"^\d+\.\d+\.\d+", st["version"])
    assert "next_attempt_in_ms" not in st
    env.reader(d)
    fake.ctl("send_binary", len=10)
    wait_for(lambda: ctl.ok(cmd="status")["status"]["readers"] == 2, what="2 readers")
    wait_for(lambda: ctl.ok(cmd="status")["status"]["messages_dropped"] == 1, what="a drop")
    # Down: backoff, with the reason and the time to the next attempt.
    fake.ctl("stop_listening")
    fake.ctl("drop")
    st = wait_for(lambda: (lambda s: s if s["state"] == "backoff" else None)(
        ctl.ok(cmd="status")["status"]), what="backoff")
    assert st["connected_since"] is None and st["last_error"], st
    assert 0 <= st["next_attempt_in_ms"] <= 1000, st
    assert API_KEY not in json.dumps(st)


@test
def test_commands_logged_with_peer_credentials(env):
    fake, d, r, ctl = ready(env)
    ctl.ok(cmd="subscribe", entity_type="company", keys={"company_id": "acme\nforged"})
    ctl.request(cmd="unsubscribe", entity_type="user", keys={"user_id": "x"})
    ctl.ok(cmd="send", message={"a": 1})
    ctl.ok(cmd="status")
    prefix = "control pid %d uid %d: " % (os.getpid(), os.getuid())
    d.wait_log(prefix + "subscribe rulesengine.Company company_id=acme\\x0aforged: sent")
    d.wait_log(prefix + "unsubscribe rulesengine.User user_id=x: no such subscription")
    d.wait_log(prefix + "send (7 bytes): sent")
    assert "status" not in d.logs().split("control pid")[-1]


@test
def test_max_subscriptions(env):
    fake, d, r, ctl = ready(env, "--max-subscriptions", "2")
    ctl.ok(cmd="subscribe", entity_type="user", keys={"user_id": "1"})
    ctl.ok(cmd="subscribe", entity_type="user", keys={"user_id": "2"})
    full = ctl.request(cmd="subscribe", entity_type="user", keys={"user_id": "3"})
    assert full["ok"] is False and "max_subscriptions is 2" in full["error"], full
    ctl.ok(cmd="unsubscribe", entity_type="user", keys={"user_id": "1"})
    ctl.ok(cmd="subscribe", entity_type="user", keys={"user_id": "3"})


@test
def test_control_socket_file(env):
    fake = env.fake()
    d = env.daemon(fake, "--socket-mode", "0600")
    st = os.stat(d.control_socket)
    assert st.st_mode & 0o777 == 0o600, oct(st.st_mode)
    # A second daemon on the same sockets is refused.
    d2 = env.daemon(fake, "--stream-socket", os.path.join(env.dir, "other.sock"),
                    wait_socket=False)
    assert d2.wait_exit() == 1
    assert "control socket" in d2.logs() and "in use by a running daemon" in d2.logs()
    assert not os.path.exists(os.path.join(env.dir, "other.sock"))
    # A stale file is replaced; a clean exit removes it.
    d.proc.kill()
    d.proc.wait()
    assert os.path.exists(d.control_socket)
    d3 = env.daemon(fake)
    env.control(d3).ok(cmd="ping")
    d3.signal(signal.SIGTERM)
    assert d3.wait_exit() == 0
    assert not os.path.exists(d3.control_socket)


@test
def test_control_socket_can_be_disabled(env):
    fake = env.fake()
    d = env.daemon(fake, "--control-socket", "")
    env.reader(d).wait_event("connected")
    assert not os.path.exists(d.control_socket)
    assert "control socket none" in d.logs()


if __name__ == "__main__":
    run()
