"""Helpers for the collector tests: polling with deadlines, a fleet on the wire, a running collector."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from clocks import FIXED

from iotcard.collector import BrokerSettings, Collector, Store
from iotcard.simulators.fleet import FleetLink, Message

# The collector tests never read the wall clock. The fleet reports at NOW (the suite's fixed instant, on the hour)
# and in rounds 4 h apart (NOW+4 h, +8 h, +12 h), which may cross midnight in Shanghai (the collector's zone); the
# store reads the card records at READ_AT, after the last round, and the tests look at the last three days. Dates
# (plans, expiries, the filters) follow from NOW, whatever the machine's clock or time zone says.
ZONE = ZoneInfo("Asia/Shanghai")
NOW = FIXED.replace(minute=0, second=0, microsecond=0)
READ_AT = NOW + timedelta(hours=13)
TODAY = READ_AT.astimezone(ZONE).date()


def clock() -> datetime:
    """The instant the collector under test takes for "now"."""
    return READ_AT


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
