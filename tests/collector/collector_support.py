"""Helpers for the collector tests: polling with deadlines, a fleet on the wire, a running collector."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from collector import BrokerSettings, Collector, Store
from simulators.fleet import FleetLink, Message

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def start_collector(store: Store, port: int, client_id: str = "collector-test", **options: object) -> Collector:
    collector = Collector(store, BrokerSettings("127.0.0.1", port), client_id=client_id, **options)  # type: ignore[arg-type]
    collector.start()
    assert collector.wait_subscribed(10), collector.worker.last_error
    return collector


def publish(link: FleetLink, messages: Iterable[Message], timeout: float = 30.0) -> int:
    count = 0
    for message in messages:
        link.publish(message.device_id, message.topic, message.payload, retain=message.retain)
        count += 1
    assert link.drain(timeout), f"{link.pending} messages not acknowledged by the broker"
    return count
