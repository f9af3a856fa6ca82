"""The scheduler owner: APScheduler's timed jobs, and the command lane where the cloud's slow commands run.

A job never touches a resource itself: it asks the resource's owner (the modem worker, the meter) through its
inbox, puts what it learnt on the board, and posts the MQTT session what to send. Two pools: ``default`` (two
threads: signal, usage, telemetry, identity) and ``slow`` (one thread: directed probes and the diagnosis, which
may take tens of seconds); the command lane is one more thread, so a cloud command never waits for a probe round.
The lane also writes the board's :class:`~._board.Settings` (``set_config``) and reschedules the jobs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor as JobThreads
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from iotcard.agent.config import AgentConfig
from iotcard.agent.errors import OwnerTimeout
from iotcard.agent.telemetry import events_between
from iotcard.agent.usage import PlanFlag
from iotcard.contract.wire import EventName
from iotcard.drivers.errors import ModemRebooted, PortError, ReadTimeout

from ._board import Board, Health, LastRead, Settings
from ._checks import diagnose_now, probe_targets
from ._inbox import Inbox
from ._mapping import diagnosis_findings, directed_results
from ._messages import Event, Message, ModemDown, ModemRead, SendDiagnosis, SendDirected, SendTelemetry
from ._meter import MeterOwner
from ._storage import StorageUnavailable
from ._worker import ModemWorker

__all__ = ["Jobs"]

log = logging.getLogger("iotcard.daemon")

# A plan flag newly raised, and the event that tells the cloud.
_FLAG_EVENTS = (
    (PlanFlag.DATA_LOW.value, EventName.DATA_LOW),
    (PlanFlag.DATA_EXHAUSTED.value, EventName.DATA_EXHAUSTED),
    (PlanFlag.EXPIRED.value, EventName.PLAN_EXPIRED),
)


class Jobs:
    """The scheduled jobs and the command lane; :meth:`start` schedules, :meth:`stop` drops what is pending."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        board: Board,
        health: Health,
        worker: ModemWorker,
        meter: MeterOwner,
        post: Callable[[Message], None],
        state_dir: Path,
    ) -> None:
        self._config = config
        self._board = board
        self._health = health
        self._worker = worker
        self._meter = meter
        self._post = post
        self._state_dir = state_dir
        self.scheduler = BackgroundScheduler(
            executors={"default": JobThreads(2), "slow": JobThreads(1)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=config.usage.timezone,
        )
        self._lane = Inbox("commands")
        self._reboots_seen = 0  # the signal job's: module boots seen so far

    # -- life ------------------------------------------------------------------------------------------------------

    def start(self) -> None:
        jitter = self._config.schedule.jitter
        intervals = self._board.settings.intervals

        def every(name: str, job: Callable[[], None], *, executor: str = "default", first: float = 0.0) -> None:
            seconds = intervals.of(name)
            self.scheduler.add_job(
                job,
                IntervalTrigger(seconds=seconds, jitter=int(seconds * jitter) or None),
                id=name,
                name=name,
                executor=executor,
                # After a suspend or a clock jump: run once, soon, not once per missed interval.
                misfire_grace_time=max(30, seconds // 2),
                next_run_time=datetime.now(UTC).astimezone() if first == 0 else None,
            )

        every("signal", self.signal)
        every("usage", self.usage)
        # Telemetry and the diagnosis also run right after the first modem read (see signal).
        every("telemetry", self.telemetry, first=1)
        every("directed", self.directed, executor="slow")
        every("diagnosis", self.diagnosis, executor="slow", first=1)
        every("identity", self.identity, first=1)
        self.scheduler.add_listener(self.job_done, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self._lane.close()

    def job_done(self, event: JobExecutionEvent) -> None:
        # Not progress by itself: each owner's job beats for its owner when it did its work (see Agent.stale_owners).
        self._health.job_done(failed=event.exception is not None)
        if event.exception is not None:
            log.warning("job %s failed: %s", event.job_id, event.exception)

    def run_job_now(self, name: str) -> None:
        with contextlib.suppress(Exception):
            self.scheduler.modify_job(name, next_run_time=datetime.now(UTC).astimezone())

    # -- the command lane ------------------------------------------------------------------------------------------

    def run_soon(self, work: Callable[[], None]) -> None:
        """Queue ``work`` on the command lane (the cloud's slow commands, one at a time, in arrival order)."""
        self._lane.put(work)

    def replace_settings(self, settings: Settings) -> None:
        """Put new settings on the board (on the command lane) and reschedule the jobs whose interval changed."""
        before = self._board.settings.intervals
        self._board.settings = settings
        jitter = self._config.schedule.jitter
        for job in ("signal", "telemetry", "directed"):
            seconds = settings.intervals.of(job)
            if seconds != before.of(job) and self.scheduler.get_job(job) is not None:
                trigger = IntervalTrigger(seconds=seconds, jitter=int(seconds * jitter) or None)
                self.scheduler.reschedule_job(job, trigger=trigger)

    # -- the jobs --------------------------------------------------------------------------------------------------

    def signal(self) -> None:
        try:
            snapshot, reboots = self._worker.call(lambda modem: (modem.read_snapshot(), modem.reboots), timeout=120)
        except (PortError, ReadTimeout, ModemRebooted, OwnerTimeout) as exc:
            self._post(ModemDown(exc.code))
            self._health.beat("modem")  # handled: a missing or silent modem is degraded, not stuck (see stuck())
            return
        self._health.beat("modem")
        if reboots > self._reboots_seen:
            # The module announced a boot (RDY, ^SYSSTART...) during the read: the read was redone, say so.
            self._reboots_seen = reboots
            self._post(Event(EventName.MODEM_REBOOTED, current=str(reboots)))
        previous = self._board.last_read
        self._board.last_read = LastRead(snapshot, datetime.now(UTC))
        self._post(ModemRead(snapshot))
        if previous is None:
            # The first read after start: report and diagnose now rather than hours later.
            self.run_job_now("telemetry")
            self.run_job_now("diagnosis")
        elif events_between(previous.snapshot, snapshot):
            self.run_job_now("diagnosis")

    def identity(self) -> None:
        # The IMEI and model are cached by the driver until a reboot; an hourly re-read catches a swapped module.
        self._worker.call(lambda modem: modem.forget_identity(), timeout=30)

    def usage(self) -> None:
        try:
            flags = self._meter.sample()
        except StorageUnavailable:
            self._health.beat("meter")  # handled: reported as degraded, tried again next round
            return
        self._health.beat("meter")
        before, self._board.usage_flags = self._board.usage_flags, flags
        for flag, event in _FLAG_EVENTS:
            if flag in flags and flag not in before:
                self._post(Event(event, current=flag))

    def telemetry(self) -> None:
        try:
            usage = self._meter.report(self._board.last_telemetry_at)
        except StorageUnavailable:
            usage = None  # telemetry goes without usage rather than not at all
        self._post(SendTelemetry(usage))

    def directed(self) -> None:
        settings = self._board.settings
        if not settings.targets:
            return
        results = probe_targets(
            self._config, self._board.last_read, settings.targets, from_cloud=settings.targets_from_cloud
        )
        self._board.last_probes = tuple(results)
        self._post(SendDirected(tuple(directed_results(results)), only_if_changed=True))

    def diagnosis(self) -> None:
        result = diagnose_now(worker=self._worker, board=self._board, meter=self._meter, state_dir=self._state_dir)
        key = (result.verdict.value, tuple(f.code for f in result.findings))
        self._post(SendDiagnosis(tuple(diagnosis_findings(result)), key=key))
