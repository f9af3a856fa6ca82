"""Hostile or broken reports never stop the collector, never move a card across companies, never flag a card from
impossible numbers; the broker cannot make it hold more than it bounds (threat model: docs/threat-model.md).

Each test reproduces a finding of the red-team pass first (real Mosquitto, real SQLite and PostgreSQL):
- one schema-valid report (``seq = 2**63``, a ``ts`` in year 9999 at -10:00, ``2**64`` bytes) raised
  ``OverflowError`` in the writer, which died while ``run`` exited 0;
- a device claiming ACME's ICCID with company "EvilCorp" and 10¹² bytes in one hour moved the card's company and
  flagged it exhausted;
- the QoS 0 ingest queue was unbounded and the broker could send any packet size.
"""

from __future__ import annotations

import json
from datetime import timedelta

import paho.mqtt.client as paho
import pytest
from collector_support import NOW, TODAY, clock, publish, start_collector, wait_until
from mosquitto_support import Broker
from paho.mqtt.enums import CallbackAPIVersion

from iotcard.collector import BrokerSettings, PlanRow, Store, StoreError, decode
from iotcard.collector._ingest import Accepted, Rejected
from iotcard.collector._mqtt import Delivery, MqttWorker
from iotcard.contract.messages import MAX_BYTES, MAX_COUNT
from iotcard.simulators.fleet import Fleet, FleetLink

pytestmark = pytest.mark.integration


def _poison(payload: bytes) -> list[bytes]:
    """The red team's three schema-valid killers, made from one good telemetry."""
    doc = json.loads(payload)
    seq = {**doc, "seq": 2**63}
    ts = {**doc, "ts": "9999-12-31T23:59:59-10:00", "seq": doc["seq"] + 100}
    huge = {**doc, "seq": doc["seq"] + 101}
    huge["usage"] = {**doc["usage"], "cycle_total_bytes": 2**64, "cycle_rx_bytes": 2**64}
    return [json.dumps(x).encode() for x in (seq, ts, huge)]


def test_the_contract_refuses_numbers_no_reader_can_hold() -> None:
    device = Fleet.build(1, today=TODAY).devices[0]
    good = device.telemetry(NOW)
    for payload in _poison(good.payload):
        decoded = decode(good.topic, payload, "iotcard/v1")
        assert isinstance(decoded, Rejected), payload[:80]
    # The bounds themselves still take the largest honest values.
    doc = json.loads(good.payload)
    doc["seq"], doc["usage"]["cycle_total_bytes"] = MAX_COUNT, MAX_BYTES
    assert isinstance(decode(good.topic, json.dumps(doc).encode(), "iotcard/v1"), Accepted)


def test_poison_reports_through_the_broker_leave_ingest_running(broker: Broker, db_url: str) -> None:
    fleet = Fleet.build(1, today=TODAY)
    device = fleet.devices[0]
    with Store(db_url, writer=True, clock=clock) as store:
        collector = start_collector(store, broker.port)
        link = FleetLink("127.0.0.1", broker.port, [device.device_id])
        assert link.pump(lambda: link.connected == 1, 10)
        try:
            good = device.telemetry(NOW)
            for payload in _poison(good.payload):
                link.publish(device.device_id, good.topic, payload)
            publish(link, [good, device.telemetry(NOW + timedelta(hours=1))])
            assert wait_until(lambda: collector.stats.received == 5, 10), collector.stats
            assert collector.running and collector.failure is None
        finally:
            link.close()
            collector.stop()
        assert (collector.stats.accepted, collector.stats.invalid) == (2, 3)
        record = store.card(device.iccid)
        assert record is not None and record["used_bytes"] == device.used_bytes


class _FailingStore(Store):
    """A store whose database refuses one particular message, as PostgreSQL refuses a NUL byte in text."""

    def apply(self, batch, rejected=()):  # type: ignore[no-untyped-def,override]
        if any(getattr(item.message, "seq", None) == 7 for item in batch):
            raise ValueError("this database cannot store message 7")
        return super().apply(batch, rejected)


def test_a_message_the_database_refuses_is_dead_lettered_and_the_rest_written(broker: Broker, sqlite_url: str) -> None:
    fleet = Fleet.build(1, today=TODAY)
    device = fleet.devices[0]
    with _FailingStore(sqlite_url, writer=True, clock=clock) as store:
        collector = start_collector(store, broker.port, batch_size=50, batch_wait=0.5)
        link = FleetLink("127.0.0.1", broker.port, [device.device_id])
        assert link.pump(lambda: link.connected == 1, 10)
        try:
            messages = [device.telemetry(NOW + timedelta(minutes=n), add_bytes=1000) for n in range(12)]
            assert {m.seq for m in messages} >= {7}
            publish(link, messages)
            assert wait_until(lambda: collector.stats.received == 12, 10), collector.stats
            assert collector.running and collector.failure is None
        finally:
            link.close()
            collector.stop()
        assert (collector.stats.accepted, collector.stats.dead_lettered) == (11, 1)
        letters = [r for r in store.rejects() if r.get("kind") == "dead_letter"]
        assert len(letters) == 1 and "message 7" in letters[0]["reason"] and '"seq":7' in letters[0]["payload"]
        assert store.counters()["dead_lettered"] == 1


