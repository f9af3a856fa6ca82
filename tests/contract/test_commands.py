"""The agent reads cloud commands with iotcard.contract.commands; the strict pydantic models of messages.py define
them. Both readers must give the same answer (accepted with the same values, or refused) on every document."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from iotcard.contract import commands, messages

PLAN = {"plan_name": "30MB/月", "total_mb": 30, "cycle_start": "2026-11-01", "cycle_end": "2026-11-30"}

CASES: list[tuple[str, dict[str, Any]]] = [
    ("ping", {"request_id": "r-1"}),
    ("ping", {"request_id": "r-1", "command": "ping"}),
    ("ping", {"request_id": "r-1", "command": "diagnose"}),
    ("ping", {}),
    ("ping", {"request_id": 5}),
    ("ping", {"request_id": None}),
    ("ping", {"request_id": ""}),
    ("ping", {"request_id": "-starts-with-dash"}),
    ("ping", {"request_id": "r" * 64}),
    ("ping", {"request_id": "r" * 65}),
    ("ping", {"request_id": "line\n"}),
    ("ping", {"request_id": "a.b:c_d-e"}),
    ("ping", {"request_id": "r", "extra": 1}),
    ("diagnose", {"request_id": "r"}),
    ("diagnose", {"request_id": "r", "timeout_s": 5}),
    ("refresh_usage", {"request_id": "r", "targets": []}),
    ("refresh_usage", {"request_id": "r"}),
    ("probe", {"request_id": "r", "targets": ["api.example.com:443", "10.1.2.3"]}),
    ("probe", {"request_id": "r", "targets": ["[2001:db8::1]:8883"], "timeout_s": 30}),
    ("probe", {"request_id": "r", "targets": ["a.com"], "timeout_s": 30.5}),
    ("probe", {"request_id": "r", "targets": ["a.com"], "timeout_s": 0}),
    ("probe", {"request_id": "r", "targets": ["a.com"], "timeout_s": "5"}),
    ("probe", {"request_id": "r", "targets": ["a.com"], "timeout_s": True}),
    ("probe", {"request_id": "r", "targets": ["a.com"], "timeout_s": None}),
    ("probe", {"request_id": "r", "targets": ["a.com"], "timeout_s": 2.5}),
    ("probe", {"request_id": "r", "targets": []}),
    ("probe", {"request_id": "r", "targets": ["a.com"] * 16}),
    ("probe", {"request_id": "r", "targets": ["a.com"] * 17}),
    ("probe", {"request_id": "r", "targets": "a.com"}),
    ("probe", {"request_id": "r", "targets": [7]}),
    ("probe", {"request_id": "r", "targets": ["bad host; rm -rf /"]}),
    ("probe", {"request_id": "r", "targets": ["h:70000"]}),
    ("probe", {"request_id": "r", "targets": ["h:0"]}),
    ("probe", {"request_id": "r", "targets": ["h:65535"]}),
    ("probe", {"request_id": "r", "targets": ["a.com\n"]}),
    ("probe", {"request_id": "r", "targets": ["-a.com"]}),
    ("probe", {"request_id": "r"}),
    ("set_plan", {"request_id": "r", **PLAN}),
    ("set_plan", {"request_id": "r", **PLAN, "total_mb": 30.5, "expiry": "2027-01-31"}),
    ("set_plan", {"request_id": "r", **PLAN, "expiry": None}),
    ("set_plan", {"request_id": "r", **PLAN, "total_mb": "30"}),
    ("set_plan", {"request_id": "r", **PLAN, "total_mb": 0}),
    ("set_plan", {"request_id": "r", **PLAN, "total_mb": 10_000_001}),
    ("set_plan", {"request_id": "r", **PLAN, "cycle_end": "2026-10-01"}),
    ("set_plan", {"request_id": "r", **PLAN, "cycle_end": "2026-11-01"}),
    ("set_plan", {"request_id": "r", **PLAN, "cycle_end": "2026-11-31"}),
    ("set_plan", {"request_id": "r", **PLAN, "cycle_end": "2026-11-30T00:00:00"}),
    ("set_plan", {"request_id": "r", **PLAN, "cycle_end": "2026/11/30"}),
    ("set_plan", {"request_id": "r", **PLAN, "cycle_end": 20261130}),
    ("set_plan", {"request_id": "r", **PLAN, "plan_name": ""}),
    ("set_plan", {"request_id": "r", **PLAN, "plan_name": "p" * 65}),
    ("set_plan", {"request_id": "r", "plan_name": "p"}),
    ("set_config", {"request_id": "r", "telemetry_interval_s": 21600, "directed_targets": ["iot.example.cn"]}),
    ("set_config", {"request_id": "r", "telemetry_interval_s": 5}),
    ("set_config", {"request_id": "r", "telemetry_interval_s": 900.0}),
    ("set_config", {"request_id": "r", "sample_interval_s": 10, "directed_interval_s": 604800}),
    ("set_config", {"request_id": "r", "directed_interval_s": 604801}),
    ("set_config", {"request_id": "r", "directed_targets": []}),
    ("set_config", {"request_id": "r", "directed_targets": None}),
    ("set_config", {"request_id": "r", "directed_targets": None, "sample_interval_s": 60}),
    ("set_config", {"request_id": "r"}),
    ("set_config", {"request_id": "r", "sample_interval_s": False}),
]


def pydantic_reading(name: str, doc: dict[str, Any]) -> dict[str, Any] | None:
    """What the models make of the document: its fields, or None when refused."""
    try:
        model = messages.parse_command({**doc, "command": name}) if doc.get("command", name) == name else None
    except ValidationError:
        return None
    return model.model_dump() if model is not None else None


def plain_reading(name: str, doc: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return dataclasses.asdict(commands.read_command(name, doc))
    except commands.CommandInvalid as exc:
        assert exc.problems and all(where and what for where, what in exc.problems)
        return None


@pytest.mark.parametrize(("name", "doc"), CASES)
def test_both_readers_agree(name: str, doc: dict[str, Any]) -> None:
    doc = json.loads(json.dumps(doc))  # what the processor hands over: decoded JSON
    expected = pydantic_reading(name, doc)
    got = plain_reading(name, doc)
    assert got == expected
    if got is not None:
        assert set(got) == set(messages.topic_spec(messages.Topic.COMMAND).model.model_fields) | set(got)


def test_the_cases_cover_acceptance_and_refusal_of_every_command() -> None:
    for name in messages.COMMAND_NAMES:
        outcomes = {pydantic_reading(name, doc) is None for case, doc in CASES if case == name}
        assert outcomes == {True, False}, name


def test_the_plain_commands_have_the_models_fields() -> None:
    for model in (
        messages.PingCommand,
        messages.DiagnoseCommand,
        messages.ProbeCommand,
        messages.RefreshUsageCommand,
        messages.SetPlanCommand,
        messages.SetConfigCommand,
    ):
        plain = getattr(commands, model.__name__)
        assert {item.name for item in dataclasses.fields(plain)} == set(model.model_fields), model.__name__


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 700_000),
    st.floats(-1, 1e8, allow_nan=False),
    st.sampled_from(["r-1", "", "2026-11-01", "2026-12-31", "2026-02-30", "30", "a.com:443", "x y", "ok.example.cn"]),
    st.lists(st.sampled_from(["a.com", "10.0.0.1:80", "h:70000", "bad host", "[::1]:53", 5]), max_size=18),
)
FIELDS = st.sampled_from(
    ["request_id", "command", "targets", "timeout_s", "plan_name", "total_mb", "cycle_start", "cycle_end", "expiry",
     "directed_targets", "telemetry_interval_s", "sample_interval_s", "directed_interval_s", "x"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    name=st.sampled_from(messages.COMMAND_NAMES),
    doc=st.dictionaries(FIELDS, VALUES, max_size=7),
    base=st.sampled_from([{}, {"request_id": "r-1"}, {"request_id": "r-1", **PLAN}]),
)
def test_both_readers_agree_on_generated_documents(name: str, doc: dict[str, Any], base: dict[str, Any]) -> None:
    merged = json.loads(json.dumps({**base, **doc}))
    assert plain_reading(name, merged) == pydantic_reading(name, merged)
