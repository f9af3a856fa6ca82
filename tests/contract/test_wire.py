"""The agent publishes the plain twins of iotcard.contract.wire; the pydantic models of messages.py define the contract.

Every twin has its model's fields (names, order, which are required, defaults), and every kind of payload the
agent's Reporter makes is valid for its topic's model and is byte for byte what ``messages.encode`` makes of it.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from clocks import FIXED
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from iotcard.agent.telemetry import CommandOutcome, Reporter, SampleWindow
from iotcard.contract import messages, wire
from iotcard.drivers.models import (
    AccessTechnology,
    Carrier,
    ModemIdentity,
    ModemSnapshot,
    NetworkInfo,
    RegistrationState,
    SignalInfo,
    SimInfo,
    SimState,
)

TWINS = sorted(
    name
    for name in wire.__all__
    if isinstance(getattr(wire, name), type) and dataclasses.is_dataclass(getattr(wire, name))
    if name not in ("TopicRule", "Topics")
)
SNAPSHOT = ModemSnapshot(
    identity=ModemIdentity(manufacturer="Quectel", model="EC25", revision="EC25EFAR06A03M4G", imei="861234567890123"),
    sim=SimInfo(
        state=SimState.READY, iccid="89860012345678901234", imsi="460001234567890", carrier=Carrier.CHINA_MOBILE
    ),
    network=NetworkInfo(
        registration=RegistrationState.HOME,
        access_technology=AccessTechnology.LTE,
        mcc_mnc="46000",
        tac=0x1A2B,
        cell_id=0x0ABCDEF,
    ),
    signal=SignalInfo(rssi_dbm=-71.0, rsrp_dbm=-95.0, rsrq_db=-11.5, sinr_db=7.0, bars=3),
)


def test_the_twins_are_the_models_of_the_same_name() -> None:
    assert len(TWINS) >= 20
    for name in TWINS:
        twin, model = getattr(wire, name), getattr(messages, name)
        assert issubclass(model, BaseModel), name
        fields = {item.name: item for item in dataclasses.fields(twin)}
        assert list(fields) == list(model.model_fields), name
        for key, info in model.model_fields.items():
            item = fields[key]
            has_default = item.default is not dataclasses.MISSING or item.default_factory is not dataclasses.MISSING
            assert has_default == (not info.is_required()), f"{name}.{key}"
            if has_default:
                default = item.default_factory() if item.default_factory is not dataclasses.MISSING else item.default
                assert default == info.get_default(call_default_factory=True), f"{name}.{key}"


def test_topic_rules_are_the_contract_topics() -> None:
    for spec in messages.TOPICS:
        rule = wire.TOPIC_RULES[spec.topic]
        assert (rule.qos, rule.retain, rule.priority, rule.direction) == (
            spec.qos,
            spec.retain,
            spec.priority,
            spec.direction,
        )
    assert messages.Topic is wire.Topic and messages.EventName is wire.EventName and messages.Topics is wire.Topics


def reporter(clock_at: datetime = FIXED, device: Any = None) -> Reporter:
    made = Reporter(
        device if device is not None else wire.IdentityDevice(name="Line 3 HMI", pn="HW-7000", company="ACME 自动化"),
        agent_version="0.1.0",
        started_at=clock_at - timedelta(hours=1, microseconds=5),
        clock=lambda: clock_at,
    )
    made.observe(SNAPSHOT)
    return made


def usage_report() -> wire.UsageReport:
    hour = datetime(2026, 11, 17, 7, tzinfo=UTC)
    return wire.UsageReport(
        cycle_start=date(2026, 11, 1),
        cycle_end=date(2026, 11, 30),
        cycle_rx_bytes=123_456_789,
        cycle_tx_bytes=9_876_543,
        cycle_total_bytes=133_333_332,
        timezone="Asia/Shanghai",
        hourly=[wire.HourlyUsage(hour=hour, rx_bytes=1000, tx_bytes=200)],
        days=[wire.DailyUsage(day=date(2026, 11, 17), rx_bytes=5000, tx_bytes=700)],
        months=[wire.MonthlyUsage(month="2026-11", rx_bytes=123_456_789, tx_bytes=9_876_543)],
        plan=wire.PlanStatus(
            name="IoT 1GB",
            total_mb=1024,
            remaining_mb=896.25,
            overage_mb=None,
            cycle_end=date(2026, 11, 30),
            expiry=date(2027, 10, 31),
            renew_by=date(2027, 10, 25),
            flags=["data_low", "renew_before_26th"],
        ),
    )


def traffic() -> wire.TrafficSummary:
    return wire.TrafficSummary(
        period_bytes=4321,
        month_bytes=654_321,
        month_budget_bytes=1_572_864,
        by_type={"telemetry": 400_000, "status": 1200},
        stretch=2,
        keepalive_s=1200,
        reconnects=3,
        outbox_pending=1,
        outbox_dropped={"ROUTINE": 2},
    )


def window(samples: int = 3) -> SampleWindow:
    made = SampleWindow(start=FIXED - timedelta(hours=4, microseconds=7))
    for step in range(samples):
        made.add(dataclasses.replace(SNAPSHOT, signal=SignalInfo(rssi_dbm=-71 - step, rsrp_dbm=-95.5, bars=3)))
    return made


def every_draft() -> list[Any]:
    made = reporter()
    return [
        made.status("online"),
        made.status("offline", reason="shutdown"),
        made.identity(),
        reporter(device=wire.IdentityDevice()).identity(),
        made.telemetry(window(), usage=usage_report(), traffic=traffic()),
        made.telemetry(SampleWindow(start=FIXED), priority=wire.Priority.IMPORTANT),
        made.event(wire.EventName.DATA_LOW, previous="12.5", current="9.75", detail={"flag": True, "gone": None}),
        made.event(wire.EventName.SIM_ABSENT),
        made.diagnosis(
            [
                wire.DiagnosisFinding(code="signal_weak", severity="warning", summary="Weak signal", detail="Move"),
                wire.DiagnosisFinding(code="sim_ok", severity="info", summary="SIM ready 就绪"),
                wire.DiagnosisFinding(code="no_reg", severity="error", summary="Not registered"),
            ]
        ),
        made.diagnosis([]),
        made.directed(
            [
                wire.DirectedTargetResult(target="ecloud.haiwell.com:443", verdict="reachable", dns="ok", tcp="ok"),
                wire.DirectedTargetResult(target="blocked.example.com", verdict="dns_failed", dns="nxdomain"),
                wire.DirectedTargetResult(
                    target="10.0.0.1:8883", verdict="blocked", tcp="timeout", tls=None, elapsed_ms=3000
                ),
            ]
        ),
        made.result(
            CommandOutcome("ping", "r-1", True, {"pong": True, "uptime_s": 12, "when": date(2026, 11, 17), "x": None})
        ),
        made.result(CommandOutcome("probe", "r-2", False, error_code="invalid_payload", error_message="targets: …")),
        made.result(CommandOutcome("ping", None, False, error_code="invalid_json", error_message="not JSON")),
        made.result(CommandOutcome("ping", "r-1", True, duplicate=True)),
    ]


@pytest.mark.parametrize("index", range(len(every_draft())))
def test_every_payload_the_agent_makes_is_valid_and_encoded_as_the_model_would(index: int) -> None:
    draft = every_draft()[index]
    payload = draft.payload(seq=41 + index)
    model = messages.topic_spec(draft.topic).model
    parsed = model.model_validate_json(payload)
    assert messages.encode(parsed) == payload
    assert parsed.seq == 41 + index  # type: ignore[attr-defined]
    spec = messages.topic_spec(draft.topic)
    assert (draft.qos, draft.retain) == (spec.qos, spec.retain)


def test_parts_given_as_the_models_are_taken_as_twins() -> None:
    plain = reporter().telemetry(window(), usage=usage_report(), traffic=traffic())
    as_models = reporter(device=messages.IdentityDevice(name="Line 3 HMI", pn="HW-7000", company="ACME 自动化"))
    from_models = as_models.telemetry(
        window(),
        usage=messages.UsageReport.model_validate(wire.as_json(usage_report())),
        traffic=messages.TrafficSummary.model_validate(wire.as_json(traffic())),
    )
    assert from_models.payload(7) == plain.payload(7)
    assert as_models.identity().payload(1) == reporter().identity().payload(1)
    findings = [messages.DiagnosisFinding(code="c", severity="error", summary="s")]
    assert reporter().diagnosis(findings).payload(2) == reporter().diagnosis(
        [wire.twin(wire.DiagnosisFinding, findings[0])]
    ).payload(2)


def test_as_json_is_the_models_json_dump() -> None:
    report = usage_report()
    assert wire.as_json(report) == messages.UsageReport.model_validate(wire.as_json(report)).model_dump(mode="json")
    result = wire.DirectedTargetResult(target="a.example.com", verdict="reachable", dns="ok")
    assert wire.as_json(result) == messages.DirectedTargetResult(**wire.as_json(result)).model_dump(mode="json")


signal_value = st.one_of(
    st.none(), st.integers(-140, 40), st.floats(-140, 40, allow_nan=False).map(lambda v: round(v, 2))
)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.tuples(signal_value, signal_value, signal_value, st.integers(0, 5)), max_size=6),
    pending=st.integers(0, 10**6),
    stretch=st.one_of(st.integers(1, 1000), st.floats(1.0, 1e6, allow_nan=False)),
    microsecond=st.integers(0, 999_999),
)
def test_telemetry_of_any_samples_is_encoded_as_the_model_would(
    values: list[tuple[float | None, float | None, float | None, int]], pending: int, stretch: float, microsecond: int
) -> None:
    at = FIXED.replace(microsecond=microsecond)
    made = SampleWindow(start=at - timedelta(hours=4))
    for rssi, rsrp, sinr, bars in values:
        made.add(
            dataclasses.replace(SNAPSHOT, signal=SignalInfo(rssi_dbm=rssi, rsrp_dbm=rsrp, sinr_db=sinr, bars=bars))
        )
    summary = dataclasses.replace(traffic(), outbox_pending=pending, stretch=stretch)
    payload = reporter(at).telemetry(made, traffic=summary).payload(seq=pending)
    assert messages.encode(messages.TelemetryMessage.model_validate_json(payload)) == payload


@pytest.mark.parametrize(
    ("instant", "valid"),
    [
        ("1970-01-01T00:00:00Z", True),
        ("1970-01-01T00:59:59+01:00", False),  # 1969-12-31T23:59:59Z
        ("1970-01-01T08:00:00+08:00", True),  # 1970-01-01T00:00Z
        ("0001-01-01T00:00:00+01:00", False),  # before year 1 in UTC: must not overflow
        ("2099-12-31T23:59:59.999999Z", True),
        ("2100-01-01T00:30:00+01:00", True),  # 2099-12-31T23:30Z
        ("2100-01-01T00:00:00Z", False),
        ("9999-12-31T23:59:59-01:00", False),  # after year 9999 in UTC: must not overflow
        ("2026-12-01T08:00:00", False),  # no offset: not an instant
    ],
)
def test_an_instant_is_kept_in_1970_to_2099_utc_whatever_its_offset(instant: str, valid: bool) -> None:
    payload = (
        '{"schema_version":1,"device_id":"gw-1","iccid":null,"imei":null,"seq":1,"ts":"2026-12-01T08:00:00Z",'
        f'"state":"online","agent_version":"1","started_at":"{instant}"}}'
    )
    if valid:
        assert messages.StatusMessage.model_validate_json(payload).started_at.year in (1970, 2099, 2100)
    else:
        with pytest.raises(ValueError, match="started_at"):
            messages.StatusMessage.model_validate_json(payload)


@pytest.mark.parametrize(("day", "valid"), [("1999-12-31", False), ("2000-01-01", True), ("2099-12-31", True),
                                           ("2100-01-01", False)])  # fmt: skip
def test_a_calendar_date_is_kept_in_2000_to_2099(day: str, valid: bool) -> None:
    usage = {"cycle_start": day, "cycle_rx_bytes": 0, "cycle_tx_bytes": 0, "cycle_total_bytes": 0}
    if valid:
        assert messages.UsageReport.model_validate(usage).cycle_start == date.fromisoformat(day)
    else:
        with pytest.raises(ValueError, match="cycle_start"):
            messages.UsageReport.model_validate(usage)
