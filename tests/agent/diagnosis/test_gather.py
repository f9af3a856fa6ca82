"""gather(): the one pipeline from injected readers to facts, as the CLI and the daemon call it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from test_diagnosis_engine import HEALTHY, with_network

from iotcard.agent.diagnosis import (
    DiagnosisSources,
    DirectedFact,
    PortFault,
    Verdict,
    diagnose,
    gather,
    render,
)
from iotcard.agent.directed import ProbeOptions, ProbeResult, probe_texts
from iotcard.agent.state import KnownIdentity
from iotcard.agent.usage import Plan, RenewalAdvice, plan_status
from iotcard.drivers.errors import ModemRebooted, PortError, ReadTimeout
from iotcard.drivers.models import ModemSnapshot
from iotcard.drivers.transport import SerialTransport


def test_a_snapshot_and_nothing_else_is_a_healthy_card() -> None:
    facts = gather(DiagnosisSources(read_modem=lambda: HEALTHY, port="/dev/ttyUSB2"))
    assert facts.snapshot is HEALTHY and facts.port == "/dev/ttyUSB2"
    assert facts.port_error is None and not facts.modem_unresponsive
    assert facts.plan is None and facts.directed is None and facts.previous_identity is None
    assert diagnose(facts).verdict is Verdict.OK


def test_a_real_missing_port_becomes_a_coded_fault(tmp_path: Path) -> None:
    missing = str(tmp_path / "ttyUSB9")

    def read_modem() -> ModemSnapshot:
        SerialTransport(missing)  # raises PortError: the path does not exist
        raise AssertionError("opened a port that does not exist")

    facts = gather(DiagnosisSources(read_modem=read_modem, port=missing))
    assert facts.port_error == PortFault("port_missing", missing, None)
    assert not facts.modem_unresponsive and facts.snapshot is None
    finding = diagnose(facts).first
    assert finding.code == "port_unavailable"
    assert "does not exist" in render(finding, "en")[0]


def test_the_os_error_behind_a_port_error_gives_its_errno_name() -> None:
    def read_modem() -> ModemSnapshot:
        try:
            raise PermissionError(13, "Permission denied")
        except PermissionError as exc:
            raise PortError("no permission", port="/dev/ttyUSB2", code="port_permission") from exc

    facts = gather(DiagnosisSources(read_modem=read_modem, port="/dev/ttyUSB2"))
    assert facts.port_error == PortFault("port_permission", "/dev/ttyUSB2", "EACCES")


def test_a_fault_returned_by_the_daemon_takes_the_sources_port() -> None:
    facts = gather(DiagnosisSources(read_modem=lambda: PortFault("port_unavailable", None, "gone"), port="/dev/x"))
    assert facts.port_error == PortFault("port_unavailable", "/dev/x", "gone")


@pytest.mark.parametrize(
    "failure",
    [
        ReadTimeout("no answer", command="AT", timeout=1.0),
        ModemRebooted("rebooted", command="AT+CSQ", urc="RDY"),
        None,
    ],
)
def test_no_answer_from_the_module_is_unresponsive(failure: Exception | None) -> None:
    def read_modem() -> None:
        if failure is not None:
            raise failure

    facts = gather(DiagnosisSources(read_modem=read_modem, port="/dev/ttyUSB2"))
    assert facts.modem_unresponsive and facts.port_error is None
    assert diagnose(facts).first.code == "modem_unresponsive"


def test_probes_are_asked_for_only_with_an_ip_address() -> None:
    asked: list[ModemSnapshot] = []

    def probes(snapshot: ModemSnapshot) -> list[ProbeResult]:
        asked.append(snapshot)
        return probe_texts(["bad target with spaces"], ProbeOptions(timeout=0.1))

    no_ip = with_network(ip_address=None)
    facts = gather(DiagnosisSources(read_modem=lambda: no_ip, probes=probes))
    assert asked == [] and facts.directed is None
    facts = gather(DiagnosisSources(read_modem=lambda: HEALTHY, probes=probes))
    assert asked == [HEALTHY]
    assert facts.directed == [DirectedFact("bad target with spaces", "invalid_target", None)]


def test_the_plan_carries_the_renewal_advice_as_a_code_and_a_date() -> None:
    # Expiring on 30 June: renewals pause from the 26th, so from the 20th the card is told to renew by the 25th.
    status = plan_status(Plan(total_bytes=1 << 30, expiry=date(2025, 6, 30)), 1 << 20, date(2025, 6, 23))
    assert status.advice is RenewalAdvice.RENEW_BEFORE_26TH
    facts = gather(DiagnosisSources(read_modem=lambda: HEALTHY, plan=lambda: status))
    assert facts.plan is not None
    assert facts.plan.renew_advice == "renew_before_26th" and facts.plan.renew_by == date(2025, 6, 25)
    finding = diagnose(facts).first
    assert finding.code == "cycle_expiring"
    assert finding.params["renew_advice"] == "renew_before_26th" and finding.params["renew_by"] == "2025-06-25"
    assert all(isinstance(v, int | float | str | type(None)) for v in finding.params.values())
    assert "renew by 2025-06-25, before the 26th" in render(finding, "en")[1]
    assert "请最晚于 2025-06-25（26 日前）续费" in render(finding, "zh")[1]


def test_the_previous_identity_is_read_from_its_source() -> None:
    moved = replace(HEALTHY, sim=replace(HEALTHY.sim, iccid="89860000000000000001"))
    previous = KnownIdentity(HEALTHY.sim.iccid, HEALTHY.identity.imei)
    facts = gather(DiagnosisSources(read_modem=lambda: moved, previous_identity=lambda: previous))
    assert [f.code for f in diagnose(facts).findings] == ["iccid_changed"]
