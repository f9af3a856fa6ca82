"""The local control socket: the CLI's commands run inside the daemon, which owns the modem port.

One request per connection, one JSON line each way::

    -> {"argv": ["info", "--json"], "lang": "zh", "tty": false}
    <- {"status": 0, "stdout": "...", "stderr": ""}

A command that names a modem port sends it too, resolved on the CLI's side (``"port": "/dev/ttyUSB3"``). The agent
answers only for the port it owns; for another one it runs nothing and says which port it owns
(``{"agent_port": "/dev/ttyUSB2"}``), and the CLI opens the named port itself. Ports are compared as devices, so a
udev link such as /dev/ttyCellular and the /dev/ttyUSB2 it points to are the same port.

The socket is mode 0660 (group iotcard) in the daemon's runtime directory; only CLI subcommands listed in
``FORWARDED`` are accepted, so nothing else (no ``run``, no config writes) can be asked of the daemon this way.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import socketserver
import stat
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_SOCKET", "FORWARDED", "ControlServer", "ForwardFailed", "OtherPort", "forward", "same_port"]

DEFAULT_SOCKET = Path("/run/iotcard/agent.sock")
FORWARDED = frozenset({"info", "diag", "probe", "usage", "at", "status"})
MAX_REQUEST = 64 * 1024
log = logging.getLogger("iotcard.control")

# (argv, lang, tty, port): port is the modem port the command names, as the CLI resolved it, or None.
Handler = Callable[[Sequence[str], str, bool, str | None], tuple[int, str, str]]


class ForwardFailed(Exception):
    """No daemon answered on the socket (none running, or a stale socket file): run the command locally."""


class OtherPort(ForwardFailed):
    """The command names a modem port the agent does not own: the agent ran nothing, run the command locally.

    A handler raises it in the daemon; :func:`forward` raises it again on the CLI's side."""

    def __init__(self, agent_port: str) -> None:
        super().__init__(f"the agent owns {agent_port}")
        self.agent_port = agent_port


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


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    handler: Handler


class _Connection(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.connection.settimeout(10)
        try:
            line = self.rfile.readline(MAX_REQUEST + 1)
            if len(line) > MAX_REQUEST:
                raise ValueError(f"request longer than {MAX_REQUEST} bytes")
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
            self.connection.settimeout(None)
            status, out, err = self.server.handler(argv, lang, bool(request.get("tty")), port)
            reply: dict[str, Any] = {"status": status, "stdout": out, "stderr": err}
        except OtherPort as exc:
            reply = {"agent_port": exc.agent_port}
        except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
            reply = {"status": 2, "stdout": "", "stderr": f"iotcard: error: bad control request: {exc}\n"}
        except OSError:
            return
        with contextlib.suppress(OSError):
            self.wfile.write(json.dumps(reply, ensure_ascii=False).encode() + b"\n")


class ControlServer:
    """Serves the socket on a background thread; ``close()`` stops it and removes the socket file."""

    def __init__(self, path: Path, handler: Handler, *, mode: int = 0o660) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if path.is_socket():
                path.unlink()  # a stale socket of a daemon that was killed
        self._server = _Server(str(path), _Connection)
        self._server.handler = handler
        os.chmod(path, mode)
        self._thread = threading.Thread(target=self._server.serve_forever, name="control", daemon=True)

    def start(self) -> ControlServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


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
        sock.sendall(json.dumps(request).encode() + b"\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    reply = json.loads(b"".join(chunks) or b"{}")
    if isinstance(reply.get("agent_port"), str):
        raise OtherPort(reply["agent_port"])
    return int(reply.get("status", 1)), str(reply.get("stdout", "")), str(reply.get("stderr", ""))
