"""harness.py - integration tests of schematic-streamd, speaking TAP.

Each test runs the real daemon against the fake datastream server
(tests/fake-datastream) with real Unix-socket readers, in its own temporary
directory, and stops everything it started, pass or fail.

    from harness import test, run, Env

    @test
    def test_something(env):
        fake = env.fake()
        d = env.daemon(fake)
        ...

    if __name__ == "__main__":
        run()

Environment (set by `make check`): STREAMD, STREAMCTL, FAKE_DATASTREAM.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
STREAMD = os.environ.get("STREAMD", os.path.join(TOP, "src", "schematic-streamd"))
STREAMCTL = os.environ.get("STREAMCTL", os.path.join(TOP, "src", "schematic-streamctl"))
FAKE = os.environ.get("FAKE_DATASTREAM", os.path.join(TOP, "tests", "fake-datastream"))
PYTHON3 = "/usr/bin/python3"  # Debian's, which has python3-websockets
API_KEY = "sk_test_0123456789abcdefSECRET"

_tests = []


def test(fn):
    """Register a test function taking an Env."""
    _tests.append(fn)
    return fn


def wait_for(pred, timeout=10.0, what="condition", interval=0.02):
    """Poll PRED until it returns a true value; fail after TIMEOUT s."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def terminate(proc, grace=5):
    """SIGTERM PROC, then SIGKILL it if it is still there after GRACE s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Fake:
    """The fake datastream server, driven through its control socket."""

    def __init__(self, env, extra=()):
        self.env = env
        self.control = os.path.join(env.dir, "fake-%d.ctl" % len(env.fakes))
        self.record = os.path.join(env.dir, "fake-%d.rec" % len(env.fakes))
        portfile = os.path.join(env.dir, "fake-%d.port" % len(env.fakes))
        self.log = open(os.path.join(env.dir, "fake-%d.log" % len(env.fakes)), "w")
        self.proc = subprocess.Popen(
            [PYTHON3, FAKE, "--listen", "127.0.0.1:0", "--control", self.control,
             "--port-file", portfile, "--record", self.record, "--quiet"] + list(extra),
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: os.path.exists(portfile) and os.path.exists(self.control),
                 what="fake datastream to listen")
        with open(portfile) as f:
            self.port = int(f.read().strip())
        self.url = "http://127.0.0.1:%d" % self.port
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.control)
        self.rfile = self.sock.makefile("r", encoding="utf-8")

    def ctl(self, cmd, check=True, **kw):
        """Send one control command; return its reply (asserting ok)."""
        req = dict(kw, cmd=cmd)
        self.sock.sendall((json.dumps(req) + "\n").encode())
        reply = json.loads(self.rfile.readline())
        if check and not reply.get("ok"):
            raise AssertionError("fake %s failed: %s" % (cmd, reply.get("error")))
        return reply

    def frames(self):
        return [json.loads(f["text"]) for f in self.ctl("frames")["frames"]]

    def handshakes(self):
        return self.ctl("handshakes")["handshakes"]

    def connections(self):
        return self.ctl("status")["total_connections"]

    def wait_connections(self, n, timeout=10):
        self.ctl("wait_connections", count=n, timeout=timeout)

    def stop(self):
        terminate(self.proc)
        self.sock.close()
        self.log.close()


class Daemon:
    """One schematic-streamd process, logging to a file in the test dir."""

    def __init__(self, env, args, api_key=API_KEY, extra_env=None, wait_socket=True):
        self.env = env
        self.stream_socket = os.path.join(env.dir, "stream.sock")
        self.control_socket = os.path.join(env.dir, "control.sock")
        self.log_path = os.path.join(env.dir, "daemon-%d.log" % len(env.daemons))
        self.log = open(self.log_path, "w")
        environ = {k: v for k, v in os.environ.items()
                   if k not in ("SCHEMATIC_API_KEY", "CREDENTIALS_DIRECTORY",
                                "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID",
                                "WATCHDOG_USEC", "JOURNAL_STREAM")}
        if api_key is not None:
            environ["SCHEMATIC_API_KEY"] = api_key
        environ.update(extra_env or {})
        self.argv = [STREAMD, "--config", env.config_path] + list(args)
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=environ)
        self.pid = self.proc.pid
        if wait_socket:
            # "started" is logged once the sockets are bound (a stale
            # socket file from an earlier daemon may still be there before).
            wait_for(lambda: " started: " in self.logs() or self.proc.poll() is not None,
                     what="daemon start")
            if " started: " not in self.logs():
                raise AssertionError("daemon exited with %d:\n%s" % (self.proc.returncode, self.logs()))

    def logs(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def wait_log(self, text, timeout=10):
        return wait_for(lambda: text in self.logs(), timeout, "log line %r" % text)

    def wait_exit(self, timeout=10):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("daemon still running after %ss:\n%s" % (timeout, self.logs()[-3000:]))

    def running(self):
        return self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        terminate(self.proc)
        self.log.close()


class Reader:
    """A stream socket client collecting lines on a thread."""

    def __init__(self, path, read=True, rcvbuf=None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(path)
        self.lines = []
        self.raw = bytearray()
        self.eof = False
        self.lock = threading.Lock()
        self.thread = None
        if read:
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()

    def _run(self):
        buf = b""
        while True:
            try:
                data = self.sock.recv(1 << 20)
            except OSError:
                data = b""
            if not data:
                with self.lock:
                    self.eof = True
                return
            with self.lock:
                self.raw += data
            buf += data
            *complete, buf = buf.split(b"\n")
            if complete:
                with self.lock:
                    self.lines.extend(complete)

    def messages(self):
        """Every complete line so far, decoded as JSON."""
        with self.lock:
            return [json.loads(l) for l in self.lines]

    def data(self):
        """Lines that are upstream messages (not the daemon's own events)."""
        return [m for m in self.messages() if "streamd" not in m]

    def events(self, name=None):
        return [m["streamd"] for m in self.messages()
                if "streamd" in m and (name is None or m["streamd"]["event"] == name)]

    def wait_event(self, name, count=1, timeout=10):
        return wait_for(lambda: len(self.events(name)) >= count, timeout,
                        "%d %r event(s)" % (count, name))

    def wait_data(self, count, timeout=20):
        return wait_for(lambda: len(self.data()) >= count, timeout,
                        "%d data lines (have %d)" % (count, len(self.data())))

    def wait_eof(self, timeout=10):
        return wait_for(lambda: self.eof, timeout, "EOF on the stream socket")

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        if self.thread:
            self.thread.join(2)


class Control:
    """A client of the daemon's control socket: request lines, reply lines."""

    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def send_raw(self, data):
        """Write DATA (bytes) as it is."""
        self.sock.sendall(data)

    def read_line(self):
        """The next reply line (bytes, without the newline); None at EOF."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def reply(self):
        """The next reply, decoded; fails at EOF."""
        line = self.read_line()
        if line is None:
            raise AssertionError("control connection closed without a reply")
        return json.loads(line)

    def request(self, req=None, **kw):
        """Send REQ (a dict, or the keyword arguments) and return its reply."""
        self.send_raw((json.dumps(req if req is not None else kw) + "\n").encode())
        return self.reply()

    def ok(self, **kw):
        """Send a request and return its reply, asserting it is ok."""
        r = self.request(**kw)
        if r.get("ok") is not True:
            raise AssertionError("control %r failed: %r" % (kw, r))
        return r

    def at_eof(self):
        """Whether the daemon closes the connection before any other line."""
        return self.read_line() is None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Env:
    """A test's temporary directory and everything started in it."""

    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix="streamd-%s-" % name)
        self.fakes, self.daemons, self.readers, self.procs = [], [], [], []
        self.controls = []
        self.config_path = os.path.join(self.dir, "streamd.conf")
        self.write_config("")

    def write_config(self, text):
        with open(self.config_path, "w") as f:
            f.write(text)

    def fake(self, *extra):
        f = Fake(self, extra)
        self.fakes.append(f)
        return f

    def daemon(self, fake=None, *args, url=None, fast=True, **kw):
        """Start the daemon; FAST uses short delays suited to tests."""
        argv = ["--stream-socket", os.path.join(self.dir, "stream.sock"),
                "--control-socket", os.path.join(self.dir, "control.sock")]
        if url or fake:
            argv += ["--url", url or fake.url]
        if fast:
            argv += ["--min-reconnect-delay", "100ms", "--max-reconnect-delay", "1s",
                     "--handshake-timeout", "3s", "--ready-timeout", "5s"]
        argv += list(args)
        d = Daemon(self, argv, **kw)
        self.daemons.append(d)
        return d

    def reader(self, daemon, **kw):
        r = Reader(daemon.stream_socket, **kw)
        self.readers.append(r)
        return r

    def control(self, daemon, **kw):
        """A client of DAEMON's control socket (closed at cleanup)."""
        c = Control(daemon.control_socket, **kw)
        self.controls.append(c)
        return c

    def streamctl(self, *args, daemon=None, timeout=20, **kw):
        """Run schematic-streamctl (with -s DAEMON's control socket)."""
        argv = [STREAMCTL]
        if daemon is not None:
            argv += ["-s", daemon.control_socket]
        return subprocess.run(argv + list(args), capture_output=True, text=True,
                              timeout=timeout, **kw)

    def cleanup(self, keep):
        for c in self.controls:
            c.close()
        for r in self.readers:
            r.close()
        for d in self.daemons:
            d.stop()
        for f in self.fakes:
            f.stop()
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def diagnostics(self):
        out = []
        for d in self.daemons:
            out.append("--- daemon log %s (tail)\n%s" % (d.log_path, d.logs()[-4000:]))
        return "\n".join(out)


def run():
    """Run the registered tests (or those named in argv) and print TAP."""
    only = set(sys.argv[1:])
    tests = [t for t in _tests if not only or t.__name__ in only]
    print("1..%d" % len(tests), flush=True)
    failed = 0
    for i, fn in enumerate(tests, 1):
        env = Env(fn.__name__)
        ok, diag, skip = True, "", None
        try:
            fn(env)
        except SkipTest as e:
            skip = str(e)
        except Exception:
            ok = False
            diag = traceback.format_exc() + env.diagnostics()
        finally:
            env.cleanup(keep=not ok)
        if skip is not None:
            print("ok %d - %s # SKIP %s" % (i, fn.__name__, skip), flush=True)
        elif ok:
            print("ok %d - %s" % (i, fn.__name__), flush=True)
        else:
            failed += 1
            print("not ok %d - %s" % (i, fn.__name__), flush=True)
            for line in diag.splitlines():
                print("# " + line, flush=True)
    # Failures are reported by the TAP lines above; a non-zero exit would
    # count them twice. An exception escaping run() still exits non-zero.
    sys.exit(0)


class SkipTest(Exception):
    """Raise to report a test as skipped (never as passed)."""
