"""The CLI's --json documents are plain dataclasses; their JSON is what pydantic writes for the same values."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter

from iotcard.agent._json_out import JsonOut
from iotcard.agent.directed import (
    DnsResult,
    DnsStatus,
    ProbeResult,
    TcpResult,
    TcpStatus,
    TlsResult,
    TlsStatus,
    judge,
    parse_target,
    probe_out,
)
from iotcard.agent.schemas import ErrorDetail, ErrorOut, snapshot_out
from iotcard.drivers.models import (
    AccessTechnology,
    ModemIdentity,
    ModemSnapshot,
    NetworkInfo,
    RegistrationState,
    RejectCause,
    SignalInfo,
    SimInfo,
    SimState,
)


def as_pydantic_writes(document: JsonOut, indent: int | None = None) -> str:
    """pydantic's JSON for the same values: the dataclass validated (ints in float fields become floats) and dumped."""
    adapter: TypeAdapter[Any] = TypeAdapter(type(document))
    return adapter.dump_json(adapter.validate_python(dataclasses.asdict(document)), indent=indent).decode()


def probe_result(text: str, dns: DnsResult | None, tcp: TcpResult | None, tls: TlsResult | None = None) -> ProbeResult:
    target = parse_target(text)
    verdict, reason = judge(dns, tcp, tls)
    return ProbeResult(target.text, target, verdict, reason, dns=dns, tcp=tcp, tls=tls)


DOCUMENTS: dict[str, JsonOut] = {
    "info": snapshot_out(
        ModemSnapshot(
            identity=ModemIdentity(manufacturer="Quectel", model="EC25", imei="861234567890123", imei_luhn_ok=True),
            sim=SimInfo(state=SimState.READY, iccid="89860012345678901234", slot=1),
            network=NetworkInfo(
                registration=RegistrationState.DENIED,
                access_technology=AccessTechnology.LTE,
                mcc_mnc="46000",
                operator_name="中国移动",
                tac=0x1A2B,
                reject_cause=RejectCause("emm", 15, "no suitable cells in tracking area"),
                dns=("211.136.17.107",),
                time=datetime(2026, 11, 17, 8, 0, tzinfo=UTC),
            ),
            signal=SignalInfo(rssi_dbm=-71, rsrp_dbm=-95.5, bars=3),
            problems=("AT+QENG: timeout",),
        ),
        duration_ms=412,
    ),
    "empty info": snapshot_out(ModemSnapshot(), duration_ms=0),
    "error": ErrorOut(error=ErrorDetail(code="port_busy", message="the agent holds /dev/ttyUSB2", hint=None)),
    "probe": probe_out(
        [
            probe_result(
                "ecloud.haiwell.com:8883",
                DnsResult(DnsStatus.OK, "10.0.0.1:53", ("47.96.1.2",), 12),
                TcpResult(TcpStatus.OPEN, "47.96.1.2", 40, (), None),
                TlsResult(TlsStatus.OK, "TLSv1.3", None, None, None, "ecloud.haiwell.com", 5),
            ),
            probe_result("47.96.1.2:1883", None, TcpResult(TcpStatus.TIMEOUT, None, 3000, (), "timed out")),
        ],
        "zh",
        3050,
    ),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
@pytest.mark.parametrize("indent", [None, 2])
def test_the_json_is_what_pydantic_writes(name: str, indent: int | None) -> None:
    document = DOCUMENTS[name]
    assert document.to_json(indent) == as_pydantic_writes(document, indent)


def test_a_float_field_given_an_int_is_written_as_a_float() -> None:
    assert '"rssi_dbm":-71.0' in DOCUMENTS["info"].to_json()
