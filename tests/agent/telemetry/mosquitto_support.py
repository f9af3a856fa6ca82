"""A real Mosquitto on 127.0.0.1 for tests and the benchmark: plain, TLS and password listeners, restartable.

Certificates are made at run time with openssl: a CA, a server certificate for 127.0.0.1/localhost signed by it,
and an unrelated CA to prove that verification fails with the wrong one.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd")
OPENSSL = shutil.which("openssl")
# The password listener's accounts (the broker fixture in conftest.py writes them).
USERS = {"device": "s3cret-pw", "other": "other-pw"}


def free_port() -> int:
    """A free port for a broker started later, below the kernel's ephemeral range: there the local port of another
    test's outgoing connection cannot take it between this check and mosquitto's bind, or a restart's ("Address
    already in use", seen once in CI with a port the kernel had handed out)."""
    low = _ephemeral_low()
    for _ in range(200):
        port = random.randrange(10_000, low) if low > 11_000 else 0
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free port below the ephemeral range")


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


@dataclass(frozen=True)
class Certs:
    ca: Path
    server_cert: Path
    server_key: Path
    other_ca: Path
    misnamed_cert: Path
    misnamed_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    assert OPENSSL is not None
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True)


def make_certs(directory: Path, *, key: str = "ec") -> Certs:
    """A CA and a server certificate (SAN 127.0.0.1, localhost); ``key`` is "ec" (P-256) or "rsa" (2048)."""
    directory.mkdir(parents=True, exist_ok=True)
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] if key == "ec" else ["-newkey", "rsa:2048"]
    for name in ("ca", "other_ca"):
        _openssl(
            "req", "-x509", *newkey, "-nodes", "-days", "2", "-subj", f"/CN=iotcard test {name}",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=directory,
        )  # fmt: skip
    _openssl(
        "req", *newkey, "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr",
        cwd=directory,
    )  # fmt: skip
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "san.ext", "-out", "server.pem", cwd=directory,
    )  # fmt: skip
    # Signed by the right CA, but for another name: host name verification must refuse it.
    _openssl(
        "req", *newkey, "-nodes", "-subj", "/CN=elsewhere.example", "-keyout", "misnamed.key", "-out", "misnamed.csr",
        cwd=directory,
    )  # fmt: skip
    (directory / "misnamed.ext").write_text("subjectAltName=DNS:elsewhere.example\n")
    _openssl(
        "x509", "-req", "-in", "misnamed.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "misnamed.ext", "-out", "misnamed.pem", cwd=directory,
    )  # fmt: skip
    return Certs(
        directory / "ca.pem",
        directory / "server.pem",
        directory / "server.key",
        directory / "other_ca.pem",
        directory / "misnamed.pem",
        directory / "misnamed.key",
    )


class Broker:
    """Mosquitto with a plain listener, a TLS listener (when certs are given) and a password listener (when a
    password file is given), persistence in ``directory`` so queued messages survive :meth:`kill` + :meth:`start`."""

    def __init__(
        self,
        directory: Path,
        *,
        certs: Certs | None = None,
        password_file: Path | None = None,
        acl_file: Path | None = None,
    ) -> None:
        assert MOSQUITTO is not None
        self.directory = directory
        self.certs = certs
        self.password_file = password_file
        self.acl_file = acl_file
        self.port = free_port()
        self.tls_port = free_port() if certs else None
        self.misnamed_port = free_port() if certs else None
        self.auth_port = free_port() if password_file else None
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "data").mkdir(exist_ok=True)
        self.config = directory / "mosquitto.conf"
        self.config.write_text(self._config())
        self.log = directory / "mosquitto.log"

    def _config(self) -> str:
        lines = [
            "per_listener_settings true",
            # Running as root, mosquitto would switch to its own user and lose access to the test's files.
            *(["user root"] if os.geteuid() == 0 else []),
            "persistence true",
            f"persistence_location {self.directory / 'data'}/",
            "autosave_interval 1",
            "autosave_on_changes true",
            "max_queued_messages 10000",
            "max_keepalive 65535",
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
        ]
        if self.certs is not None:
            lines += [
                f"listener {self.tls_port} 127.0.0.1",
                "allow_anonymous true",
                f"cafile {self.certs.ca}",
                f"certfile {self.certs.server_cert}",
                f"keyfile {self.certs.server_key}",
                f"listener {self.misnamed_port} 127.0.0.1",
                "allow_anonymous true",
                f"cafile {self.certs.ca}",
                f"certfile {self.certs.misnamed_cert}",
                f"keyfile {self.certs.misnamed_key}",
            ]
        if self.password_file is not None:
            lines += [
                f"listener {self.auth_port} 127.0.0.1",
                "allow_anonymous false",
                f"password_file {self.password_file}",
                *([f"acl_file {self.acl_file}"] if self.acl_file is not None else []),
            ]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 10.0) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(MOSQUITTO), "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        ports = [p for p in (self.port, self.tls_port, self.misnamed_port, self.auth_port) if p]
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log.read_text(errors='replace')[-2000:]}")
            if all(_listening(p) for p in ports):
                return
            time.sleep(0.02)
        raise RuntimeError("mosquitto did not start listening")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no final persistence write."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def make_password_file(path: Path, users: dict[str, str]) -> Path | None:
    """A mosquitto password file via mosquitto_passwd -b; None when mosquitto_passwd is missing."""
    if MOSQUITTO_PASSWD is None:
        return None
    path.write_text("")
    for user, password in users.items():
        subprocess.run([MOSQUITTO_PASSWD, "-b", str(path), user, password], check=True, capture_output=True)
    path.chmod(0o600)
    return path
