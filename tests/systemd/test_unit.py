"""The systemd unit: its hardening is measured by systemd's own scorer, and the udev rule keeps ModemManager away."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "systemd" / "iotcard-agent.service"
RULES = ROOT / "systemd" / "99-iotcard-modem.rules"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_exposure_is_two_or_lower() -> None:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(UNIT)], capture_output=True, text=True, check=False
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0, result.stdout


def test_unit_is_notify_with_watchdog_and_dedicated_user() -> None:
    text = UNIT.read_text()
    for line in (
        "Type=notify",
        "Restart=on-failure",
        "User=iotcard",
        "SupplementaryGroups=dialout iotcard-cli",
        "StateDirectory=iotcard",
        "RuntimeDirectory=iotcard",
        "ExecStart=/usr/bin/iotcard run --config /etc/iotcard/agent.toml",
    ):
        assert line in text.splitlines(), line
    assert re.search(r"^WatchdogSec=\d+s$", text, re.MULTILINE)


def test_udev_rules_ignore_the_at_port_for_modemmanager() -> None:
    rules = [line for line in RULES.read_text().splitlines() if line and not line.startswith("#")]
    assert rules
    for rule in rules:
        assert 'ENV{ID_MM_PORT_IGNORE}="1"' in rule
        assert 'SYMLINK+="iotcard-at"' in rule
        assert 'SUBSYSTEM=="tty"' in rule


def test_cli_access_is_a_group_of_its_own() -> None:
    """The control socket's group (iotcard-cli) is not the daemon's group, which may read the config and the MQTT
    password file; the runtime directory lets that group reach the socket."""
    from iotcard.agent.daemon import CONTROL_GROUP

    text = UNIT.read_text()
    group = re.search(r"^Group=(\S+)$", text, re.MULTILINE)
    assert group and group.group(1) != CONTROL_GROUP == "iotcard-cli"
    assert re.search(rf"^SupplementaryGroups=.*\b{CONTROL_GROUP}\b", text, re.MULTILINE)
    assert "RuntimeDirectoryMode=0755" in text.splitlines()
