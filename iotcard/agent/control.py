"""The CLI and the daemon's shared ground: the control socket's protocol, and which commands cross it.

Both sides import this module and nothing of each other: the CLI forwards a command here (:func:`forward`); the
daemon serves the socket (:class:`ControlServer`) and runs what arrives with a :data:`Dispatch` it was handed (the
CLI's own parser and handlers), giving the command its modem, its live status and its defaults as values
(:class:`Inside`). Adding a forwarded command is one row in :data:`FORWARDED`.

One request per connection, one JSON line each way::

    -> {"argv": ["info", "--json"], "lang": "zh", "tty": false}
    <- {"status": 0, "stdout": "...", "stderr": ""}

A command that names a modem port sends it too, resolved on the CLI's side (``"port": "/dev/ttyUSB3"``). The agent
answers only for the port it owns; for another one it runs nothing and says which port it owns
(``{"agent_port": "/dev/ttyUSB2"}``), and the CLI opens the named port itself. Ports are compared as devices, so a
udev link such as /dev/ttyCellular and the /dev/ttyUSB2 it points to are the same port.

The socket is mode 0660, group ``iotcard-cli`` (``CONTROL_GROUP``: a group of its own, so the operators who may
use the CLI cannot read the daemon's config or password file, which belong to the daemon's group), in the daemon's
runtime directory; only CLI subcommands listed in ``FORWARDED`` are accepted, so nothing else (no ``run``, no config
writes) can be asked of the daemon this way.

Bounded: at most ``max_clients`` requests at once (the rest are told the agent is busy, without a thread), a whole
request (one line of at most ``MAX_REQUEST`` bytes) must arrive within ``request_deadline`` seconds however slowly
it trickles in, and every request is logged with the caller's uid and pid (``SO_PEERCRED``); ``at`` at warning level.
"""

from __future__ import annotations

import contextlib
import grp
import json
import logging
import os
import socket
import socketserver
import stat
import struct
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._context import ModemOpener
from .errors import ForwardFailed, OtherPort

__all__ = [
    "CONTROL_GROUP",
    "DEFAULT_SOCKET",
    "FORWARDED",
    "ControlServer",
    "DaemonDefaults",
    "Dispatch",
    "ForwardFailed",
    "Forwarded",
    "Handler",
    "Inside",
    "OtherPort",
    "forward",
    "same_port",
]

DEFAULT_SOCKET = Path("/run/iotcard/agent.sock")
CONTROL_GROUP = "iotcard-cli"
MAX_REQUEST = 8 * 1024
MAX_CLIENTS = 4
REQUEST_DEADLINE = 5.0
log = logging.getLogger("iotcard.control")

# (argv, lang, tty, port): port is the modem port the command names, as the CLI resolved it, or None.
Handler = Callable[[Sequence[str], str, bool, str | None], tuple[int, str, str]]


@dataclass(frozen=True)
class DaemonDefaults:
    """The daemon's own values, which a forwarded command takes for the options its user left out."""

    port: str
    config: Path | None = None
    state_dir: Path | None = None


@dataclass(frozen=True)
class Forwarded:
    """A CLI command the daemon runs for the CLI.

    ``modem_port``: its ``--port`` names a modem's AT port (resolved by the CLI and sent along; the daemon answers
    only for its own). ``takes``: the options (``port``, ``config``, ``state_dir``) that get the daemon's value when
    the user gave none. ``config_names_port``: a ``--config`` of the user's own names the port too, so the daemon's
    port is not forced on it (``diag``)."""

    name: str
    modem_port: bool = False
    takes: tuple[str, ...] = ()
    config_names_port: bool = False

    def defaults(self, given: Collection[str], own: DaemonDefaults) -> dict[str, object]:
        """The daemon's values for the options of ``takes`` not in ``given`` (None values are left out)."""
        values: dict[str, object] = {}
        for option in self.takes:
            if option in given or (option == "port" and self.config_names_port and "config" in given):
                continue
            value = getattr(own, option)
            if value is not None:
                values[option] = value
        return values


FORWARDED: dict[str, Forwarded] = {
    spec.name: spec
    for spec in (
        Forwarded("info", modem_port=True, takes=("port",)),
        Forwarded("at", modem_port=True, takes=("port",)),
        Forwarded("diag", modem_port=True, takes=("port", "config", "state_dir"), config_names_port=True),
        Forwarded("usage", modem_port=True, takes=("config",)),
        Forwarded("probe", takes=("config",)),  # its --port is a TCP port
        Forwarded("status", takes=("config",)),
    )
}


@dataclass(frozen=True)
class Inside:
    """What the daemon gives a command it runs for the CLI: its modem (through the modem worker), its live status
    for ``iotcard status``, and its defaults."""

    defaults: DaemonDefaults
    open_modem: ModemOpener
    agent_status: Callable[[], dict[str, object]]


# (argv, lang, inside) -> (exit status, stdout, stderr): the CLI's parser and handlers, handed to the daemon.
Dispatch = Callable[[Sequence[str], str, Inside], tuple[int, str, str]]


