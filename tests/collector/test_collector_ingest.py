"""End to end through a real Mosquitto: the agent and the fleet publish, the collector builds card records.

Restarts of the broker and of the collector lose nothing and count nothing twice; two collectors on one shared
subscription split the load; invalid payloads are counted, never fatal.
"""

from __future__ import annotations

import io
import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from collector_support import NOW, TODAY, clock, publish, start_collector, wait_until
from mosquitto_support import Broker

from iotcard.agent.cli import main as agent_main
from iotcard.collector import CardQuery, Store
from iotcard.simulators.fleet import Fleet, FleetLink, SimDevice
from iotcard.simulators.modem import PROFILES, ModemSimulator

pytestmark = pytest.mark.integration


def fleet_link(broker: Broker, fleet: Fleet) -> FleetLink:
    link = FleetLink("127.0.0.1", broker.port, [d.device_id for d in fleet.devices])
    assert link.pump(lambda: link.connected == len(fleet.devices), 10)
    return link


def test_agent_report_fills_in_the_card_record(tmp_path: Path, broker: Broker, db_url: str) -> None:
    """Modem simulator → iotcard report --once → Mosquitto → collector: ICCID, IMEI, device and usage."""
    truth = PROFILES["quectel_ec25"]
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[device]\nname = "HMI-7"\npn = "PN-100"\ntype = "hmi"\ncompany = "ACME"\n'
        f'[paths]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\ntls = false\n',
        encoding="utf-8",
    )
    with Store(db_url, writer=True, clock=clock) as store:
        collector = start_collector(store, broker.port)
        try:
            # The agent's own clock is pinned too: its report carries NOW, not the day the test happens to run.
            with (
                time_machine.travel(NOW, tick=True),
                ModemSimulator(profile="quectel_ec25", scenario="normal", link=str(tmp_path / "tty")) as sim,
            ):
                out, err = io.StringIO(), io.StringIO()
                status = agent_main(
                    ["--lang", "en", "report", "--once", "--config", str(config), "--port", str(sim.path), "--json"],
                    stdout=out,
                    stderr=err,
                )
            assert status == 0, (out.getvalue(), err.getvalue())
            report = json.loads(out.getvalue())
            device_id = report["device_id"]
            assert device_id == truth.imei
            iccid = truth.sim.iccid
            assert wait_until(lambda: (store.card(iccid) or {}).get("device_name") == "HMI-7", 10)
            # The agent's meter reports usage with its telemetry; a device with the same identity continues the
            # agent's seq with one (report --once itself sends no usage yet).
            meter = SimDevice(
                0, device_id, "HMI-7", "PN-100", "hmi", "ACME", truth.imei, iccid, truth.sim.imsi, "china_mobile",
                "normal", "IoT 1GB/月", 1024.0, 5 * 1024 * 1024, TODAY.replace(day=1), TODAY,
                TODAY + timedelta(days=300), seq=report["next_seq"],
            )  # fmt: skip
            fleet = Fleet([meter], TODAY)
            link = fleet_link(broker, fleet)
            publish(link, [meter.telemetry(NOW + timedelta(minutes=10), add_bytes=123_456)])
            link.close()
            assert wait_until(lambda: (store.card(iccid) or {}).get("used_bytes") == meter.used_bytes, 10)
        finally:
            collector.stop()
        record = store.card(iccid)
        assert record is not None
        assert (record["iccid"], record["imei"], record["device_id"]) == (iccid, truth.imei, device_id)
        assert (record["imsi"], record["company"], record["device_pn"]) == (truth.sim.imsi, "ACME", "PN-100")
        assert record["device"]["model"] == "EC25" and record["device"]["online"] is False  # report --once ends offline
        days = store.usage(iccid, "day", today=TODAY, periods=2)
        assert sum(point["total_bytes"] for point in days) == 123_456
        assert record["alarms"] == [] and len(record["bindings"]) == 1
        assert collector.stats.invalid == 0 and collector.failure is None


