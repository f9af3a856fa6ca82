"""The MQTT session owner: the outbox, the paho link (through the publisher), the reporter, the sample window.

One thread, ``mqtt``. Other owners never touch what it holds: they :meth:`MqttSession.post` it a message
(:mod:`._messages`) and go on. It waits for the first modem read (so the first status and the Last Will carry the
card's identity), opens the telemetry session (:func:`iotcard.agent.telemetry.open_telemetry`), then loops: one
step of the publisher (acknowledgements, reconnects, cloud commands in), the inbox, its state for ``iotcard
status``. Cloud commands arrive here; those that take time run on the scheduler's command lane and come back as an
:class:`~._messages.Answer` (see :mod:`.cloud`).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import MappingProxyType

from iotcard.agent.config import AgentConfig
from iotcard.agent.errors import PublishError
from iotcard.agent.telemetry import (
    CommandOutcome,
    CommandProcessor,
    Draft,
    Outbox,
    Reply,
    SampleWindow,
    TelemetryPublisher,
    TelemetrySession,
    TelemetrySetup,
    events_between,
    identity_key,
    open_telemetry,
    outbox_path,
    reporter_for,
)
from iotcard.contract.errors import IotcardError
from iotcard.contract.wire import EventName, Priority, UsageReport
from iotcard.drivers.models import ModemSnapshot

from ._board import Board, Health
from ._messages import Answer, Event, Message, ModemDown, ModemRead, SendDiagnosis, SendDirected, SendTelemetry
from ._meter import MeterOwner, report_degraded, report_recovered
from ._storage import describe_storage_error

__all__ = ["FIRST_READ_WAIT", "MqttSession"]

log = logging.getLogger("iotcard.daemon")

# How long the session waits for the first modem read before connecting without the card's identity.
FIRST_READ_WAIT = 30.0
# An unchanged diagnosis or directed result is published again after a day, so the cloud sees it still holds;
# the traffic budget (docs/benchmarks.md) counts one of each a day.
REPEAT_UNCHANGED = 86400.0
INBOX_SIZE = 1000


class MqttSession:
    """Owns the MQTT side of the agent on the ``mqtt`` thread; everyone else posts it messages."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        version: str,
        board: Board,
        health: Health,
        meter: MeterOwner,
        stopping: threading.Event,
        register: Callable[[CommandProcessor], None],
        make_commands: Callable[..., CommandProcessor] = CommandProcessor,
    ) -> None:
        self._config = config
        self._board = board
        self._health = health
        self._meter = meter
        self._stopping = stopping
        self._register = register  # adds the cloud commands this agent answers (iotcard.agent.daemon.cloud)
        self._make_commands = make_commands
        self.inbox: queue.Queue[Message] = queue.Queue(maxsize=INBOX_SIZE)
        # The thread's own state, built here and touched only on the mqtt thread.
        self.reporter = reporter_for(config, agent_version=version, started_at=health.started_at)
        self._window = SampleWindow(datetime.now(UTC))
        self._previous: ModemSnapshot | None = None  # the last snapshot folded in (None: the modem is down)
        self._last_identity: tuple[object, ...] | None = None
        self._published: dict[str, tuple[object, float]] = {}  # kind -> (key, when) of the last scheduled report
        self._telemetry: TelemetrySession | None = None
        self._counted = (0, 0)  # (received, sent) MQTT bytes already handed to the usage meter
        self.off = False  # the MQTT settings were refused: nothing for the watchdog to wait for
        self._thread = threading.Thread(target=self._run, name="mqtt", daemon=True)

    # -- any thread ------------------------------------------------------------------------------------------------

    def post(self, message: Message) -> None:
        """Hand the session a message; dropped (and counted) when its bounded inbox is full."""
        try:
            self.inbox.put_nowait(message)
        except queue.Full:
            self._health.post_dropped()
            log.warning("the mqtt inbox is full; dropping %s", type(message).__name__)

    def tell(self, name: EventName, previous: str, current: str) -> None:
        """A storage event for the cloud (the owners' :data:`~._meter.Tell`)."""
        self.post(Event(name, previous=previous[:128], current=current[:128]))

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    # -- the mqtt thread -------------------------------------------------------------------------------------------

    def _run(self) -> None:
        waiting = self._wait_for_first_read()
        if self._stopping.is_set():
            return
        try:
            session = open_telemetry(
                self._config,
                self.reporter,
                register=self._register,
                open_outbox=self._open_outbox,
                make_commands=self._make_commands,
            )
        except IotcardError as exc:
            log.error("MQTT is not usable: %s", exc.message)
            self._board.mqtt = MappingProxyType({"state": "config error", "error": exc.message})
            self.off = True
            return
        with session:
            self._telemetry = session
            session.start()
            for item in waiting:
                self._handle(item)
            self._loop(session)
            try:
                session.stop(offline=True, timeout=2)
            except sqlite3.Error as exc:
                log.warning("the outbox could not be closed cleanly: %s", exc)
            self._count_own_traffic(session.publisher)

    def _wait_for_first_read(self) -> list[Message]:
        """Without a configured id the device id is the IMEI: wait for the first snapshot. With one, wait a little
        anyway, so the first status and the Last Will already carry the ICCID and IMEI the cloud keys cards by."""
        waiting: list[Message] = []
        first_read_by = time.monotonic() + FIRST_READ_WAIT
        configured = self._config.device.id is not None
        while (
            self.reporter.snapshot is None
            and (not configured or time.monotonic() < first_read_by)
            and not self._stopping.is_set()
        ):
            with contextlib.suppress(queue.Empty):
                item = self.inbox.get(timeout=0.5)
                if isinstance(item, ModemRead):
                    self.reporter.observe(item.snapshot)
                waiting.append(item)
        return waiting

    def _loop(self, session: TelemetrySession) -> None:
        publisher, outbox = session.publisher, session.outbox
        next_count = time.monotonic() + 60
        next_check = 0.0
        while not self._stopping.is_set():
            self._health.beat("mqtt")
            try:
                if "outbox" in self._health.degraded() and time.monotonic() >= next_check:
                    next_check = time.monotonic() + 10
                    outbox.compact()
                    outbox.set_counters({"storage.checked": int(time.time())})  # a write: is there room again?
                    report_recovered(self._health, self.tell, "outbox")
                publisher.step(0.2)
                if time.monotonic() >= next_count:
                    self._count_own_traffic(publisher)
                    next_count = time.monotonic() + 60
                for _ in range(50):
                    try:
                        item = self.inbox.get_nowait()
                    except queue.Empty:
                        break
                    self._handle(item)
                self._board.mqtt = MappingProxyType(
                    {
                        "state": "connected" if publisher.connected else "disconnected",
                        "connections": publisher.connections,
                        "keepalive_s": publisher.keepalive,
                        "error": publisher.last_error.message if publisher.last_error else None,
                        "outbox_pending": len(outbox),
                        "outbox_dropped": outbox.stats().dropped_total,
                        "month_traffic_bytes": sum(publisher.month_traffic().values()),
                    }
                )
            except sqlite3.Error as exc:
                # A full or failing disk: the link stays up, what could not be stored is lost, and the loop goes on
                # more slowly until a write succeeds again.
                report_degraded(self._health, self.tell, "outbox", describe_storage_error(exc, outbox.path))
                next_check = time.monotonic() + 10
                self._stopping.wait(1.0)

    def _open_outbox(self, setup: TelemetrySetup) -> Outbox:
        """The outbox in the state dir; when it cannot be written (read-only, full), one in memory for this run, so
        MQTT still runs (messages are then lost on restart, and the state says so)."""
        path = outbox_path(self._config)
        try:
            return Outbox(path, setup.outbox)
        except (PublishError, sqlite3.Error, OSError) as exc:
            cause = exc.__cause__ if isinstance(exc, PublishError) and exc.__cause__ is not None else exc
            message = describe_storage_error(cause, path) + "; messages are kept in memory only until a restart"
            report_degraded(self._health, self.tell, "outbox_memory", message)
        memory = Outbox(":memory:", setup.outbox)
        # seq must not go back to 1 for the cloud: start from the clock in milliseconds, as a replaced file does.
        memory.set_counters({"next_seq": int(time.time() * 1000)})
        return memory

    def _count_own_traffic(self, publisher: TelemetryPublisher) -> None:
        """Hand the MQTT socket's new bytes to the usage meter, which shows what the agent itself costs."""
        now = (publisher.meter.received_total, publisher.meter.sent_total)
        rx, tx = now[0] - self._counted[0], now[1] - self._counted[1]
        if rx > 0 or tx > 0:
            self._meter.add_agent_traffic(rx, tx)
        self._counted = now

    # -- messages --------------------------------------------------------------------------------------------------

    def _send(self, draft: Draft) -> None:
        assert self._telemetry is not None
        self._telemetry.publisher.send(draft)

    def _handle(self, item: Message) -> None:
        reporter = self.reporter
        try:
            if isinstance(item, ModemRead):
                self._fold(item.snapshot)
            elif isinstance(item, ModemDown):
                if self._previous is not None:
                    self._previous = None
                    self._send(reporter.event(EventName.MODEM_UNRESPONSIVE, current=item.code))
            elif isinstance(item, Event):
                self._send(reporter.event(item.name, previous=item.previous, current=item.current))
            elif isinstance(item, SendTelemetry):
                self._send_telemetry(item.usage)
            elif isinstance(item, SendDirected):
                key = tuple((r.target, r.verdict) for r in item.results) if item.only_if_changed else None
                self._send_if_news("directed", key, lambda: reporter.directed(item.results))
            elif isinstance(item, SendDiagnosis):
                self._send_if_news("diagnosis", item.key, lambda: reporter.diagnosis(item.findings))
            elif isinstance(item, Answer):
                self._answer(item)
        except IotcardError as exc:
            log.warning("could not queue a report: %s", exc.message)

    def _fold(self, snapshot: ModemSnapshot) -> None:
        reporter = self.reporter
        previous = self._previous
        reporter.observe(snapshot)
        self._window.add(snapshot)
        key = identity_key(snapshot)
        if key != self._last_identity:
            self._last_identity = key
            self._send(reporter.identity())
        for name, old, new in events_between(previous, snapshot):
            self._send(reporter.event(name, previous=old, current=new))
        self._previous = snapshot

    def _send_telemetry(self, usage: UsageReport | None) -> None:
        assert self._telemetry is not None
        publisher = self._telemetry.publisher
        draft = self.reporter.telemetry(
            self._window,
            usage=usage,
            traffic=publisher.traffic_summary(),
            priority=Priority.IMPORTANT if usage is not None else None,
        )
        publisher.send(draft)
        self._window = SampleWindow(datetime.now(UTC))
        self._board.last_telemetry_at = datetime.now(UTC)

    def _send_if_news(self, kind: str, key: object | None, make: Callable[[], Draft]) -> None:
        """Run often, report rarely: a scheduled result (with a ``key``) is published when it changed, or once a
        day to show it holds; one the cloud asked for (no key) always."""
        if key is not None:
            last = self._published.get(kind)
            now = time.monotonic()
            if last is not None and last[0] == key and now - last[1] < REPEAT_UNCHANGED:
                return
            self._published[kind] = (key, now)
        self._send(make())

    def _answer(self, item: Answer) -> None:
        """A cloud command another owner ran: its result goes out now; a failure replaces the "ok" the command
        processor remembered for the request id when it handed the command on."""
        assert self._telemetry is not None
        outcome = item.outcome
        if not outcome.ok and outcome.request_id is not None:
            first = CommandOutcome(outcome.command, outcome.request_id, False, None, outcome.error_code)
            self._telemetry.outbox.remember_command(outcome.request_id, first.to_json())
        log.info("command %s (%s): %s", outcome.command, outcome.request_id, "ok" if outcome.ok else outcome.error_code)
        reply = item.reply or Reply()
        self._send(self.reporter.result(outcome, response_topic=reply.response_topic, correlation=reply.correlation))
