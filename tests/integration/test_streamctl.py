#!/usr/bin/python3
"""schematic-streamctl against the real daemon and the fake datastream:
what each command prints, what the upstream receives, and the exit
statuses (0 ok, 1 error reply, 2 usage, 69 unreachable)."""

import json
import os
import re
import signal
import subprocess
import time

from harness import STREAMCTL, run, test, wait_for

FLAGS_START = {"data": {"action": "start", "entity_type": "rulesengine.Flags", "page_size": 100}}


def ready(env, *args):
    fake = env.fake()
    d = env.daemon(fake, *args)
    r = env.reader(d)
    r.wait_event("connected")
    return fake, d, r


def ok(out):
    assert out.returncode == 0, (out.returncode, out.stdout, out.stderr)
    return out.stdout


def wait_frames(fake, n):
    fake.ctl("wait_frames", count=n)
    return fake.frames()


@test
def test_status_readable_and_json(env):
    fake, d, r = ready(env)
    text = ok(env.streamctl("status", daemon=d))
    assert re.search(r"^state: +ready$", text, re.M), text
    assert re.search(r"^upstream: +ws://127\.0\.0\.1:%d/datastream$" % fake.port, text, re.M)
    assert re.search(r"^readers: +1$", text, re.M), text
    assert re.search(r"^  rulesengine\.Flags \(configured\)$", text, re.M), text
    assert re.search(r"^pid: +%d$" % d.pid, text, re.M), text
    raw = ok(env.streamctl("status", "--json", daemon=d))
    assert raw.count("\n") == 1
    reply = json.loads(raw)
    assert reply["ok"] is True and reply["status"]["state"] == "ready"
    # The environment names the socket when -s does not.
    out = env.streamctl("status", "-j", env=dict(os.environ, STREAMD_CONTROL_SOCKET=d.control_socket))
    assert json.loads(ok(out))["status"]["pid"] == d.pid


@test
def test_subscribe_and_unsubscribe_type_names(env):
    fake, d, r = ready(env)
    names = [("flag", "rulesengine.Flag"), ("company", "rulesengine.Company"),
             ("companies", "rulesengine.Companies"), ("user", "rulesengine.User"),
             ("users", "rulesengine.Users"), ("rulesengine.Company", "rulesengine.Company")]
    expect = [FLAGS_START]
    for i, (short, full) in enumerate(names):
        out = ok(env.streamctl("subscribe", short, "k=v%d" % i, daemon=d))
        assert out == "subscribed to %s k=v%d\n" % (full, i), out
        expect.append({"data": {"action": "start", "entity_type": full, "keys": {"k": "v%d" % i}}})
    assert wait_frames(fake, len(expect)) == expect
    out = ok(env.streamctl("subscribe", "flags", daemon=d))
    assert out == "subscribed to rulesengine.Flags (already subscribed)\n", out
    out = ok(env.streamctl("subscribe", "company", "b=2", "a=1", daemon=d))
    out = ok(env.streamctl("unsubscribe", "company", "a=1", "b=2", daemon=d))
    assert out == "unsubscribed from rulesengine.Company a=1 b=2\n", out
    frames = wait_frames(fake, len(expect) + 2)
    keys = {"a": "1", "b": "2"}
    assert frames[len(expect):] == [
        {"data": {"action": "start", "entity_type": "rulesengine.Company", "keys": keys}},
        {"data": {"action": "stop", "entity_type": "rulesengine.Company", "keys": keys}}], frames
    # A value may hold '=' and spaces: only the first '=' splits.
    ok(env.streamctl("subscribe", "user", "email=a=b c@example.com", daemon=d))
    frames = wait_frames(fake, len(expect) + 3)
    assert frames[-1]["data"]["keys"] == {"email": "a=b c@example.com"}, frames[-1]


@test
def test_error_replies_exit_1(env):
    fake, d, r = ready(env)
    out = env.streamctl("unsubscribe", "user", "user_id=nobody", daemon=d)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr == "schematic-streamctl: no such subscription\n", out.stderr
    out = env.streamctl("unsubscribe", "flags", daemon=d)
    assert out.returncode == 1 and "configuration" in out.stderr, out


