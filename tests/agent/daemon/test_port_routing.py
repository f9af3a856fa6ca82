"""Which modem answers: a command naming another modem port than the agent's is never answered with the agent's
modem. Unit level: the port comparison, the control socket's ``port``/``agent_port`` exchange, the CLI's choice,
and the agent's handler, with fakes for the modems (the end-to-end test with two simulators is
test_port_routing_e2e.py)."""

from __future__ import annotations

import gc
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from iotcard.agent.cli import main, run_inside
from iotcard.agent.config import parse_config
from iotcard.agent.control import ControlServer, forward, same_port
from iotcard.agent.daemon._agent import Agent
from iotcard.agent.errors import OtherPort
from iotcard.drivers.errors import PortError
from iotcard.drivers.models import ModemSnapshot, SimInfo

ICCID_A = "89860424102287654321"
ICCID_B = "898604A8192280123456"


@pytest.fixture
def ptys() -> Iterator[tuple[str, str]]:
    """Two real character devices (pty slaves), as two modems' ports."""
    fds: list[int] = []
    names = []
    for _ in range(2):
        master, slave = os.openpty()
        fds += [master, slave]
        names.append(os.ttyname(slave))
    yield names[0], names[1]
    for fd in fds:
        os.close(fd)


# -- same_port ---------------------------------------------------------------------------------------------------


def test_a_udev_link_and_its_device_are_the_same_port(ptys: tuple[str, str], tmp_path: Path) -> None:
    port_a, port_b = ptys
    cellular = tmp_path / "ttyCellular"
    cellular.symlink_to(port_a)
    by_id = tmp_path / "by-id" / "usb-Quectel_EC25-if02-port0"
    by_id.parent.mkdir()
    by_id.symlink_to(Path("..") / "ttyCellular")  # relative, as udev writes them
    assert same_port(str(cellular), port_a)
    assert same_port(str(by_id), port_a)
    assert same_port(port_a, str(by_id))
    assert not same_port(str(cellular), port_b)
    assert not same_port(port_a, port_b)


def test_a_vanished_port_compares_by_where_its_name_points(ptys: tuple[str, str], tmp_path: Path) -> None:
    gone = tmp_path / "ttyUSB9"
    link = tmp_path / "ttyCellular"
    link.symlink_to(gone)  # dangling: the module re-enumerates
    assert same_port(str(link), str(gone))
    assert same_port(str(gone), str(gone))
    assert not same_port(str(gone), str(tmp_path / "ttyUSB8"))
    assert not same_port(str(gone), ptys[0])


# -- the control socket ------------------------------------------------------------------------------------------


@contextmanager
def fake_agent(tmp_path: Path, own_port: str) -> Iterator[list[tuple[list[str], str | None]]]:
    """A control socket answering as an agent on ``own_port`` would; yields the requests it got."""
    seen: list[tuple[list[str], str | None]] = []

    def handler(argv: list[str], lang: str, tty: bool, port: str | None) -> tuple[int, str, str]:
        seen.append((list(argv), port))
        if port is not None and not same_port(port, own_port):
            raise OtherPort(own_port)
        return 0, "answered by the agent\n", ""

    server = ControlServer(tmp_path / "agent.sock", handler).start()
    try:
        yield seen
    finally:
        server.close()


def test_forward_sends_the_port_and_hears_other_port(ptys: tuple[str, str], tmp_path: Path) -> None:
    port_a, port_b = ptys
    with fake_agent(tmp_path, port_a) as seen:
        status, out, _ = forward(tmp_path / "agent.sock", ["info"], "en", False, port=port_a)
        assert (status, out) == (0, "answered by the agent\n")
        with pytest.raises(OtherPort) as raised:
            forward(tmp_path / "agent.sock", ["info", "--port", port_b], "en", False, port=port_b)
        assert raised.value.agent_port == port_a
        forward(tmp_path / "agent.sock", ["status"], "en", False)
    assert seen == [(["info"], port_a), (["info", "--port", port_b], port_b), (["status"], None)]


