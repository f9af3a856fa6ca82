"""What the API and the web console share: the problem document (RFC 9457) and its exception, and the short-lived
cache of counts. Both :mod:`iotcard.collector._api` and :mod:`iotcard.collector._web` import it; neither imports the
other for it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from ._errors import CollectorError

__all__ = ["ApiProblem", "CountCache", "Problem"]

log = logging.getLogger(__name__)


class Problem(BaseModel):
    """An error (RFC 9457): ``code`` is stable for programs, ``detail`` one sentence for people, ``hint`` what to do."""

    type: str = "about:blank"
    title: str
    status: int
    code: str
    detail: str
    hint: str | None = None


class ApiProblem(Exception):
    def __init__(
        self, status: int, code: str, detail: str, hint: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.hint, self.headers = status, code, detail, hint, headers


class CountCache:
    """Totals and badge counts for a few seconds: the app asks the same ones on every page, and counting scans.
    Past ``ttl`` the last value is still answered (for up to a minute) while one thread counts afresh."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._values: dict[Any, tuple[float, Any]] = {}
        self._refreshing: set[Any] = set()

    def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        if self.ttl <= 0:
            return compute()
        now = time.monotonic()
        with self._lock:
            found = self._values.get(key)
            stale = found is not None and now - found[0] >= self.ttl
            if stale and now - found[0] < 60 and key not in self._refreshing:  # type: ignore[index]
                self._refreshing.add(key)
                threading.Thread(target=self._quietly, args=(key, compute), daemon=True).start()
        if found is not None and now - found[0] < 60:
            return found[1]
        return self._refresh(key, compute)

    def _quietly(self, key: Any, compute: Callable[[], Any]) -> None:
        with contextlib.suppress(CollectorError):
            self._refresh(key, compute)

    def _refresh(self, key: Any, compute: Callable[[], Any]) -> Any:
        try:
            value = compute()
            with self._lock:
                if len(self._values) > 1024:
                    self._values.clear()
                self._values[key] = (time.monotonic(), value)
            return value
        except CollectorError:
            log.warning("API: counting failed", exc_info=True)
            raise
        finally:
            with self._lock:
                self._refreshing.discard(key)
