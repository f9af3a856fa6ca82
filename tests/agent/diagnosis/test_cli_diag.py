"""`iotcard diag` end to end on the pty simulator: every scenario maps to its findings, with exit codes."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from clocks import FIXED, FixedClock

from iotcard.agent.cli import main
from iotcard.agent.usage import MeterSettings, UsageMeter
from iotcard.simulators.modem import PROFILES, ModemSimulator

pytestmark = pytest.mark.integration


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(args), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def diag(
    tmp_path: Path, scenario: str, *extra: str, profile: str = "quectel_ec25", lang: str = "en"
) -> tuple[int, dict]:
    with ModemSimulator(profile=profile, scenario=scenario, link=str(tmp_path / "tty")) as sim:
        status, out, _ = run_cli(
            "--lang", lang, "diag", "--port", sim.path, "--state-dir", str(tmp_path / "state"), "--json", *extra
        )
    return status, json.loads(out)


@pytest.mark.parametrize(
    ("scenario", "first", "verdict", "status"),
    [
        ("normal", "ok", "ok", 0),
        ("sim_absent", "sim_absent", "fail", 1),
        ("pin_locked", "sim_pin_required", "fail", 1),
        ("puk_locked", "sim_puk_required", "fail", 1),
        ("registration_denied", "registration_denied", "fail", 1),
        ("searching_no_signal", "no_signal", "fail", 1),
        ("roaming", "roaming", "degraded", 1),
        ("urc_storm", "ok", "ok", 0),
        ("garbage_bytes", "ok", "ok", 0),
        ("split_chunks", "ok", "ok", 0),
        ("reboot", "ok", "ok", 0),
        ("port_vanish", "ok", "ok", 0),
        ("hang", "modem_unresponsive", "fail", 4),
    ],
)
def test_scenario_findings(tmp_path: Path, scenario: str, first: str, verdict: str, status: int) -> None:
    code, doc = diag(tmp_path, scenario)
    assert code == status
    assert doc["verdict"] == verdict
    assert doc["findings"][0]["code"] == first
    assert all(f["message"] for f in doc["findings"])
    if scenario == "searching_no_signal":
        assert [f["code"] for f in doc["findings"]] == ["no_signal", "searching"]
    if scenario == "hang":
        assert doc["snapshot"] is None
    else:
        assert doc["snapshot"]["modem"]["imei"] == PROFILES["quectel_ec25"].imei


def test_missing_port_exits_3_and_still_prints_findings(tmp_path: Path) -> None:
    status, out, _ = run_cli("diag", "--port", str(tmp_path / "ttyUSB9"), "--state-dir", str(tmp_path), "--json")
    doc = json.loads(out)
    assert status == 3
    assert doc["findings"][0]["code"] == "port_unavailable"
    assert "does not exist" in doc["findings"][0]["message"]
    assert any(c["skipped"] and c["check"] == "sim" for c in doc["checks"])
    # The finding carries codes (what the daemon and a script read); the words come from the catalogue.
    assert doc["findings"][0]["params"] == {"error": "port_missing", "port": str(tmp_path / "ttyUSB9"), "reason": None}
    status, out, _ = run_cli("--lang", "zh", "diag", "--port", str(tmp_path / "ttyUSB9"), "--state-dir", str(tmp_path))
    assert status == 3
    assert f"无法使用模块串口：串口 {tmp_path / 'ttyUSB9'} 不存在" in out.splitlines()[0]


def test_changed_iccid_and_imei_between_two_runs(tmp_path: Path) -> None:
    status, doc = diag(tmp_path, "normal", profile="quectel_ec25")
    assert status == 0
    assert json.loads((tmp_path / "state" / "identity.json").read_text())["iccid"] == PROFILES["quectel_ec25"].sim.iccid
    # The same card's holder swapped: the SIMCom profile has another card and another module.
    status, doc = diag(tmp_path, "normal", profile="simcom_sim7600")
    codes = [f["code"] for f in doc["findings"]]
    assert status == 1 and doc["verdict"] == "degraded"
    assert codes == ["iccid_changed", "imei_changed"]
    assert PROFILES["simcom_sim7600"].imei in doc["findings"][1]["message"]
    # Seen once, remembered: a third run on the same device is clean.
    status, doc = diag(tmp_path, "normal", profile="simcom_sim7600")
    assert status == 0


def test_plan_near_exhaustion(tmp_path: Path) -> None:
    state = tmp_path / "state"
    sysfs = tmp_path / "sys"
    stats = sysfs / "class" / "net" / "wwan0" / "statistics"
    stats.mkdir(parents=True)
    settings = MeterSettings(interface="wwan0", sysfs_root=sysfs, proc_root=tmp_path / "proc", timezone="UTC")
    clock = FixedClock(FIXED - timedelta(minutes=2))
    counters = iter([(0, 0), (95 * 2**20, 1 * 2**20)])

    def write_counters() -> None:
        rx, tx = next(counters)
        (stats / "rx_bytes").write_text(f"{rx}\n")
        (stats / "tx_bytes").write_text(f"{tx}\n")

    with UsageMeter(state, settings, clock=clock.epoch) as meter:
        write_counters()
        meter.sample()
        clock.advance(seconds=60)
        write_counters()
        meter.sample()
        meter.commit(final=True)
    today = FIXED.date()
    config = tmp_path / "agent.toml"
    config.write_text(
        '[usage]\ninterface = "wwan0"\ntimezone = "UTC"\n'
        f'sysfs_root = "{sysfs}"\n'
        f'[plan]\nname = "100MB/month"\ntotal_mb = 100\ncycle_start = "{today - timedelta(days=3)}"\n'
        f'cycle_end = "{today + timedelta(days=20)}"\n'
    )
    with time_machine.travel(FIXED, tick=True):  # the CLI reads the meter and the plan "today", at FIXED
        status, doc = diag(tmp_path, "normal", "--config", str(config))
    assert status == 1
    assert doc["findings"][0]["code"] == "data_low"
    assert doc["usage"]["cycle"]["total_bytes"] == 96 * 2**20
    assert "MB" in doc["findings"][0]["message"]
    params = doc["findings"][0]["params"]
    assert (params["used_bytes"], params["total_bytes"], params["remaining_bytes"]) == (96 << 20, 100 << 20, 4 << 20)


def test_human_output_in_chinese(tmp_path: Path) -> None:
    with ModemSimulator(profile="huawei_me909s", scenario="registration_denied", link=str(tmp_path / "tty")) as sim:
        status, out, _ = run_cli("--lang", "zh", "diag", "--port", sim.path, "--state-dir", str(tmp_path))
    assert status == 1
    first = out.splitlines()[0]
    assert first.startswith("诊断结果: 故障")
    assert "网络拒绝此卡注册" in out
    assert "停机" in out
    assert "\033[" not in out  # no colour when not on a terminal


@pytest.fixture
def loopback(tmp_path: Path):
    import shutil

    from directed_loopback import RECORDS, BlockedListener, Dnsmasq, OpenListener

    if shutil.which("dnsmasq") is None and not Path("/usr/sbin/dnsmasq").exists():
        pytest.skip("dnsmasq is not installed ('make test' as root installs it)")
    opened, blocked = OpenListener("127.0.0.2"), BlockedListener("127.0.0.4")
    if not blocked.verified:
        pytest.skip("this kernel answers SYNs to a full accept queue: no silent-drop listener")
    server = Dnsmasq(dict(RECORDS)).start()
    try:
        yield server.address, opened.port, blocked.port
    finally:
        server.stop()
        opened.close()
        blocked.close()


def test_directed_targets_reachable_and_blocked(tmp_path: Path, loopback: tuple[str, int, int]) -> None:
    dns, open_port, blocked_port = loopback
    targets = [f"open.iot.test:{open_port}", f"blocked.iot.test:{blocked_port}"]
    status, doc = diag(tmp_path, "normal", "--targets", *targets, "--dns", dns, "--timeout", "1")
    assert status == 1
    assert [f["code"] for f in doc["findings"]] == ["directed_blocked"]
    assert f"blocked.iot.test:{blocked_port} (blocked)" in doc["findings"][0]["message"]
    assert [r["verdict"] for r in doc["probes"]["results"]] == ["reachable", "blocked"]


def test_dns_failing_for_every_target(tmp_path: Path, loopback: tuple[str, int, int]) -> None:
    dns, _, _ = loopback
    status, doc = diag(tmp_path, "normal", "--targets", "missing.iot.test", "gone.iot.test", "--dns", dns)
    assert status == 1
    assert doc["findings"][0]["code"] == "dns_failed"


def test_targets_are_not_probed_without_an_ip(tmp_path: Path) -> None:
    status, doc = diag(tmp_path, "registration_denied", "--targets", "127.0.0.2:9")
    assert status == 1
    assert doc["probes"] is None
    directed = next(c for c in doc["checks"] if c["check"] == "directed")
    assert directed["skipped"]


def test_wildcard_target_is_refused_with_exit_2(tmp_path: Path) -> None:
    with ModemSimulator(profile="generic", link=str(tmp_path / "tty")) as sim:
        status, _, err = run_cli("diag", "--port", sim.path, "--state-dir", str(tmp_path), "--targets", "*.haiwell.com")
    assert status == 2
    assert "ecloud.haiwell.com" in err or "third-level" in err
    status, _, err = run_cli("--lang", "zh", "diag", "--port", "/dev/null", "--targets", "*.haiwell.com")
    assert status == 2
    assert "是通配白名单规则，不是主机" in err and "例如 --targets" in err
