"""An owner's inbox: one thread and the queue in front of it. Work runs there one item at a time, in arrival order.

Every owner of the daemon that others wait on (the modem worker, the meter, the scheduler's command lane) has one,
so waiting and giving up look the same everywhere: :meth:`Inbox.ask` raises :class:`OwnerTimeout` naming the owner
when the answer does not come in time (the owner goes on; only the caller stops waiting).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import ParamSpec, TypeVar

from iotcard.agent.errors import OwnerTimeout

__all__ = ["Inbox"]

P = ParamSpec("P")
T = TypeVar("T")
log = logging.getLogger("iotcard.daemon")


class Inbox:
    """The thread is named after ``owner`` (``modem_0``, ``meter_0``...), which is what a thread dump shows."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=owner)

    def put(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        """Queue ``work(*args)``; the future holds its result. RuntimeError once the inbox is closed."""
        return self._thread.submit(work, *args, **kwargs)

    def ask(self, work: Callable[P, T], timeout: float, *args: P.args, **kwargs: P.kwargs) -> T:
        """Queue ``work(*args)`` and wait for its result; OwnerTimeout after ``timeout`` seconds."""
        return self.wait(self.put(work, *args, **kwargs), timeout)

    def wait(self, future: Future[T], timeout: float) -> T:
        try:
            return future.result(timeout)
        except FutureTimeout:
            raise OwnerTimeout(self.owner, timeout) from None

    def close(self, last: Callable[[], object] | None = None, timeout: float = 5.0) -> None:
        """Run ``last`` on the thread (what is queued before it runs first), then let the thread end; work still
        queued after ``timeout`` is dropped and a thread stuck in a long call is left behind (the process exits)."""
        if last is not None:
            try:
                self.wait(self.put(last), timeout)
            except Exception as exc:
                log.warning("closing %s failed: %s", self.owner, exc)
                log.debug("closing %s", self.owner, exc_info=True)
        self._thread.shutdown(wait=False, cancel_futures=True)
