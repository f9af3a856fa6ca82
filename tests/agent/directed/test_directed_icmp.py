"""--icmp runs the system ping with an argument list; a recording stand-in checks the exact argv."""

from __future__ import annotations

import shutil
import stat
import sys
import time
from pathlib import Path

import pytest

from directed_loopback import ClosedPort
from iotcard.agent.directed import (
    Binding,
    BindMethod,
    IcmpStatus,
    ProbeOptions,
    Verdict,
    parse_target,
    ping_argv,
    probe_targets,
)
from iotcard.agent.directed._icmp import ping


def recording_ping(tmp_path: Path, exit_code: int, output: str) -> tuple[Path, Path]:
    """An executable that writes its argv (one per line) and prints ``output``."""
    record = tmp_path / "argv.txt"
    script = tmp_path / "fakeping"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"open({str(record)!r}, 'w').write('\\n'.join(sys.argv))\n"
        f"print({output!r})\n"
        f"sys.exit({exit_code})\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, record


def test_ping_argv() -> None:
    assert ping_argv("127.0.0.1", 2.0) == ["ping", "-n", "-c", "1", "-W", "2", "127.0.0.1"]
    assert ping_argv("127.0.0.1", 0.3, source="lo") == ["ping", "-n", "-c", "1", "-W", "1", "-I", "lo", "127.0.0.1"]
    assert ping_argv("::1", 2.5, command="/bin/ping")[-3:] == ["-W", "3", "::1"]


def test_reply_parsed_and_argv_exact(tmp_path: Path) -> None:
    script, record = recording_ping(tmp_path, 0, "64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.042 ms")
    binding = Binding(interface="lo", method=BindMethod.DEVICE)
    result = ping("127.0.0.1", timeout=2.0, binding=binding, command=str(script), clock=time.monotonic)
    assert result.status is IcmpStatus.REPLY
    assert result.rtt_ms == 0.042
    assert record.read_text().splitlines() == [str(script), "-n", "-c", "1", "-W", "2", "-I", "lo", "127.0.0.1"]


def test_hostile_looking_address_is_one_argument(tmp_path: Path) -> None:
    script, record = recording_ping(tmp_path, 1, "")
    result = ping("127.0.0.1; touch x", timeout=1.0, binding=Binding(), command=str(script), clock=time.monotonic)
    assert result.status is IcmpStatus.NO_REPLY
    assert record.read_text().splitlines()[-1] == "127.0.0.1; touch x"
    assert not (tmp_path / "x").exists()


def test_source_address_binding_pings_from_that_address(tmp_path: Path) -> None:
    script, record = recording_ping(tmp_path, 2, "ping: connect: Network is unreachable")
    binding = Binding(interface="wwan0", method=BindMethod.SOURCE_ADDRESS, source_v4="10.20.30.40")
    result = ping("127.0.0.1", timeout=1.0, binding=binding, command=str(script), clock=time.monotonic)
    assert result.status is IcmpStatus.ERROR
    assert result.detail == "ping: connect: Network is unreachable"
    assert record.read_text().splitlines()[-3:] == ["-I", "10.20.30.40", "127.0.0.1"]


def test_missing_ping_is_reported_not_raised() -> None:
    result = ping("127.0.0.1", timeout=1.0, binding=Binding(), command="no-such-ping-here", clock=time.monotonic)
    assert result.status is IcmpStatus.UNAVAILABLE
    assert result.detail == "'no-such-ping-here' is not installed"


def test_icmp_through_probe_targets(tmp_path: Path) -> None:
    script, record = recording_ping(tmp_path, 0, "64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.5 ms")
    closed = ClosedPort("127.0.0.3")  # refused, but the ping still runs
    try:
        [result] = probe_targets(
            [parse_target(f"127.0.0.3:{closed.port}")], ProbeOptions(icmp=True, ping_command=str(script), timeout=1.0)
        )
    finally:
        closed.close()
    assert result.verdict is Verdict.PORT_CLOSED  # ICMP never decides the verdict
    assert result.icmp is not None and result.icmp.status is IcmpStatus.REPLY and result.icmp.rtt_ms == 0.5
    assert record.read_text().splitlines()[1:] == ["-n", "-c", "1", "-W", "1", "127.0.0.3"]


@pytest.mark.skipif(shutil.which("ping") is None, reason="the ping command is not installed")
def test_real_ping_to_loopback() -> None:
    result = ping("127.0.0.1", timeout=1.0, binding=Binding(), command="ping", clock=time.monotonic)
    assert result.status is IcmpStatus.REPLY
    assert result.argv == ("ping", "-n", "-c", "1", "-W", "1", "127.0.0.1")
