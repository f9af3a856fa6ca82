"""Through a real Mosquitto on loopback: TLS, passwords, broker killed mid-stream, commands, the Last Will."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from mosquitto_support import USERS, Broker, Certs
from telemetry_support import (
    DEVICE_ID,
    REPORTS_FROM,
    SNAPSHOT,
    Subscriber,
    fast_link,
    link_settings,
    publisher,
    reporter,
    wait_until,
)

from iotcard.agent.errors import ConfigError
from iotcard.agent.telemetry import (
    CommandProcessor,
    Connected,
    ConnectFailed,
    LinkEvent,
    MqttLink,
    Outbox,
    SampleWindow,
    TelemetryPublisher,
    TlsSettings,
    ping_handler,
)
from iotcard.contract.messages import (
    CommandResultMessage,
    EventName,
    IdentityMessage,
    StatusMessage,
    TelemetryMessage,
    Topic,
    Topics,
)

pytestmark = pytest.mark.integration
TOPICS = Topics(DEVICE_ID)


def next_event(link: MqttLink, kinds: tuple[type, ...], timeout: float = 10.0) -> LinkEvent:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = link.events.get(timeout=max(0.01, deadline - time.monotonic()))
        if isinstance(event, kinds):
            return event
    raise AssertionError(f"no {kinds} within {timeout} s")


def test_a_round_over_tls_with_hostname_verification(tmp_path: Path, broker: Broker, certs: Certs) -> None:
    cloud = Subscriber(broker.port)
    pub = publisher(tmp_path, link_settings(broker, certs, host="localhost"))
    pub.start()
    window = SampleWindow(REPORTS_FROM)
    window.add(SNAPSHOT)
    seqs = [pub.send(pub.reporter.identity()), pub.send(pub.reporter.telemetry(window))]
    assert pub.drain(10), pub.last_error
    assert wait_until(lambda: len(cloud.on("/telemetry")) == 1 and len(cloud.on("/identity")) == 1, 5)
    identity = IdentityMessage.model_validate_json(cloud.on("/identity")[0].payload)
    telemetry = TelemetryMessage.model_validate_json(cloud.on("/telemetry")[0].payload)
    status = StatusMessage.model_validate_json(cloud.on("/status")[0].payload)
    assert cloud.on("/identity")[0].topic == TOPICS.topic(Topic.IDENTITY)
    assert (identity.iccid, identity.imei, identity.device_id) == (
        SNAPSHOT.sim.iccid,
        SNAPSHOT.identity.imei,
        DEVICE_ID,
    )
    assert identity.modem.model == "EC25" and identity.device.company == "ACME"
    assert telemetry.signal.rssi_dbm is not None and telemetry.signal.rssi_dbm.avg == -71.0
    assert status.state == "online" and status.seq < seqs[0]
    assert [identity.seq, telemetry.seq] == seqs
    pub.stop()
    assert wait_until(lambda: len(cloud.on("/status")) == 2, 5)
    assert StatusMessage.model_validate_json(cloud.on("/status")[1].payload).reason == "shutdown"
    assert pub.meter.exact and pub.meter.by_type["connect"] > 500  # the TLS handshake is counted
    cloud.close()


def test_wrong_ca_is_a_clear_error_and_nothing_is_lost(tmp_path: Path, broker: Broker, certs: Certs) -> None:
    settings = link_settings(broker, certs, tls=TlsSettings(ca_file=certs.other_ca))
    pub = publisher(tmp_path, settings)
    pub.start()
    pub.send(pub.reporter.identity())
    assert wait_until(lambda: pub.last_error is not None, 10, lambda: pub.step(0.05))
    assert pub.last_error is not None and pub.last_error.code == "tls_verify_failed"
    assert "certificate" in pub.last_error.message
    pub.stop()
    assert len(pub.outbox) == 1  # the identity stays for the next connection


def test_hostname_mismatch_fails_unless_insecure(tmp_path: Path, broker: Broker, certs: Certs) -> None:
    # This listener's certificate is signed by the right CA but names elsewhere.example, not 127.0.0.1.
    link = fast_link(link_settings(broker, certs, port=broker.misnamed_port))
    link.start()
    failed = next_event(link, (ConnectFailed, Connected))
    link.stop()
    assert isinstance(failed, ConnectFailed) and failed.code == "tls_verify_failed"
    insecure = link_settings(broker, certs, port=broker.misnamed_port, tls=TlsSettings(ca_file=certs.ca, insecure=True))
    link = fast_link(insecure)
    link.start()
    assert isinstance(next_event(link, (ConnectFailed, Connected)), Connected)
    link.stop()


def test_missing_ca_file_is_a_config_error(tmp_path: Path, broker: Broker, certs: Certs) -> None:
    with pytest.raises(ConfigError, match="TLS files"):
        fast_link(link_settings(broker, certs, tls=TlsSettings(ca_file=tmp_path / "nope.pem")))


def test_username_and_password_from_a_file(tmp_path: Path, broker: Broker, certs: Certs) -> None:
    if broker.auth_port is None:
        pytest.skip("mosquitto_passwd is not installed: no password listener")
    good = tmp_path / "pw"
    good.write_text(USERS["device"] + "\n")
    bad = tmp_path / "bad"
    bad.write_text("wrong\n")
    for password_file, expected in ((good, Connected), (bad, ConnectFailed)):
        settings = link_settings(
            broker, mode="plain", port=broker.auth_port, username="device", password_file=password_file
        )
        link = fast_link(settings)
        link.start()
        event = next_event(link, (ConnectFailed, Connected))
        link.stop()
        assert isinstance(event, expected)
        if isinstance(event, ConnectFailed):
            assert event.code in ("bad_credentials", "not_authorized")
            assert "wrong" not in event.message  # the secret is never echoed


def test_mqtt_311_by_setting(tmp_path: Path, broker: Broker, certs: Certs) -> None:
    cloud = Subscriber(broker.port)
    pub = publisher(tmp_path, link_settings(broker, certs, protocol="3.1.1"))
    pub.start()
    pub.send(pub.reporter.identity())
    assert pub.drain(10), pub.last_error
    assert wait_until(lambda: len(cloud.on("/identity")) == 1, 5)
    pub.stop()
    cloud.close()


def test_broker_killed_and_restarted_mid_stream_loses_nothing(tmp_path: Path, broker: Broker, certs: Certs) -> None:
    cloud = Subscriber(broker.port)
    pub = publisher(tmp_path, link_settings(broker, certs, ack_timeout=2.0))
    pub.start()
    assert wait_until(lambda: pub.connected, 10, lambda: pub.step(0.05))
    expected: list[int] = []
    for n in range(150):
        expected.append(pub.send(pub.reporter.event(EventName.ROAMING, current=str(n))))
        pub.step(0.0)
        if n == 50:
            broker.kill()
        if n == 90:
            broker.start()
    assert pub.drain(20), pub.last_error
    assert wait_until(lambda: set(expected) <= set(cloud.seqs("/event")), 15)
    got = cloud.seqs("/event")
    duplicates = len(got) - len(set(got))
    assert duplicates <= 60  # at-least-once: only what was in flight at the kill may repeat, and seq shows it
    events = [json.loads(m.payload)["current"] for m in cloud.on("/event")]
    assert len(set(events)) == 150
    pub.stop()
    cloud.close()


class Handlers:
    def __init__(self) -> None:
        self.plans: list[Any] = []

    def set_plan(self, command: Any) -> dict[str, Any]:
        self.plans.append(command)
        return {"remaining_mb": command.total_mb}


def command_publisher(tmp_path: Path, broker: Broker, certs: Certs, handlers: Handlers) -> TelemetryPublisher:
    outbox = Outbox(tmp_path / "state" / "outbox.sqlite3")
    commands = CommandProcessor(
        handlers={"ping": ping_handler("0.1.0", started=time.monotonic()), "set_plan": handlers.set_plan},
        dedup=outbox,  # request ids are remembered in the outbox file
        burst=10,
        per_minute=1,
        per_day=100,
    )
    pub = publisher(tmp_path, link_settings(broker, certs), commands=commands, outbox=outbox)
    pub.start()
    # Connected, and the online status acknowledged: the subscription has reached the broker by then.
    assert wait_until(lambda: pub.connected and len(pub.outbox) == 0, 10, lambda: pub.step(0.05))
    return pub


def results(cloud: Subscriber) -> list[CommandResultMessage]:
    return [CommandResultMessage.model_validate_json(m.payload) for m in cloud.on("") if "/result/" in m.topic]


def test_commands_round_trip_and_bad_ones_get_errors(tmp_path: Path, broker: Broker, certs: Certs) -> None:
    handlers = Handlers()
    cloud = Subscriber(broker.port, topic=f"{TOPICS.base}/result/#", client_id="cloud-results")
    pub = command_publisher(tmp_path, broker, certs, handlers)
    plan = {"plan_name": "30MB", "total_mb": 30, "cycle_start": "2026-11-01", "cycle_end": "2026-11-30"}
    sends: list[tuple[str, bytes]] = [
        ("ping", b'{"request_id": "c1"}'),
        ("set_plan", json.dumps({"request_id": "c2", **plan}).encode()),
        ("ping", b"{broken"),
        ("set_plan", json.dumps({"request_id": "c4", **plan, "total_mb": "lots"}).encode()),
        ("reboot", b'{"request_id": "c5"}'),
        ("ping", json.dumps({"request_id": "c6", "pad": "x" * 5000}).encode()),
        ("diagnose", b'{"request_id": "c7"}'),
        ("set_plan", json.dumps({"request_id": "c2", **plan}).encode()),  # duplicate of c2
    ]
    for name, payload in sends:
        cloud.send(TOPICS.topic(Topic.COMMAND, name), payload)
    assert wait_until(lambda: len(results(cloud)) == len(sends), 15, lambda: pub.step(0.05))
    by_order = results(cloud)
    summary = [(r.command, r.request_id, r.ok, r.error.code if r.error else None, r.duplicate) for r in by_order]
    assert summary == [
        ("ping", "c1", True, None, False),
        ("set_plan", "c2", True, None, False),
        ("ping", None, False, "invalid_json", False),
        ("set_plan", "c4", False, "invalid_payload", False),
        ("reboot", "c5", False, "unknown_command", False),
        ("ping", None, False, "payload_too_large", False),
        ("diagnose", "c7", False, "not_available", False),
        ("set_plan", "c2", True, None, True),
    ]
    assert len(handlers.plans) == 1  # the duplicate ran once
    assert by_order[0].result == {"pong": True, "agent_version": "0.1.0", "uptime_s": by_order[0].result["uptime_s"]}
    assert all(r.iccid == SNAPSHOT.sim.iccid for r in by_order)
    assert by_order[-1].result is None  # a repeat is acknowledged, its result is not sent again
    # Rate limit: every request above spent a token (errors and repeats too); two of ten are left. Then one
    # rate_limited notice, and silence.
    for n in range(6):
        cloud.send(TOPICS.topic(Topic.COMMAND, "ping"), json.dumps({"request_id": f"flood{n}"}).encode())
    assert wait_until(lambda: len(results(cloud)) == len(sends) + 3, 15, lambda: pub.step(0.05))
    for _ in range(10):
        pub.step(0.05)
    codes = [r.error.code if r.error else "ok" for r in results(cloud)[len(sends) :]]
    assert codes == ["ok", "ok", "rate_limited"]
    pub.stop()
    cloud.close()


def test_mqtt5_response_topic_and_correlation_data(tmp_path: Path, broker: Broker, certs: Certs) -> None:
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    # Honoured under the device's own result/ level only (tests/agent/telemetry/test_hostile_broker_traffic.py).
    cloud = Subscriber(broker.port, topic=f"{TOPICS.base}/result/#", client_id="cloud-replies")
    pub = command_publisher(tmp_path, broker, certs, Handlers())
    props = Properties(PacketTypes.PUBLISH)
    props.ResponseTopic = f"{TOPICS.base}/result/ops-console"
    props.CorrelationData = b"\x01corr"
    cloud.send(TOPICS.topic(Topic.COMMAND, "ping"), b'{"request_id": "rt1"}', properties=props)
    assert wait_until(lambda: len(cloud.on("/result/ops-console")) == 1, 10, lambda: pub.step(0.05))
    reply = cloud.on("/result/ops-console")[0]
    assert reply.correlation == b"\x01corr"
    assert CommandResultMessage.model_validate_json(reply.payload).request_id == "rt1"
    pub.stop()
    cloud.close()


def test_commands_sent_while_offline_arrive_on_reconnect(tmp_path: Path, broker: Broker, certs: Certs) -> None:
    cloud = Subscriber(broker.port, topic=f"{TOPICS.base}/result/#", client_id="cloud-offline")
    pub = command_publisher(tmp_path, broker, certs, Handlers())
    pub.stop(offline=False)
    cloud.send(TOPICS.topic(Topic.COMMAND, "ping"), b'{"request_id": "while-away"}')
    # A new agent process: same client id, persistent session; it does not even need to subscribe again.
    again = TelemetryPublisher(
        pub.outbox,
        fast_link(link_settings(broker, certs)),
        reporter(),
        TOPICS,
        commands=CommandProcessor(handlers={"ping": ping_handler("0.1.0", started=0.0)}),
    )
    again.start()
    assert wait_until(lambda: len(results(cloud)) == 1, 10, lambda: again.step(0.05))
    assert results(cloud)[0].request_id == "while-away"
    again.stop()
    cloud.close()


def test_last_will_says_offline_with_a_higher_seq(tmp_path: Path, broker: Broker, certs: Certs) -> None:
    cloud = Subscriber(broker.port, topic=f"{TOPICS.base}/status", client_id="cloud-status")
    pub = publisher(tmp_path, link_settings(broker, certs))
    pub.start()
    assert wait_until(lambda: len(cloud.on("/status")) == 1, 10, lambda: pub.step(0.05))
    # Vanish without DISCONNECT: close the socket under the link, as a power cut would.
    pub.link._client.socket().close()  # type: ignore[union-attr]
    assert wait_until(lambda: any(m.doc["state"] == "offline" for m in cloud.on("/status")), 10, lambda: pub.step(0.05))
    online = next(m.doc for m in cloud.on("/status") if m.doc["state"] == "online")
    offline = next(m.doc for m in cloud.on("/status") if m.doc["state"] == "offline")
    assert offline["reason"] == "connection_lost" and offline["seq"] > online["seq"]
    pub.stop()
    cloud.close()
