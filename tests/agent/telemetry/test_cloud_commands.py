"""Cloud commands without a broker: validation, dedup, rate limit, handlers; hypothesis on arbitrary payloads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.contract import COMMAND_NAMES, COMMAND_RESULT_ERRORS, MAX_COMMAND_BYTES, SetPlanCommand
from agent.telemetry import CommandOutcome, CommandProcessor, CommandRejected, MemoryDedup, ping_handler


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def processor(**kwargs: Any) -> CommandProcessor:
    clock = kwargs.pop("clock", Clock())
    handlers = {"ping": ping_handler("1.2.3", started=0.0, clock=clock)}
    return CommandProcessor(handlers=handlers | kwargs.pop("handlers", {}), clock=clock, **kwargs)


def body(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def test_ping_runs() -> None:
    outcome = processor().handle("ping", body(request_id="r1"))
    assert outcome == CommandOutcome("ping", "r1", True, {"pong": True, "agent_version": "1.2.3", "uptime_s": 0})


VALID = {
    "diagnose": {},
    "probe": {"targets": ["api.example.com:443", "10.1.2.3"]},
    "refresh_usage": {},
    "set_plan": {"plan_name": "30MB/月", "total_mb": 30, "cycle_start": "2026-11-01", "cycle_end": "2026-11-30"},
    "set_config": {"telemetry_interval_s": 21600, "directed_targets": ["iot.example.cn"]},
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_each_command_dispatches_to_its_handler_or_says_not_available(name: str) -> None:
    seen: list[Any] = []
    with_handler = processor(handlers={name: lambda cmd: seen.append(cmd) or {"done": name}})
    outcome = with_handler.handle(name, body(request_id="r1", **VALID[name]))
    assert outcome.ok and outcome.result == {"done": name}
    assert seen[0].command == name and seen[0].request_id == "r1"
    missing = processor().handle(name, body(request_id="r1", **VALID[name]))
    assert (missing.ok, missing.error_code) == (False, "not_available")
    assert "not available on this agent yet" in (missing.error_message or "")


def test_set_plan_is_typed() -> None:
    seen: list[SetPlanCommand] = []
    proc = processor(handlers={"set_plan": lambda cmd: seen.append(cmd) or {}})
    assert proc.handle("set_plan", body(request_id="p", **VALID["set_plan"])).ok
    assert seen[0].total_mb == 30.0 and str(seen[0].cycle_end) == "2026-11-30"


@pytest.mark.parametrize(
    ("name", "payload", "code"),
    [
        ("ping", b"{not json", "invalid_json"),
        ("ping", b"\xff\xfe", "invalid_json"),
        ("ping", b"[1, 2]", "invalid_json"),
        ("ping", body(request_id=5), "invalid_payload"),
        ("ping", body(), "invalid_payload"),
        ("ping", body(request_id="r", extra=1), "invalid_payload"),
        ("set_plan", body(request_id="r", **{**VALID["set_plan"], "total_mb": "30"}), "invalid_payload"),
        ("set_plan", body(request_id="r", **{**VALID["set_plan"], "cycle_end": "2026-10-01"}), "invalid_payload"),
        ("set_config", body(request_id="r", telemetry_interval_s=5), "invalid_payload"),
        ("set_config", body(request_id="r"), "invalid_payload"),
        ("probe", body(request_id="r", targets=["bad host; rm -rf /"]), "invalid_payload"),
        ("probe", body(request_id="r", targets=["h:70000"]), "invalid_payload"),
        ("ping", body(request_id="r", command="diagnose"), "invalid_payload"),
        ("at", body(request_id="r", line="AT+CFUN=0"), "unknown_command"),
        ("shell", body(request_id="r", cmd="reboot"), "unknown_command"),
        ("ping", b" " * (MAX_COMMAND_BYTES + 1), "payload_too_large"),
    ],
)
def test_bad_commands_get_a_structured_error(name: str, payload: bytes, code: str) -> None:
    outcome = processor().handle(name, payload)
    assert (outcome.ok, outcome.error_code) == (False, code)
    assert outcome.error_message


def test_retained_commands_are_refused() -> None:
    assert processor().handle("ping", body(request_id="r"), retained=True).error_code == "retained_command"


def test_a_request_id_runs_once_and_repeats_its_result() -> None:
    runs: list[str] = []
    proc = processor(handlers={"diagnose": lambda cmd: runs.append(cmd.request_id) or {"n": len(runs)}})
    first = proc.handle("diagnose", body(request_id="d1"))
    again = proc.handle("diagnose", body(request_id="d1"))
    assert runs == ["d1"]
    assert again.duplicate and again.result == first.result == {"n": 1}


def test_dedup_survives_with_a_persistent_store() -> None:
    store = MemoryDedup()
    runs: list[str] = []
    handlers = {"diagnose": lambda cmd: runs.append("x") or {}}
    processor(handlers=handlers, dedup=store).handle("diagnose", body(request_id="d1"))
    processor(handlers=handlers, dedup=store).handle("diagnose", body(request_id="d1"))
    assert runs == ["x"]


def test_rate_limit_with_a_fake_clock() -> None:
    clock = Clock()
    proc = processor(clock=clock, burst=3, per_minute=6)
    codes = [proc.handle("ping", body(request_id=f"r{n}")).error_code for n in range(5)]
    assert codes == [None, None, None, "rate_limited", "rate_limited"]
    clock.now += 10  # one token per 10 s
    assert proc.handle("ping", body(request_id="r10")).ok
    assert proc.handle("ping", body(request_id="r11")).error_code == "rate_limited"


def test_handler_failures_are_results_not_crashes() -> None:
    def refuse(cmd: Any) -> dict[str, Any]:
        raise CommandRejected("plan total below what is already used")

    def crash(cmd: Any) -> dict[str, Any]:
        raise RuntimeError("boom")

    proc = processor(handlers={"set_plan": refuse, "diagnose": crash})
    assert proc.handle("set_plan", body(request_id="a", **VALID["set_plan"])).error_code == "rejected"
    failed = proc.handle("diagnose", body(request_id="b"))
    assert failed.error_code == "handler_failed" and "boom" in (failed.error_message or "")


def test_unknown_handler_names_are_refused_at_registration() -> None:
    with pytest.raises(ValueError):
        CommandProcessor(handlers={"shell": lambda cmd: {}})


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
FIELDS = st.sampled_from(
    ["request_id", "command", "targets", "timeout_s", "plan_name", "total_mb", "cycle_start", "cycle_end", "expiry",
     "directed_targets", "telemetry_interval_s", "sample_interval_s", "x"]
)  # fmt: skip
DOCS = st.dictionaries(FIELDS, JSON | st.just("r-1") | st.just("2026-11-01"), max_size=6)
NAMES = st.sampled_from([*COMMAND_NAMES, "at", "", "x/y"]) | st.text(max_size=10)


@settings(max_examples=300, deadline=None)
@given(name=NAMES, doc=JSON | DOCS, raw=st.binary(max_size=64), use_raw=st.booleans())
def test_arbitrary_payloads_never_raise(name: str, doc: Any, raw: bytes, use_raw: bool) -> None:
    payload = raw if use_raw else json.dumps(doc).encode()
    proc = processor(handlers={n: (lambda cmd: {"ok": 1}) for n in COMMAND_NAMES if n != "ping"})
    outcome = proc.handle(name, payload)
    assert isinstance(outcome, CommandOutcome)
    if outcome.ok:
        assert outcome.error_code is None and outcome.result is not None and name in COMMAND_NAMES
    else:
        assert outcome.error_code in COMMAND_RESULT_ERRORS and outcome.error_message
    json.loads(outcome.to_json())
