"""Moving messages from the outbox to the link and acknowledgements back; answering cloud commands.

:class:`TelemetryPublisher` is used from one thread (it owns the outbox). It never blocks on the network: the
link's thread does the I/O and posts events, and :meth:`TelemetryPublisher.step` handles them:

- ``Connected``: the status ``online`` reserved for this connection is stored, anything in flight is sent again,
  and a new (online, will) pair of seqs is reserved for the next connection, so the will's ``offline`` always has
  a higher seq than the ``online`` it replaces;
- ``Acked``: the message is deleted from the outbox (acks are applied in one transaction per step);
- ``Disconnected``: everything in flight goes back to pending;
- ``Received`` on ``cmd/{name}``: the command processor's outcome is stored as a result message;
- ``Traffic``/``KeepaliveLearned``: counted by month and kept in the outbox file.

At most ``window`` messages are in flight; each batch is chosen afresh, so a live event overtakes a backlog.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import time
from collections.abc import Callable
from datetime import UTC, datetime

from iotcard.contract.wire import EventName, Topic, Topics, TrafficSummary

from ._budget import TrafficBudget
from ._commands import CommandProcessor, Reply
from ._keepalive import AdaptiveKeepalive, KeepaliveLimits
from ._mqtt import (
    Acked,
    Connected,
    ConnectFailed,
    Disconnected,
    KeepaliveLearned,
    LinkEvent,
    MqttLink,
    Received,
    Stopped,
    Traffic,
    WillMessage,
)
from ._outbox import Outbox
from ._reporter import Draft, Reporter
from ._traffic import TrafficMeter, publish_wire_estimate

__all__ = ["TelemetryPublisher", "load_keepalive", "month_key"]

log = logging.getLogger(__name__)

_SAVE_EVERY = 3600.0


def month_key(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m")


def load_keepalive(outbox: Outbox, limits: KeepaliveLimits) -> AdaptiveKeepalive:
    """The keepalive policy with what earlier runs learned (kept in the outbox file)."""
    saved = outbox.counters("keepalive.")
    policy = AdaptiveKeepalive(limits, current=saved.get("keepalive.current"))
    policy.known_good = saved.get("keepalive.known_good") or None
    policy.too_long = saved.get("keepalive.too_long") or None
    return policy


def _valid_response_topic(topic: str | None, results: str) -> str | None:
    """An MQTT 5 Response Topic is honoured only under the device's own ``result/`` level: whoever can publish a
    command must not make the device publish anywhere else (another device's status, its own retained topics)."""
    if not topic or len(topic) > 256 or any(c in topic for c in "+#\x00") or not topic.startswith(results):
        return None
    if not topic[len(results) :] or "/" in topic[len(results) :]:
        return None
    return topic


class TelemetryPublisher:
    """The outbox ↔ link pump of one device."""

    def __init__(
        self,
        outbox: Outbox,
        link: MqttLink,
        reporter: Reporter,
        topics: Topics,
        *,
        commands: CommandProcessor | None = None,
        budget: TrafficBudget | None = None,
        window: int = 10,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.outbox = outbox
        self.link = link
        self.reporter = reporter
        self.topics = topics
        self.commands = commands
        self.budget = budget
        self.window = window
        self._wall = wall
        self._clock = clock
        self.meter = TrafficMeter()
        self.connected = False
        self.connections = 0
        self.last_error: ConnectFailed | None = None
        self.keepalive: int | None = None
        self._v5 = link.settings.protocol == "5"
        self._tls = link.settings.tls is not None
        self._inflight: dict[int, tuple[str, int]] = {}
        self._acks: list[tuple[int, bool]] = []
        self._online_seq: int | None = None
        self._saved_at = clock()
        self._started = False

    # ------------------------------------------------------------ life

    def start(self) -> None:
        self._started = True
        self.link.start(self._prepare_next_connection())

    def _prepare_next_connection(self) -> WillMessage:
        self._online_seq = self.outbox.allocate_seq()
        will = self.reporter.status("offline", reason="connection_lost")
        will_seq = self.outbox.allocate_seq()
        return WillMessage(self.topics.topic(Topic.STATUS), will.payload(will_seq), qos=will.qos, retain=will.retain)

    def stop(self, *, offline: bool = True, timeout: float = 5.0) -> None:
        """Say ``offline`` (reason ``shutdown``) when connected, wait briefly for it, disconnect, keep the counters."""
        if offline and self.connected:
            seq = self.send(self.reporter.status("offline", reason="shutdown"))
            deadline = self._clock() + timeout
            while self.connected and self._clock() < deadline and seq in self._pending_seqs():
                self.step(0.1)
        self.link.stop(timeout)
        self._drain_events()
        self._flush()
        self._save(force=True)

    # ------------------------------------------------------------ sending

    def topic_of(self, draft: Draft) -> str:
        if draft.topic is Topic.RESULT:
            results = f"{self.topics.base}/result/"
            return _valid_response_topic(draft.response_topic, results) or self.topics.topic(Topic.RESULT, draft.name)
        return self.topics.topic(draft.topic)

    def send(self, draft: Draft) -> int:
        """Store ``draft`` in the outbox (it gets its seq there) and send it when the window allows; its seq."""
        seq = self.outbox.enqueue(
            self.topic_of(draft),
            draft.payload,
            qos=draft.qos,
            retain=draft.retain,
            priority=draft.priority,
            correlation=draft.correlation,
        )
        self._fill()
        return seq

    def _pending_seqs(self) -> set[int]:
        return {seq for seq, _ in self.outbox.pending_topics()}

    def _fill(self) -> None:
        if not self.connected:
            return
        room = self.window - self.outbox.inflight
        for message in self.outbox.next_batch(room):
            kind = self._kind(message.topic)
            cost = publish_wire_estimate(
                message.topic, len(message.payload), qos=message.qos, v5=self._v5, tls=self._tls
            )
            self._inflight[message.seq] = (kind, cost)
            self.link.publish(
                message.seq,
                message.topic,
                message.payload,
                qos=message.qos,
                retain=message.retain,
                correlation=message.correlation,
            )

    def _kind(self, topic: str) -> str:
        base = self.topics.base + "/"
        if topic.startswith(base):
            return topic[len(base) :].split("/", 1)[0]
        return Topic.RESULT.value

    # ------------------------------------------------------------ events

    def step(self, timeout: float = 0.5) -> None:
        """Handle what the link reported (waiting up to ``timeout`` for the first event), then send what fits."""
        with contextlib.suppress(queue.Empty):
            self._handle(self.link.events.get(timeout=timeout))
        self._drain_events()
        self._flush()
        self._fill()
        self._save()

    def _drain_events(self) -> None:
        while True:
            try:
                self._handle(self.link.events.get_nowait())
            except queue.Empty:
                return

    def _handle(self, event: LinkEvent) -> None:
        if isinstance(event, Acked):
            self._acks.append((event.token, event.ok))
        elif isinstance(event, Connected):
            self._on_connected(event)
        elif isinstance(event, Disconnected):
            self._flush()
            self.connected = False
            self.outbox.release_inflight()
            self._inflight.clear()
        elif isinstance(event, ConnectFailed):
            self.last_error = event
        elif isinstance(event, Received):
            self._on_received(event)
        elif isinstance(event, Traffic):
            if event.at_connect:
                self.meter.connected(event.sample)
            else:
                self.meter.sampled(event.sample)
        elif isinstance(event, KeepaliveLearned):
            self.outbox.set_counters(
                {
                    "keepalive.current": event.current,
                    "keepalive.known_good": event.known_good or 0,
                    "keepalive.too_long": event.too_long or 0,
                }
            )
        elif isinstance(event, Stopped):
            self.connected = False

    def _on_connected(self, event: Connected) -> None:
        self.connected = True
        self.last_error = None
        self.keepalive = event.keepalive
        self.connections += 1
        if self.connections > 1:
            self.outbox.add_counters({f"traffic.{month_key(self._wall())}.reconnects": 1})
        self.outbox.release_inflight()
        self._inflight.clear()
        online = self.reporter.status("online")
        seq = self._online_seq if self._online_seq is not None else self.outbox.allocate_seq()
        self.outbox.enqueue(
            self.topics.topic(Topic.STATUS),
            online.payload(seq),
            qos=online.qos,
            retain=online.retain,
            priority=online.priority,
            seq=seq,
        )
        self.link.set_will(self._prepare_next_connection())
        self._report_drops()

    def _report_drops(self) -> None:
        dropped = self.outbox.dropped()
        total = sum(dropped.values())
        reported = self.outbox.counters("reported.dropped").get("reported.dropped", 0)
        if total > reported:
            detail: dict[str, str | int | float | bool | None] = {p.name.lower(): n for p, n in dropped.items()}
            self.send(self.reporter.event(EventName.OUTBOX_DROPPED, current=str(total), detail=detail))
            self.outbox.set_counters({"reported.dropped": total})

    def _on_received(self, event: Received) -> None:
        name = self.topics.command_name(event.topic)
        kind = "cmd" if name is not None else "other_in"
        self.meter.message(kind, publish_wire_estimate(event.topic, len(event.payload), v5=self._v5, tls=self._tls))
        if name is None or self.commands is None:
            return
        reply = Reply(event.response_topic if self._v5 else None, event.correlation)
        outcome = self.commands.handle(name, event.payload, retained=event.retained, reply=reply)
        if not outcome.publish:
            log.debug("command %s not answered now (rate limited, or answered when it has run)", name)
            return
        log.info("command %s (%s): %s", name, outcome.request_id, "ok" if outcome.ok else outcome.error_code)
        self.send(self.reporter.result(outcome, response_topic=reply.response_topic, correlation=reply.correlation))

    def _flush(self) -> None:
        if not self._acks:
            return
        acks, self._acks = self._acks, []
        for seq, ok in acks:
            kind, cost = self._inflight.pop(seq, ("other", 0))
            self.meter.message(kind, cost)
            if not ok:
                log.warning("the broker refused message seq %d (%s); it is not sent again", seq, kind)
        self.outbox.ack(seq for seq, _ in acks)
        refused = sum(1 for _, ok in acks if not ok)
        if refused:
            self.outbox.add_counters({"refused": refused})

    def _save(self, *, force: bool = False) -> None:
        if not force and self._clock() - self._saved_at < _SAVE_EVERY:
            return
        self._saved_at = self._clock()
        deltas = self.meter.take_deltas()
        month = month_key(self._wall())
        self.outbox.add_counters({f"traffic.{month}.{kind}": n for kind, n in deltas.items()})

    # ------------------------------------------------------------ waiting and reporting

    def drain(self, timeout: float) -> bool:
        """Step until the outbox is empty (True) or ``timeout`` seconds passed (False)."""
        deadline = self._clock() + timeout
        while self._clock() < deadline:
            if self.connected and len(self.outbox) == 0 and not self._acks:
                return True
            self.step(min(0.2, max(0.0, deadline - self._clock())))
        return self.connected and len(self.outbox) == 0

    def month_traffic(self) -> dict[str, int]:
        """This month's bytes by type: what is saved plus what is not saved yet."""
        month = month_key(self._wall())
        prefix = f"traffic.{month}."
        saved = {key[len(prefix) :]: value for key, value in self.outbox.counters(prefix).items()}
        for kind, n in self.meter._unsaved.items():
            saved[kind] = saved.get(kind, 0) + n
        return saved

    def traffic_summary(self, period_bytes: int = 0) -> TrafficSummary:
        month = self.month_traffic()
        reconnects = month.pop("reconnects", 0)
        month_bytes = sum(month.values())
        stretch = 1.0
        budget_bytes = None
        if self.budget is not None:
            budget_bytes = self.budget.budget_bytes
            stretch = self.budget.state(month_bytes, self._wall()).stretch
        stats = self.outbox.stats()
        return TrafficSummary(
            period_bytes=period_bytes,
            month_bytes=month_bytes,
            month_budget_bytes=budget_bytes,
            by_type=month,
            stretch=round(stretch, 2),
            keepalive_s=self.keepalive,
            reconnects=reconnects,
            outbox_pending=stats.pending,
            outbox_dropped={p.name.lower(): n for p, n in stats.dropped.items()},
        )