def test_a_card_swap_through_the_broker_raises_the_alarm(broker: Broker, sqlite_url: str) -> None:
    fleet = Fleet.build(4, today=TODAY)
    a, b = fleet.devices[0], fleet.devices[1]
    first, second = a.iccid, b.iccid
    with Store(sqlite_url, writer=True, clock=clock) as store:
        collector = start_collector(store, broker.port)
        link = fleet_link(broker, fleet)
        try:
            publish(link, fleet.hello(NOW - timedelta(hours=2)))
            assert wait_until(lambda: collector.stats.accepted == 8, 10)
            publish(link, fleet.swap(a, b, NOW))
            # two moves, two swaps, and two company claims (a and b are different companies' devices)
            assert wait_until(lambda: collector.stats.alarms == 6, 10), collector.stats
        finally:
            link.close()
            collector.stop()
        record = store.card(first)
        assert record is not None and record["device_id"] == b.device_id
        assert {(x["kind"], x["device_id"]) for x in record["alarms"]} >= {("card_moved", b.device_id)}
        _, rows = store.list_cards(CardQuery(search=a.device_id), today=TODAY)
        assert {row["iccid"] for row in rows} == {second}  # device a now holds the other card


def test_broker_restart_loses_nothing_and_counts_nothing_twice(broker: Broker, db_url: str) -> None:
    fleet = Fleet.build(30, today=TODAY)
    with Store(db_url, writer=True, clock=clock) as store:
        collector = start_collector(store, broker.port)
        link = fleet_link(broker, fleet)
        try:
            sent = publish(link, fleet.hello(NOW))
            rounds = list(fleet.rounds(NOW, 4))
            half = len(rounds) // 2
            for message in rounds[:half]:  # written to the sockets; their PUBACKs are never read
                link.publish(message.device_id, message.topic, message.payload, retain=message.retain)
            broker.stop()
            for message in rounds[half:]:  # queued by the devices while the broker is away
                link.publish(message.device_id, message.topic, message.payload, retain=message.retain)
            broker.start()
            # Mosquitto 2.0 does not restore a shared subscription from its persistence file: what devices publish
            # after a restart and before the collector has subscribed again has no subscriber (docs/benchmarks.md).
            # So the devices (not pumped until now) come back once the collector has.
            assert wait_until(lambda: collector.worker.connects == 2 and collector.worker.subscribed.is_set(), 10)
            assert link.drain(30), link.pending
            total = sent + len(rounds)
            assert wait_until(lambda: store.count("received") == total, 30), (store.count("received"), total)
            assert link.reconnects >= len(fleet.devices) and link.resent > 0  # devices sent some twice
        finally:
            link.close()
            collector.stop()
        assert store.counters()["accepted"] == total
        for device in fleet.devices:
            record = store.card(device.iccid)
            assert record is not None and record["used_bytes"] == device.used_bytes
            days = store.usage(device.iccid, "day", today=TODAY, periods=3)
            assert sum(p["total_bytes"] for p in days) == 4 * 4096, device.device_id  # no hour counted twice


def test_collector_restart_loses_nothing_and_counts_nothing_twice(broker: Broker, db_url: str) -> None:
    fleet = Fleet.build(30, today=TODAY)
    with Store(db_url, writer=True, clock=clock) as store:
        # One large, slow batch: everything the broker delivered is held, unwritten, when the collector dies.
        collector = start_collector(store, broker.port, batch_size=10_000, batch_wait=60.0)
        link = fleet_link(broker, fleet)
        try:
            first = publish(link, [*fleet.hello(NOW), *fleet.rounds(NOW, 2)])
            assert wait_until(lambda: collector.buffered == first, 10)
            collector.kill()  # like a crash after the commit: the acknowledgements never leave
            assert collector.stats.accepted == first and store.count("received") == first
            second = publish(link, list(fleet.rounds(NOW + timedelta(hours=8), 2)))  # queued in its session
            collector = start_collector(store, broker.port)  # same client id: same session
            total = first + second
            assert wait_until(lambda: collector.stats.accepted + collector.stats.duplicates == total, 30), (
                collector.stats,
                total,
            )
        finally:
            link.close()
            collector.stop()
        assert (collector.stats.accepted, collector.stats.duplicates) == (second, first)  # all again, none counted
        assert store.counters() == {"accepted": total, "duplicates": first}
        for device in fleet.devices:
            record = store.card(device.iccid)
            assert record is not None and record["used_bytes"] == device.used_bytes
            days = store.usage(device.iccid, "day", today=TODAY, periods=3)
            assert sum(p["total_bytes"] for p in days) == 4 * 4096


