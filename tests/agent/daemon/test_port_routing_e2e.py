"""Two modems on one gateway, the agent on one of them: the CLI shows each port's own facts.

Two pty simulators with different profiles (A: Quectel, B: SIMCom, with different ICCIDs and IMEIs), the daemon as a
process on A (no MQTT), and the CLI as a process, as a technician runs it."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from iotcard.simulators.modem import PROFILES, ModemSimulator

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
PROFILE_A, PROFILE_B = "quectel_ec25", "simcom_sim7600"


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


@dataclass
class Gateway:
    port_a: str
    port_b: str
    control: Path
    agent: subprocess.Popen[str]

    def cli(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        environment = {k: v for k, v in os.environ.items() if k != "IOTCARD_PORT"}
        environment.update({"IOTCARD_SOCKET": str(self.control), **(env or {})})
        return subprocess.run(
            [sys.executable, "-m", "iotcard.agent.cli", "--lang", "en", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=environment,
            timeout=60,
        )


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    assert PROFILES[PROFILE_A].sim.iccid != PROFILES[PROFILE_B].sim.iccid
    with (
        ModemSimulator(profile=PROFILE_A, link=str(tmp_path / "ttyA")) as sim_a,
        ModemSimulator(profile=PROFILE_B, link=str(tmp_path / "ttyB")) as sim_b,
    ):
        assert sim_a.path and sim_b.path
        config = tmp_path / "agent.toml"
        config.write_text(
            f'[modem]\nport = "{sim_a.path}"\n[paths]\nstate_dir = "{tmp_path / "state"}"\n[usage]\ninterface = "lo"\n'
        )
        control = tmp_path / "agent.sock"
        agent = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "iotcard.agent.cli",
                "run",
                "--config",
                str(config),
                "--control-socket",
                str(control),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        gateway = Gateway(sim_a.path, sim_b.path, control, agent)
        try:
            wait_for(lambda: agent.poll() is not None or gateway.cli("status", "--json").returncode == 0, 30, "agent")
            assert agent.poll() is None, agent.communicate()[1][-3000:]
            # The agent holds A: opening it directly is refused, so an answer about A came through the agent.
            wait_for(lambda: gateway.cli("--direct", "info", "--port", sim_a.path or "").returncode == 3, 30, "A held")
            yield gateway
        finally:
            agent.terminate()
            try:
                agent.wait(15)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait(10)


def test_info_on_another_port_shows_that_modems_iccid(gateway: Gateway) -> None:
    result = gateway.cli("info", "--port", gateway.port_b, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert doc["sim"]["iccid"] == PROFILES[PROFILE_B].sim.iccid
    assert doc["modem"]["imei"] == PROFILES[PROFILE_B].imei
    assert doc["port"] == gateway.port_b

    human = gateway.cli("info", "--port", gateway.port_b)
    assert human.returncode == 0, human.stderr
    assert PROFILES[PROFILE_B].sim.iccid in human.stdout and f"Port: {gateway.port_b}" in human.stdout

    from_env = gateway.cli("info", "--json", env={"IOTCARD_PORT": gateway.port_b})
    assert from_env.returncode == 0, from_env.stdout + from_env.stderr
    assert json.loads(from_env.stdout)["sim"]["iccid"] == PROFILES[PROFILE_B].sim.iccid


def test_the_agents_port_by_any_name_goes_through_the_agent(gateway: Gateway, tmp_path: Path) -> None:
    cellular = tmp_path / "ttyCellular"
    cellular.symlink_to(os.path.realpath(gateway.port_a))  # a second udev name for the same device
    for name in (gateway.port_a, str(cellular), os.path.realpath(gateway.port_a)):
        result = gateway.cli("info", "--port", name, "--json")
        assert result.returncode == 0, (name, result.stdout + result.stderr)
        doc = json.loads(result.stdout)
        assert doc["sim"]["iccid"] == PROFILES[PROFILE_A].sim.iccid
        assert doc["port"] == gateway.port_a  # the agent's port, which the agent read
    no_port = gateway.cli("info", "--json")
    assert no_port.returncode == 0 and json.loads(no_port.stdout)["sim"]["iccid"] == PROFILES[PROFILE_A].sim.iccid


def test_diag_and_at_on_another_port_read_that_modem(gateway: Gateway, tmp_path: Path) -> None:
    # Run here, not in the agent: its own state dir (never the machine's /var/lib/iotcard).
    diag = gateway.cli("diag", "--port", gateway.port_b, "--state-dir", str(tmp_path / "diag-state"), "--json")
    assert diag.returncode in (0, 1), diag.stdout + diag.stderr
    snapshot = json.loads(diag.stdout)["snapshot"]
    assert snapshot["sim"]["iccid"] == PROFILES[PROFILE_B].sim.iccid and snapshot["port"] == gateway.port_b

    at_b = gateway.cli("at", "--port", gateway.port_b, "--json", "AT+CGSN")
    assert at_b.returncode == 0, at_b.stdout + at_b.stderr
    doc = json.loads(at_b.stdout)
    assert PROFILES[PROFILE_B].imei in " ".join(doc["lines"]) and doc["port"] == gateway.port_b
    at_a = gateway.cli("at", "--port", gateway.port_a, "--json", "AT+CGSN")
    assert at_a.returncode == 0, at_a.stdout + at_a.stderr
    assert PROFILES[PROFILE_A].imei in " ".join(json.loads(at_a.stdout)["lines"])


def test_a_busy_other_port_is_named_and_exits_3(gateway: Gateway) -> None:
    # Another program holds B the way the serial transport does: an exclusive flock.
    holder = os.open(gateway.port_b, os.O_RDWR | os.O_NOCTTY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = gateway.cli("info", "--port", gateway.port_b, "--json")
        assert result.returncode == 3, result.stdout + result.stderr
        error = json.loads(result.stdout)["error"]
        assert error["code"] == "port_busy" and gateway.port_b in error["message"]
        human = gateway.cli("info", "--port", gateway.port_b)
        assert human.returncode == 3 and f"serial port {gateway.port_b} is in use" in human.stderr
        assert PROFILES[PROFILE_A].sim.iccid not in human.stdout + human.stderr
    finally:
        os.close(holder)


def test_usage_sample_for_another_modem_is_refused(gateway: Gateway) -> None:
    result = gateway.cli("usage", "sample", "--port", gateway.port_b, "--json")
    assert result.returncode == 2, result.stdout + result.stderr
    assert json.loads(result.stdout)["error"]["code"] == "not_agent_port"