def test_a_port_that_is_not_a_string_is_a_bad_request(tmp_path: Path) -> None:
    import socket

    with fake_agent(tmp_path, "/dev/null") as seen, socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(tmp_path / "agent.sock"))
        sock.sendall(json.dumps({"argv": ["info"], "port": 3}).encode() + b"\n")
        reply = json.loads(sock.makefile().readline())
    assert reply["status"] == 2 and "port must be a string" in reply["stderr"]
    assert seen == []


# -- the CLI's choice --------------------------------------------------------------------------------------------


class FakeModem:
    def __init__(self, port: str, iccid: str) -> None:
        self.port, self.iccid = port, iccid

    def __enter__(self) -> FakeModem:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def read_snapshot(self) -> ModemSnapshot:
        return ModemSnapshot(sim=SimInfo(iccid=self.iccid), port=self.port)


def run_cli(tmp_path: Path, *args: str, opened: list[str] | None = None) -> tuple[int, str, str]:
    """``iotcard --socket tmp/agent.sock ARGS``; a port opened here is recorded and answers as modem B."""

    def open_here(port: str, baud: int) -> FakeModem:
        if opened is not None:
            opened.append(port)
        return FakeModem(port, ICCID_B)

    out, err = io.StringIO(), io.StringIO()
    status = main(["--socket", str(tmp_path / "agent.sock"), *args], stdout=out, stderr=err, open_modem=open_here)
    return status, out.getvalue(), err.getvalue()


def test_without_port_the_command_goes_to_the_agent(ptys: tuple[str, str], tmp_path: Path) -> None:
    opened: list[str] = []
    with fake_agent(tmp_path, ptys[0]) as seen:
        status, out, _ = run_cli(tmp_path, "info", "--json", opened=opened)
    assert (status, out) == (0, "answered by the agent\n")
    assert seen == [(["info", "--json"], None)] and opened == []


def test_the_agents_own_port_by_any_name_goes_to_the_agent(ptys: tuple[str, str], tmp_path: Path) -> None:
    port_a, _ = ptys
    cellular = tmp_path / "ttyCellular"
    cellular.symlink_to(port_a)
    opened: list[str] = []
    with fake_agent(tmp_path, port_a) as seen:
        for name in (port_a, str(cellular)):
            status, out, _ = run_cli(tmp_path, "info", "--port", name, "--json", opened=opened)
            assert (status, out) == (0, "answered by the agent\n")
    assert [port for _, port in seen] == [port_a, port_a]  # resolved on the CLI's side
    assert opened == []


def test_another_port_is_opened_here_and_reports_its_own_facts(ptys: tuple[str, str], tmp_path: Path) -> None:
    port_a, port_b = ptys
    opened: list[str] = []
    with fake_agent(tmp_path, port_a) as seen:
        status, out, _ = run_cli(tmp_path, "info", "--port", port_b, "--json", opened=opened)
        assert status == 0
        doc = json.loads(out)
        assert doc["sim"]["iccid"] == ICCID_B and doc["port"] == port_b
        status, out, _ = run_cli(tmp_path, "--lang", "en", "info", "--port", port_b, opened=opened)
        assert status == 0 and f"Port: {port_b}" in out
    assert opened == [port_b, port_b]
    assert [port for _, port in seen] == [port_b, port_b]


