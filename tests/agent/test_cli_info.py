"""`iotcard info` and `iotcard at` end to end through the pty modem simulator, for every profile and scenario.

The simulator plays the module from the vendors' manuals; its profile data is the truth the CLI must report.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from iotcard.agent.cli import main
from iotcard.simulators.modem import PROFILES, SCENARIOS, ModemSimulator

pytestmark = pytest.mark.integration

PROFILE_NAMES = (
    "quectel_ec25",
    "quectel_ec200u",
    "quectel_rm500q",
    "simcom_sim7600",
    "simcom_a7670c",
    "huawei_me909s",
    "generic",
)
DIALECT_OF = {
    "quectel_ec25": "quectel",
    "quectel_ec200u": "quectel",
    "quectel_rm500q": "quectel",
    "simcom_sim7600": "simcom",
    "simcom_a7670c": "simcom",
    "huawei_me909s": "huawei",
    "generic": "generic",
}
REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(args), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture
def link(tmp_path: Path) -> str:
    return str(tmp_path / "ttyIOT0")


def info_json(profile: str, scenario: str, link: str) -> tuple[int, dict, ModemSimulator]:
    with ModemSimulator(profile=profile, scenario=scenario, link=link) as sim:
        status, out, _ = run_cli("--lang", "en", "info", "--port", sim.path, "--json")
    return status, json.loads(out), sim


def assert_identity(doc: dict, profile: str) -> None:
    truth = PROFILES[profile]
    modem = doc["modem"]
    assert modem["manufacturer"] == truth.manufacturer
    assert modem["model"] == truth.model
    assert modem["revision"] == truth.revision.removeprefix("+CGMR: ")
    assert modem["imei"] == truth.imei
    assert modem["imei_luhn_ok"] is True
    assert doc["dialect"] == DIALECT_OF[profile]


HEALTHY = ("normal", "urc_storm", "garbage_bytes", "split_chunks", "reboot", "port_vanish")


@pytest.mark.parametrize("scenario", HEALTHY)
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_info_reports_the_truth_through_faults(profile: str, scenario: str, link: str) -> None:
    status, doc, _ = info_json(profile, scenario, link)
    assert status == 0
    truth = PROFILES[profile]
    assert_identity(doc, profile)
    assert doc["sim"] == {
        "state": "ready",
        "iccid": truth.sim.iccid,
        "imsi": truth.sim.imsi,
        "carrier": "China Mobile",
        "slot": 1 if profile == "quectel_rm500q" else None,
    }
    net = doc["network"]
    assert net["registration"] == "home"
    assert net["access_technology"] == "LTE"
    assert net["tac"] == 0x5A1F
    assert net["cell_id"] == 0x1A2D001
    assert net["operator"]["name"] == "CHINA MOBILE"
    assert net["operator"]["mcc_mnc"] == "46000"  # the serving PLMN, never the IMSI's 46004
    assert net["radio"] == "on" and net["reject_cause"] is None
    assert net["dns"] == ["211.136.17.107", "211.136.20.203"]
    assert net["time"] is not None
    assert net["attached"] is True
    assert net["apn"] == "cmiot"
    assert net["ip_address"] == "10.168.23.45"
    signal = doc["signal"]
    assert signal["rssi_dbm"] == pytest.approx(-65, abs=1)
    assert signal["rsrp_dbm"] == pytest.approx(-95, abs=1)
    assert signal["rsrq_db"] == pytest.approx(-10, abs=0.5)
    assert 1 <= signal["bars"] <= 5
    if profile != "generic":
        assert signal["sinr_db"] is not None
    assert doc["problems"] == []


def test_slow_answers_still_answer(tmp_path: Path) -> None:
    """Every profile's command set with each answer 0.8 s late. The profiles run at once (each its own simulator
    and `iotcard info` process), so the waiting overlaps: about 15 s in all instead of 15 s a profile."""
    with contextlib.ExitStack() as stack:
        sims = {
            profile: stack.enter_context(
                ModemSimulator(profile=profile, scenario="slow_answers", link=str(tmp_path / f"tty-{profile}"))
            )
            for profile in PROFILE_NAMES
        }
        runs = {
            profile: subprocess.Popen(
                [sys.executable, "-m", "iotcard.agent.cli", "--lang", "en", "info", "--port", sim.path, "--json"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=REPO,
            )
            for profile, sim in sims.items()
        }
        for profile, run in runs.items():
            out, err = run.communicate(timeout=100)
            assert run.returncode == 0, (profile, err)
            doc = json.loads(out)
            assert doc["sim"]["iccid"] == PROFILES[profile].sim.iccid, profile
            assert doc["network"]["registration"] == "home", profile


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_sim_absent(profile: str, link: str) -> None:
    status, doc, sim = info_json(profile, "sim_absent", link)
    assert status == 0
    assert_identity(doc, profile)
    slot = 1 if profile == "quectel_rm500q" else None  # the selected slot, with or without a card
    assert doc["sim"] == {"state": "absent", "iccid": None, "imsi": None, "carrier": None, "slot": slot}
    assert doc["network"]["attached"] is False  # +CGATT? answers without a SIM
    assert doc["network"]["registration"] == "not_registered"
    assert doc["network"]["ip_address"] is None
    assert not any(c.upper().startswith(("AT+CIMI", "AT+CGPADDR")) for c in sim.commands)


@pytest.mark.parametrize("scenario", ["pin_locked", "puk_locked"])
@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_locked_sim_still_gives_the_iccid(profile: str, scenario: str, link: str) -> None:
    status, doc, _ = info_json(profile, scenario, link)
    assert status == 0
    assert doc["sim"]["state"] == ("pin_required" if scenario == "pin_locked" else "puk_required")
    assert doc["sim"]["iccid"] == PROFILES[profile].sim.iccid
    assert doc["sim"]["carrier"] == "China Mobile"  # from the ICCID prefix: no IMSI without the PIN
    assert doc["sim"]["imsi"] is None


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_registration_denied(profile: str, link: str) -> None:
    status, doc, _ = info_json(profile, "registration_denied", link)
    assert status == 0
    assert doc["network"]["registration"] == "denied"
    assert doc["network"]["attached"] is False
    assert doc["network"]["ip_address"] is None


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_searching_with_no_signal(profile: str, link: str) -> None:
    status, doc, _ = info_json(profile, "searching_no_signal", link)
    assert status == 0
    assert doc["network"]["registration"] == "searching"
    assert doc["signal"]["rssi_dbm"] is None
    assert doc["signal"]["rsrp_dbm"] is None
    assert doc["signal"]["bars"] == 0


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_roaming(profile: str, link: str) -> None:
    status, doc, _ = info_json(profile, "roaming", link)
    assert status == 0
    net = doc["network"]
    assert net["registration"] == "roaming"
    assert net["operator"]["name"] == "CMHK"
    assert net["tac"] == 0x2B3C
    assert net["cell_id"] == 0x51A2C03
    assert net["ip_address"] == "10.201.7.9"
    assert doc["sim"]["carrier"] == "China Mobile"


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_hang_exits_4_with_a_named_error(profile: str, link: str) -> None:
    with ModemSimulator(profile=profile, scenario="hang", link=link) as sim:
        status, out, _ = run_cli("info", "--port", sim.path, "--json")
    assert status == 4
    assert json.loads(out)["error"]["code"] == "modem_unresponsive"


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_flight_mode_is_radio_off(profile: str, link: str) -> None:
    status, doc, _ = info_json(profile, "flight_mode", link)
    assert status == 0
    net = doc["network"]
    assert (net["radio"], net["registration"], net["attached"]) == ("off", "not_registered", False)


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_rejected_card_has_its_reject_cause(profile: str, link: str) -> None:
    status, doc, _ = info_json(profile, "reject_cause", link)
    assert status == 0
    net = doc["network"]
    assert net["registration"] == "denied"
    assert net["reject_cause"] == {"type": "emm", "code": 7, "name": "EPS services not allowed"}
    assert net["last_error"] is None  # the simulated +CEER says nothing ("0,NONE")


@pytest.mark.parametrize("profile", ["simcom_a7670c", "quectel_ec25", "huawei_me909s"])
def test_weak_signal_is_weak_in_every_vendor_form(profile: str, link: str) -> None:
    status, doc, _ = info_json(profile, "weak_signal", link)
    assert status == 0
    assert doc["signal"]["rsrp_dbm"] == pytest.approx(-128, abs=1)
    assert doc["signal"]["bars"] == 0


def test_every_scenario_is_covered() -> None:
    covered = {
        *HEALTHY,
        "slow_answers",
        "sim_absent",
        "pin_locked",
        "puk_locked",
        "registration_denied",
        "searching_no_signal",
        "roaming",
        "hang",
        "flight_mode",
        "reject_cause",
        "weak_signal",
    }
    assert set(SCENARIOS) == covered


def test_human_output_in_chinese(link: str) -> None:
    with ModemSimulator(profile="quectel_ec25", link=link) as sim:
        status, out, _ = run_cli("--lang", "zh", "info", "--port", sim.path)
    assert status == 0
    assert "就绪" in out
    assert "已注册（本地网）" in out
    assert "89860424102287654321" in out


def test_human_output_in_english(link: str) -> None:
    with ModemSimulator(profile="simcom_sim7600", link=link) as sim:
        status, out, _ = run_cli("--lang", "en", "info", "--port", sim.path)
    assert status == 0
    assert "Registration  registered (home network)" in out
    assert "ICCID         898604A8192280123456" in out


def test_missing_port_exits_3_with_a_hint(tmp_path: Path) -> None:
    status, out, err = run_cli("--lang", "en", "info", "--port", str(tmp_path / "ttyUSB7"))
    assert status == 3
    assert "does not exist" in err and "/dev/serial/by-id" in err
    status, out, _ = run_cli("info", "--port", str(tmp_path / "ttyUSB7"), "--json")
    assert json.loads(out)["error"]["code"] == "port_missing"


def test_busy_port_exits_3(link: str) -> None:
    from iotcard.drivers.transport import SerialTransport

    with ModemSimulator(profile="generic", link=link) as sim:
        holder = SerialTransport(sim.path)
        try:
            status, _, err = run_cli("--lang", "zh", "info", "--port", sim.path)
        finally:
            holder.close()
    assert status == 3
    assert "占用" in err


def test_at_prints_answer_and_ok(link: str) -> None:
    with ModemSimulator(profile="quectel_ec25", link=link) as sim:
        status, out, _ = run_cli("at", "--port", sim.path, "AT+CSQ")
        assert status == 0
        assert out.splitlines()[-1] == "OK"
        assert out.splitlines()[0].startswith("+CSQ: ")
        status, out, _ = run_cli("at", "--port", sim.path, "--json", 'AT+QENG="servingcell"')
        doc = json.loads(out)
        assert status == 0 and doc["ok"] is True
        assert doc["lines"][0].startswith('+QENG: "servingcell"')


def test_at_error_exits_1(link: str) -> None:
    with ModemSimulator(profile="generic", link=link) as sim:
        status, out, _ = run_cli("at", "--port", sim.path, "AT+NOSUCH")
    assert status == 1
    assert out.strip().endswith("ERROR")


@pytest.mark.parametrize("line", ["AT+CSQ\rAT+CFUN=0", "AT+CSQ\n", "AT\x1b[2J", "ls; rm -rf /", "ATé"])
def test_at_refuses_anything_but_one_printable_command(line: str, link: str) -> None:
    with ModemSimulator(profile="generic", link=link) as sim:
        status, _, err = run_cli("at", "--port", sim.path, line)
        assert sim.commands == []
    assert status == 2
    assert "error" in err


def test_console_script_runs_and_help_teaches() -> None:
    script = Path(sys.executable).with_name("iotcard")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "iotcard.agent.cli"]
    result = subprocess.run(
        [*command, "info", "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={**os.environ, "LANG": "C"},
    )
    assert result.returncode == 0
    assert "--json" in result.stdout and "exit" in result.stdout


def test_no_port_is_a_usage_error() -> None:
    env = {k: v for k, v in os.environ.items() if k != "IOTCARD_PORT"}
    result = subprocess.run(
        [sys.executable, "-m", "iotcard.agent.cli", "info"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env=env,
    )
    assert result.returncode == 2
    assert "--port" in result.stderr


def test_version_prints_the_installed_version() -> None:
    import subprocess
    import sys
    from importlib.metadata import version

    done = subprocess.run(
        [sys.executable, "-m", "iotcard.agent.cli", "--version"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0 and done.stdout.strip() == f"iotcard {version('iotcard')}"
