"""The meter owner: the usage meter and its SQLite connection, on one thread of their own.

SQLite connections must stay on the thread that made them, so the meter is opened, used and closed on the
``meter`` thread; every other thread sends it work through :meth:`MeterOwner.call` (its inbox is the thread's
queue) and waits for the answer. A damaged database is set aside when the meter opens; a full or read-only state
dir makes every call fail with :class:`StorageUnavailable`, reported as a degraded state and tried again by the
next call, so the agent recovers without a restart.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from iotcard.agent.errors import OwnerTimeout
from iotcard.agent.usage import DB_NAME, MeterSettings, Plan, PlanStatus, UsageMeter
from iotcard.contract.wire import EventName, UsageReport

from ._board import Health
from ._inbox import Inbox
from ._mapping import plan_flags, usage_report
from ._storage import StorageUnavailable, check_database, describe_storage_error, set_aside

__all__ = ["CLI_SAMPLE_EVERY", "MeterOwner", "Tell"]

T = TypeVar("T")
log = logging.getLogger("iotcard.daemon")

# `usage sample` through the control socket samples and commits at most this often (a commit writes to flash).
CLI_SAMPLE_EVERY = 60.0

# How an owner tells the cloud about its storage: (event, previous, current), posted to the MQTT session.
Tell = Callable[[EventName, str, str], None]


def report_degraded(health: Health, tell: Tell, what: str, message: str) -> None:
    """Record a degraded state; log it when it changed, and tell the cloud when it is new."""
    known = health.degrade(what, message)
    if known != message:
        log.error("%s: %s", what, message)
        if known is None:  # the cloud hears of it when it can (the outbox may be what failed)
            tell(EventName.STORAGE_DEGRADED, what, message)


def report_recovered(health: Health, tell: Tell, what: str) -> None:
    was = health.recover(what)
    if was is not None:
        log.warning("%s: recovered (%s)", what, was)
        tell(EventName.STORAGE_RECOVERED, what, was)


def _log_failure(done: Future[None]) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.debug("agent traffic not recorded: %s", done.exception())


class MeterOwner:
    """The usage meter on the ``meter`` thread; the methods below send it work and wait for the answer."""

    def __init__(
        self, state_dir: Path, settings: MeterSettings, plan: Plan | None, *, health: Health, tell: Tell
    ) -> None:
        self.state_dir = state_dir
        self._settings = settings
        self._health = health
        self._tell = tell
        self._inbox = Inbox("meter")
        # The meter thread's own state: the meter (None until opened, and after a failed open) and the plan.
        self._meter: UsageMeter | None = None
        self._plan = plan
        # Callers' side: when `usage sample` through the socket last sampled (monotonic).
        self._cli_lock = threading.Lock()
        self._cli_sampled_at: float | None = None

    # -- the inbox -------------------------------------------------------------------------------------------------

    def call(self, work: Callable[[UsageMeter], T], timeout: float = 30.0) -> T:
        """Run ``work`` on the meter's thread and return its result; StorageUnavailable (reported as degraded)
        when the disk fails it, OwnerTimeout when it takes longer than ``timeout`` seconds."""
        return self._inbox.ask(self._run, timeout, work)

    def _run(self, work: Callable[[UsageMeter], T]) -> T:
        path = self.state_dir / DB_NAME
        try:
            if self._meter is None:
                self._meter = self._open(path)
            result = work(self._meter)
        except StorageUnavailable as exc:
            report_degraded(self._health, self._tell, "usage", exc.message)
            raise
        except (sqlite3.Error, OSError) as exc:
            message = describe_storage_error(exc, path)
            report_degraded(self._health, self._tell, "usage", message)
            raise StorageUnavailable(message) from None
        report_recovered(self._health, self._tell, "usage")
        return result

    def _open(self, path: Path) -> UsageMeter:
        """Open the meter (on its thread), setting a damaged database aside first."""
        problem = check_database(path)
        if problem is not None:
            aside = set_aside(path)
            message = f"the usage database was damaged ({problem}); set aside as {aside.name}, counting starts anew"
            log.error(message)
            self._health.degrade("usage_reset", message)
            self._tell(EventName.USAGE_RESET, "meter", message)
        try:
            return UsageMeter(self.state_dir, self._settings, plan=self._plan)
        except sqlite3.OperationalError as exc:
            raise StorageUnavailable(describe_storage_error(exc, path)) from None
        except sqlite3.DatabaseError as exc:  # damaged in a way quick_check did not see
            aside = set_aside(path)
            log.error("the usage database was damaged (%s); set aside as %s", exc, aside.name)
            try:
                return UsageMeter(self.state_dir, self._settings, plan=self._plan)
            except sqlite3.Error as again:
                raise StorageUnavailable(describe_storage_error(again, path)) from None
        except OSError as exc:
            raise StorageUnavailable(describe_storage_error(exc, path)) from None

    def close(self, timeout: float = 3.0) -> None:
        """Write the last batch and close the database on the meter's thread, then stop the thread."""

        def last() -> None:
            if self._meter is not None:
                self._meter.close()

        self._inbox.close(last, timeout)

    # -- what the others ask of it ----------------------------------------------------------------------------------

    def open_now(self) -> None:
        """Open the database at start: a damaged one is set aside, an unwritable state dir is reported (and tried
        again by every call) while the modem and MQTT run."""
        with contextlib.suppress(StorageUnavailable):
            self.call(lambda meter: None)

    def sample(self) -> tuple[str, ...]:
        """Sample the counters (the usage job); the plan's flags after it."""

        def sample(meter: UsageMeter) -> tuple[str, ...]:
            meter.sample()
            return plan_flags(meter.summary(days=1))

        return self.call(sample)

    def report(self, since: datetime | None) -> UsageReport:
        """The usage part of a telemetry report: the buckets since ``since`` (see :func:`usage_report`)."""
        return self.call(lambda meter: usage_report(meter.summary(days=2), since))

    def refresh(self) -> UsageReport:
        """Sample and commit now (the cloud's refresh_usage); today's figures."""

        def refresh(meter: UsageMeter) -> UsageReport:
            meter.sample()
            meter.commit()
            return usage_report(meter.summary(days=1), None)

        return self.call(refresh)

    def plan_status(self) -> PlanStatus | None:
        """The plan's state for the diagnosis; None without a plan or when the meter cannot be read."""
        try:
            return self.call(lambda meter: meter.summary(days=1).plan)
        except (StorageUnavailable, OwnerTimeout):
            return None

    def set_plan(self, plan: Plan, timeout: float = 30.0) -> None:
        """The cloud's plan: the meter counts against it from now on (or from when it opens again)."""

        def adopt() -> None:
            self._plan = plan
            if self._meter is not None:
                self._meter.plan = plan

        self._inbox.ask(adopt, timeout)

    def add_agent_traffic(self, rx: int, tx: int) -> None:
        """Count the agent's own MQTT bytes apart (the session's, once a minute); nothing waits for it."""
        try:
            done = self._inbox.put(self._run, lambda meter: meter.record_agent_traffic(rx, tx))
        except RuntimeError:  # the meter closed already (a shutdown that ran out of time)
            log.debug("agent traffic not recorded: the meter is closed")
            return
        done.add_done_callback(_log_failure)

    def sample_for_cli(self, now: float | None = None) -> bool:
        """Sample and commit for ``usage sample`` through the socket, unless that was done less than
        ``CLI_SAMPLE_EVERY`` ago (200 requests in 12 s wrote 215 KB before); whether it sampled."""
        now = time.monotonic() if now is None else now
        with self._cli_lock:
            if self._cli_sampled_at is not None and now - self._cli_sampled_at < CLI_SAMPLE_EVERY:
                return False
            self._cli_sampled_at = now
        with contextlib.suppress(StorageUnavailable):  # the show that follows says what the meter has
            self.call(lambda meter: (meter.sample(), meter.commit()))
        return True