def test_iotcard_port_in_the_environment_names_the_port_too(
    ptys: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port_a, port_b = ptys
    monkeypatch.setenv("IOTCARD_PORT", port_b)
    opened: list[str] = []
    with fake_agent(tmp_path, port_a):
        status, out, _ = run_cli(tmp_path, "info", "--json", opened=opened)
    assert status == 0 and json.loads(out)["sim"]["iccid"] == ICCID_B
    assert opened == [port_b]


def test_a_busy_other_port_is_named_with_exit_3(ptys: tuple[str, str], tmp_path: Path) -> None:
    port_a, port_b = ptys

    def busy(port: str, baud: int) -> FakeModem:
        raise PortError(f"serial port {port} is in use by another program", port=port, code="port_busy")

    out = io.StringIO()
    with fake_agent(tmp_path, port_a):
        status = main(
            ["--socket", str(tmp_path / "agent.sock"), "info", "--port", port_b, "--json"],
            stdout=out,
            stderr=io.StringIO(),
            open_modem=busy,
        )
    assert status == 3
    error = json.loads(out.getvalue())["error"]
    assert error["code"] == "port_busy" and port_b in error["message"]


def test_probe_port_is_a_tcp_port_not_a_modem(ptys: tuple[str, str], tmp_path: Path) -> None:
    with fake_agent(tmp_path, ptys[0]) as seen:
        status, _, _ = run_cli(tmp_path, "probe", "example.com", "--port", "443")
    assert status == 0 and seen == [(["probe", "example.com", "--port", "443"], None)]


# -- the agent's side --------------------------------------------------------------------------------------------


@pytest.fixture
def agent(ptys: tuple[str, str], tmp_path: Path) -> Iterator[Agent]:
    port_a, _ = ptys
    config = parse_config(
        {"modem": {"port": port_a}, "paths": {"state_dir": str(tmp_path / "state")}, "usage": {"interface": "lo"}}
    )
    made: list[str] = []

    def make_modem(port: str, baud: int) -> FakeModem:
        made.append(port)
        return FakeModem(port, ICCID_A)

    running = Agent(config, socket_path=None, make_modem=make_modem, dispatch=run_inside)  # type: ignore[arg-type]
    running.made = made  # type: ignore[attr-defined]
    try:
        yield running
    finally:
        running.worker.close(timeout=2)
        running.meter.close(timeout=3)


def test_the_agent_answers_for_its_own_port(agent: Agent, ptys: tuple[str, str]) -> None:
    port_a, _ = ptys
    for port in (None, port_a):
        status, out, err = agent.requests(["info", "--json"], "en", False, port)
        assert status == 0, err
        assert json.loads(out)["sim"]["iccid"] == ICCID_A and json.loads(out)["port"] == port_a


def test_the_agent_runs_nothing_for_another_port(agent: Agent, ptys: tuple[str, str]) -> None:
    port_a, port_b = ptys
    for argv in (["info", "--port", port_b], ["at", "--port", port_b, "AT"], ["diag", "--port", port_b]):
        with pytest.raises(OtherPort) as raised:
            agent.requests(argv, "en", False, port_b)
        assert raised.value.agent_port == port_a
    assert agent.made == []  # type: ignore[attr-defined]


def test_the_agent_checks_a_port_it_is_told_only_in_argv(agent: Agent, ptys: tuple[str, str], tmp_path: Path) -> None:
    """A client that does not send ``port``, and diag taking the port from the user's own config file."""
    _, port_b = ptys
    with pytest.raises(OtherPort):
        agent.requests(["info", "--port", port_b, "--json"], "en", False, None)
    other = tmp_path / "other.toml"
    other.write_text(f'[modem]\nport = "{port_b}"\n[paths]\nstate_dir = "{tmp_path / "other-state"}"\n')
    with pytest.raises(OtherPort):
        agent.requests(["diag", "--config", str(other), "--json"], "en", False, None)
    assert agent.made == []  # type: ignore[attr-defined]


def test_usage_sample_for_another_modem_is_refused(agent: Agent, ptys: tuple[str, str]) -> None:
    port_a, port_b = ptys
    status, out, _ = agent.requests(["usage", "sample", "--port", port_b, "--json"], "en", False, port_b)
    assert status == 2
    error = json.loads(out)["error"]
    assert error["code"] == "not_agent_port" and port_a in error["message"] and port_b in error["message"]


def test_a_request_leaves_no_garbage_for_later(agent: Agent, ptys: tuple[str, str]) -> None:
    # A command run for the CLI builds the whole argparse tree, hundreds of objects in reference cycles; left to the
    # rare full collection, the garbage of many requests raised the daemon's RSS for good (docs/benchmarks.md).
    gc.collect()
    gc.disable()
    try:
        status, _, err = agent.requests(["info", "--json"], "en", False, ptys[0])
        left = gc.collect()
    finally:
        gc.enable()
    assert status == 0, err
    assert left < 50, f"{left} unreachable objects left after the request"
