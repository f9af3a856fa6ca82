"""A resource owned by exactly one thread: it is made, used and closed there; others submit work and wait."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Generic, TypeVar

__all__ = ["Owned", "OwnerTimeout"]

R = TypeVar("R")
T = TypeVar("T")
log = logging.getLogger("iotcard.daemon")


class OwnerTimeout(Exception):
    """The owner thread did not finish the work in time (it goes on; the caller stops waiting)."""


class Owned(Generic[R]):
    """``make`` runs on the owner thread at the first call (SQLite connections must stay on their thread)."""

    def __init__(self, name: str, make: Callable[[], R]) -> None:
        self.name = name
        self._make = make
        self._resource: R | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def _run(self, work: Callable[[R], T]) -> T:
        if self._resource is None:
            self._resource = self._make()
        return work(self._resource)

    def call(self, work: Callable[[R], T], timeout: float = 60.0) -> T:
        future = self._executor.submit(self._run, work)
        try:
            return future.result(timeout)
        except FutureTimeout:
            raise OwnerTimeout(f"{self.name} did not finish within {timeout:g} s") from None

    def close(self, finish: Callable[[R], object], timeout: float = 10.0) -> None:
        """Run ``finish`` on the owner thread (when the resource was ever made), then stop the thread."""

        def last(resource: R | None) -> None:
            if resource is not None:
                finish(resource)

        try:
            self._executor.submit(lambda: last(self._resource)).result(timeout)
        except Exception as exc:
            log.warning("closing %s failed: %s", self.name, exc)
            log.debug("closing %s", self.name, exc_info=True)
        self._executor.shutdown(wait=False, cancel_futures=True)