def same_port(one: str, other: str) -> bool:
    """Whether two paths name the same serial device (a udev or by-id link and its target are one port)."""
    try:
        first, second = os.stat(one), os.stat(other)
    except OSError:
        # A vanished port (USB re-enumeration): compare where the names point.
        return os.path.realpath(one) == os.path.realpath(other)
    if stat.S_ISCHR(first.st_mode) and stat.S_ISCHR(second.st_mode):
        return first.st_rdev == second.st_rdev
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a Unix socket (SO_PEERCRED)."""
    data = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", data)
    return pid, uid, gid


def _read_request(sock: socket.socket, deadline: float) -> bytes:
    """One request line, within ``deadline`` (monotonic) as a whole; ValueError when too slow or too long."""
    data = bytearray()
    while b"\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ValueError("the request did not arrive in time")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            raise ValueError("the request did not arrive in time") from None
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_REQUEST:
            raise ValueError(f"request longer than {MAX_REQUEST} bytes")
    return bytes(data.split(b"\n", 1)[0])


def _send_reply(sock: socket.socket, reply: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        sock.settimeout(REQUEST_DEADLINE)
        sock.sendall(json.dumps(reply, ensure_ascii=False).encode() + b"\n")


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64  # a burst of clients waits in the backlog and is told "busy", not EAGAIN
    handler: Handler
    slots: threading.BoundedSemaphore
    request_deadline: float = REQUEST_DEADLINE
    refused_busy = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        # No thread for a client over the cap: it is told at once and the connection closed.
        if not self.slots.acquire(blocking=False):
            self.refused_busy += 1
            _send_reply(
                request,
                {
                    "status": 75,
                    "stdout": "",
                    "stderr": "iotcard: error: the agent is busy with other requests; retry\n",
                },
            )
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class _Connection(socketserver.BaseRequestHandler):
    server: _Server
    request: socket.socket

    def handle(self) -> None:
        deadline = time.monotonic() + self.server.request_deadline
        try:
            pid, uid, _ = peer_credentials(self.request)
        except OSError:
            pid, uid = -1, -1
        try:
            line = _read_request(self.request, deadline)
            request = json.loads(line)
            argv = request["argv"]
            if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv) or not argv:
                raise ValueError("argv must be a non-empty list of strings")
            if argv[0] not in FORWARDED:
                raise ValueError(f"'{argv[0]}' cannot be run through the control socket")
            lang = request.get("lang") if request.get("lang") in ("en", "zh") else "en"
            port = request.get("port")
            if port is not None and not isinstance(port, str):
                raise ValueError("port must be a string")
            # Who asked what: an AT command through the socket controls the modem, so it is logged at warning.
            level = logging.WARNING if argv[0] == "at" else logging.INFO
            log.log(level, "control request from uid %d (pid %d): %s", uid, pid, " ".join(argv)[:600])
            self.request.settimeout(None)
            try:
                status, out, err = self.server.handler(argv, lang, bool(request.get("tty")), port)
            except SystemExit as exc:  # argparse refused the arguments (it printed why to our stderr)
                code = exc.code if isinstance(exc.code, int) else 2
                status, out, err = code, "", "iotcard: error: the arguments were refused (see 'iotcard --help')\n"
            reply: dict[str, Any] = {"status": status, "stdout": out, "stderr": err}
        except OtherPort as exc:
            reply = {"agent_port": exc.agent_port}
        except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
            reply = {"status": 2, "stdout": "", "stderr": f"iotcard: error: bad control request: {exc}\n"}
        except OSError:
            return
        _send_reply(self.request, reply)


class ControlServer:
    """Serves the socket on a background thread; ``close()`` stops it and removes the socket file."""

    def __init__(
        self,
        path: Path,
        handler: Handler,
        *,
        mode: int = 0o660,
        group: str | None = CONTROL_GROUP,
        max_clients: int = MAX_CLIENTS,
        request_deadline: float = REQUEST_DEADLINE,
    ) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if path.is_socket():
                path.unlink()  # a stale socket of a daemon that was killed
        self._server = _Server(str(path), _Connection)
        self._server.handler = handler
        self._server.slots = threading.BoundedSemaphore(max_clients)
        self._server.request_deadline = request_deadline
        os.chmod(path, mode)
        self.group = _give_to_group(path, group)
        self._thread = threading.Thread(target=self._server.serve_forever, name="control", daemon=True)

    def start(self) -> ControlServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _give_to_group(path: Path, group: str | None) -> str | None:
    """Hand the socket to ``group`` when it exists and the daemon may (it is a member); the group's name, or None."""
    if group is None:
        return None
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        log.info("no group %s: the control socket keeps the daemon's group", group)
        return None
    try:
        os.chown(path, -1, gid)
    except OSError as exc:
        log.warning("cannot give the control socket to group %s: %s", group, exc.strerror)
        return None
    return group


def forward(
    path: Path, argv: Sequence[str], lang: str, tty: bool, timeout: float = 300.0, *, port: str | None = None
) -> tuple[int, str, str]:
    """Run ``argv`` in the daemon listening on ``path``; ForwardFailed when none does, OtherPort when ``port`` (the
    modem port the command names, resolved here) is not the one the daemon owns."""
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError as exc:
        raise ForwardFailed(str(exc)) from None
    with sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise ForwardFailed(str(exc)) from None
        except PermissionError:
            raise
        request: dict[str, Any] = {"argv": list(argv), "lang": lang, "tty": tty}
        if port is not None:
            request["port"] = port
        try:
            sock.sendall(json.dumps(request).encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (BrokenPipeError, ConnectionResetError) as exc:
            # The agent closed the connection (busy, or stopping): say so rather than show a traceback.
            return 75, "", f"iotcard: error: the agent closed the control connection ({exc.strerror}); retry\n"
    try:
        reply = json.loads(b"".join(chunks) or b"{}")
    except ValueError:
        return 75, "", "iotcard: error: the agent sent an unreadable reply; retry\n"
    if isinstance(reply.get("agent_port"), str):
        raise OtherPort(reply["agent_port"])
    return int(reply.get("status", 1)), str(reply.get("stdout", "")), str(reply.get("stderr", ""))
