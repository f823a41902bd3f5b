#!/usr/bin/python3
"""The daemon core, end to end: the real daemon, the fake datastream and
real Unix-socket readers. One test per behaviour a user relies on."""

import json
import os
import re
import signal
import socket
import subprocess
import time

from harness import API_KEY, STREAMD, SkipTest, run, test, wait_for


def ready(env, *args, fake_args=(), **kw):
    """A fake upstream, a daemon, and a reader that has seen 'connected'."""
    fake = env.fake(*fake_args)
    d = env.daemon(fake, *args, **kw)
    r = env.reader(d)
    r.wait_event("connected")
    return fake, d, r


@test
def test_handshake_headers(env):
    fake, d, r = ready(env, "--datastream-mode", "direct")
    hs = fake.handshakes()[0]
    h = hs["headers"]
    assert hs["path"] == "/datastream", hs["path"]
    assert h["x-schematic-api-key"] == API_KEY
    assert h["x-schematic-client"] == "schematic-streamd"
    assert re.match(r"^\d+\.\d+\.\d+", h["x-schematic-client-version"])
    assert h["x-schematic-datastream-mode"] == "direct"


@test
def test_default_datastream_mode_and_subscription(env):
    fake, d, r = ready(env)
    assert fake.handshakes()[0]["headers"]["x-schematic-datastream-mode"] == "replicator"
    frames = fake.frames()
    assert frames[0] == {"data": {"action": "start", "entity_type": "rulesengine.Flags",
                                  "page_size": 100}}, frames