def test_two_collectors_split_the_load_without_double_counting(broker: Broker, db_url: str) -> None:
    fleet = Fleet.build(40, today=TODAY)
    with Store(db_url, writer=True, clock=clock) as store, Store(db_url, writer=True, clock=clock) as other_store:
        first = start_collector(store, broker.port, client_id="collector-a", batch_size=20)
        second = start_collector(other_store, broker.port, client_id="collector-b", batch_size=20)
        link = fleet_link(broker, fleet)
        try:
            total = publish(link, [*fleet.hello(NOW), *fleet.rounds(NOW, 3)])
            assert wait_until(lambda: store.count("received") == total, 30)
        finally:
            link.close()
            first.stop()
            second.stop()
        assert first.stats.accepted > 0 and second.stats.accepted > 0  # both did work
        assert first.stats.accepted + second.stats.accepted == total
        assert first.stats.duplicates + second.stats.duplicates == 0
        assert store.counters()["accepted"] == total
        for device in fleet.devices:
            days = store.usage(device.iccid, "day", today=TODAY, periods=3)
            assert sum(p["total_bytes"] for p in days) == 3 * 4096


def test_invalid_payloads_are_counted_not_fatal(broker: Broker, sqlite_url: str) -> None:
    fleet = Fleet.build(1, today=TODAY)
    device = fleet.devices[0]
    base = device.topics.base
    with Store(sqlite_url, writer=True, clock=clock) as store:
        collector = start_collector(store, broker.port)
        link = fleet_link(broker, fleet)
        try:
            good = device.telemetry(NOW)
            bad = [
                (f"{base}/telemetry", b"not json at all"),
                (f"{base}/telemetry", good.payload.replace(b'"seq":', b'"seq":"x","was":')),
                ("iotcard/v1/someone-else/telemetry", good.payload),
                (f"{base}/identity", b'{"device_id": "sim-00000"}'),
            ]
            for topic, payload in bad:
                link.publish(device.device_id, topic, payload)
            publish(link, [good, device.telemetry(NOW + timedelta(hours=1))])
            assert wait_until(lambda: collector.stats.received == 6, 10)
            assert collector.running and collector.failure is None
        finally:
            link.close()
            collector.stop()
        assert collector.stats.invalid == 4 and collector.stats.accepted == 2
        assert store.counters() == {"accepted": 2, "invalid": 4}
        rejects = store.rejects()
        assert {r["device_id"] for r in rejects} == {device.device_id, "someone-else"}
        assert any("differs from the topic" in r["reason"] for r in rejects)
        record = store.card(device.iccid)
        assert record is not None and record["used_bytes"] == device.used_bytes


@pytest.mark.parametrize("linger", [1, None])
def test_a_collector_that_stops_cleanly_hands_its_share_to_the_group(
    broker: Broker, sqlite_url: str, linger: int | None
) -> None:
    """With ``linger`` the stopped instance's session ends soon after its DISCONNECT and the other instance takes
    the whole stream; without it (the old behaviour) the broker keeps queueing half of it for the stopped one."""
    fleet = Fleet.build(20, today=TODAY)
    with Store(sqlite_url, writer=True, clock=clock) as store, Store(sqlite_url, writer=True, clock=clock) as other:
        first = start_collector(store, broker.port, client_id="collector-a")
        second = start_collector(other, broker.port, client_id="collector-b")
        link = fleet_link(broker, fleet)
        try:
            publish(link, fleet.hello(NOW))
            assert wait_until(lambda: first.stats.accepted + second.stats.accepted == 40, 10)
            first.stop(linger=linger)
            time.sleep(2.5)  # past the 1 s linger (the broker checks expiry about once a second)
            before = second.stats.accepted
            sent = publish(link, fleet.rounds(NOW + timedelta(hours=1), 2))
            taken_over = wait_until(lambda: second.stats.accepted - before == sent, 30 if linger else 5)
            assert taken_over is (linger is not None), (second.stats.accepted - before, sent)
        finally:
            link.close()
            second.stop()


def test_a_collector_joining_a_filled_database_is_not_flooded_with_retained_state(
    broker: Broker, sqlite_url: str
) -> None:
    fleet = Fleet.build(20, today=TODAY)
    link = fleet_link(broker, fleet)
    try:
        publish(link, fleet.hello(NOW))  # every device's status and identity, retained at the broker
    finally:
        link.close()
    with Store(sqlite_url, writer=True, clock=clock) as store:
        first = start_collector(store, broker.port, client_id="collector-a")  # an empty database: reads them
        try:
            assert wait_until(lambda: first.stats.accepted == 40, 10), first.stats
        finally:
            first.stop()
        joining = start_collector(store, broker.port, client_id="collector-new")  # a new session, a filled database
        try:
            time.sleep(1.0)  # what the broker would send at subscribe arrives within this
            assert joining.stats.received == 0
        finally:
            joining.stop()
