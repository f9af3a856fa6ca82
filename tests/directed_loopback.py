"""A small network on loopback for directed-query tests and the benchmark: nothing leaves 127.0.0.0/8 or ::1.

- ``Dnsmasq``: a real dnsmasq with A/AAAA records, a CNAME, a TXT-only name (no A/AAAA), NXDOMAIN for unknown
  names under ``iot.test`` and REFUSED for everything else (it has no upstream).
- ``StubDns``: a UDP server that answers every query with one rcode (SERVFAIL), or never answers (timeout);
  it records who asked.
- ``OpenListener`` (accepts, records peers), ``ClosedPort`` (bound, not listening: RST), ``BlockedListener``
  (``listen(0)`` with its accept queue filled and never accepted, so the kernel drops further SYNs: the client
  sees exactly what a carrier's silent drop looks like) and ``TlsListener`` (self-signed certificate).
"""

from __future__ import annotations

import selectors
import shutil
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode

RECORDS = {
    "open.iot.test": "127.0.0.2",
    "closed.iot.test": "127.0.0.3",
    "blocked.iot.test": "127.0.0.4",
    "tls.iot.test": "127.0.0.5",
}
IDN_NAME = "例子.iot.test"
IDN_ASCII = "xn--fsqu00a.iot.test"


def free_port(host: str, kind: int = socket.SOCK_STREAM) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class _Loop:
    """A background thread serving a listening socket until ``close``."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _start(self, target: object) -> None:
        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class OpenListener(_Loop):
    """Accepts and closes at once; ``peers`` are the source addresses seen."""

    def __init__(self, host: str, port: int = 0) -> None:
        super().__init__()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(128)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.peers: list[str] = []
        self._start(self._serve)

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self.sock, selectors.EVENT_READ)
            while not self._stop.is_set():
                if selector.select(0.05):
                    conn, peer = self.sock.accept()
                    self.peers.append(peer[0])
                    conn.close()
        self.sock.close()


class ClosedPort:
    """A port bound but not listening: a SYN gets RST (connection refused)."""

    def __init__(self, host: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.host, self.port = host, self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()


class BlockedListener:
    """``listen(0)`` with the accept queue full: further SYNs are dropped and connects time out."""

    def __init__(self, host: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(0)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.verified = False
        for _ in range(8):
            client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            client.settimeout(0.2)
            try:
                client.connect((host, self.port))
            except TimeoutError:
                client.close()
                self.verified = True  # a SYN went unanswered: the queue is full
                break
            self.held.append(client)

    def close(self) -> None:
        for client in self.held:
            client.close()
        self.sock.close()


class TlsListener(_Loop):
    """Completes TLS handshakes with ``cert``/``key`` (self-signed), then closes."""

    def __init__(self, host: str, cert: Path, key: Path) -> None:
        super().__init__()
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.server_names: list[str | None] = []
        self.context.sni_callback = self._sni
        self._start(self._serve)

    def _sni(self, _sock: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        self.server_names.append(name)

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(3)
        try:
            with self.context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)  # until the client closes
        except OSError:
            pass
        finally:
            conn.close()

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self.sock, selectors.EVENT_READ)
            while not self._stop.is_set():
                if selector.select(0.05):
                    conn, _ = self.sock.accept()
                    threading.Thread(target=self._handle, args=(conn,), daemon=True).start()
        self.sock.close()


class StubDns(_Loop):
    """Answers every query with ``rcode``, or never answers when ``rcode`` is None; ``peers`` saw who asked."""

    def __init__(self, rcode: dns.rcode.Rcode | None) -> None:
        super().__init__()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.rcode = rcode
        self.peers: list[str] = []
        self._start(self._serve)

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self.sock, selectors.EVENT_READ)
            while not self._stop.is_set():
                if not selector.select(0.05):
                    continue
                data, peer = self.sock.recvfrom(4096)
                self.peers.append(peer[0])
                if self.rcode is None:
                    continue
                query = dns.message.from_wire(data)
                response = dns.message.make_response(query)
                response.set_rcode(self.rcode)
                self.sock.sendto(response.to_wire(), peer)
        self.sock.close()


@dataclass
class Dnsmasq:
    """A real dnsmasq on 127.0.0.1:<free port>; ``address`` is what ``--dns`` takes."""

    records: dict[str, str]
    extra_args: list[str] = field(default_factory=list)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Dnsmasq:
        binary = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
        self.port = free_port("127.0.0.1", socket.SOCK_DGRAM)
        argv = [
            binary,
            "--no-daemon",
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--pid-file=",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            f"--port={self.port}",
            "--local=/iot.test/",
            *(f"--host-record={name},{address}" for name, address in self.records.items()),
            *self.extra_args,
        ]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        query = dns.message.make_query(next(iter(self.records)), "A")
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                stderr = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"dnsmasq exited: {stderr.strip()}")
            try:
                dns.query.udp(query, "127.0.0.1", port=self.port, timeout=0.2)
                return self
            except (dns.exception.Timeout, OSError):
                continue
        self.stop()
        raise RuntimeError("dnsmasq did not answer within 10 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()


@dataclass
class Network:
    """What the network fixture started: ``dns`` is the dnsmasq address for ``--dns``."""

    dns: str
    open: OpenListener
    open_v6: OpenListener
    closed: ClosedPort
    blocked: BlockedListener
    tls: TlsListener | None
    cert: Path | None


def make_certificate(directory: Path, name: str = "tls.iot.test", ip: str = "127.0.0.1") -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` (and ``ip``) made with the openssl command."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            f"/CN={name}",
            "-addext",
            f"subjectAltName=DNS:{name},IP:{ip}",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key
