"""Helpers for the telemetry tests: a paho subscriber standing in for the cloud, and a ready publisher."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from clocks import ticking
from mosquitto_support import Broker
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from iotcard.agent.telemetry import (
    AdaptiveKeepalive,
    Backoff,
    BackoffPolicy,
    CommandProcessor,
    KeepaliveLimits,
    LinkSettings,
    MqttLink,
    Outbox,
    OutboxLimits,
    Reporter,
    TelemetryPublisher,
    TlsSettings,
)
from iotcard.contract.messages import IdentityDevice, Topics
from iotcard.drivers.models import ModemIdentity, ModemSnapshot, SignalInfo, SimInfo, SimState

DEVICE_ID = "dev-0001"
SNAPSHOT = ModemSnapshot(
    identity=ModemIdentity(manufacturer="Quectel", model="EC25", revision="EC25EFAR06A03M4G", imei="861234567890123"),
    sim=SimInfo(state=SimState.READY, iccid="89860012345678901234", imsi="460001234567890"),
    signal=SignalInfo(rssi_dbm=-71.0, rsrp_dbm=-95.0, bars=3),
)


def wait_until(predicate: Callable[[], bool], timeout: float, step: Callable[[], None] | None = None) -> bool:
    """Poll ``predicate`` until true or the deadline; ``step`` runs between polls (e.g. a publisher step)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if step is not None:
            step()
        else:
            time.sleep(0.01)
    return predicate()


@dataclass
class Got:
    topic: str
    payload: bytes
    retain: bool
    correlation: bytes | None = None

    @property
    def doc(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.payload)
        return result


@dataclass
class Subscriber:
    """The cloud's side: a persistent-session QoS 1 subscriber on the plain listener, reconnecting by itself."""

    port: int
    topic: str = "iotcard/v1/#"
    client_id: str = "cloud-test"
    messages: list[Got] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.subscribed = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=paho.MQTTv5)
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", self.port, keepalive=30, clean_start=False, properties=props)
        self.client.loop_start()
        assert self.subscribed.wait(5), "subscriber did not subscribe"

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        client.subscribe(self.topic, qos=1)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        correlation = getattr(message.properties, "CorrelationData", None) if message.properties else None
        with self.lock:
            self.messages.append(Got(message.topic, bytes(message.payload), bool(message.retain), correlation))

    def on(self, suffix: str) -> list[Got]:
        with self.lock:
            return [m for m in self.messages if m.topic.endswith(suffix)]

    def seqs(self, suffix: str = "") -> list[int]:
        return [m.doc["seq"] for m in self.on(suffix)]

    def send(self, topic: str, payload: bytes, **kwargs: Any) -> None:
        self.client.publish(topic, payload, qos=1, **kwargs).wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


# The reporter's messages are stamped from this instant on (the agent started at 08:00 that day), never the wall clock.
REPORTS_FROM = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def reporter(clock: Callable[[], datetime] | None = None) -> Reporter:
    r = Reporter(
        IdentityDevice(name="HMI-7", pn="PN-100", type="hmi", company="ACME"),
        agent_version="0.1.0",
        started_at=datetime(2026, 11, 28, 8, 0, tzinfo=UTC),
        device_id=DEVICE_ID,
        **({"clock": clock} if clock else {}),
    )
    r.observe(SNAPSHOT)
    return r


def link_settings(broker: Broker, certs: Any = None, *, mode: str = "tls", **overrides: Any) -> LinkSettings:
    topics = Topics(DEVICE_ID)
    base: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": broker.port,
        "client_id": f"iotcard-{DEVICE_ID}",
        "subscriptions": (topics.command_filter,),
        "connect_timeout": 5.0,
        "ack_timeout": 5.0,
        "traffic_every": 0.2,
    }
    if mode == "tls":
        base.update(port=getattr(broker, "tls_port", None))
        if "tls" not in overrides:
            base.update(tls=TlsSettings(ca_file=certs.ca))
    base.update(overrides)
    return LinkSettings(**base)


def fast_link(settings: LinkSettings, keepalive: int = 60) -> MqttLink:
    return MqttLink(
        settings,
        keepalive=AdaptiveKeepalive(KeepaliveLimits(initial=keepalive, floor=min(keepalive, 30), ceiling=1740)),
        backoff=Backoff(BackoffPolicy(base=0.05, cap=0.3, stable_after=1.0)),
    )


def publisher(
    tmp_path: Path,
    settings: LinkSettings,
    *,
    commands: CommandProcessor | None = None,
    limits: OutboxLimits | None = None,
    outbox: Outbox | None = None,
) -> TelemetryPublisher:
    box = outbox or Outbox(tmp_path / "state" / "outbox.sqlite3", limits)
    return TelemetryPublisher(
        box, fast_link(settings), reporter(clock=ticking(REPORTS_FROM)), Topics(DEVICE_ID), commands=commands
    )