@test
def test_url_conversion(env):
    # The path is replaced by /datastream and the query kept.
    fake = env.fake()
    d = env.daemon(fake, url="http://127.0.0.1:%d/some/api/path?region=eu" % fake.port)
    env.reader(d).wait_event("connected")
    assert fake.handshakes()[0]["path"] == "/datastream?region=eu"
    # The api. label becomes datastream. (checked without dialing).
    out = subprocess.run([STREAMD, "--config", env.config_path, "-t",
                          "--url", "https://api.staging.schematichq.com"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "wss://datastream.staging.schematichq.com/datastream" in out.stdout
    bad = subprocess.run([STREAMD, "--config", env.config_path, "-t",
                          "--url", "ftp://api.example.com"], capture_output=True, text=True)
    assert bad.returncode == 78
    assert "unsupported scheme" in bad.stderr


@test
def test_fidelity_three_readers(env):
    fake, d, r1 = ready(env)
    r2, r3 = env.reader(d), env.reader(d)
    for r in (r2, r3):  # attached (greeted) before the data starts
        r.wait_event("connected")
    # r1 may have seen the flag snapshot, r2 and r3 not: count per reader
    base = {id(r): len(r.data()) for r in (r1, r2, r3)}
    sent = []
    texts = []
    for i in range(996):
        m = {"data": {"seq": i, "text": "é ü 日本語 \U0001F600 \"q\" \\ \t"},
             "entity_type": "rulesengine.Company", "entity_id": "c%d" % i,
             "message_type": "partial", "stream_id": "1750000000000-%d" % i}
        texts.append(json.dumps(m, indent=2 if i % 3 == 0 else None, ensure_ascii=i % 2 == 0))
        sent.append(m)
    fake.ctl("send_many", texts=texts[:500])
    big = {"data": {"blob": "x" * (2 * 1024 * 1024), "n": "ñ"}, "entity_type": "rulesengine.Flags",
           "message_type": "full", "entity_id": None}
    fake.ctl("send_fragmented", text=json.dumps(big, indent=1), fragment_size=65536)
    sent.append(big)
    fake.ctl("send_many", texts=texts[500:])
    sent.extend(sent[:0])
    expect = sent[:500] + [big] + sent[500:996]
    # three more to make 1,000: whitespace-heavy, empty object, deep nesting
    extra = ['  {\n\t"a" : [ 1 , 2.5e3 , -0 , true , false , null ] ,\r\n "b" : { } }  ',
             '{}', '{"n":' + '[' * 50 + ']' * 50 + '}']
    fake.ctl("send_many", texts=extra)
    expect += [json.loads(t) for t in extra]
    assert len(expect) == 1000
    for r in (r1, r2, r3):
        r.wait_data(base[id(r)] + 1000, timeout=60)
        got = r.data()[base[id(r)]:]
        assert got == expect, "reader got different values"
        with r.lock:
            raw_lines = r.lines[-1000:]
        for line in raw_lines:
            assert b"\n" not in line and b"\r" not in line
        # compact: no insignificant whitespace left in the whitespace-heavy one
        assert b'{"a":[1,2.5e3,-0,true,false,null],"b":{}}' in raw_lines


@test
def test_reconnect_after_server_restart_with_backoff(env):
    fake, d, r = ready(env, "--min-reconnect-delay", "200ms", "--max-reconnect-delay", "800ms",
                       "--max-reconnect-attempts", "0")
    fake.ctl("stop_listening")
    fake.ctl("drop")
    r.wait_event("disconnected")
    d.wait_log("(attempt 4", timeout=15)
    fake.ctl("start_listening")
    r.wait_event("connected", count=2, timeout=15)
    delays = [(int(a), int(ms)) for ms, a in
              re.findall(r"reconnecting in (\d+)ms \(attempt (\d+)", d.logs())]
    assert len(delays) >= 4, delays
    for attempt, ms in delays:
        base = min(200 * 2 ** (attempt - 1), 800)
        if 200 * 2 ** (attempt - 1) + (ms - base) > 800:
            base = 800
        assert base <= ms < base + 200, (attempt, ms)
    assert [a for a, _ in delays[:4]] == [1, 2, 3, 4]
    assert d.running()


@test
def test_close_1001_reconnects(env):
    fake, d, r = ready(env)
    fake.ctl("close", code=1001, reason="deploy")
    r.wait_event("connected", count=2)
    ev = r.events("disconnected")[0]
    assert ev["close_code"] == 1001, ev
    assert fake.connections() == 2
    assert re.search(r"reconnecting in \d+ms \(attempt 1", d.logs())


@test
def test_close_1000_reconnects(env):
    fake, d, r = ready(env)
    fake.ctl("close", code=1000)
    r.wait_event("connected", count=2)
    assert d.running()


@test
def test_close_4001_exits_77_without_retry(env):
    fake = env.fake("--api-key", "the-right-key", "--reject-mode", "close4001")
    d = env.daemon(fake)
    assert d.wait_exit() == 77
    assert "API key rejected" in d.logs()
    time.sleep(0.5)
    assert fake.connections() == 1
    assert not os.path.exists(d.stream_socket)


@test
def test_http_401_and_403_exit_77(env):
    for mode in ("http401", "http403"):
        fake = env.fake("--api-key", "the-right-key", "--reject-mode", mode)
        d = env.daemon(fake)
        assert d.wait_exit() == 77, mode
        assert "API key rejected (HTTP %s" % mode[4:] in d.logs(), d.logs()


@test
def test_http_500_is_retried(env):
    fake = env.fake()
    fake.ctl("set", reject="http500")
    d = env.daemon(fake)
    d.wait_log("HTTP 500")
    d.wait_log("reconnecting in")
    fake.ctl("set", reject="none")
    env.reader(d).wait_event("connected")


@test
def test_stalled_handshake_is_retried(env):
    fake = env.fake()
    fake.ctl("set", stall_handshake=True)
    d = env.daemon(fake, "--handshake-timeout", "500ms")
    d.wait_log("handshake timed out after 500ms")
    fake.ctl("set", stall_handshake=False)
    env.reader(d).wait_event("connected", timeout=15)
    assert fake.connections() >= 1


@test
def test_no_pong_reconnects(env):
    fake, d, r = ready(env, "--ping-interval", "200ms", "--pong-timeout", "700ms")
    time.sleep(1.0)  # pongs answered: the connection stays
    assert len(r.events("disconnected")) == 0
    assert fake.ctl("received_pings")["count"] >= 3
    fake.ctl("set", ignore_pings=True)
    r.wait_event("disconnected", timeout=10)
    assert "no pong within 700ms" in r.events("disconnected")[0]["reason"]
    fake.ctl("set", ignore_pings=False)
    r.wait_event("connected", count=2)


@test
def test_attempts_exhausted_exit_69(env):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    d = env.daemon(None, "--max-reconnect-attempts", "3", url="http://127.0.0.1:%d" % port)
    assert d.wait_exit(15) == 69
    logs = d.logs()
    assert "giving up after 3 consecutive failed attempts" in logs
    assert len(re.findall(r"reconnecting in", logs)) == 2


@test
def test_ready_waits_for_flag_snapshot(env):
    fake = env.fake()
    fake.ctl("set", auto_snapshot=False)
    d = env.daemon(fake)
    r = env.reader(d)
    fake.ctl("wait_frames", count=1)
    time.sleep(0.5)
    assert r.events("connected") == []
    fake.ctl("send_snapshot", page_size=2)  # 5 flags: pages 1..3
    r.wait_event("connected")
    pages = [m for m in r.data() if m.get("entity_type") == "rulesengine.Flags"]
    assert [p["pagination"]["page"] for p in pages] == [1, 2, 3]


@test
def test_ready_timeout_redials(env):
    fake = env.fake()
    fake.ctl("set", auto_snapshot=False)
    d = env.daemon(fake, "--ready-timeout", "300ms")
    d.wait_log("not ready within 300ms")
    fake.wait_connections(2)
    fake.ctl("set", auto_snapshot=True)
    env.reader(d).wait_event("connected", timeout=15)


@test
def test_slow_reader_cut_off_fast_reader_complete(env):
    fake, d, fast = ready(env, "--reader-queue-limit", "1MiB")
    slow = env.reader(d, read=False, rcvbuf=4096)
    time.sleep(0.2)
    base = len(fast.data())
    # 3,000 messages of 4 KiB (12 MB), in bursts a live reader keeps up with
    for burst in range(30):
        fake.ctl("send_generated", count=100, size=4096)
        fast.wait_data(base + 100 * (burst + 1), timeout=30)
    seqs = [m["data"]["seq"] for m in fast.data()[base:]]
    assert seqs == [i % 100 for i in range(3000)]
    d.wait_log("cut off")
    assert len(re.findall(r"reader pid %d cut off: \d+ bytes queued" % os.getpid(), d.logs())) == 1
    # the slow reader gets EOF after what its socket held
    slow.sock.settimeout(5)
    total = 0
    while True:
        chunk = slow.sock.recv(1 << 16)
        if not chunk:
            break
        total += len(chunk)
    assert total < 3000 * 4096
    assert d.running()


@test
def test_bad_frames_dropped_logged_stream_continues(env):
    fake, d, r = ready(env, "--max-message-size", "64KiB")
    base = len(r.data())
    fake.ctl("send", text='{"broken": ')
    fake.ctl("send", text='{"secret-payload": "hunter2"} trailing')
    fake.ctl("send_binary", len=100)
    fake.ctl("send", text='{"big":"' + "y" * 70000 + '"}')
    fake.ctl("send_fragmented", text='{"big":"' + "z" * 70000 + '"}', fragment_size=8192)
    fake.ctl("send", text='{"after":1}')
    r.wait_data(base + 1)
    assert r.data()[base:] == [{"after": 1}]
    drops = r.events("dropped")
    assert len(drops) == 5, drops
    reasons = " | ".join(e["reason"] for e in drops)
    assert "binary" in reasons and "max_message_size" in reasons
    logs = d.logs()
    assert logs.count("upstream message dropped") == 5
    assert "hunter2" not in logs and "yyyy" not in logs


@test
def test_sigterm_exits_0_and_removes_socket(env):
    fake, d, r = ready(env)
    t0 = time.monotonic()
    d.signal(signal.SIGTERM)
    assert d.wait_exit(5) == 0
    assert time.monotonic() - t0 < 2.0
    assert not os.path.exists(d.stream_socket)
    def closes():
        rec = [json.loads(l) for l in open(fake.record)]
        return [e for e in rec if e["event"] == "close"]
    wait_for(closes, what="the close in the fake's record")
    assert closes()[0]["code"] in (1000, 1001), closes()


@test
def test_api_key_never_in_logs_or_cmdline(env):
    fake, d, r = ready(env, "--log-level", "debug")
    with open("/proc/%d/cmdline" % d.pid, "rb") as f:
        assert API_KEY.encode() not in f.read()
    fake.ctl("close", code=1001)
    r.wait_event("connected", count=2)
    d.stop()
    assert API_KEY not in d.logs()
    assert "connecting to" in d.logs()  # debug logging was on


@test
def test_api_key_sources(env):
    fake = env.fake("--api-key", "from-file-key")
    keyfile = os.path.join(env.dir, "key")
    with open(keyfile, "w") as f:
        f.write("from-file-key\n")
    d = env.daemon(fake, "--api-key-file", keyfile, api_key="wrong-env-key")
    env.reader(d).wait_event("connected")
    d.stop()
    # the systemd credential beats the environment
    creds = os.path.join(env.dir, "creds")
    os.mkdir(creds)
    with open(os.path.join(creds, "api-key"), "w") as f:
        f.write("from-file-key")
    os.unlink(d.stream_socket) if os.path.exists(d.stream_socket) else None
    d2 = env.daemon(fake, api_key="wrong-env-key", extra_env={"CREDENTIALS_DIRECTORY": creds})
    env.reader(d2).wait_event("connected")
    d2.stop()
    d3 = env.daemon(fake, api_key=None, wait_socket=False)
    assert d3.wait_exit() == 78
    assert "no API key" in d3.logs()


@test
def test_socket_in_use_and_stale(env):
    fake, d, r = ready(env)
    d2 = env.daemon(fake, wait_socket=False)
    assert d2.wait_exit() == 1
    assert "in use by a running daemon" in d2.logs()
    assert d.running() and os.path.exists(d.stream_socket)
    d.proc.kill()  # leaves a stale socket file behind
    d.proc.wait()
    assert os.path.exists(d.stream_socket)
    d3 = env.daemon(fake)
    env.reader(d3).wait_event("connected")


@test
def test_socket_mode_and_group(env):
    fake = env.fake()
    d = env.daemon(fake, "--socket-mode", "0600", "--socket-group", "daemon")
    st = os.stat(d.stream_socket)
    assert st.st_mode & 0o777 == 0o600, oct(st.st_mode)
    import grp
    assert st.st_gid == grp.getgrnam("daemon").gr_gid


@test
def test_max_readers(env):
    fake, d, r1 = ready(env, "--max-readers", "2")
    r2 = env.reader(d)
    time.sleep(0.2)
    r3 = env.reader(d)
    r3.wait_eof()
    d.wait_log("max_readers (2) reached")
    fake.ctl("send", text='{"x":1}')
    for r in (r1, r2):
        wait_for(lambda: {"x": 1} in r.data(), what="x at an accepted reader")
    assert r3.messages() == []


@test
def test_check_config_reports_file_and_line(env):
    env.write_config("# comment\nping_interval = 5s\nbogus_key = 1\n")
    out = subprocess.run([STREAMD, "-c", env.config_path, "-t"], capture_output=True, text=True)
    assert out.returncode == 78
    assert "%s:3: " % env.config_path in out.stderr and "bogus_key" in out.stderr, out.stderr
    missing = subprocess.run([STREAMD, "-c", env.config_path + ".nope", "-t"],
                             capture_output=True, text=True)
    assert missing.returncode == 78


@test
def test_reader_input_is_ignored(env):
    fake, d, r = ready(env)
    r.sock.sendall(b'{"cmd":"anything"}\n' * 1000)
    fake.ctl("send", text='{"still":"flowing"}')
    wait_for(lambda: {"still": "flowing"} in r.data(), what="message after reader input")


if __name__ == "__main__":
    run()
