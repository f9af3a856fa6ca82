"""The agent daemon: wires the modem worker, the usage meter, directed probes, diagnosis and MQTT together.

Threads and ownership (one owner per resource, everything else posts work):

- ``modem`` (:class:`ModemWorker`): the only thread touching the serial port.
- ``meter`` (:class:`Owned`): the usage meter and its SQLite connection.
- ``mqtt`` (this module's loop): the outbox, the paho link (through :class:`TelemetryPublisher`), the reporter,
  the sample window and the events; other threads hand it :class:`_Post` items on a queue.
- APScheduler's worker threads run the jobs: they only call the owners above and post results to ``mqtt``.
- ``control``: the Unix socket; each CLI request runs the ordinary command with the modem reached through the worker.
- the main thread: signals, the systemd watchdog and status, shutdown.
"""

from __future__ import annotations

import contextlib
import io
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor as JobThreads
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from iotcard import version
from iotcard.agent._context import EXIT_USAGE, Context
from iotcard.agent.config import AgentConfig
from iotcard.agent.control import ControlServer, DaemonDefaults, Dispatch, Inside, same_port
from iotcard.agent.diagnosis import Diagnosis, DiagnosisFacts, PlanFact, diagnose, directed_facts, plan_fact
from iotcard.agent.directed import (
    ProbeOptions,
    ProbeResult,
    dns_for_probes,
    parse_dns_server,
    probe_texts,
    refused_address,
)
from iotcard.agent.errors import ConfigError, OtherPort, PublishError
from iotcard.agent.state import last_seen_identity, read_json, remember_identity, write_json_atomic
from iotcard.agent.telemetry import (
    CommandProcessor,
    CommandRejected,
    Draft,
    MqttLink,
    Outbox,
    Reporter,
    SampleWindow,
    TelemetryPublisher,
    daily_command_allowance,
    events_between,
    identity_key,
    load_keepalive,
    outbox_path,
    ping_handler,
    telemetry_setup,
)
from iotcard.agent.usage import DB_NAME, Plan, UsageMeter, meter_settings, plan_from_config
from iotcard.agent.usage import PlanFlag as UsageFlag
from iotcard.contract.errors import IotcardError
from iotcard.contract.messages import EventName, IdentityDevice, Priority, UsageReport
from iotcard.drivers.errors import ModemRebooted, PortError, ReadTimeout
from iotcard.drivers.models import ModemSnapshot
from iotcard.drivers.modem import Modem

from ._mapping import diagnosis_findings, directed_results, plan_flags, usage_report
from ._notify import Notifier
from ._owned import Owned
from ._storage import StorageUnavailable, check_database, describe_storage_error, set_aside
from ._worker import ModemWorker, WorkerModem

__all__ = ["Agent"]

log = logging.getLogger("iotcard.daemon")

# An unchanged diagnosis or directed result is published again after a day, so the cloud sees it still holds;
# the traffic budget (docs/benchmarks.md) counts one of each a day.
_REPEAT_UNCHANGED = 86400.0
# `usage sample` through the control socket samples and commits at most this often.
_CLI_SAMPLE_EVERY = 60.0
# How long the MQTT link waits for the first modem read before connecting without the card's identity.
_FIRST_READ_WAIT = 30.0


@dataclass(frozen=True)
class _Post:
    """Work for the mqtt thread: a snapshot to fold in, a draft to send, or a callable run there."""

    snapshot: ModemSnapshot | None = None
    draft: Draft | None = None
    run: Callable[[], None] | None = None
    telemetry_usage: UsageReport | None = None
    telemetry_now: bool = False
    modem_down: str | None = None


@dataclass
class _Live:
    """State other threads read for `iotcard status` (guarded by the agent's lock)."""

    started: float = field(default_factory=time.monotonic)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_snapshot: ModemSnapshot | None = None
    last_snapshot_at: datetime | None = None
    last_telemetry_at: datetime | None = None
    last_diagnosis: str | None = None
    # owner -> when it last showed progress (monotonic); WATCHDOG=1 only while every owner is within its deadline
    beats: dict[str, float] = field(default_factory=dict)
    # owner -> one sentence: what is degraded (full or read-only state dir, a damaged file set aside)
    degraded: dict[str, str] = field(default_factory=dict)
    posts_dropped: int = 0  # work for the mqtt thread dropped because its bounded queue was full
    mqtt: dict[str, object] = field(default_factory=lambda: {"state": "not configured"})
    jobs_failed: int = 0
    jobs_run: int = 0
    usage_flags: tuple[str, ...] = ()


