"""The loopback network for directed-query tests, started once for the whole test run and stopped at teardown."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import dns.rcode
import pytest

from directed_loopback import (
    IDN_ASCII,
    RECORDS,
    BlockedListener,
    ClosedPort,
    Dnsmasq,
    Network,
    OpenListener,
    StubDns,
    TlsListener,
    make_certificate,
)


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.fixture(scope="session")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    if shutil.which("dnsmasq") is None and not os.path.exists("/usr/sbin/dnsmasq"):
        pytest.skip("dnsmasq is not installed ('make test' as root installs it)")
    if not _ipv6_loopback():
        pytest.skip("no IPv6 loopback (::1) on this machine")
    opened = OpenListener("127.0.0.2")
    open_v6 = OpenListener("::1", opened.port)
    closed = ClosedPort("127.0.0.3")
    blocked = BlockedListener("127.0.0.4")
    tls: TlsListener | None = None
    cert: Path | None = None
    if shutil.which("openssl"):
        cert, key = make_certificate(tmp_path_factory.mktemp("tls"))
        tls = TlsListener("127.0.0.5", cert, key)
    server = Dnsmasq(
        dict(RECORDS),
        extra_args=[
            "--host-record=dual.iot.test,127.0.0.2,::1",
            "--host-record=half.iot.test,127.0.0.4,::1",
            "--host-record=v6only.iot.test,::1",
            f"--host-record={IDN_ASCII},127.0.0.2",
            "--cname=alias.iot.test,open.iot.test",
            "--txt-record=txt.iot.test,no address here",
        ],
    ).start()
    try:
        yield Network(server.address, opened, open_v6, closed, blocked, tls, cert)
    finally:
        server.stop()
        for resource in (opened, open_v6, closed, blocked, tls):
            if resource is not None:
                resource.close()


@pytest.fixture
def blocked_verified(net: Network) -> BlockedListener:
    if not net.blocked.verified:
        pytest.skip("this kernel answered SYNs to a full accept queue; the silent-drop listener cannot be built")
    return net.blocked


@pytest.fixture(scope="session")
def silent_dns() -> Iterator[StubDns]:
    server = StubDns(None)
    yield server
    server.close()


@pytest.fixture(scope="session")
def servfail_dns() -> Iterator[StubDns]:
    server = StubDns(dns.rcode.SERVFAIL)
    yield server
    server.close()
