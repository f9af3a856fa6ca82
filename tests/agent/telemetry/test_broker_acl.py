"""The broker ACL the README recommends (config/broker/mosquitto-acl.conf), on a real Mosquitto: a device publishes
only under its own prefix and reads only its own commands; the collector reads all and sends commands."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from mosquitto_support import MOSQUITTO, MOSQUITTO_PASSWD, Broker, make_password_file
from paho.mqtt.enums import CallbackAPIVersion

pytestmark = pytest.mark.integration

ACL = Path(__file__).resolve().parents[3] / "config" / "broker" / "mosquitto-acl.conf"
USERS = {"devA": "a-secret", "devB": "b-secret", "iotcard-collector": "c-secret"}


class Client:
    def __init__(self, port: int, user: str | None) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.acks: dict[int, Any] = {}
        self.subacks: list[list[Any]] = []
        self.connected = threading.Event()
        self.refused: Any = None
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"acl-{user}", protocol=paho.MQTTv5)
        if user is not None:
            self.client.username_pw_set(user, USERS[user])
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, m: self.messages.append((m.topic, bytes(m.payload)))
        self.client.on_publish = lambda c, u, mid, reason, props: self.acks.__setitem__(mid, reason)
        self.client.on_subscribe = lambda c, u, mid, reasons, props: self.subacks.append(list(reasons))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            self.refused = reason
        self.connected.set()

    def subscribe(self, topic: str) -> Any:
        before = len(self.subacks)
        self.client.subscribe(topic, qos=1)
        deadline = time.monotonic() + 5
        while len(self.subacks) == before and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.subacks[-1][0]

    def publish(self, topic: str, payload: bytes = b"{}") -> Any:
        info = self.client.publish(topic, payload, qos=1)
        deadline = time.monotonic() + 5
        while info.mid not in self.acks and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.acks.get(info.mid)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def acl_broker(tmp_path: Path) -> Any:
    if MOSQUITTO is None or MOSQUITTO_PASSWD is None:
        pytest.skip("mosquitto and mosquitto_passwd are needed ('make test' as root installs them)")
    password_file = make_password_file(tmp_path / "passwd", USERS)
    server = Broker(tmp_path / "broker", password_file=password_file, acl_file=ACL)
    server.start()
    yield server
    server.stop()


def test_a_device_cannot_publish_as_another_or_read_its_commands(acl_broker: Broker) -> None:
    port = acl_broker.auth_port
    assert port is not None
    collector, dev_a, dev_b = (Client(port, user) for user in ("iotcard-collector", "devA", "devB"))
    try:
        for client in (collector, dev_a, dev_b):
            assert client.connected.wait(5) and client.refused is None
        assert not collector.subscribe("iotcard/v1/+/#").is_failure
        assert not dev_b.subscribe("iotcard/v1/devB/cmd/#").is_failure
        assert not dev_a.subscribe("iotcard/v1/devA/cmd/#").is_failure
        # Mosquitto grants the subscriptions but checks read access on every delivery: A gets none of B's commands.
        dev_a.subscribe("iotcard/v1/devB/cmd/#")
        dev_a.subscribe("iotcard/v1/+/cmd/#")

        # Publishing as another device (or a command to itself) is refused; its own prefix is fine.
        assert dev_a.publish("iotcard/v1/devB/status", b'{"state": "offline"}').is_failure
        assert dev_a.publish("iotcard/v1/devA/cmd/ping", b'{"request_id": "self"}').is_failure
        assert not dev_a.publish("iotcard/v1/devA/status", b'{"state": "online"}').is_failure

        # The collector's command to B reaches B only.
        assert not collector.publish("iotcard/v1/devB/cmd/ping", b'{"request_id": "for-b"}').is_failure
        deadline = time.monotonic() + 5
        while not dev_b.messages and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        assert [topic for topic, _ in dev_b.messages] == ["iotcard/v1/devB/cmd/ping"]
        assert dev_a.messages == []
        seen = [topic for topic, _ in collector.messages]
        assert "iotcard/v1/devA/status" in seen and "iotcard/v1/devB/status" not in seen
    finally:
        for client in (collector, dev_a, dev_b):
            client.close()


def test_anonymous_clients_are_refused(acl_broker: Broker) -> None:
    assert acl_broker.auth_port is not None
    anonymous = Client(acl_broker.auth_port, None)
    try:
        assert anonymous.connected.wait(5) and anonymous.refused is not None
    finally:
        anonymous.close()
