#!/usr/bin/python3
"""systemd integration without systemd as PID 1: sd_notify captured on a
datagram socket, the watchdog, reload, socket activation through
systemd-socket-activate, a real journald in a private mount namespace, and
the unit files linted with systemd-analyze."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

from harness import (API_KEY, STREAMD, TOP, Reader, SkipTest, run, test,
                     wait_for)

SYSTEMD_DIR = os.path.join(TOP, "systemd")
BUILD_SYSTEMD_DIR = os.environ.get("BUILD_SYSTEMD_DIR", SYSTEMD_DIR)


class Notify:
    """A NOTIFY_SOCKET: collects every datagram the daemon sends."""

    def __init__(self, env):
        self.path = os.path.join(env.dir, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages = []  # (monotonic time, {field: value})
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        env.notifies = getattr(env, "notifies", []) + [self]

    def _run(self):
        while self.running:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            fields = dict(l.split("=", 1) for l in data.decode().splitlines() if "=" in l)
            with self.lock:
                self.messages.append((time.monotonic(), fields))

    def values(self, key):
        with self.lock:
            return [m[key] for _, m in self.messages if key in m]

    def times(self, key):
        with self.lock:
            return [t for t, m in self.messages if key in m]

    def keys_in_order(self):
        with self.lock:
            return [k for _, m in self.messages for k in m]

    def wait(self, key, value=None, count=1, timeout=10):
        def have():
            vals = self.values(key)
            if value is not None:
                vals = [v for v in vals if re.search(value, v)]
            return len(vals) >= count
        return wait_for(have, timeout, "notify %s%s" % (key, "~" + value if value else ""))

    def close(self):
        self.running = False
        self.thread.join(1)
        self.sock.close()


def notify_daemon(env, fake, *args, **kw):
    n = Notify(env)
    extra = kw.pop("extra_env", {})
    extra["NOTIFY_SOCKET"] = n.path
    d = env.daemon(fake, *args, extra_env=extra, **kw)
    return n, d


@test
def test_ready_only_after_flag_snapshot(env):
    fake = env.fake()
    fake.ctl("set", auto_snapshot=False)
    n, d = notify_daemon(env, fake)
    n.wait("STATUS", "^connecting to ws://127.0.0.1:%d/datastream" % fake.port)
    fake.ctl("wait_frames", count=1)
    time.sleep(0.5)
    assert n.values("READY") == [], n.messages
    fake.ctl("send_snapshot", page_size=2)
    n.wait("READY")
    n.wait("STATUS", r"^ready: \d+ readers?, \d+ messages")
    # READY=1 exactly once, even across a reconnect
    fake.ctl("close", code=1001)
    n.wait("STATUS", r"^reconnecting in \d+\.\ds \(attempt 1/10\): server closed")
    fake.ctl("wait_frames", count=2)  # the second connection subscribed
    fake.ctl("send_snapshot")
    n.wait("STATUS", "^ready", count=2)
    assert n.values("READY") == ["1"]


@test
def test_status_through_backoff(env):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    n, d = notify_daemon(env, None, "--max-reconnect-attempts", "3",
                         url="http://127.0.0.1:%d" % port)
    assert d.wait_exit(15) == 69
    statuses = n.values("STATUS")
    assert any(re.match(r"reconnecting in \d+\.\ds \(attempt 2/3\): ", s) for s in statuses), statuses
    assert n.values("READY") == []


@test
def test_stopping_on_sigterm(env):
    fake = env.fake()
    n, d = notify_daemon(env, fake)
    n.wait("READY")
    d.signal(signal.SIGTERM)
    assert d.wait_exit() == 0
    n.wait("STOPPING")
    order = n.keys_in_order()
    assert order.index("STOPPING") > order.index("READY")


@test
def test_watchdog_cadence(env):
    fake = env.fake()
    n, d = notify_daemon(env, fake, extra_env={"WATCHDOG_USEC": "400000"})
    n.wait("READY")
    time.sleep(2.0)
    times = n.times("WATCHDOG")
    assert len(times) >= 5, times  # every 200 ms: about 10 in 2 s
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) > 0.1, gaps   # half the interval, not a busy loop


@test
def test_watchdog_off_for_another_pid(env):
    fake = env.fake()
    n, d = notify_daemon(env, fake, extra_env={"WATCHDOG_USEC": "400000",
                                              "WATCHDOG_PID": "1"})
    n.wait("READY")
    time.sleep(1.0)
    assert n.values("WATCHDOG") == []


@test
def test_reload_applies_and_bad_reload_keeps_old(env):
    fake = env.fake()
    n, d = notify_daemon(env, fake)
    r = env.reader(d)
    n.wait("READY")
    # a good reload: a new subscription is sent upstream, log level changes
    env.write_config("subscribe = flags\nsubscribe = company company_id=acme\nlog_level = debug\n")
    d.signal(signal.SIGHUP)
    n.wait("READY", count=2)
    reloading = [m for _, m in n.messages if "RELOADING" in m]
    assert reloading and re.match(r"^\d+$", reloading[0]["MONOTONIC_USEC"])
    order = n.keys_in_order()
    assert order.index("RELOADING") < len(order) - 1 - order[::-1].index("READY")
    wait_for(lambda: {"data": {"action": "start", "entity_type": "rulesengine.Company",
                               "keys": {"company_id": "acme"}}} in fake.frames(),
             what="the new subscription upstream")
    d.wait_log("configuration reloaded")
    # a bad reload: rejected with file:line, the old configuration stays
    env.write_config("subscribe = flags\nping_interval = soon\n")
    d.signal(signal.SIGHUP)
    n.wait("READY", count=3)
    d.wait_log("reload rejected")
    assert "%s:2: ping_interval" % env.config_path in d.logs()
    fake.ctl("send", text='{"after":"reload"}')
    wait_for(lambda: {"after": "reload"} in r.data(), what="data after a rejected reload")
    assert d.running()


@test
def test_reload_changed_url_reconnects(env):
    fake1 = env.fake()
    fake2 = env.fake()
    env.write_config("url = %s\n" % fake1.url)
    n, d = notify_daemon(env, None)
    r = env.reader(d)
    r.wait_event("connected")
    env.write_config("url = %s\n" % fake2.url)
    d.signal(signal.SIGHUP)
    fake2.wait_connections(1)
    wait_for(lambda: any(e["url"].endswith(":%d/datastream" % fake2.port)
                         for e in r.events("connected")), what="connected to the new url")


def activate(env, fake, names="stream:control", nsocks=2, extra=(),
             configured=False):
    """Run the daemon under systemd-socket-activate with named sockets;
    CONFIGURED: the sockets sit at the paths the daemon is configured with."""
    exe = shutil.which("systemd-socket-activate")
    if not exe:
        raise SkipTest("systemd-socket-activate not installed")
    stream = os.path.join(env.dir, "act-stream.sock")
    control = os.path.join(env.dir, "act-control.sock")
    n = Notify(env)
    log = open(os.path.join(env.dir, "activate.log"), "w")
    argv = [exe, "-l", stream]
    if nsocks == 2:
        argv += ["-l", control]
    argv += ["--fdname=" + names, "-E", "SCHEMATIC_API_KEY=" + API_KEY,
             "-E", "NOTIFY_SOCKET=" + n.path,
             STREAMD, "-c", env.config_path, "--url", fake.url,
             # configured paths that must NOT be bound: the fds are used
             "--stream-socket", stream if configured else
             os.path.join(env.dir, "unused-stream.sock"),
             "--control-socket", control if configured else
             os.path.join(env.dir, "unused-control.sock")] + list(extra)
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    env.procs.append(p)
    wait_for(lambda: os.path.exists(stream), what="activation socket")
    return p, n, stream, control, log


@test
def test_socket_activation_named_fds(env):
    fake = env.fake()
    p, n, stream, control, log = activate(env, fake)
    r = Reader(stream)  # the first connection starts the daemon
    env.readers.append(r)
    r.wait_event("connected")
    n.wait("READY")
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(control)
    c.sendall(b'{"cmd":"ping"}\n')
    assert json.loads(c.makefile().readline()) == {"ok": True}
    c.close()
    assert not os.path.exists(os.path.join(env.dir, "unused-stream.sock"))
    assert not os.path.exists(os.path.join(env.dir, "unused-control.sock"))
    p.send_signal(signal.SIGTERM)
    assert p.wait(5) == 0
    # systemd's sockets are never unlinked by the daemon
    assert os.path.exists(stream) and os.path.exists(control)


@test
def test_socket_activation_stream_only(env):
    # only the stream socket is passed: the control socket is bound as configured
    fake = env.fake()
    p, n, stream, control, log = activate(env, fake, names="stream", nsocks=1)
    r = Reader(stream)
    env.readers.append(r)
    r.wait_event("connected")
    wait_for(lambda: os.path.exists(os.path.join(env.dir, "unused-control.sock")),
             what="the configured control socket")
    p.send_signal(signal.SIGTERM)
    assert p.wait(5) == 0
    assert not os.path.exists(os.path.join(env.dir, "unused-control.sock"))


@test
def test_socket_activation_one_unit_by_path(env):
    # one .socket unit names both sockets alike: told apart by their paths
    fake = env.fake()
    p, n, stream, control, log = activate(
        env, fake, names="schematic-streamd.socket:schematic-streamd.socket",
        configured=True)
    r = Reader(stream)
    env.readers.append(r)
    r.wait_event("connected")
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(control)
    c.sendall(b'{"cmd":"ping"}\n')
    assert json.loads(c.makefile().readline()) == {"ok": True}
    c.close()
    p.send_signal(signal.SIGTERM)
    assert p.wait(5) == 0
    assert os.path.exists(stream) and os.path.exists(control)


@test
def test_socket_activation_unknown_socket_refused(env):
    fake = env.fake()
    p, n, stream, control, log = activate(env, fake, names="stream:mystery")
    r = Reader(stream)
    env.readers.append(r)
    assert p.wait(10) == 1
    log.flush()
    with open(os.path.join(env.dir, "activate.log")) as f:
        assert 'cannot tell what the socket named "mystery" is for' in f.read()


JOURNAL_SCRIPT = r"""
set -e
mount --make-rprivate /
mkdir -p "$T/run-systemd" "$T/run-log" "$T/var-log"
mount --bind "$T/run-systemd" /run/systemd
mount --bind "$T/run-log" /run/log
mount -t tmpfs tmpfs /var/log
mkdir -p /run/systemd/journal
/lib/systemd/systemd-journald >"$T/journald.out" 2>&1 &
jpid=$!
i=0
while [ ! -S /run/systemd/journal/socket ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
SCHEMATIC_API_KEY="$KEY" "$STREAMD" -c "$T/streamd.conf" --url "$URL" \
    --stream-socket "$T/stream.sock" --control-socket "$T/control.sock" \
    --log-target journal --max-reconnect-attempts 2 \
    --min-reconnect-delay 50ms --max-reconnect-delay 100ms >"$T/daemon.out" 2>&1 || echo "exit=$?" >"$T/exit"
journalctl --flush >/dev/null 2>&1 || true
sleep 0.3
journalctl -D /run/log/journal -o json --no-pager >"$T/journal.json" 2>"$T/journalctl.err" || true
kill $jpid 2>/dev/null || true
wait $jpid 2>/dev/null || true
"""


@test
def test_journald_structured_fields(env):
    if os.geteuid() != 0 or not os.path.exists("/lib/systemd/systemd-journald"):
        raise SkipTest("needs root and systemd-journald for a private journal")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        raise SkipTest("cannot create a mount namespace: %s" % probe.stderr.decode().strip())
    # A closed port: the daemon logs failures, backoff, then gives up (69).
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    envv = dict(os.environ, T=env.dir, KEY=API_KEY, STREAMD=STREAMD,
                URL="http://127.0.0.1:%d" % port)
    subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", JOURNAL_SCRIPT],
                   env=envv, timeout=60, check=True)
    with open(os.path.join(env.dir, "exit")) as f:
        assert f.read().strip() == "exit=69"
    entries = [json.loads(l) for l in open(os.path.join(env.dir, "journal.json"))]
    ours = [e for e in entries if e.get("SYSLOG_IDENTIFIER") == "schematic-streamd"]
    assert ours, "no entries of ours in the journal: %s" % open(os.path.join(env.dir, "journalctl.err")).read()
    by_id = {}
    for e in ours:
        by_id.setdefault(e.get("MESSAGE_ID"), []).append(e)
    started = by_id["66bc5dc2b43e42389f3604e5a925fac2"][0]
    assert started["PRIORITY"] == "6"
    failed = by_id["c67e23f87b474c52b18f7e6900e8d16f"][0]
    assert failed["PRIORITY"] == "4"
    assert failed["UPSTREAM_URL"] == "ws://127.0.0.1:%d/datastream" % port
    sched = by_id["5a7e51adf64c464c9ac241ef5095f189"][0]
    assert sched["RECONNECT_ATTEMPT"] == "1" and int(sched["BACKOFF_MS"]) >= 50
    gave_up = by_id["385ff01a93db49ed885873b648b615ac"][0]
    assert gave_up["PRIORITY"] == "3"
    raw = open(os.path.join(env.dir, "journal.json")).read()
    assert API_KEY not in raw


def render_units(env):
    """The .service as installed: @sbindir@ etc. point at this build."""
    src = os.path.join(BUILD_SYSTEMD_DIR, "schematic-streamd.service")
    if not os.path.exists(src):
        raise AssertionError("%s not built" % src)
    out = os.path.join(env.dir, "units")
    os.mkdir(out)
    with open(src) as f:
        text = f.read()
    # verify checks that ExecStart exists: point it at the built binary
    text = re.sub(r"^ExecStart=\S+", "ExecStart=" + STREAMD, text, flags=re.M)
    with open(os.path.join(out, "schematic-streamd.service"), "w") as f:
        f.write(text)
    for name in ("schematic-streamd.socket", "schematic-streamd-control.socket"):
        shutil.copy(os.path.join(SYSTEMD_DIR, name), out)
    return out


@test
def test_units_verify_clean(env):
    if not shutil.which("systemd-analyze"):
        raise SkipTest("systemd-analyze not installed")
    out = render_units(env)
    units = [os.path.join(out, u) for u in sorted(os.listdir(out))]
    p = subprocess.run(["systemd-analyze", "verify", "--man=no"] + units,
                       capture_output=True, text=True, cwd=out)
    assert p.stdout + p.stderr == "", p.stdout + p.stderr
    assert p.returncode == 0


@test
def test_unit_security_score(env):
    if not shutil.which("systemd-analyze"):
        raise SkipTest("systemd-analyze not installed")
    out = render_units(env)
    unit = os.path.join(out, "schematic-streamd.service")
    p = subprocess.run(["systemd-analyze", "security", "--offline=true", "--threshold=15",
                        "--no-pager", unit], capture_output=True, text=True, cwd=out)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", p.stdout)
    assert m, p.stdout + p.stderr
    assert float(m.group(1)) <= 1.5, m.group(0)
    assert p.returncode == 0, p.stdout[-500:]


@test
def test_unit_contents(env):
    with open(os.path.join(SYSTEMD_DIR, "schematic-streamd.service.in")) as f:
        unit = f.read()
    for line in ("Type=notify", "LoadCredential=api-key:", "Restart=on-failure",
                 "RestartPreventExitStatus=77 78", "WatchdogSec=", "RuntimeDirectory=",
                 "ExecReload=", "Documentation=man:", "Wants=network-online.target",
                 "After=network-online.target"):
        assert re.search("^" + re.escape(line), unit, re.M), line
    with open(os.path.join(SYSTEMD_DIR, "schematic-streamd.sysusers")) as f:
        sysusers = f.read()
    assert re.search(r"^u schematic-streamd ", sysusers, re.M)
    assert re.search(r"^g schematic-streamd-readers ", sysusers, re.M)


@test
def test_catalog_covers_every_message_id(env):
    with open(os.path.join(TOP, "src", "log.h")) as f:
        ids = re.findall(r'#define MSGID_\w+\s+"([0-9a-f]{32})"', f.read())
    with open(os.path.join(SYSTEMD_DIR, "schematic-streamd.catalog")) as f:
        catalog = f.read()
    assert len(ids) >= 10
    for i in ids:
        assert re.search(r"^-- %s$" % i, catalog, re.M), i
    # journalctl accepts the catalog
    root = os.path.join(env.dir, "root")
    os.makedirs(os.path.join(root, "usr/lib/systemd/catalog"))
    shutil.copy(os.path.join(SYSTEMD_DIR, "schematic-streamd.catalog"),
                os.path.join(root, "usr/lib/systemd/catalog"))
    subprocess.run(["journalctl", "--root=" + root, "--update-catalog"], check=True)
    listed = subprocess.run(["journalctl", "--root=" + root, "--list-catalog"],
                            capture_output=True, text=True).stdout
    assert all(i in listed for i in ids)


if __name__ == "__main__":
    run()
