"""The contract: topic helpers, wire encoding, the JSON Schemas, and docs/telemetry.md kept in step with the models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotcard.agent.config import parse_config
from iotcard.agent.errors import ConfigError
from iotcard.contract.messages import (
    COMMAND_NAMES,
    TOPICS,
    CommandResultMessage,
    EventName,
    Topic,
    Topics,
    contract_markdown,
    encode,
)

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "telemetry.md"
BEGIN, END = (
    "<!-- generated from iotcard/contract/messages.py: begin -->",
    "<!-- generated from iotcard/contract/messages.py: end -->",
)


def test_topics() -> None:
    topics = Topics("861234567890123", "acme/iotcard/v1")
    assert topics.topic(Topic.TELEMETRY) == "acme/iotcard/v1/861234567890123/telemetry"
    assert topics.topic(Topic.RESULT, "ping") == "acme/iotcard/v1/861234567890123/result/ping"
    assert topics.command_filter == "acme/iotcard/v1/861234567890123/cmd/+"
    assert topics.command_name("acme/iotcard/v1/861234567890123/cmd/set_plan") == "set_plan"
    assert topics.command_name("acme/iotcard/v1/other/cmd/set_plan") is None
    for bad_id in ("a/b", "+", "#", ""):
        with pytest.raises(ValueError):
            Topics(bad_id)
    with pytest.raises(ValueError):
        Topics("d", "iotcard/+/v1")


def test_encoding_is_compact_keeps_required_nulls_and_round_trips() -> None:
    message = CommandResultMessage(
        device_id="d", iccid=None, imei=None, seq=3, ts="2026-11-28T10:00:00Z", request_id=None, command="x", ok=False
    )
    wire = encode(message)
    doc = json.loads(wire)
    assert doc["iccid"] is None and doc["request_id"] is None and "result" not in doc and b" " not in wire
    assert CommandResultMessage.model_validate_json(wire) == message
    # Readers accept fields added later within a schema version.
    assert CommandResultMessage.model_validate({**doc, "new_field": 1}).seq == 3


def test_docs_tables_are_generated_from_the_models() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text and END in text
    current = text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"
    assert current == contract_markdown(), (
        "docs/telemetry.md is out of date: paste the output of "
        "python -c 'from iotcard.contract.messages import contract_markdown; print(contract_markdown(), end=\"\")'"
    )


def test_docs_name_every_topic_command_and_event() -> None:
    text = DOC.read_text(encoding="utf-8")
    for spec in TOPICS:
        assert f"`{spec.model.__name__}`" in text or spec.topic is Topic.COMMAND
        assert spec.topic.value in text
    for name in COMMAND_NAMES:
        assert f"`{name}`" in text
    for event in EventName:
        assert f"`{event.value}`" in text


def test_mqtt_config_section() -> None:
    config = parse_config({"mqtt": {"host": "broker.example.cn", "protocol": "3.1.1"}})
    assert config.mqtt.tls and config.mqtt.keepalive_initial == 1200 and config.schedule.telemetry == 14400
    for bad in (
        {"mqtt": {"protocol": "4"}},
        {"mqtt": {"keepalive_floor": 1000, "keepalive_initial": 900}},
        {"mqtt": {"cert_file": "/c.pem"}},
        {"mqtt": {"password_file": "/p"}},
        {"mqtt": {"password": "inline secrets are not accepted"}},
        {"report": {"telemetry_interval": 60}},
    ):
        with pytest.raises(ConfigError):
            parse_config(bad)
