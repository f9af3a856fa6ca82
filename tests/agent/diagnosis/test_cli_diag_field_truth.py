"""`iotcard diag` on the simulator's flight-mode and reject-cause scenarios: the cause, not "searching"."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from iotcard.agent.cli import main
from iotcard.simulators.modem import ModemSimulator

pytestmark = pytest.mark.integration


def diag(tmp_path: Path, scenario: str, profile: str, lang: str) -> tuple[int, dict]:
    out, err = io.StringIO(), io.StringIO()
    with ModemSimulator(profile=profile, scenario=scenario, link=str(tmp_path / "tty")) as sim:
        status = main(
            ["--lang", lang, "diag", "--port", sim.path, "--state-dir", str(tmp_path / "state"), "--json"],
            stdout=out,
            stderr=err,
        )
    return status, json.loads(out.getvalue())


@pytest.mark.parametrize("profile", ["quectel_ec25", "simcom_a7670c", "generic"])
def test_flight_mode_says_radio_off(tmp_path: Path, profile: str) -> None:
    status, doc = diag(tmp_path, "flight_mode", profile, "en")
    assert status == 1 and doc["verdict"] == "fail"
    assert [f["code"] for f in doc["findings"]] == ["radio_off"]
    assert "AT+CFUN=1" in doc["findings"][0]["hint"]
    assert doc["snapshot"]["network"]["radio"] == "off"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_denied_card_names_the_reject_cause(tmp_path: Path, lang: str) -> None:
    status, doc = diag(tmp_path, "reject_cause", "quectel_rm500q", lang)
    assert status == 1
    first = doc["findings"][0]
    assert first["code"] == "registration_denied"
    assert first["params"]["reject_cause"] == 7
    assert "#7" in first["message"]
    assert ("停机" if lang == "zh" else "suspended") in first["hint"]
