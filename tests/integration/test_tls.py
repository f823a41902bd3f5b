#!/usr/bin/python3
"""wss: the server is verified, host name included, against ca_file alone
or the system trust store; there is no way to turn verification off."""

import os
import subprocess

from harness import SkipTest, run, test, wait_for


def make_ca(env, name, san):
    """A throwaway CA and a server certificate for NAME (subjectAltName
    SAN, e.g. IP:127.0.0.1) signed by it. IP addresses keep the tests
    independent of /etc/hosts, which a minimal system may lack."""
    d = os.path.join(env.dir, "pki-" + name)
    os.mkdir(d)

    def ssl(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=streamd test CA", "-keyout", "ca.key", "-out", "ca.pem")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name,
        "-keyout", "server.key", "-out", "server.csr")
    with open(os.path.join(d, "ext"), "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n" % san)
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "ext", "-out", "server.pem")
    return d


def tls_fake(env, pki):
    return env.fake("--tls-cert", os.path.join(pki, "server.pem"),
                    "--tls-key", os.path.join(pki, "server.key"))


@test
def test_wss_with_ca_file(env):
    pki = make_ca(env, "server", "IP:127.0.0.1")
    fake = tls_fake(env, pki)
    d = env.daemon(None, "--ca-file", os.path.join(pki, "ca.pem"),
                   url="https://127.0.0.1:%d" % fake.port)
    r = env.reader(d)
    r.wait_event("connected")
    assert r.events("connected")[0]["url"] == "wss://127.0.0.1:%d/datastream" % fake.port
    fake.ctl("send", text='{"over":"tls"}')
    wait_for(lambda: {"over": "tls"} in r.data(), what="a message over wss")


@test
def test_wss_untrusted_certificate_fails(env):
    # the system store does not know the test CA: the handshake must fail
    pki = make_ca(env, "server", "IP:127.0.0.1")
    fake = tls_fake(env, pki)
    d = env.daemon(None, "--max-reconnect-attempts", "2",
                   url="wss://127.0.0.1:%d/datastream" % fake.port)
    assert d.wait_exit(20) == 69
    assert fake.ctl("status")["total_connections"] == 0
    assert "TLS: server certificate rejected: unable to get local issuer" in d.logs(), d.logs()


@test
def test_wss_address_mismatch_fails(env):
    # trusted CA, but the certificate names another address
    pki = make_ca(env, "other", "IP:127.0.0.2")
    fake = tls_fake(env, pki)
    d = env.daemon(None, "--ca-file", os.path.join(pki, "ca.pem"),
                   "--max-reconnect-attempts", "2",
                   url="wss://127.0.0.1:%d/datastream" % fake.port)
    assert d.wait_exit(20) == 69
    assert fake.ctl("status")["total_connections"] == 0
    assert "TLS: server certificate rejected: IP address mismatch" in d.logs(), d.logs()


@test
def test_ca_file_replaces_system_store(env):
    # with ca_file set, a certificate from another CA is refused even
    # though that CA would verify against... nothing else: ca_file alone
    pki_server = make_ca(env, "server", "IP:127.0.0.1")
    pki_other = make_ca(env, "other", "IP:127.0.0.1")
    fake = tls_fake(env, pki_server)
    d = env.daemon(None, "--ca-file", os.path.join(pki_other, "ca.pem"),
                   "--max-reconnect-attempts", "2",
                   url="wss://127.0.0.1:%d/datastream" % fake.port)
    assert d.wait_exit(20) == 69
    assert "TLS: server certificate rejected" in d.logs(), d.logs()


@test
def test_wss_by_host_name(env):
    # the name is checked too (a DNS subjectAltName); skipped where
    # localhost does not resolve (a minimal chroot without /etc/hosts)
    import socket
    try:
        socket.getaddrinfo("localhost", 443)
    except OSError:
        raise SkipTest("localhost does not resolve here")
    pki = make_ca(env, "named", "DNS:localhost")
    fake = tls_fake(env, pki)
    d = env.daemon(None, "--ca-file", os.path.join(pki, "ca.pem"),
                   url="wss://localhost:%d/datastream" % fake.port)
    env.reader(d).wait_event("connected")


if __name__ == "__main__":
    run()