@test
def test_send_and_send_while_down(env):
    fake, d, r = ready(env, "--max-reconnect-attempts", "0")
    out = ok(env.streamctl("send", '{ "data" : { "action" : "start", '
                           '"entity_type" : "rulesengine.Flag" } }', daemon=d))
    assert out == "sent\n"
    fake.ctl("wait_frames", count=2)
    assert fake.ctl("frames")["frames"][1]["text"] == \
        '{"data":{"action":"start","entity_type":"rulesengine.Flag"}}'
    fake.ctl("stop_listening")
    fake.ctl("drop")
    r.wait_event("disconnected")
    out = env.streamctl("send", '{"x":1}', daemon=d)
    assert out.returncode == 1 and out.stderr == "schematic-streamctl: not connected\n", out
    out = ok(env.streamctl("subscribe", "company", "company_id=acme", daemon=d))
    assert out == "subscribed to rulesengine.Company company_id=acme " \
                  "(pending: sent once connected)\n", out
    fake.ctl("start_listening")
    r.wait_event("connected", count=2, timeout=15)


@test
def test_ping(env):
    fake, d, r = ready(env)
    assert ok(env.streamctl("ping", daemon=d)) == "pong\n"


@test
def test_usage_errors_exit_2(env):
    fake, d, r = ready(env)
    cases = [
        (), ("bogus",), ("subscribe",), ("subscribe", "plans"), ("subscribe", "company", "novalue"),
        ("subscribe", "company", "=v"), ("subscribe", "company", "k="),
        ("subscribe", "company", "k=1", "k=2"), ("send",), ("send", "{not json"),
        ("send", "[1]"), ("send", "{}", "{}"), ("ping", "extra"), ("status", "--yaml"),
        ("tail", "--bogus"), ("--bogus", "status"), ("-s",),
    ]
    for args in cases:
        out = env.streamctl(*args, daemon=d)
        assert out.returncode == 2, (args, out.returncode, out.stderr)
        assert out.stderr.startswith("schematic-streamctl: "), (args, out.stderr)
        assert "--help" in out.stderr, (args, out.stderr)
    # Nothing of this reached the server.
    time.sleep(0.2)
    assert fake.frames() == [FLAGS_START]
    help_out = subprocess.run([STREAMCTL, "--help"], capture_output=True, text=True)
    assert help_out.returncode == 0 and "usage: schematic-streamctl" in help_out.stdout
    version = subprocess.run([STREAMCTL, "-V"], capture_output=True, text=True)
    assert version.returncode == 0 and re.match(r"^schematic-streamctl \d+\.\d+", version.stdout)


@test
def test_unreachable_exit_69(env):
    missing = os.path.join(env.dir, "nothing.sock")
    for args in (("-s", missing, "status"), ("-s", missing, "ping"),
                 ("tail", "-S", missing)):
        out = subprocess.run([STREAMCTL] + list(args), capture_output=True, text=True)
        assert out.returncode == 69, (args, out)
        assert "cannot connect to %s" % missing in out.stderr, out.stderr
    out = subprocess.run([STREAMCTL, "ping"], capture_output=True, text=True,
                         env=dict(os.environ, STREAMD_CONTROL_SOCKET=missing))
    assert out.returncode == 69 and missing in out.stderr, out


@test
def test_tail_prints_lines_as_they_come(env):
    fake, d, r = ready(env)
    tail = subprocess.Popen([STREAMCTL, "tail", "-S", d.stream_socket],
                            stdout=subprocess.PIPE, text=True)
    env.procs.append(tail)
    first = tail.stdout.readline()
    assert json.loads(first)["streamd"]["event"] == "connected", first
    fake.ctl("send", text='{ "a" : 1 }')
    assert tail.stdout.readline() == '{"a":1}\n'
    fake.ctl("send", text='{"b":[true,null]}')
    assert tail.stdout.readline() == '{"b":[true,null]}\n'
    d.signal(signal.SIGTERM)
    assert tail.wait(10) == 0
    assert tail.stdout.read() == ""


@test
def test_tail_pretty(env):
    fake, d, r = ready(env)
    tail = subprocess.Popen([STREAMCTL, "tail", "--pretty"], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, STREAMD_STREAM_SOCKET=d.stream_socket))
    env.procs.append(tail)

    def next_object():
        lines = [tail.stdout.readline()]
        while lines[-1] not in ("}\n", ""):
            lines.append(tail.stdout.readline())
        return "".join(lines)

    assert json.loads(next_object())["streamd"]["event"] == "connected"
    fake.ctl("send", text='{"entity_type":"rulesengine.Flag","data":{"key":"x"}}')
    assert next_object() == \
        '{\n  "entity_type": "rulesengine.Flag",\n  "data": {\n    "key": "x"\n  }\n}\n'
    d.signal(signal.SIGTERM)
    assert tail.wait(10) == 0


if __name__ == "__main__":
    run()
