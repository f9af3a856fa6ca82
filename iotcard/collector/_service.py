"""``iotcard-collector run``: the broker's messages into the database, in batches, acknowledged after commit.

Three threads, each the only owner of its resource: the MQTT worker (:class:`~iotcard.collector._mqtt.MqttWorker`)
owns the paho client; the decoder thread here gathers deliveries into batches and validates them; the writer thread
owns the database writes. Deliveries go from the first to the second on a queue, decoded batches from the second to
the third (at most one waiting), and acknowledgements go back on the worker's request queue once the batch is
committed. Decoding the next batch while the writer waits for SQLite (and its commit's fsync) keeps validation off
the writer's path: the writer is what limits the rate.

No message can stop ingest for the fleet: when a batch fails to write for any reason but an unreachable database,
the batch is halved until the message that fails is found; that one is dead-lettered (kept in ``rejects`` with its
payload and the error, counted in ``stats``) and acknowledged, and the rest is written. An unreachable database
stops the writer with a :class:`~iotcard.collector._errors.StoreError`, and so does anything unexpected: ``run`` then
exits
non-zero, so systemd's ``Restart=on-failure`` restarts it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass

from iotcard.contract.messages import DEFAULT_TOPIC_PREFIX

from ._errors import CollectorError, StoreError
from ._ingest import Accepted, Rejected, decode
from ._mqtt import BrokerSettings, Delivery, MqttWorker
from ._store import ApplyResult, Store

__all__ = ["Collector", "CollectorStats", "share_topic"]

log = logging.getLogger(__name__)


def share_topic(group: str, prefix: str = DEFAULT_TOPIC_PREFIX) -> str:
    """The shared subscription every instance of one ``group`` takes: the broker gives each message to one."""
    return f"$share/{group}/{prefix}/+/#"


@dataclass(slots=True)
class CollectorStats:
    """What this instance did (the database's ``counters`` table sums every instance)."""

    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    invalid: int = 0
    batches: int = 0
    alarms: int = 0
    dead_lettered: int = 0

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


class Collector:
    """Subscribe, validate, write in batches, acknowledge. :meth:`start` returns at once; :meth:`stop` drains."""

    def __init__(
        self,
        store: Store,
        broker: BrokerSettings,
        *,
        client_id: str,
        group: str = "iotcard-collector",
        prefix: str = DEFAULT_TOPIC_PREFIX,
        batch_size: int = 500,
        batch_wait: float = 0.05,
        receive_maximum: int = 2000,
        read_retained: bool | None = None,
    ) -> None:
        self.store = store
        self.prefix = prefix
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.worker = MqttWorker(
            broker,
            client_id,
            subscriptions=(share_topic(group, prefix),),
            persistent=True,
            receive_maximum=receive_maximum,
            # The devices' retained state (status, identity, diagnosis) is read only into an empty database, by
            # default: a new instance joining a running group is not flooded with every device's state.
            read_retained=read_retained if read_retained is not None else store.count("devices") == 0,
        )
        self.stats = CollectorStats()
        self.buffered = 0  # deliveries in the batch being gathered (not yet written)
        self.failure: CollectorError | None = None
        self._stopping = threading.Event()
        self._decoded: queue.Queue[list[tuple[Delivery, Accepted | Rejected | None]] | None] = queue.Queue(1)
        self._decoder = threading.Thread(target=self._decode_loop, name="collector-decoder", daemon=True)
        self._writer = threading.Thread(target=self._write_loop, name="collector-writer", daemon=True)

    def start(self) -> None:
        self.worker.start()
        self._writer.start()
        self._decoder.start()

    def wait_subscribed(self, timeout: float) -> bool:
        return self.worker.subscribed.wait(timeout)

    @property
    def running(self) -> bool:
        return self._writer.is_alive()

    def stop(self, timeout: float = 10.0, *, linger: int | None = None) -> None:
        """Write and acknowledge what has arrived, then disconnect cleanly.

        With ``linger`` (seconds; ``run`` gives 30 by default) the instance leaves its group first, a handover that
        loses nothing under a steady stream: it unsubscribes (from the broker's UNSUBACK on, the group's other
        instances get every new message), goes on writing and acknowledging what was already in flight or queued
        for its session until that falls quiet (at most ``timeout`` seconds), and then disconnects with its
        session shortened to ``linger`` seconds: a restart within it finds the session. Without ``linger`` the
        session keeps its subscription and its expiry (a day), and the broker keeps queueing this instance's
        share for it: what has arrived is written and acknowledged, the rest waits for the instance to come back."""
        if linger is not None and self._writer.is_alive():
            self.worker.stop(timeout, session_expiry=linger, handover=timeout)  # the writer goes on meanwhile
            self._stopping.set()
            self._join(timeout)
            return
        self._stopping.set()
        self._join(timeout)
        self.worker.stop(timeout, session_expiry=linger)

    def kill(self) -> None:
        """Drop the connection first, as a crash would: what was written but not acknowledged comes again."""
        self.worker.abort()
        self._stopping.set()
        self._join(10)
        self.worker.stop(1)

    def _join(self, timeout: float) -> None:
        """The decoder hands over what has arrived and ends; the writer writes it and ends."""
        for thread in (self._decoder, self._writer):
            if thread.is_alive():
                thread.join(timeout)

    # ------------------------------------------------------------ decoder thread

    def _next_batch(self) -> list[Delivery]:
        events = self.worker.events
        batch: list[Delivery] = []
        deadline: float | None = None
        while len(batch) < self.batch_size:
            stopping = self._stopping.is_set()
            timeout = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
            if timeout <= 0:
                break
            try:
                # Stopping: only what has already arrived, without waiting for more.
                event = events.get_nowait() if stopping else events.get(timeout=timeout)
            except queue.Empty:
                if deadline is None or stopping:
                    break
                continue
            if isinstance(event, Delivery):
                batch.append(event)
                self.buffered = len(batch)
                if deadline is None:
                    deadline = time.monotonic() + self.batch_wait
            else:
                log.info("MQTT: %s", event)
        return batch

    def _decode_loop(self) -> None:
        try:
            while self._writer.is_alive():
                batch = self._next_batch()
                if not batch:
                    if self._stopping.is_set():
                        return
                    continue
                decoded = [(delivery, decode(delivery.topic, delivery.payload, self.prefix)) for delivery in batch]
                for _, item in decoded:
                    if isinstance(item, Rejected):
                        log.warning("invalid message from device %s on %s: %s", item.device_id, item.topic, item.reason)
                self._hand_over(decoded)
                if self._stopping.is_set() and len(batch) < self.batch_size:
                    # What had arrived goes to the writer. Under a steady stream more keeps coming: it stays
                    # unacknowledged in this instance's session (delivered again if it comes back within its linger),
                    # so that a stop takes one batch, not until the devices fall silent.
                    return
        except Exception as exc:  # a bug of ours: stop loudly (exit non-zero) rather than ingest half
            log.exception("the decoder failed")
            self.failure = CollectorError(
                f"the decoder failed: {type(exc).__name__}", code="writer_failed", hint="see the log; restart"
            )
        finally:
            self._hand_over(None)  # the writer ends after what it was given

    def _hand_over(self, decoded: list[tuple[Delivery, Accepted | Rejected | None]] | None) -> None:
        while self._writer.is_alive():
            try:
                self._decoded.put(decoded, timeout=0.2)
            except queue.Full:
                continue
            if decoded is not None:
                self.buffered = 0
            return

    # ------------------------------------------------------------ writer thread

    def _write_loop(self) -> None:
        while True:
            decoded = self._decoded.get()
            if decoded is None:
                return
            try:
                self._write(decoded)
            except StoreError as exc:
                log.error("collector stopped: %s", exc.message)
                self.failure = exc
                return
            except Exception as exc:  # a bug of ours: stop loudly (exit non-zero) rather than ingest half
                log.exception("the writer failed")
                self.failure = CollectorError(
                    f"the writer failed: {type(exc).__name__}", code="writer_failed", hint="see the log; restart"
                )
                return

    def _write(self, decoded: list[tuple[Delivery, Accepted | Rejected | None]]) -> None:
        result = self._apply(decoded)
        self.worker.ack(tuple((d.connection, d.mid) for d, _ in decoded if d.qos > 0))
        self._count(len(decoded), result)

    def _apply(self, decoded: list[tuple[Delivery, Accepted | Rejected | None]]) -> ApplyResult:
        """Write ``decoded`` in one transaction; if that fails (not for want of a database), find the message that
        fails by halving, dead-letter it and write the rest."""
        accepted = [item for _, item in decoded if isinstance(item, Accepted)]
        rejected = [item for _, item in decoded if isinstance(item, Rejected)]
        try:
            return self.store.apply(accepted, rejected)
        except StoreError:
            raise
        except Exception as exc:
            if len(decoded) == 1:
                delivery, item = decoded[0]
                reason = f"the writer could not store it: {type(exc).__name__}: {str(exc)[:300]}"
                device_id = item.message.device_id if isinstance(item, Accepted) else None
                log.error("dead-lettered a message from %s on %s: %s", device_id, delivery.topic, reason)
                self.store.dead_letter([(device_id, delivery.topic, delivery.payload, reason)])
                self.stats.dead_lettered += 1
                return ApplyResult()
        half = len(decoded) // 2
        first, second = self._apply(decoded[:half]), self._apply(decoded[half:])
        first.accepted += second.accepted
        first.duplicates += second.duplicates
        first.rejected += second.rejected
        first.alarms += second.alarms
        return first

    def _count(self, received: int, result: ApplyResult) -> None:
        stats = self.stats
        stats.received += received
        stats.accepted += result.accepted
        stats.duplicates += result.duplicates
        stats.invalid += result.rejected
        stats.batches += 1
        stats.alarms += len(result.alarms)
        for alarm in result.alarms:
            log.warning(
                "binding alarm %s: card %s, device %s (was %s, now %s)",
                alarm["kind"],
                alarm["iccid"],
                alarm["device_id"],
                alarm["previous"],
                alarm["current"],
            )
