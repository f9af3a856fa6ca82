"""Issue 17 through a real Mosquitto: what whoever can publish a command can make the agent do, and what it refuses.

- an oversized command never reaches the agent's memory (MQTT 5 Maximum Packet Size; 3.1.1: dropped unread);
- a retained command never runs, even when published while the agent is subscribed (Retain As Published);
- an MQTT 5 Response Topic cannot make the device publish outside its own ``result/`` topics;
- replays and floods cost a small, bounded number of bytes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from mosquitto_support import Broker
from telemetry_support import DEVICE_ID, Subscriber, link_settings, publisher, wait_until

from iotcard.agent.telemetry import CommandProcessor, Outbox, Received, TelemetryPublisher, ping_handler
from iotcard.contract.messages import Topic, Topics

pytestmark = pytest.mark.integration
TOPICS = Topics(DEVICE_ID)


def started(tmp_path: Path, broker: Broker, *, protocol: str = "5", **kwargs: object) -> TelemetryPublisher:
    outbox = Outbox(tmp_path / "state" / "outbox.sqlite3")
    commands = CommandProcessor(handlers={"ping": ping_handler("0.1.0", started=0.0)}, dedup=outbox, **kwargs)  # type: ignore[arg-type]
    pub = publisher(tmp_path, link_settings(broker, mode="plain", protocol=protocol), commands=commands, outbox=outbox)
    pub.start()
    assert wait_until(lambda: pub.connected and len(pub.outbox) == 0, 10, lambda: pub.step(0.05))
    return pub


def watch_received(pub: TelemetryPublisher) -> list[Received]:
    """Record every message the link hands up, on top of what the publisher does with it."""
    seen: list[Received] = []
    handle = pub._on_received

    def spy(event: Received) -> None:
        seen.append(event)
        handle(event)

    pub._on_received = spy  # type: ignore[method-assign]
    return seen


def results(cloud: Subscriber) -> list[dict[str, object]]:
    return [m.doc for m in cloud.on("") if "/result/" in m.topic]


def test_an_oversized_command_never_reaches_the_agent(tmp_path: Path, broker: Broker) -> None:
    cloud = Subscriber(broker.port, topic=f"{TOPICS.base}/result/#", client_id="cloud-big")
    pub = started(tmp_path, broker)
    seen = watch_received(pub)
    cloud.send(TOPICS.topic(Topic.COMMAND, "ping"), json.dumps({"request_id": "big", "pad": "x" * 1_000_000}).encode())
    cloud.send(TOPICS.topic(Topic.COMMAND, "ping"), b'{"request_id": "small"}')
    assert wait_until(lambda: len(results(cloud)) >= 1, 10, lambda: pub.step(0.05))
    pub.step(0.3)
    # The broker dropped the 1 MB publish for this client: no result for it, and nothing that size was read.
    assert [r["request_id"] for r in results(cloud)] == ["small"]
    assert max(len(event.payload) for event in seen) < 8 * 1024
    pub.stop()
    # The persistent session does not hold it either: a new connection gets nothing more.
    again = started(tmp_path / "again", broker)
    seen_again = watch_received(again)
    again.step(0.5)
    assert seen_again == []
    again.stop()
    cloud.close()


def test_mqtt311_drops_an_oversized_packet_unread(tmp_path: Path, broker: Broker) -> None:
    pub = started(tmp_path, broker, protocol="3.1.1")
    seen = watch_received(pub)
    cloud = Subscriber(broker.port, topic=f"{TOPICS.base}/status", client_id="cloud-311")
    cloud.send(TOPICS.topic(Topic.COMMAND, "ping"), json.dumps({"request_id": "big", "pad": "x" * 1_000_000}).encode())
    deadline = time.monotonic() + 1.5
    wait_until(lambda: time.monotonic() > deadline, 3, lambda: pub.step(0.05))
    # 3.1.1 cannot tell the broker a maximum: the link drops the connection when the length arrives, unread.
    assert seen == []
    pub.stop(offline=False)
    cloud.close()


def test_a_retained_command_published_while_subscribed_does_not_run(tmp_path: Path, broker: Broker) -> None:
    ran: list[str] = []
    cloud = Subscriber(broker.port, topic=f"{TOPICS.base}/result/#", client_id="cloud-retained")
    pub = started(tmp_path, broker)
    assert pub.commands is not None
    pub.commands.register("diagnose", lambda command: ran.append(command.request_id) or {})
    cloud.send(TOPICS.topic(Topic.COMMAND, "diagnose"), b'{"request_id": "kept"}', retain=True)
    assert wait_until(lambda: len(results(cloud)) == 1, 10, lambda: pub.step(0.05))
    assert ran == []
    assert results(cloud)[0]["error"] == {"code": "retained_command", "message": results(cloud)[0]["error"]["message"]}  # type: ignore[index]
    cloud.send(TOPICS.topic(Topic.COMMAND, "diagnose"), b"", retain=True)  # clear the retained message
    pub.stop()
    cloud.close()


def test_a_response_topic_outside_the_devices_results_is_ignored(tmp_path: Path, broker: Broker) -> None:
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    cloud = Subscriber(broker.port, topic="#", client_id="cloud-everything")
    pub = started(tmp_path, broker)
    for n, topic in enumerate(("iotcard/v1/other-device/status", f"{TOPICS.base}/status", "replies/console")):
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = topic
        cloud.send(TOPICS.topic(Topic.COMMAND, "ping"), json.dumps({"request_id": f"rt{n}"}).encode(), properties=props)
    props = Properties(PacketTypes.PUBLISH)
    props.ResponseTopic = f"{TOPICS.base}/result/console-7"
    props.CorrelationData = b"c7"
    cloud.send(TOPICS.topic(Topic.COMMAND, "ping"), b'{"request_id": "rt-own"}', properties=props)
    assert wait_until(lambda: len(results(cloud)) == 4, 10, lambda: pub.step(0.05))
    topics = {m.doc["request_id"]: m.topic for m in cloud.on("") if "/result/" in m.topic}
    assert topics == {
        "rt0": f"{TOPICS.base}/result/ping",
        "rt1": f"{TOPICS.base}/result/ping",
        "rt2": f"{TOPICS.base}/result/ping",
        "rt-own": f"{TOPICS.base}/result/console-7",
    }
    assert not [
        m for m in cloud.on("") if m.topic.startswith("iotcard/v1/other-device") or m.topic == "replies/console"
    ]
    pub.stop()
    cloud.close()


def test_a_replayed_request_id_costs_a_small_bounded_answer(tmp_path: Path, broker: Broker) -> None:
    cloud = Subscriber(broker.port, topic=f"{TOPICS.base}/result/#", client_id="cloud-replay")
    pub = started(tmp_path, broker)
    assert pub.commands is not None
    pub.commands.register("diagnose", lambda command: {"findings": ["x" * 40] * 45})  # a ~1.9 kB result
    cloud.send(TOPICS.topic(Topic.COMMAND, "diagnose"), b'{"request_id": "r"}')
    assert wait_until(lambda: len(results(cloud)) == 1, 10, lambda: pub.step(0.05))
    first = len(cloud.on("")[0].payload)
    for _ in range(30):
        cloud.send(TOPICS.topic(Topic.COMMAND, "diagnose"), b'{"request_id": "r"}')
    deadline = time.monotonic() + 2
    wait_until(lambda: time.monotonic() > deadline, 3, lambda: pub.step(0.05))
    repeats = [m for m in cloud.on("") if "/result/" in m.topic][1:]
    # The burst left 4 tokens: 4 duplicate acks, one rate_limited notice, then silence.
    assert len(repeats) <= 6
    assert all(len(m.payload) < 400 for m in repeats), [len(m.payload) for m in repeats]
    assert sum(len(m.payload) for m in repeats) < first
    assert [m.doc.get("duplicate") for m in repeats][:4] == [True] * 4
    pub.stop()
    cloud.close()