def test_a_nul_byte_postgresql_cannot_store_is_dead_lettered(broker: Broker, db_url: str) -> None:
    fleet = Fleet.build(1, today=TODAY)
    device = fleet.devices[0]
    with Store(db_url, writer=True, clock=clock) as store:
        collector = start_collector(store, broker.port, batch_size=50, batch_wait=0.5)
        link = FleetLink("127.0.0.1", broker.port, [device.device_id])
        assert link.pump(lambda: link.connected == 1, 10)
        try:
            device.name = "HMI-7"
            honest = device.identity(NOW)
            device.name = "HMI\x00-7"
            hostile = device.identity(NOW + timedelta(minutes=1))  # the latest: the one the batch would write
            publish(link, [honest, hostile, device.telemetry(NOW)])
            assert wait_until(lambda: collector.stats.received == 3, 10), collector.stats
            assert collector.running and collector.failure is None
        finally:
            link.close()
            collector.stop()
        record = store.card(device.iccid)
        # PostgreSQL refuses the NUL byte: that message alone is dead-lettered, the rest is written; SQLite stores it.
        postgres = store.backend == "postgresql"
        assert collector.stats.dead_lettered == (1 if postgres else 0)
        assert record is not None and record["device_name"] == ("HMI-7" if postgres else "HMI\x00-7")
        assert record["used_bytes"] == device.used_bytes


class _GoneStore(Store):
    """A store whose database went away for good (the driver's errors arrive as StoreError)."""

    def apply(self, batch, rejected=()):  # type: ignore[no-untyped-def,override]
        raise StoreError("the database did not answer: gone")


def test_a_writer_that_cannot_write_stops_with_a_failure(broker: Broker, sqlite_url: str) -> None:
    device = Fleet.build(1, today=TODAY).devices[0]
    with _GoneStore(sqlite_url, writer=True, clock=clock) as store:
        collector = start_collector(store, broker.port)
        link = FleetLink("127.0.0.1", broker.port, [device.device_id])
        assert link.pump(lambda: link.connected == 1, 10)
        try:
            message = device.telemetry(NOW)
            link.publish(device.device_id, message.topic, message.payload)
            assert wait_until(lambda: not collector.running, 10), "the writer should stop"
        finally:
            link.close()
            collector.stop()
        # ``run`` turns this into exit 3 (so Restart=on-failure restarts it); the message was not acknowledged.
        assert collector.failure is not None and "did not answer" in collector.failure.message
        assert collector.stats.accepted == 0


def test_a_device_claim_never_moves_a_card_across_companies(sqlite_url: str) -> None:
    fleet = Fleet.build(2, today=TODAY)
    acme, evil = fleet.devices
    with Store(sqlite_url, writer=True, clock=clock) as store:
        store.import_plans([PlanRow(acme.iccid, "IoT 30MB", 30.0, None, None, None, None, "ACME")])
        store.apply([decode(m.topic, m.payload, "iotcard/v1") for m in [acme.identity(NOW), acme.telemetry(NOW)]])  # type: ignore[misc]
        evil.company, evil.iccid, evil.total_mb = "EvilCorp", acme.iccid, 30.0
        hostile = [evil.identity(NOW + timedelta(hours=1)), evil.telemetry(NOW + timedelta(hours=1), add_bytes=10**12)]
        result = store.apply([decode(m.topic, m.payload, "iotcard/v1") for m in hostile])  # type: ignore[misc]
        kinds = {a["kind"] for a in result.alarms}
        assert {"company_claimed", "implausible_usage", "card_moved"} <= kinds
        record = store.card(acme.iccid)
        assert record is not None
        assert record["company"] == "ACME" and record["claimed_company"] == "EvilCorp"
        assert record["used_bytes"] == acme.used_bytes  # the impossible figure is refused, not counted
        days = store.usage(acme.iccid, "day", today=TODAY, periods=3)
        assert max(p["total_bytes"] for p in days) < 10**12


def test_the_broker_cannot_flood_the_collectors_memory(broker: Broker) -> None:
    worker = MqttWorker(
        BrokerSettings("127.0.0.1", broker.port), "bounded-test", subscriptions=("flood/#",),
        max_queued_qos0=5, max_packet_bytes=64 * 1024,
    )  # fmt: skip
    worker.start()
    sender = paho.Client(CallbackAPIVersion.VERSION2, client_id="flooder", protocol=paho.MQTTv5)
    try:
        assert worker.subscribed.wait(10)
        while not worker.events.empty():  # the connect/subscribe notices: the queue starts empty
            worker.events.get_nowait()
        sender.connect("127.0.0.1", broker.port)
        sender.loop_start()
        sender.publish("flood/big", b"x" * (128 * 1024), qos=0).wait_for_publish(5)  # over the packet size
        for n in range(20):  # nobody drains the worker's queue meanwhile
            sender.publish("flood/small", f"{n}".encode(), qos=0).wait_for_publish(5)
        sender.publish("flood/last", b"end", qos=1).wait_for_publish(5)
        assert wait_until(lambda: worker.dropped >= 15, 10), worker.dropped
        deliveries = []
        while not worker.events.empty():
            event = worker.events.get_nowait()
            if isinstance(event, Delivery):
                deliveries.append(event)
        assert len([d for d in deliveries if d.topic == "flood/small"]) == 5 and worker.dropped == 15
        assert not [d for d in deliveries if d.topic == "flood/big"]  # the broker kept the big one to itself
    finally:
        sender.loop_stop()
        sender.disconnect()
        worker.stop(5)
