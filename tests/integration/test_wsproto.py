#!/usr/bin/python3
"""The daemon's own RFC 6455 client against a raw TCP peer that says
exactly what each test wants: bytes split anyhow, a wrong
Sec-WebSocket-Accept, a masked server frame, a ping to answer."""

import base64
import hashlib
import socket
import struct
import threading
import time

from harness import API_KEY, run, test, wait_for

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(opcode, payload, fin=True, mask=None):
    """A server frame (unmasked unless MASK is given)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


def read_frame(conn):
    """One client frame: (opcode, unmasked payload); it must be masked."""
    def take(n):
        b = b""
        while len(b) < n:
            chunk = conn.recv(n - len(b))
            if not chunk:
                raise EOFError
            b += chunk
        return b
    b0, b1 = take(2)
    assert b1 & 0x80, "client frames are masked"
    n = b1 & 0x7f
    if n == 126:
        n = struct.unpack("!H", take(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", take(8))[0]
    mask = take(4)
    data = take(n)
    return b0 & 0x0f, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def wait_frame(conn, opcode, timeout=5):
    """The payload of the next client frame of OPCODE."""
    conn.settimeout(timeout)
    while True:
        op, payload = read_frame(conn)
        if op == opcode:
            return payload


class RawPeer:
    """Listens on 127.0.0.1; SCRIPT(conn, request) runs per connection."""

    def __init__(self, script):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.url = "ws://127.0.0.1:%d/datastream" % self.port
        self.script = script
        self.requests, self.errors = [], []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn):
        try:
            req = b""
            while b"\r\n\r\n" not in req:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                req += chunk
            head = req.split(b"\r\n\r\n")[0].decode()
            self.requests.append(head)
            self.script(conn, head)
        except Exception as e:  # reported by the tests that care
            self.errors.append(repr(e))
        finally:
            conn.close()

    def close(self):
        self.sock.close()


def accept_for(head):
    key = [l.split(":", 1)[1].strip() for l in head.split("\r\n")
           if l.lower().startswith("sec-websocket-key:")][0]
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def upgrade(conn, head, accept=None):
    conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
                  % (accept or accept_for(head))).encode())


def drain(conn, seconds):
    """Read (and drop) what the client sends for SECONDS."""
    conn.settimeout(0.1)
    end = time.time() + seconds
    while time.time() < end:
        try:
            if not conn.recv(65536):
                return
        except socket.timeout:
            pass


@test
def test_request_headers(env):
    def script(conn, head):
        drain(conn, 0.2)
    peer = RawPeer(script)
    env.daemon(None, url=peer.url)
    wait_for(lambda: peer.requests, what="an upgrade request")
    lines = peer.requests[0].split("\r\n")
    assert lines[0] == "GET /datastream HTTP/1.1", lines
    fields = dict(l.split(": ", 1) for l in lines[1:])
    assert fields["Host"] == "127.0.0.1:%d" % peer.port
    assert fields["Upgrade"] == "websocket" and fields["Connection"] == "Upgrade"
    assert fields["Sec-WebSocket-Version"] == "13"
    assert len(base64.b64decode(fields["Sec-WebSocket-Key"])) == 16
    assert fields["X-Schematic-Api-Key"] == API_KEY
    peer.close()


@test
def test_wrong_accept_is_refused(env):
    peer = RawPeer(lambda conn, head: (upgrade(conn, head, accept="d3Jvbmc="),
                                       drain(conn, 1)))
    d = env.daemon(None, url=peer.url)
    d.wait_log("bad Sec-WebSocket-Accept")
    d.wait_log("reconnecting in")
    assert API_KEY not in d.logs()
    peer.close()


@test
def test_masked_server_frame_is_refused(env):
    def script(conn, head):
        upgrade(conn, head)
        conn.sendall(frame(1, b'{"a":1}', mask=b"\x01\x02\x03\x04"))
        drain(conn, 1)
    peer = RawPeer(script)
    d = env.daemon(None, url=peer.url)
    d.wait_log("WebSocket protocol error: masked frame from the server")
    peer.close()


@test
def test_bytes_split_anyhow(env):
    # the response and frames in 1- to 7-byte writes: a message split
    # across frames, a ping in between (answered with its payload), a
    # 16-bit length; the reader gets each message whole
    pongs = []

    def script(conn, head):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        resp = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
                % accept_for(head)).encode()
        big = b'{"big":"' + b"x" * 300 + b'"}'
        data = (resp + frame(1, b'{"one":', fin=False) + frame(9, b"hello")
                + frame(0, b"1}") + frame(1, big))
        i = 0
        while i < len(data):
            n = 1 + i % 7
            conn.sendall(data[i:i + n])
            i += n
            time.sleep(0.001)
        pongs.append(wait_frame(conn, 10))
        drain(conn, 3)
    peer = RawPeer(script)
    d = env.daemon(None, url=peer.url)
    r = env.reader(d)
    r.wait_data(2)
    assert r.data()[0] == {"one": 1}, r.data()
    assert r.data()[1] == {"big": "x" * 300}
    wait_for(lambda: pongs, what="a pong")
    assert pongs == [b"hello"], pongs
    assert not peer.errors, peer.errors
    peer.close()


@test
def test_peer_close_is_echoed(env):
    echoed = []

    def script(conn, head):
        upgrade(conn, head)
        conn.sendall(frame(8, struct.pack("!H", 1012) + b"restart"))
        echoed.append(wait_frame(conn, 8))
    peer = RawPeer(script)
    d = env.daemon(None, url=peer.url)
    d.wait_log("server closed the connection (code 1012: restart)")
    wait_for(lambda: echoed, what="the close echoed")
    assert echoed[0] == struct.pack("!H", 1012), echoed
    peer.close()


if __name__ == "__main__":
    run()
