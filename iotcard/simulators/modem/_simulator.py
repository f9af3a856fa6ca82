"""The pty side: a real pseudo-terminal, one serving thread, and the scenario's effects on the byte stream."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import queue
import random
import select
import sys
import termios
import threading
import time
import tty
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from iotcard.simulators.modem._modem import Modem
from iotcard.simulators.modem._profiles import PROFILES, Profile
from iotcard.simulators.modem._scenarios import SCENARIOS, Scenario

log = logging.getLogger("iotcard.simulators.modem")

POLL_SECONDS = 0.05  # select() timeout: how long stop() and requests may wait for the serving thread
REBOOT_SILENCE_SECONDS = 0.3
CHUNK_PAUSE_SECONDS = 0.001
WRITE_STALL_SECONDS = 1.0  # give up on a write when nobody drains the pty for this long
REQUEST_TIMEOUT_SECONDS = 5.0
DELIVERY_SECONDS = 0.05
DRAIN_SECONDS = 0.5  # how long a vanishing port waits for its last answer to be read
STORM_URCS = ("+CEREG: 1", "+CREG: 1", "+CGREG: 1")

T = TypeVar("T")


@dataclass
class _Request:
    action: str
    text: str = ""
    done: Future[str | None] = field(default_factory=Future)


class ModemSimulator:
    """An AT modem on a real pty, served by one background thread.

    >>> with ModemSimulator(profile="quectel_ec25", scenario="normal") as sim:
    ...     port = serial.Serial(sim.path, 115200, timeout=1)

    ``profile`` and ``scenario`` are names from ``PROFILES``/``SCENARIOS`` (or the objects themselves);
    ``answer_delay`` (seconds) delays every answer after its echo; ``link`` is a stable symlink path pointing
    at the current pty (like ``/dev/serial/by-id/...``), re-pointed when the port comes back after a vanish;
    ``seed`` makes garbage bytes, URC storms and chunk sizes reproducible.

    The serving thread owns the pty and the modem model; the other methods hand it requests and wait.
    """

    def __init__(
        self,
        profile: str | Profile = "quectel_ec25",
        scenario: str | Scenario = "normal",
        answer_delay: float = 0.0,
        link: str | os.PathLike[str] | None = None,
        *,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.profile = _lookup(PROFILES, profile, "profile") if isinstance(profile, str) else profile
        self.scenario = _lookup(SCENARIOS, scenario, "scenario") if isinstance(scenario, str) else scenario
        if answer_delay < 0:
            raise ValueError("answer_delay must be >= 0 seconds")
        self.answer_delay = max(answer_delay, self.scenario.answer_delay)
        self.link = Path(link) if link is not None else None
        self._modem = Modem(self.profile, self.scenario, clock)
        self._rng = random.Random(seed)
        self._master: int | None = None
        self._slave: int | None = None
        self._path: str | None = None
        self._pending = bytearray()
        self._discard_input = False
        self._reappear_at: float | None = None
        self._commands: list[str] = []
        self._commands_lock = threading.Lock()
        self._requests: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self._wake_read: int | None = None
        self._wake_write: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- public API -------------------------------------------------------------------------------------------

    @property
    def path(self) -> str | None:
        """The path to open: the link if one was given, else the pty slave (``/dev/pts/N``); None while vanished
        without a link."""
        return self._path

    @property
    def commands(self) -> list[str]:
        """Every non-empty command line received so far, in order (a copy)."""
        with self._commands_lock:
            return list(self._commands)

    def start(self) -> str:
        """Open the pty, create the link, start serving; return the path to open."""
        if self._thread is not None:
            raise RuntimeError("the simulator is already started")
        self._open_pty()
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name=f"modem-sim-{self.profile.name}", daemon=True)
        self._thread.start()
        assert self._path is not None
        return self._path

    def stop(self) -> None:
        """Stop serving, close the pty and remove the link. Safe to call twice."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        self._wake()
        thread.join(timeout=REQUEST_TIMEOUT_SECONDS)
        self._thread = None
        for fd in (self._wake_read, self._wake_write):
            if fd is not None:
                os.close(fd)
        self._wake_read = self._wake_write = None
        self._close_pty()  # the thread has ended; it closed the pty already unless it died

    def vanish(self) -> None:
        """Close the pty and remove the link, as a USB modem that drops off the bus."""
        self._call("vanish")

    def reappear(self) -> str:
        """Create a new pty (the module booted again) and point the link at it; return the path to open."""
        path = self._call("reappear")
        assert path is not None
        return path

    def send_urc(self, text: str) -> None:
        """Write one unsolicited result line (framed as the modem frames results)."""
        self._call("urc", text)

    def __enter__(self) -> ModemSimulator:
        if self._thread is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # -- requests to the serving thread ----------------------------------------------------------------------------

    def _call(self, action: str, text: str = "") -> str | None:
        if self._thread is None or not self._thread.is_alive():
            raise RuntimeError("the simulator is not running")
        request = _Request(action, text)
        self._requests.put(request)
        self._wake()
        return request.done.result(timeout=REQUEST_TIMEOUT_SECONDS)

    def _wake(self) -> None:
        if self._wake_write is not None:
            os.write(self._wake_write, b"\0")

    def _handle_requests(self) -> None:
        while True:
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                return
            try:
                request.done.set_result(self._perform(request))
            except Exception as exc:  # handed to the caller, who raises it
                request.done.set_exception(exc)

    def _perform(self, request: _Request) -> str | None:
        if request.action == "vanish":
            self._reappear_at = None
            self._close_pty()
            return None
        if request.action == "reappear":
            self._reappear_at = None
            if self._master is None:
                self._modem.reset()
                self._open_pty()
            return self._path
        if request.action == "urc":
            if self._master is None:
                raise RuntimeError("the port has vanished")
            self._write(self._modem.frame_urc(request.text))
            return None
        raise ValueError(request.action)

    # -- the serving loop -----------------------------------------------------------------------------------

    def _serve(self) -> None:
        assert self._wake_read is not None
        try:
            while not self._stop.is_set():
                watched = [self._wake_read] if self._master is None else [self._wake_read, self._master]
                readable, _, _ = select.select(watched, [], [], POLL_SECONDS)
                if self._wake_read in readable:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_read, 4096)
                    self._handle_requests()
                if self._master is not None and self._master in readable:
                    self._read_port()
                if self._reappear_at is not None and time.monotonic() >= self._reappear_at:
                    self._reappear_at = None
                    self._modem.reset()
                    self._open_pty()
                    log.info("port is back at %s", self._path)
        except Exception:
            log.exception("the modem simulator stopped on an error")
        finally:
            self._close_pty()
            self._handle_requests()  # nobody waits forever on a request that arrived during shutdown

    def _read_port(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno == errno.EIO:
                return
            raise
        for byte in data:
            if self._master is None:
                return
            if byte == 0x0D:  # S3: the command line ends at CR
                line = self._pending.decode("latin-1")
                self._pending.clear()
                self._discard_input = False
                self._on_line(line)
                if self._discard_input:
                    self._pending.clear()
                    return
            elif byte == 0x0A:  # a LF after the CR (or anywhere) is not part of a command
                continue
            elif byte == 0x08:  # S5 backspace
                del self._pending[-1:]
            elif len(self._pending) < 4096:
                self._pending.append(byte)

    def _on_line(self, line: str) -> None:
        if not line.strip():
            return
        with self._commands_lock:
            self._commands.append(line.strip())
            number = len(self._commands)
        log.debug("<- %r (command line %d)", line, number)
        scenario = self.scenario
        if scenario.hang_after is not None and number > scenario.hang_after:
            return
        reply = self._modem.receive_line(line)
        if reply is None:
            return
        wire = self._modem.render(reply)
        if wire.echo:
            self._write(wire.echo)
        if wire.body and self.answer_delay and self._stop.wait(self.answer_delay):
            return
        pieces = list(wire.body) + list(wire.urcs_after)
        if scenario.urc_storm and wire.body:
            pieces = self._storm(pieces)
        for piece in pieces:
            self._write(piece)
        if scenario.garbage_bytes and wire.body:
            self._write(self._garbage())
        if reply.reboot or scenario.reboot_after == number:
            self._reboot()
        if scenario.vanish_after == number:
            self._wait_until_read()
            self._close_pty()
            self._reappear_at = time.monotonic() + scenario.vanish_seconds
            log.info("port vanished after command line %d", number)

    # -- scenario effects --------------------------------------------------------------------------------------

    def _storm(self, pieces: list[bytes]) -> list[bytes]:
        """Put 1-3 URCs before, between and after the pieces of an answer."""
        choices = STORM_URCS + self.profile.storm_urcs
        stormy: list[bytes] = []
        for piece in [*pieces, b""]:
            for _ in range(self._rng.randint(1, 3)):
                stormy.append(self._modem.frame_urc(self._rng.choice(choices)))
            if piece:
                stormy.append(piece)
        return stormy

    def _garbage(self) -> bytes:
        alphabet = [0x00, *range(0x80, 0x100)]
        return bytes(self._rng.choice(alphabet) for _ in range(self._rng.randint(1, 8)))

    def _reboot(self) -> None:
        log.info("rebooting")
        if self._stop.wait(REBOOT_SILENCE_SECONDS):
            return
        self._drain_input()
        self._modem.reset()
        for urc in self._modem.boot_urcs():
            self._write(self._modem.frame_urc(urc))

    def _wait_until_read(self) -> None:
        """Let the reader take what was written (a USB modem's last answer reaches the host before it drops off)."""
        deadline = time.monotonic() + DRAIN_SECONDS
        # The pty hands written bytes to the reader's queue asynchronously: an empty queue right after a
        # write can still mean "not delivered yet", so settle first.
        if self._stop.wait(DELIVERY_SECONDS):
            return
        while self._slave is not None and time.monotonic() < deadline:
            pending = fcntl.ioctl(self._slave, termios.FIONREAD, b"\0\0\0\0")
            if int.from_bytes(pending, sys.byteorder) == 0 or self._stop.wait(0.005):
                return

    def _drain_input(self) -> None:
        """Drop what arrived while the module was not listening."""
        self._pending.clear()
        self._discard_input = True
        while self._master is not None:
            try:
                if not os.read(self._master, 4096):
                    return
            except OSError:
                return

    # -- the pty ---------------------------------------------------------------------------------------------

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no CR/LF translation in the tty layer: the modem decides every byte
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._pending.clear()
        slave_name = os.ttyname(slave)
        if self.link is not None:
            self.link.parent.mkdir(parents=True, exist_ok=True)
            if self.link.exists() and not self.link.is_symlink():
                raise FileExistsError(f"{self.link} exists and is not a symlink")
            temporary = self.link.with_name(f".{self.link.name}.{os.getpid()}.tmp")
            temporary.unlink(missing_ok=True)
            temporary.symlink_to(slave_name)
            temporary.replace(self.link)  # atomic: the link never points nowhere while it exists
            self._path = str(self.link)
        else:
            self._path = slave_name
        log.info("serving %s on %s", self.profile.name, slave_name)

    def _close_pty(self) -> None:
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        if self._master is not None and self.link is not None and self.link.is_symlink():
            self.link.unlink(missing_ok=True)
        if self._master is not None and self.link is None:
            self._path = None
        self._master = self._slave = None

    def _write(self, data: bytes) -> None:
        if self.scenario.split_chunks:
            index = 0
            while index < len(data):
                size = self._rng.randint(1, 3)
                self._write_all(data[index : index + size])
                index += size
                if self._stop.wait(CHUNK_PAUSE_SECONDS):
                    return
        else:
            self._write_all(data)

    def _write_all(self, data: bytes) -> None:
        deadline = time.monotonic() + WRITE_STALL_SECONDS
        view = memoryview(data)
        while view and self._master is not None:
            try:
                written = os.write(self._master, view)
                view = view[written:]
            except BlockingIOError:
                if time.monotonic() > deadline or self._stop.is_set():
                    log.warning("nobody reads the port; dropped %d bytes", len(view))
                    return
                select.select([], [self._master], [], POLL_SECONDS)
            except OSError as exc:
                if exc.errno == errno.EIO:
                    return
                raise
        log.debug("-> %r", data)


def _lookup(table: Mapping[str, T], name: str, kind: str) -> T:
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"unknown {kind} {name!r}; choose one of: {', '.join(table)}") from None