class Agent:
    """``run()`` blocks until ``stop()`` (SIGTERM); returns the process exit code."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        socket_path: Path | None,
        config_path: Path | None = None,
        notifier: Notifier | None = None,
        make_modem: Callable[[str, int], Modem] | None = None,
        dispatch: Dispatch | None = None,
    ) -> None:
        if not config.modem.port:
            raise ConfigError("no modem port: set [modem] port in the config", code="no_port")
        self.config = config
        self.config_path = config_path
        self.socket_path = socket_path
        self.dispatch = dispatch  # runs a CLI command forwarded through the control socket
        self.notifier = notifier or Notifier()
        self.state_dir = config.paths.state_dir
        self.version = version()
        self.worker = (
            ModemWorker(config.modem.port, config.modem.baud, make_modem=make_modem)
            if make_modem is not None
            else ModemWorker(config.modem.port, config.modem.baud)
        )
        # A plan the cloud set (set_plan) is kept in the state dir and wins over the config file's.
        self.plan: Plan | None = _load_cloud_plan(self.state_dir) or plan_from_config(config.plan)
        self._meter_settings = meter_settings(config.usage)
        self.meter: Owned[UsageMeter] = Owned("meter", self._open_meter)
        self.targets: list[str] = [text for text, _ in config.directed.probe_entries()]
        self._targets_from_cloud = False  # set_config replaced the config file's targets
        self.intervals = {
            "signal": config.schedule.signal,
            "telemetry": config.schedule.telemetry,
            "directed": config.schedule.directed,
            "diagnosis": config.schedule.diagnosis,
            "identity": config.schedule.identity,
            "usage": int(config.usage.sample_interval),
        }
        self._posts: queue.Queue[_Post] = queue.Queue(maxsize=1000)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.live = _Live()
        self.scheduler = BackgroundScheduler(
            executors={"default": JobThreads(2), "slow": JobThreads(1)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=config.usage.timezone,
        )
        self.control: ControlServer | None = None
        self._mqtt_off = False  # the MQTT settings were refused: no MQTT owner to wait for
        self._cli_sampled_at: float | None = None  # when `usage sample` through the socket last sampled
        self._mqtt_thread: threading.Thread | None = None
        self._last_probes: list[ProbeResult] | None = None
        self._reboots_seen = 0
        self._published: dict[str, tuple[object, float]] = {}  # mqtt thread: the last scheduled report per kind

    # -- life ------------------------------------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> int:
        self.notifier.status("starting")
        with contextlib.suppress(StorageUnavailable):
            # Open the usage database now: a damaged one is set aside, an unwritable state dir is reported (and
            # tried again by every sample) while the modem and MQTT run.
            self._with_meter(lambda meter: None)
        now = time.monotonic()
        with self._lock:
            self.live.beats = dict.fromkeys(self._owners(), now)
        if self.socket_path is not None:
            self.control = ControlServer(self.socket_path, self._handle_cli).start()
        self._schedule()
        self.scheduler.add_listener(self._job_done, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
        self.scheduler.start()
        if self.config.mqtt.host:
            self._mqtt_thread = threading.Thread(target=self._mqtt_loop, name="mqtt", daemon=True)
            self._mqtt_thread.start()
        # READY once the loop runs: a missing modem makes the agent degraded, not failed.
        self.notifier.ready(self._status_line())
        interval = self.notifier.watchdog_interval or 10.0
        while not self._stop.wait(min(interval, 10.0)):
            if self._making_progress():
                self.notifier.watchdog()
            self.notifier.status(self._status_line())
        self._shutdown()
        return 0

    def _owners(self) -> dict[str, float]:
        """Each owner and how long it may go without progress: three missed rounds of its job, or a minute."""
        owners = {
            "modem": 3 * max(self.intervals["signal"], 10) + 60.0,
            "meter": 3 * max(self.intervals["usage"], 10) + 60.0,
        }
        if self.config.mqtt.host and not self._mqtt_off:
            owners["mqtt"] = 60.0 + _FIRST_READ_WAIT
        return owners

    def stale_owners(self, now: float | None = None) -> list[str]:
        """Owners that showed no progress within their deadline (a failed job is not progress; a handled
        degraded state, such as a full disk or a vanished port, is), and a modem worker stuck past its request's
        deadline."""
        now = time.monotonic() if now is None else now
        with self._lock:
            beats = dict(self.live.beats)
        stale = [owner for owner, limit in self._owners().items() if now - beats.get(owner, now) > limit]
        if "modem" not in stale and self.worker.stuck(now):
            stale.append("modem")
        return stale

    def _making_progress(self) -> bool:
        stale = self.stale_owners()
        if stale:
            log.warning("no progress from %s: the watchdog is not fed", ", ".join(stale))
        return not stale

    def _beat(self, owner: str) -> None:
        with self._lock:
            self.live.beats[owner] = time.monotonic()

    def _degrade(self, owner: str, message: str) -> None:
        with self._lock:
            known = self.live.degraded.get(owner)
            self.live.degraded[owner] = message
        if known != message:
            log.error("%s: %s", owner, message)
            if known is None:  # the cloud hears of it when it can (the outbox may be what failed)
                self._post_storage_event(EventName.STORAGE_DEGRADED, owner, message)

    def _recover(self, owner: str) -> None:
        with self._lock:
            was = self.live.degraded.pop(owner, None)
        if was is not None:
            log.warning("%s: recovered (%s)", owner, was)
            self._post_storage_event(EventName.STORAGE_RECOVERED, owner, was)

    def _post_storage_event(self, name: EventName, owner: str, message: str) -> None:
        self._post(
            _Post(
                run=lambda: self._send(
                    lambda reporter: reporter.event(name, previous=owner[:128], current=message[:128])
                )
            )
        )

    # -- the usage database ----------------------------------------------------------------------------------------

    def _open_meter(self) -> UsageMeter:
        """Runs on the meter's thread, at the first call and again at every call after a failed open."""
        path = self.state_dir / DB_NAME
        problem = check_database(path)
        if problem is not None:
            aside = set_aside(path)
            message = f"the usage database was damaged ({problem}); set aside as {aside.name}, counting starts anew"
            log.error(message)
            with self._lock:
                self.live.degraded["usage_reset"] = message
            self._post_storage_event(EventName.USAGE_RESET, "meter", message)
        try:
            return UsageMeter(self.state_dir, self._meter_settings, plan=self.plan)
        except sqlite3.OperationalError as exc:
            raise StorageUnavailable(describe_storage_error(exc, path)) from None
        except sqlite3.DatabaseError as exc:  # damaged in a way quick_check did not see
            aside = set_aside(path)
            log.error("the usage database was damaged (%s); set aside as %s", exc, aside.name)
            try:
                return UsageMeter(self.state_dir, self._meter_settings, plan=self.plan)
            except sqlite3.Error as again:
                raise StorageUnavailable(describe_storage_error(again, path)) from None
        except OSError as exc:
            raise StorageUnavailable(describe_storage_error(exc, path)) from None

    def _with_meter(self, work: Callable[[UsageMeter], Any], timeout: float = 30.0) -> Any:
        """Run ``work`` on the meter's thread; StorageUnavailable (reported as degraded) when its disk fails it."""
        try:
            result = self.meter.call(work, timeout=timeout)
        except StorageUnavailable as exc:
            self._degrade("usage", exc.message)
            raise
        except (sqlite3.Error, OSError) as exc:
            message = describe_storage_error(exc, self.state_dir / DB_NAME)
            self._degrade("usage", message)
            raise StorageUnavailable(message) from None
        self._recover("usage")
        return result

    def _shutdown(self) -> None:
        """Within systemd's TimeoutStopSec (15 s): say offline, write the meter's last batch, free the port."""
        started = time.monotonic()
        self.notifier.stopping()
        self.scheduler.shutdown(wait=False)
        if self.control is not None:
            self.control.close()
        if self._mqtt_thread is not None:
            self._mqtt_thread.join(timeout=5)
        self.meter.close(lambda meter: meter.close(), timeout=3)
        self.worker.close(timeout=2)
        log.info("stopped in %.1f s", time.monotonic() - started)

    # -- jobs ------------------------------------------------------------------------------------------------------

    def _schedule(self) -> None:
        jitter = self.config.schedule.jitter

        def every(name: str, job: Callable[[], None], *, executor: str = "default", first: float = 0.0) -> None:
            seconds = self.intervals[name]
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

        every("signal", self._job_signal)
        every("usage", self._job_usage)
        # Telemetry and the diagnosis also run right after the first modem read (see _job_signal).
        every("telemetry", self._job_telemetry, first=1)
        every("directed", self._job_directed, executor="slow")
        every("diagnosis", self._job_diagnosis, executor="slow", first=1)
        every("identity", self._job_identity, first=1)

    def _job_done(self, event: JobExecutionEvent) -> None:
        # Not progress by itself: each owner's job beats for its owner when it did its work (see stale_owners).
        with self._lock:
            self.live.jobs_run += 1
            if event.exception is not None:
                self.live.jobs_failed += 1
        if event.exception is not None:
            log.warning("job %s failed: %s", event.job_id, event.exception)

    def run_job_now(self, name: str) -> None:
        with contextlib.suppress(Exception):
            self.scheduler.modify_job(name, next_run_time=datetime.now(UTC).astimezone())

    def _post(self, item: _Post) -> None:
        try:
            self._posts.put_nowait(item)
        except queue.Full:
            with self._lock:
                self.live.posts_dropped += 1
            log.warning("the mqtt queue is full; dropping %s", item)

    def _job_signal(self) -> None:
        try:
            snapshot, reboots = self.worker.call(lambda modem: (modem.read_snapshot(), modem.reboots), timeout=120)
        except (PortError, ReadTimeout, ModemRebooted) as exc:
            self._post(_Post(modem_down=exc.code))
            self._beat("modem")  # handled: a missing or silent modem is degraded, not stuck (worker.stuck says so)
            return
        self._beat("modem")
        if reboots > self._reboots_seen:
            # The module announced a boot (RDY, ^SYSSTART...) during the read: the read was redone, say so.
            self._reboots_seen = reboots
            self._post_event(EventName.MODEM_REBOOTED, current=str(reboots))
        with self._lock:
            previous = self.live.last_snapshot
            self.live.last_snapshot = snapshot
            self.live.last_snapshot_at = datetime.now(UTC)
        self._post(_Post(snapshot=snapshot))
        if previous is None:
            # The first read after start: report and diagnose now rather than hours later.
            self.run_job_now("telemetry")
            self.run_job_now("diagnosis")
        elif events_between(previous, snapshot):
            self.run_job_now("diagnosis")

    def _job_identity(self) -> None:
        # The IMEI and model are cached by the driver until a reboot; an hourly re-read catches a swapped module.
        self.worker.call(lambda modem: modem.forget_identity(), timeout=30)

    def _job_usage(self) -> None:
        def sample(meter: UsageMeter) -> tuple[str, ...]:
            meter.sample()
            return plan_flags(meter.summary(days=1))

        try:
            flags = self._with_meter(sample)
        except StorageUnavailable:
            self._beat("meter")  # handled: reported as degraded, tried again next round
            return
        self._beat("meter")
        with self._lock:
            before, self.live.usage_flags = self.live.usage_flags, flags
        for flag, event in (
            (UsageFlag.DATA_LOW.value, EventName.DATA_LOW),
            (UsageFlag.DATA_EXHAUSTED.value, EventName.DATA_EXHAUSTED),
            (UsageFlag.EXPIRED.value, EventName.PLAN_EXPIRED),
        ):
            if flag in flags and flag not in before:
                self._post_event(event, current=flag)

    def _usage_report(self, since: datetime | None) -> UsageReport | None:
        try:
            report: UsageReport = self._with_meter(lambda meter: usage_report(meter.summary(days=2), since))
        except StorageUnavailable:
            return None  # telemetry goes without usage rather than not at all
        return report

    def _job_telemetry(self) -> None:
        with self._lock:
            since = self.live.last_telemetry_at
        self._post(_Post(telemetry_usage=self._usage_report(since), telemetry_now=True))

    def _probe(
        self, targets: Sequence[str], timeout: float | None = None, *, from_cloud: bool = False
    ) -> list[ProbeResult]:
        """Probe ``targets``. Targets the cloud chose are bound to the cellular interface whenever one is configured
        and never reach loopback, link-local, multicast, private or CGNAT addresses unless [directed] allow_private
        (refused before any packet is sent)."""
        directed = self.config.directed
        interface = directed.interface
        if from_cloud and interface is None and "interface" in self.config.usage.model_fields_set:
            interface = self.config.usage.interface
        with self._lock:
            snapshot = self.live.last_snapshot
        # Bound to the cellular interface, probes ask the carrier's DNS (the PDP context's) unless [directed] dns
        # names resolvers: the system's may be the LAN's, which a directed card cannot reach.
        servers, source = dns_for_probes(directed.dns, interface, snapshot.network.dns if snapshot else ())
        log.debug("directed probes resolve with %s DNS %s", source, servers)
        options = ProbeOptions(
            dns_servers=tuple(parse_dns_server(text) for text in servers),
            interface=interface,
            timeout=timeout or directed.timeout,
            tls=directed.tls,
            address_filter=refused_address if from_cloud and not directed.allow_private else None,
        )
        return probe_texts(list(targets), options, default_port=directed.port)

    def _job_directed(self) -> None:
        if not self.targets:
            return
        results = self._probe(self.targets, from_cloud=self._targets_from_cloud)
        self._last_probes = results
        self._post(_Post(run=lambda: self._send_directed(results, only_if_changed=True)))

    def _diagnose(self) -> Diagnosis:
        with self._lock:
            snapshot = self.live.last_snapshot
        probes = self._last_probes
        try:
            plan = self._with_meter(_plan_fact)
        except StorageUnavailable:
            plan = None
        worker = self.worker.status()
        port_error = None
        if worker["state"] == "port_unavailable":
            port_error = ("port_unavailable", str(worker["last_error"]), "check the module and its USB cable")
            snapshot = None
        facts = DiagnosisFacts(
            snapshot=snapshot,
            port=self.worker.port,
            port_error=port_error,
            modem_unresponsive=worker["state"] == "unresponsive" or (snapshot is None and port_error is None),
            previous_identity=last_seen_identity(self.state_dir),
            directed=directed_facts(probes) if probes else None,
            plan=plan,
        )
        result = diagnose(facts)
        if snapshot is not None:
            remember_identity(self.state_dir, snapshot.sim.iccid, snapshot.identity.imei)
        with self._lock:
            self.live.last_diagnosis = result.verdict.value
        return result

    def _job_diagnosis(self) -> None:
        result = self._diagnose()
        findings = diagnosis_findings(result)
        key = (result.verdict.value, tuple(f.code for f in result.findings))
        self._post(_Post(run=lambda: self._send_if_news("diagnosis", key, lambda r: r.diagnosis(findings))))

    # -- the mqtt thread -------------------------------------------------------------------------------------------

    def _mqtt_loop(self) -> None:
        device = self.config.device
        reporter = Reporter(
            IdentityDevice(name=device.name, pn=device.pn, type=device.type, company=device.company),
            agent_version=self.version,
            started_at=self.live.started_at,
            device_id=device.id,
        )
        window = SampleWindow(datetime.now(UTC))
        waiting: list[_Post] = []
        # Without a configured id the device id is the IMEI: wait for the first snapshot. With one, wait a little
        # anyway, so the first status and the Last Will already carry the ICCID and IMEI the cloud keys cards by.
        first_read_by = time.monotonic() + _FIRST_READ_WAIT
        while (
            reporter.snapshot is None
            and (device.id is None or time.monotonic() < first_read_by)
            and not self._stop.is_set()
        ):
            with contextlib.suppress(queue.Empty):
                item = self._posts.get(timeout=0.5)
                if item.snapshot is not None:
                    reporter.observe(item.snapshot)
                waiting.append(item)
        if self._stop.is_set():
            return
        try:
            setup = telemetry_setup(self.config, reporter.device_id)
        except IotcardError as exc:
            log.error("MQTT is not usable: %s", exc.message)
            self._set_mqtt(state="config error", error=exc.message)
            self._mqtt_off = True
            return
        with self._open_outbox(setup) as outbox:
            link = MqttLink(setup.link, keepalive=load_keepalive(outbox, setup.keepalive))
            commands = CommandProcessor(dedup=outbox, per_day=daily_command_allowance(setup.budget.budget_bytes))
            self._register_commands(commands)
            publisher = TelemetryPublisher(outbox, link, reporter, setup.topics, commands=commands, budget=setup.budget)
            self._publisher = publisher
            self._reporter = reporter
            self._window = window
            self._last_identity: tuple[object, ...] | None = None
            self._previous: ModemSnapshot | None = None
            publisher.start()
            for item in waiting:
                self._handle_post(item)
            counted = (0, 0)  # (received, sent) already handed to the usage meter
            next_count = time.monotonic() + 60
            next_check = 0.0
            while not self._stop.is_set():
                self._beat("mqtt")
                try:
                    if "outbox" in self.live.degraded and time.monotonic() >= next_check:
                        next_check = time.monotonic() + 10
                        outbox.compact()
                        outbox.set_counters({"storage.checked": int(time.time())})  # a write: is there room again?
                        self._recover("outbox")
                    publisher.step(0.2)
                    if time.monotonic() >= next_count:
                        counted = self._count_own_traffic(publisher, counted)
                        next_count = time.monotonic() + 60
                    for _ in range(50):
                        try:
                            item = self._posts.get_nowait()
                        except queue.Empty:
                            break
                        self._handle_post(item)
                    self._set_mqtt(
                        state="connected" if publisher.connected else "disconnected",
                        connections=publisher.connections,
                        keepalive_s=publisher.keepalive,
                        error=publisher.last_error.message if publisher.last_error else None,
                        outbox_pending=len(outbox),
                        outbox_dropped=outbox.stats().dropped_total,
                        month_traffic_bytes=sum(publisher.month_traffic().values()),
                    )
                except sqlite3.Error as exc:
                    # A full or failing disk: the link stays up, what could not be stored is lost, and the loop
                    # goes on more slowly until a write succeeds again.
                    self._degrade("outbox", describe_storage_error(exc, outbox.path))
                    next_check = time.monotonic() + 10
                    self._stop.wait(1.0)
            try:
                publisher.stop(offline=True, timeout=2)
            except sqlite3.Error as exc:
                log.warning("the outbox could not be closed cleanly: %s", exc)
            self._count_own_traffic(publisher, counted)

    def _open_outbox(self, setup: Any) -> Outbox:
        """The outbox in the state dir; when it cannot be written (read-only, full), one in memory for this run, so
        MQTT still runs (messages are then lost on restart, and the state says so)."""
        path = outbox_path(self.config)
        try:
            return Outbox(path, setup.outbox)
        except (PublishError, sqlite3.Error, OSError) as exc:
            cause = exc.__cause__ if isinstance(exc, PublishError) and exc.__cause__ is not None else exc
            self._degrade(
                "outbox_memory",
                describe_storage_error(cause, path) + "; messages are kept in memory only until a restart",
            )
        memory = Outbox(":memory:", setup.outbox)
        # seq must not go back to 1 for the cloud: start from the clock in milliseconds, as a replaced file does.
        memory.set_counters({"next_seq": int(time.time() * 1000)})
        return memory

    def _count_own_traffic(self, publisher: TelemetryPublisher, counted: tuple[int, int]) -> tuple[int, int]:
        """Hand the MQTT socket's new bytes to the usage meter, which shows what the agent itself costs."""
        now = (publisher.meter.received_total, publisher.meter.sent_total)
        rx, tx = now[0] - counted[0], now[1] - counted[1]
        if rx > 0 or tx > 0:
            try:
                self._with_meter(lambda meter: meter.record_agent_traffic(rx, tx), timeout=10)
            except Exception:  # the meter may be closing at shutdown
                log.debug("agent traffic not recorded", exc_info=True)
                return counted
        return now

    def _set_mqtt(self, **values: object) -> None:
        with self._lock:
            self.live.mqtt = values

    def _handle_post(self, item: _Post) -> None:
        try:
            if item.snapshot is not None:
                self._fold_snapshot(item.snapshot)
            if item.modem_down is not None and self._previous is not None:
                self._previous = None
                self._send(lambda reporter: reporter.event(EventName.MODEM_UNRESPONSIVE, current=item.modem_down))
            if item.draft is not None:
                self._publisher.send(item.draft)
            if item.telemetry_now:
                self._send_telemetry(item.telemetry_usage)
            if item.run is not None:
                item.run()
        except IotcardError as exc:
            log.warning("could not queue a report: %s", exc.message)

    def _fold_snapshot(self, snapshot: ModemSnapshot) -> None:
        reporter = self._reporter
        previous = self._previous
        reporter.observe(snapshot)
        self._window.add(snapshot)
        key = identity_key(snapshot)
        if key != self._last_identity:
            self._last_identity = key
            self._publisher.send(reporter.identity())
        for name, old, new in events_between(previous, snapshot):
            self._publisher.send(reporter.event(name, previous=old, current=new))
        self._previous = snapshot

    def _send(self, make: Callable[[Reporter], Draft]) -> None:
        self._publisher.send(make(self._reporter))

    def _send_telemetry(self, usage: UsageReport | None) -> None:
        draft = self._reporter.telemetry(
            self._window,
            usage=usage,
            traffic=self._publisher.traffic_summary(),
            priority=Priority.IMPORTANT if usage is not None else None,
        )
        self._publisher.send(draft)
        self._window = SampleWindow(datetime.now(UTC))
        with self._lock:
            self.live.last_telemetry_at = datetime.now(UTC)

    def _send_directed(self, results: list[ProbeResult], *, only_if_changed: bool = False) -> None:
        payload = directed_results(results)
        if only_if_changed:
            key = tuple((r.target, r.verdict) for r in payload)
            self._send_if_news("directed", key, lambda reporter: reporter.directed(payload))
        else:
            self._publisher.send(self._reporter.directed(payload))

    def _send_if_news(self, kind: str, key: object, make: Callable[[Reporter], Draft]) -> None:
        """Run often, report rarely: publish a scheduled result when it changed, or once a day to show it holds."""
        last = self._published.get(kind)
        now = time.monotonic()
        if last is not None and last[0] == key and now - last[1] < _REPEAT_UNCHANGED:
            return
        self._published[kind] = (key, now)
        self._send(make)

    def _post_event(self, name: EventName, *, current: str | None = None) -> None:
        self._post(_Post(run=lambda: self._send(lambda reporter: reporter.event(name, current=current))))

    # -- cloud commands (run on the mqtt thread) -------------------------------------------------------------------

    def _register_commands(self, commands: CommandProcessor) -> None:
        commands.register("ping", ping_handler(self.version, started=self.live.started))

        def diagnose_now(command: Any) -> dict[str, Any]:
            result = self._diagnose()
            findings = diagnosis_findings(result)
            self._send(lambda reporter: reporter.diagnosis(findings))
            return {"verdict": result.verdict.value, "findings": [f.code for f in result.findings]}

        def probe_now(command: Any) -> dict[str, Any]:
            results = self._probe(command.targets, timeout=min(command.timeout_s, 10.0), from_cloud=True)
            self._send_directed(results)
            return {"results": [r.model_dump(mode="json") for r in directed_results(results)]}

        def refresh_usage(command: Any) -> dict[str, Any]:
            def sample(meter: UsageMeter) -> UsageReport:
                meter.sample()
                meter.commit()
                return usage_report(meter.summary(days=1), None)

            try:
                report: UsageReport = self._with_meter(sample)
            except StorageUnavailable as exc:
                raise CommandRejected(exc.message, code=exc.code) from None
            self._send_telemetry(report)
            return {"cycle_total_bytes": report.cycle_total_bytes, "cycle_start": str(report.cycle_start)}

        def set_plan(command: Any) -> dict[str, Any]:
            plan = Plan(
                name=command.plan_name,
                total_bytes=round(command.total_mb * 1024 * 1024),
                cycle_start=command.cycle_start,
                cycle_end=command.cycle_end,
                expiry=command.expiry,
            )
            self.plan = plan
            with contextlib.suppress(StorageUnavailable):  # the meter takes the plan file when it opens again
                self._with_meter(lambda meter: setattr(meter, "plan", plan))
            write_json_atomic(
                self.state_dir / CLOUD_PLAN_FILE,
                {
                    "name": plan.name,
                    "total_bytes": plan.total_bytes,
                    "cycle_start": plan.cycle_start.isoformat() if plan.cycle_start else None,
                    "cycle_end": plan.cycle_end.isoformat() if plan.cycle_end else None,
                    "expiry": plan.expiry.isoformat() if plan.expiry else None,
                },
            )
            return {"plan": command.plan_name, "total_mb": command.total_mb}

        def set_config(command: Any) -> dict[str, Any]:
            changed: dict[str, Any] = {}
            if command.directed_targets is not None:
                from iotcard.agent.directed import InvalidTarget, parse_target

                for text in command.directed_targets:
                    try:
                        target = parse_target(text, self.config.directed.port)
                    except InvalidTarget as exc:
                        raise CommandRejected(exc.message) from None
                    why = refused_address(target.host) if target.is_ip else None
                    if why is not None and not self.config.directed.allow_private:
                        raise CommandRejected(
                            f"{text} is not a public address ({why}); the device's config does not allow it",
                            code="refused_target",
                        )
                self.targets = list(command.directed_targets)
                self._targets_from_cloud = True
                changed["directed_targets"] = self.targets
            for field_name, job in (
                ("telemetry_interval_s", "telemetry"),
                ("sample_interval_s", "signal"),
                ("directed_interval_s", "directed"),
            ):
                value = getattr(command, field_name)
                if value is not None:
                    self.intervals[job] = value
                    jitter = int(value * self.config.schedule.jitter) or None
                    self.scheduler.reschedule_job(job, trigger=IntervalTrigger(seconds=value, jitter=jitter))
                    changed[field_name] = value
            return {"changed": changed}

        commands.register("diagnose", diagnose_now)
        commands.register("probe", probe_now)
        commands.register("refresh_usage", refresh_usage)
        commands.register("set_plan", set_plan)
        commands.register("set_config", set_config)

    # -- control socket and status ---------------------------------------------------------------------------------

    def _handle_cli(self, argv: Sequence[str], lang: str, tty: bool, port: str | None = None) -> tuple[int, str, str]:
        """Run a CLI command here, on the modem this agent owns; OtherPort for a command about another modem."""
        own_port = self.worker.port
        if port is not None and not same_port(port, own_port):
            if list(argv[:2]) == ["usage", "sample"]:
                return self._refuse_foreign_sample(port, lang, "--json" in argv)
            raise OtherPort(own_port)
        if self.dispatch is None:
            return 2, "", "iotcard: error: this agent runs no CLI commands\n"

        def open_modem(named: str, baud: int) -> WorkerModem:
            # The CLI checked the port it resolved (`port`); a port the command found itself (diag's --config, a
            # client that sends none) is checked here: never answer with this modem's facts for another one.
            if port is None and not same_port(named, own_port):
                raise OtherPort(own_port)
            return WorkerModem(self.worker)

        if list(argv[:2]) == ["usage", "sample"]:
            # The agent samples itself; a second sampler beside it would count the same bytes twice. Sample now
            # in the agent's meter (at most once a minute however often it is asked: a commit writes to flash),
            # then show the result.
            self._sample_for_cli()
            argv = ["usage", "show", *[a for a in argv[2:] if a == "--json"]]
        defaults = DaemonDefaults(port=own_port, config=self.config_path, state_dir=self.state_dir)
        return self.dispatch(argv, lang, Inside(defaults=defaults, open_modem=open_modem, agent_status=self.status))

    def _sample_for_cli(self, now: float | None = None) -> bool:
        """Sample and commit the meter for ``usage sample`` through the socket, unless that was done less than
        ``_CLI_SAMPLE_EVERY`` ago (200 requests in 12 s wrote 215 KB before); whether it sampled."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if self._cli_sampled_at is not None and now - self._cli_sampled_at < _CLI_SAMPLE_EVERY:
                return False
            self._cli_sampled_at = now
        with contextlib.suppress(StorageUnavailable):  # the show that follows says what the meter has
            self._with_meter(lambda meter: (meter.sample(), meter.commit()))
        return True

    def _refuse_foreign_sample(self, port: str, lang: str, as_json: bool) -> tuple[int, str, str]:
        # Sampling beside the agent's own meter would count the same bytes twice, and the agent's meter is not
        # about the other modem: say so rather than sample something else.
        out, err = io.StringIO(), io.StringIO()
        status = Context(out=out, err=err, lang=lang, json=as_json).fail(
            "not_agent_port",
            f"the agent meters usage itself with the modem on {self.worker.port}; {port} is another modem",
            f"'iotcard usage show --port {port}' reads that modem's own counters",
            EXIT_USAGE,
        )
        return status, out.getvalue(), err.getvalue()

    def status(self) -> dict[str, object]:
        with self._lock:
            live = self.live
            snapshot = live.last_snapshot
            doc: dict[str, object] = {
                "agent_version": self.version,
                "uptime_s": round(time.monotonic() - live.started),
                "modem": {
                    **self.worker.status(),
                    "registration": snapshot.network.registration.value
                    if snapshot and snapshot.network.registration
                    else None,
                    "bars": snapshot.signal.bars if snapshot else None,
                    "iccid": snapshot.sim.iccid if snapshot else None,
                    "last_read": live.last_snapshot_at.isoformat() if live.last_snapshot_at else None,
                },
                "mqtt": dict(live.mqtt),
                "last_report": live.last_telemetry_at.isoformat() if live.last_telemetry_at else None,
                "last_diagnosis": live.last_diagnosis,
                "usage_flags": list(live.usage_flags),
                "jobs": {"run": live.jobs_run, "failed": live.jobs_failed},
                "degraded": dict(live.degraded),
                "queue_dropped": live.posts_dropped,
            }
        return doc

    def _status_line(self) -> str:
        state = self.status()
        modem = state["modem"]
        mqtt = state["mqtt"]
        assert isinstance(modem, dict) and isinstance(mqtt, dict)
        line = f"modem {modem.get('state')}, mqtt {mqtt.get('state')}, outbox {mqtt.get('outbox_pending', '-')}"
        degraded = state.get("degraded")
        if isinstance(degraded, dict) and degraded:
            line += "; degraded: " + "; ".join(str(v) for v in degraded.values())
        return line


def _plan_fact(meter: UsageMeter) -> PlanFact | None:
    status = meter.summary(days=1).plan
    return plan_fact(status) if status is not None else None


CLOUD_PLAN_FILE = "plan.json"


def _load_cloud_plan(state_dir: Path) -> Plan | None:
    try:
        data = read_json(state_dir / CLOUD_PLAN_FILE)
    except (OSError, ConfigError) as exc:
        log.warning("ignoring the stored plan: %s", exc)
        return None
    if data is None:
        return None

    def day(key: str) -> date | None:
        value = data.get(key)
        return date.fromisoformat(value) if isinstance(value, str) else None

    total = data.get("total_bytes")
    name = data.get("name")
    try:
        return Plan(
            name=name if isinstance(name, str) else None,
            total_bytes=total if isinstance(total, int) else None,
            cycle_start=day("cycle_start"),
            cycle_end=day("cycle_end"),
            expiry=day("expiry"),
        )
    except ValueError as exc:
        log.warning("ignoring the stored plan: %s", exc)
        return None
