"""The modem worker: the only thread that touches the port. Everyone else submits work and waits for the result."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from types import TracebackType
from typing import TypeVar

from iotcard.drivers.at import Command
from iotcard.drivers.errors import ModemRebooted, PortError, ReadTimeout
from iotcard.drivers.models import ModemSnapshot
from iotcard.drivers.modem import Modem

from ._inbox import Inbox

__all__ = ["MAX_AT_TIMEOUT", "ModemWorker", "WorkerModem"]

# The longest a single AT command may be given (AT+COPS=? needs up to 180 s).
MAX_AT_TIMEOUT = 600.0

T = TypeVar("T")
log = logging.getLogger("iotcard.daemon")


class ModemWorker:
    """Owns a :class:`Modem` on one thread; requests run one at a time in submission order.

    ``state`` is ``starting``, ``ok``, ``port_unavailable`` or ``unresponsive`` after the last request; the port is
    reopened by the next request after a failure (the driver waits for a vanished port itself).
    """

    def __init__(self, port: str, baud: int = 115200, *, make_modem: Callable[[str, int], Modem] = Modem) -> None:
        self.port = port
        self.baud = baud
        self._make_modem = make_modem
        self._inbox = Inbox("modem")
        self._modem: Modem | None = None
        self._lock = threading.Lock()  # guards the state fields read by status()
        self.state = "starting"
        self.last_error: str | None = None
        self.requests = 0
        self._busy: tuple[float, float] | None = None  # (since, allowed seconds) of the request running now

    def submit(self, work: Callable[[Modem], T], allowed: float = 180.0) -> Future[T]:
        """Queue ``work``; ``allowed`` is how long it may run before the worker counts as stuck."""
        return self._inbox.put(self._run, work, allowed)

    def stuck(self, now: float | None = None, grace: float = 30.0) -> bool:
        """Whether the request running now has run past what it was allowed (the watchdog stops then)."""
        with self._lock:
            busy = self._busy
        now = time.monotonic() if now is None else now
        return busy is not None and now - busy[0] > busy[1] + grace

    def call(self, work: Callable[[Modem], T], timeout: float) -> T:
        """Run ``work`` on the worker and wait for it; OwnerTimeout when it takes longer than ``timeout``."""
        return self._inbox.wait(self.submit(work, timeout), timeout)

    def _run(self, work: Callable[[Modem], T], allowed: float) -> T:
        with self._lock:
            self._busy = (time.monotonic(), allowed)
        try:
            return self._run_now(work)
        finally:
            with self._lock:
                self._busy = None

    def _run_now(self, work: Callable[[Modem], T]) -> T:
        if self._modem is None:
            self._modem = self._make_modem(self.port, self.baud)
        try:
            result = work(self._modem)
        except PortError as exc:
            self._set("port_unavailable", exc.message)
            self._modem.close()
            raise
        except (ReadTimeout, ModemRebooted) as exc:
            self._set("unresponsive", exc.message)
            raise
        self._set("ok", None)
        return result

    def _set(self, state: str, error: str | None) -> None:
        with self._lock:
            self.state = state
            self.last_error = error
            self.requests += 1

    def status(self) -> dict[str, object]:
        with self._lock:
            return {"port": self.port, "state": self.state, "last_error": self.last_error, "requests": self.requests}

    def close(self, timeout: float = 5.0) -> None:
        """Close the port on the worker thread; a worker stuck in a long read is left behind (the process exits)."""

        def shut() -> None:
            if self._modem is not None:
                self._modem.close()

        self._inbox.close(shut, timeout)


class WorkerModem:
    """The :class:`iotcard.agent._context.ModemAccess` of a command running inside the daemon: every call goes through
    the worker, so the CLI and the scheduled jobs never interleave commands on the port."""

    def __init__(self, worker: ModemWorker) -> None:
        self._worker = worker

    def __enter__(self) -> WorkerModem:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        return None

    def read_snapshot(self) -> ModemSnapshot:
        return self._worker.call(lambda modem: modem.read_snapshot(), timeout=120)

    def execute(self, command: Command) -> tuple[str, ...]:
        if not 0 < command.timeout <= MAX_AT_TIMEOUT:
            # The CLI bounds --timeout; this is the daemon's own guard (a wedged worker stops everything).
            raise ReadTimeout(
                f"a timeout of {command.timeout:g} s is not allowed; at most {MAX_AT_TIMEOUT:g} s",
                command=command.text,
                timeout=command.timeout,
            )
        return self._worker.call(lambda modem: modem.execute(command), timeout=command.timeout + 30)

    def read_module_counters(self) -> tuple[int, int, str] | None:
        return self._worker.call(lambda modem: modem.read_module_counters(), timeout=30)
