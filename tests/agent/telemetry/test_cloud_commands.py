"""Cloud commands without a broker: validation, dedup, rate limit, handlers; hypothesis on arbitrary payloads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotcard.agent.telemetry import CommandOutcome, CommandProcessor, CommandRejected, MemoryDedup, ping_handler
from iotcard.contract.messages import COMMAND_NAMES, COMMAND_RESULT_ERRORS, MAX_COMMAND_BYTES, SetPlanCommand


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


def test_a_request_id_runs_once_and_a_repeat_gets_a_small_acknowledgement() -> None:
    runs: list[str] = []
    proc = processor(handlers={"diagnose": lambda cmd: runs.append(cmd.request_id) or {"n": "x" * 1900}})
    first = proc.handle("diagnose", body(request_id="d1"))
    again = proc.handle("diagnose", body(request_id="d1"))
    assert runs == ["d1"]
    assert first.result == {"n": "x" * 1900}
    # Never the cached result again: a replayed 23-byte request must not buy a 1.9 kB answer.
    assert (again.duplicate, again.ok, again.result, again.request_id) == (True, True, None, "d1")
    assert len(again.to_json()) < 200


def test_a_failed_request_repeats_its_error_code_only() -> None:
    proc = processor(handlers={"diagnose": lambda cmd: (_ for _ in ()).throw(CommandRejected("no", code="nope"))})
    proc.handle("diagnose", body(request_id="d2"))
    again = proc.handle("diagnose", body(request_id="d2"))
    assert (again.duplicate, again.ok, again.error_code) == (True, False, "nope")


def test_duplicates_and_errors_are_counted_by_the_rate_limit() -> None:
    proc = processor(burst=3, per_minute=6)
    outcomes = [proc.handle("ping", body(request_id="same")) for _ in range(3)]
    outcomes += [proc.handle("ping", b"{broken")]
    assert [o.publish for o in outcomes] == [True, True, True, True]
    assert outcomes[-1].error_code == "rate_limited"  # the one notice
    assert not proc.handle("ping", body(request_id="other")).publish


@pytest.mark.parametrize(
    ("issued_at", "code"),
    [
        ("2026-11-17T07:30:00Z", None),
        ("2026-11-17T06:59:00+00:00", "expired"),
        ("2026-11-17T16:10:00+08:00", "expired"),  # 08:10 UTC: 10 minutes ahead
        ("2026-11-17T08:04:00Z", None),
        ("2026-11-17T09:00:00Z", "expired"),
        ("2026-11-17T07:30:00", "expired"),  # no zone
        ("yesterday", "expired"),
    ],
)
def test_old_and_future_commands_are_refused(issued_at: str, code: str | None) -> None:
    from datetime import UTC, datetime

    proc = processor(wall=lambda: datetime(2026, 11, 17, 8, 0, tzinfo=UTC))  # the instants above are around it
    assert proc.handle("ping", body(request_id="t", issued_at=issued_at)).error_code == code


def test_issued_at_is_not_judged_without_a_plausible_clock() -> None:
    from datetime import UTC, datetime

    proc = processor(wall=lambda: datetime(1970, 1, 1, 0, 5, tzinfo=UTC))
    assert proc.handle("ping", body(request_id="t", issued_at="2026-11-17T07:30:00Z")).ok


def test_the_daily_allowance_keeps_commands_inside_the_budget() -> None:
    from iotcard.agent.telemetry import daily_command_allowance

    clock = Clock()
    per_day = daily_command_allowance(int(1.5 * 1024 * 1024))
    proc = processor(clock=clock, burst=5, per_minute=6, per_day=per_day)
    published = 0
    for n in range(24 * 60):  # a request every minute for a day
        clock.now = n * 60.0
        published += proc.handle("ping", body(request_id=f"r{n}")).publish
    # In + out at 1 kB each stays within a fifth of the month's budget over 30 days.
    assert published * 1024 * 30 <= 0.2 * 1.5 * 1024 * 1024 * 2
    assert published <= 2 * per_day + 1


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
    outcomes = [proc.handle("ping", body(request_id=f"r{n}")) for n in range(5)]
    assert [o.error_code for o in outcomes] == [None, None, None, "rate_limited", "rate_limited"]
    # One notice per limited spell; then silence (nothing is published).
    assert [o.publish for o in outcomes] == [True, True, True, True, False]
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
