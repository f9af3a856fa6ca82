"""``open_telemetry``: the outbox, link, commands and publisher of one device wired from the config, and closed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mosquitto_support import Broker
from telemetry_support import DEVICE_ID, Subscriber, reporter, wait_until

from iotcard.agent.config import AgentConfig, parse_config
from iotcard.agent.errors import ConfigError
from iotcard.agent.telemetry import CommandProcessor, Outbox, TelemetrySetup, open_telemetry, ping_handler
from iotcard.contract.messages import Topic, Topics


def config(tmp_path: Path, **mqtt: Any) -> AgentConfig:
    return parse_config(
        {
            "device": {"id": DEVICE_ID, "name": "HMI-7"},
            "paths": {"state_dir": str(tmp_path / "state")},
            "mqtt": {"host": "127.0.0.1", "tls": False, "keepalive_initial": 60, "keepalive_floor": 30, **mqtt},
        }
    )


def test_an_unusable_link_leaves_no_outbox_open(tmp_path: Path) -> None:
    opened: list[Outbox] = []

    def open_outbox(setup: TelemetrySetup) -> Outbox:
        opened.append(Outbox(tmp_path / "outbox.sqlite3", setup.outbox))
        return opened[-1]

    broken = config(tmp_path, tls=True, ca_file=str(tmp_path / "missing-ca.pem"))
    with pytest.raises(ConfigError) as raised:
        open_telemetry(broken, reporter(), open_outbox=open_outbox)
    assert raised.value.code == "tls_files"
    assert len(opened) == 1
    with pytest.raises(Exception, match="closed"):
        len(opened[0].stats().dropped)


@pytest.mark.integration
def test_a_session_answers_its_commands_and_says_offline_when_stopped(tmp_path: Path, broker: Broker) -> None:
    cloud = Subscriber(broker.port)
    topics = Topics(DEVICE_ID)
    registered: list[CommandProcessor] = []

    def register(commands: CommandProcessor) -> None:
        registered.append(commands)
        commands.register("ping", ping_handler("9.9.9", started=0.0, clock=lambda: 0.0))

    session = open_telemetry(config(tmp_path, port=broker.port), reporter(), register=register)
    with session:
        assert session.setup.link.port == broker.port and session.setup.link.client_id == f"iotcard-{DEVICE_ID}"
        assert registered == [session.commands] and session.link is session.publisher.link
        assert session.outbox.path == tmp_path / "state" / "outbox.sqlite3"
        session.start()
        # Connected, and the online status acknowledged: the subscription has reached the broker by then.
        ready = lambda: session.publisher.connected and len(session.outbox) == 0  # noqa: E731
        assert wait_until(ready, 10, lambda: session.publisher.step(0.05))
        cloud.send(topics.topic(Topic.COMMAND, "ping"), b'{"request_id": "r1"}')
        assert wait_until(lambda: cloud.on("/result/ping"), 10, lambda: session.publisher.step(0.05))
        session.stop(offline=True, timeout=5)
        session.stop()  # once only
        assert len(session.outbox) == 0
    cloud_states = [m.doc["state"] for m in cloud.on("/status")]
    assert wait_until(lambda: [m.doc["state"] for m in cloud.on("/status")] == ["online", "offline"], 5), cloud_states
    result = cloud.on("/result/ping")[0].doc
    assert result["request_id"] == "r1" and result["result"]["agent_version"] == "9.9.9"
    cloud.close()
    # Closed: the outbox file is free and keeps the state (seq continues).
    with Outbox(tmp_path / "state" / "outbox.sqlite3") as again:
        assert again.stats().next_seq > 1


@pytest.mark.integration
def test_leaving_by_an_exception_ends_the_link_without_offline(tmp_path: Path, broker: Broker) -> None:
    cloud = Subscriber(broker.port)
    session = open_telemetry(config(tmp_path, port=broker.port), reporter())
    with pytest.raises(RuntimeError), session:
        session.start()
        assert wait_until(lambda: session.publisher.connected, 10, lambda: session.publisher.step(0.05))
        raise RuntimeError("the caller failed")
    assert not session.link.running
    assert wait_until(lambda: len(cloud.on("/status")) >= 1, 5)
    assert [m.doc["state"] for m in cloud.on("/status")] == ["online"]
    cloud.close()
