"""What the daemon's owners show each other: immutable snapshots on a board, and a health book for the watchdog.

:class:`Board` holds read-mostly state that several threads read. Every field is a frozen value with exactly one
writer, which replaces it whole (an attribute assignment, atomic in CPython); a reader takes the reference once and
keeps a consistent value however long it works with it. Nothing on the board is ever mutated in place.

:class:`Health` is the one place with a lock: progress beats, degraded states and counters, which many threads
bump (the watchdog in the main thread reads them).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType

from iotcard.agent.config import AgentConfig
from iotcard.agent.directed import ProbeResult
from iotcard.drivers.models import ModemSnapshot

__all__ = ["Board", "Health", "Intervals", "LastRead", "Settings"]


@dataclass(frozen=True, slots=True)
class Intervals:
    """Seconds between runs of each scheduled job."""

    signal: int
    telemetry: int
    directed: int
    diagnosis: int
    identity: int
    usage: int

    def of(self, job: str) -> int:
        seconds: int = getattr(self, job)
        return seconds


@dataclass(frozen=True, slots=True)
class Settings:
    """What the cloud may change while the agent runs (``set_config``); the scheduler owner is its one writer."""

    targets: tuple[str, ...]
    targets_from_cloud: bool  # set_config replaced the config file's targets (they are then filtered as the cloud's)
    intervals: Intervals

    @classmethod
    def from_config(cls, config: AgentConfig) -> Settings:
        schedule = config.schedule
        return cls(
            targets=tuple(text for text, _ in config.directed.probe_entries()),
            targets_from_cloud=False,
            intervals=Intervals(
                signal=schedule.signal,
                telemetry=schedule.telemetry,
                directed=schedule.directed,
                diagnosis=schedule.diagnosis,
                identity=schedule.identity,
                usage=int(config.usage.sample_interval),
            ),
        )

    def with_interval(self, job: str, seconds: int) -> Settings:
        return replace(self, intervals=replace(self.intervals, **{job: seconds}))


@dataclass(frozen=True, slots=True)
class LastRead:
    """The last snapshot the modem worker read, and when (UTC)."""

    snapshot: ModemSnapshot
    at: datetime


_NO_MQTT: Mapping[str, object] = MappingProxyType({"state": "not configured"})


class Board:
    """Read-mostly state, one writer per field, each value replaced whole (see the module's docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.settings: Settings = settings  # writer: the scheduler owner (set_config)
        self.last_read: LastRead | None = None  # writer: the signal job
        self.last_probes: tuple[ProbeResult, ...] | None = None  # writer: the directed job
        self.last_diagnosis: str | None = None  # writer: whoever diagnosed last (the slow lane)
        self.usage_flags: tuple[str, ...] = ()  # writer: the usage job
        self.mqtt: Mapping[str, object] = _NO_MQTT  # writer: the MQTT session
        self.last_telemetry_at: datetime | None = None  # writer: the MQTT session


@dataclass
class _Book:
    beats: dict[str, float] = field(default_factory=dict)
    degraded: dict[str, str] = field(default_factory=dict)
    jobs_run: int = 0
    jobs_failed: int = 0
    posts_dropped: int = 0


class Health:
    """Progress and degraded states of the owners (guarded by one lock; every method is thread-safe).

    An owner *beats* when it did its work, or handled a degraded state (a full disk, a vanished port); a failed job
    is not progress. ``degrade`` and ``recover`` say whether the state is new, so the caller reports it once."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.started_at = datetime.now(UTC)
        self._lock = threading.Lock()
        self._book = _Book()

    def beat(self, owner: str, now: float | None = None) -> None:
        with self._lock:
            self._book.beats[owner] = time.monotonic() if now is None else now

    def set_beats(self, beats: Mapping[str, float]) -> None:
        with self._lock:
            self._book.beats = dict(beats)

    def beats(self) -> dict[str, float]:
        with self._lock:
            return dict(self._book.beats)

    def degrade(self, what: str, message: str) -> str | None:
        """Record ``what`` as degraded; the message it had before (None: newly degraded)."""
        with self._lock:
            known = self._book.degraded.get(what)
            self._book.degraded[what] = message
        return known

    def recover(self, what: str) -> str | None:
        """Forget a degraded state; its message, or None when it was not degraded."""
        with self._lock:
            return self._book.degraded.pop(what, None)

    def degraded(self) -> dict[str, str]:
        with self._lock:
            return dict(self._book.degraded)

    def job_done(self, failed: bool) -> None:
        with self._lock:
            self._book.jobs_run += 1
            self._book.jobs_failed += int(failed)

    def post_dropped(self) -> None:
        with self._lock:
            self._book.posts_dropped += 1

    def counts(self) -> dict[str, int]:
        with self._lock:
            book = self._book
            return {"jobs_run": book.jobs_run, "jobs_failed": book.jobs_failed, "posts_dropped": book.posts_dropped}
