"""Issue 17, finding 4: a probe the cloud asks for is not a LAN or loopback port scanner.

Only loopback traffic: refused targets are on 127.0.0.0/8 and must see no connection at all; allowed ones are
reached only with ``[directed] allow_private = true``.
"""

from __future__ import annotations

import json
import queue
import time
from pathlib import Path
from typing import Any

import pytest

from directed_loopback import Network, OpenListener
from iotcard.agent.config import parse_config
from iotcard.agent.daemon._agent import Agent
from iotcard.agent.daemon._checks import probe_targets
from iotcard.agent.daemon._messages import Answer
from iotcard.agent.daemon.cloud import CloudCommands
from iotcard.agent.directed import ProbeOptions, Verdict, parse_dns_server, probe_texts, refused_address
from iotcard.agent.telemetry import CommandOutcome


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link_local"),
        ("fe80::1", "link_local"),
        ("fe80::1%eth0", "link_local"),
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.10", "private"),
        ("fd00::5", "private"),
        ("100.64.0.1", "cgnat"),
        ("0.0.0.0", "unspecified"),
        ("::ffff:192.168.1.10", "private"),  # IPv4-mapped
        ("64:ff9b::a9fe:a9fe", "link_local"),  # NAT64 of 169.254.169.254
        ("2002:c0a8:10a::1", "private"),  # 6to4 of 192.168.1.10
        ("240.0.0.1", "reserved"),
        ("8.8.8.8", None),
        ("47.96.1.2", None),
        ("2400:3200::1", None),
        ("not an ip", "not_an_address"),
    ],
)
def test_only_public_addresses_pass(address: str, why: str | None) -> None:
    assert refused_address(address) == why


def _seen(listener: OpenListener, peers: list[str], timeout: float = 5.0) -> bool:
    """The listener's thread accepts after the kernel completed the handshake: give it its turn."""
    deadline = time.monotonic() + timeout
    while listener.peers != peers and time.monotonic() < deadline:
        time.sleep(0.01)
    return listener.peers == peers


@pytest.fixture
def listener() -> Any:
    server = OpenListener("127.0.0.9")
    yield server
    server.close()


def agent_with(tmp_path: Path, **directed: Any) -> Agent:
    config = parse_config(
        {
            "modem": {"port": str(tmp_path / "ttyNONE")},
            "paths": {"state_dir": str(tmp_path / "state")},
            "directed": {"timeout": 1.0, **directed},
        }
    )
    return Agent(config, socket_path=None)


def test_a_cloud_probe_of_loopback_is_refused_before_any_packet(tmp_path: Path, listener: OpenListener) -> None:
    agent = agent_with(tmp_path)
    [result] = probe_targets(agent.config, None, [f"127.0.0.9:{listener.port}"], from_cloud=True)
    assert result.verdict is Verdict.INVALID_TARGET
    assert result.problem is not None and result.problem.reason == "refused_address"
    assert result.tcp is None
    assert listener.peers == []


def answer(posted: queue.Queue[Any]) -> CommandOutcome:
    """The next command result the agent posted to its MQTT session (the lane runs commands on its own thread)."""
    while not isinstance(message := posted.get(timeout=30), Answer):
        pass
    return message.outcome


def test_the_probe_command_refuses_private_targets(tmp_path: Path, listener: OpenListener) -> None:
    agent = agent_with(tmp_path)
    commands = CloudCommands()
    agent.register_commands(commands)
    posted: queue.Queue[Any] = queue.Queue()
    agent.post = posted.put  # type: ignore[method-assign]
    body = {"request_id": "p1", "targets": [f"127.0.0.9:{listener.port}", f"10.0.0.1:{listener.port}"]}
    assert not commands.handle("probe", json.dumps(body).encode()).publish  # answered once the lane ran it
    outcome = answer(posted)
    assert outcome.ok and outcome.result is not None
    assert [r["verdict"] for r in outcome.result["results"]] == ["invalid_target", "invalid_target"]
    assert listener.peers == []
    # set_config cannot make the daily round probe them either.
    body = {"request_id": "p2", "directed_targets": [f"127.0.0.9:{listener.port}"]}
    commands.handle("set_config", json.dumps(body).encode())
    refused = answer(posted)
    assert (refused.ok, refused.error_code) == (False, "refused_target")
    assert agent.board.settings.targets == ()
    agent.jobs.stop()


def test_allow_private_lets_the_operator_probe_a_private_apn(tmp_path: Path, listener: OpenListener) -> None:
    agent = agent_with(tmp_path, allow_private=True)
    [result] = probe_targets(agent.config, None, [f"127.0.0.9:{listener.port}"], from_cloud=True)
    assert result.verdict is Verdict.REACHABLE
    assert _seen(listener, ["127.0.0.1"])


def test_the_config_files_own_targets_are_trusted(tmp_path: Path, listener: OpenListener) -> None:
    agent = agent_with(tmp_path)
    [result] = probe_targets(agent.config, None, [f"127.0.0.9:{listener.port}"])
    assert result.verdict is Verdict.REACHABLE


def test_a_name_that_resolves_to_loopback_is_refused_after_dns(net: Network) -> None:
    options = ProbeOptions(dns_servers=(parse_dns_server(net.dns),), timeout=1.0, address_filter=refused_address)
    before = list(net.open.peers)
    [result] = probe_texts([f"open.iot.test:{net.open.port}"], options)
    assert result.verdict is Verdict.INVALID_TARGET and result.dns is not None
    assert net.open.peers == before


def test_cloud_probes_are_bound_to_the_configured_cellular_interface(tmp_path: Path, listener: OpenListener) -> None:
    config = parse_config(
        {
            "modem": {"port": str(tmp_path / "ttyNONE")},
            "paths": {"state_dir": str(tmp_path / "state")},
            "usage": {"interface": "lo"},
            "directed": {"timeout": 1.0, "allow_private": True},
        }
    )
    [result] = probe_targets(config, None, [f"127.0.0.9:{listener.port}"], from_cloud=True)
    assert result.binding.interface == "lo"
