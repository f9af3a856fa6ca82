"""The collector's units (run and serve): hardened like the agent's, measured by systemd's own scorer; their command
lines are ones the collector accepts, and no secret (database or broker URL) is on them."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = {
    "run": ROOT / "systemd" / "iotcard-collector.service",
    "serve": ROOT / "systemd" / "iotcard-collector-api.service",
}


def _setting(text: str, name: str) -> list[str]:
    return re.findall(rf"^{name}=(.*)$", text, re.MULTILINE)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("command", sorted(UNITS))
def test_exposure_is_two_or_lower(command: str) -> None:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(UNITS[command])],
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0, result.stdout


@pytest.mark.parametrize("command", sorted(UNITS))
def test_the_command_line_is_one_the_collector_accepts(command: str) -> None:
    from iotcard.collector.cli import build_parser

    text = UNITS[command].read_text()
    environment = dict(value.split("=", 1) for value in _setting(text, "Environment"))
    (exec_start,) = _setting(text, "ExecStart")
    argv = shlex.split(exec_start)
    assert argv[:2] == ["/usr/bin/iotcard-collector", command]
    expanded: list[str] = []
    for arg in argv[1:]:
        if arg.startswith("$") and not arg.startswith("${"):  # systemd: $VAR splits into words, empty: none
            expanded += environment[arg[1:]].split()
            continue
        expanded.append(re.sub(r"\$\{(\w+)\}", lambda m: environment[m.group(1)], arg).replace("%H", "host"))
    args = build_parser().parse_args(expanded)
    assert args.command == command
    assert "--db" not in argv and "--broker" not in argv and "IOTCARD_COLLECTOR_DB" in environment  # not on ps
    assert environment["IOTCARD_COLLECTOR_DB"].startswith("sqlite:////var/lib/iotcard-collector/")
    assert _setting(text, "StateDirectory") == ["iotcard-collector"]
    assert _setting(text, "User") == ["iotcard-collector"] and _setting(text, "CapabilityBoundingSet") == [""]
    assert _setting(text, "EnvironmentFile") == ["-/etc/iotcard-collector/collector.env"]
