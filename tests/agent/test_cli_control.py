"""The CLI's side of the control module: the FORWARDED table is the one place a forwarded command is described, and
the daemon's defaults reach a command as values (the options the user left out), never as argv surgery."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iotcard.agent.cli import build_parser, run_inside
from iotcard.agent.control import FORWARDED, DaemonDefaults, Forwarded, Inside
from iotcard.drivers.models import ModemSnapshot, SimInfo

OWN_PORT = "/dev/ttyOWN"


class Recorder:
    """Opens fake modems and remembers which ports the command asked for."""

    def __init__(self) -> None:
        self.opened: list[str] = []

    def __call__(self, port: str, baud: int) -> Recorder:
        self.opened.append(port)
        return self

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def read_snapshot(self) -> ModemSnapshot:
        return ModemSnapshot(sim=SimInfo(iccid="89860424102287654321"), port=self.opened[-1])


def inside(tmp_path: Path, modems: Recorder, config: Path | None = None) -> Inside:
    defaults = DaemonDefaults(port=OWN_PORT, config=config, state_dir=tmp_path / "state")
    return Inside(defaults=defaults, open_modem=modems, agent_status=lambda: {"uptime_s": 7})


def test_every_forwarded_command_is_a_cli_command() -> None:
    parser = build_parser()
    [commands] = [action for action in parser._actions if getattr(action, "choices", None) and "info" in action.choices]
    assert set(FORWARDED) <= set(commands.choices)
    assert "run" not in FORWARDED and "config" not in FORWARDED


@pytest.mark.parametrize(
    ("spec", "given", "expected"),
    [
        (FORWARDED["info"], set(), {"port": OWN_PORT}),
        (FORWARDED["info"], {"port"}, {}),
        (FORWARDED["diag"], set(), {"port": OWN_PORT, "config": Path("/etc/a.toml"), "state_dir": Path("/s")}),
        (FORWARDED["diag"], {"config"}, {"state_dir": Path("/s")}),  # the user's config names the port
        (FORWARDED["probe"], set(), {"config": Path("/etc/a.toml")}),
        (Forwarded("new", takes=("config",)), {"config"}, {}),
    ],
)
def test_the_daemons_values_fill_only_what_was_left_out(
    spec: Forwarded, given: set[str], expected: dict[str, object]
) -> None:
    own = DaemonDefaults(port=OWN_PORT, config=Path("/etc/a.toml"), state_dir=Path("/s"))
    assert spec.defaults(given, own) == expected


def test_info_inside_the_daemon_reads_the_daemons_modem_unless_told_another(tmp_path: Path) -> None:
    modems = Recorder()
    status, out, err = run_inside(["info", "--json"], "en", inside(tmp_path, modems))
    assert status == 0, err
    assert json.loads(out)["port"] == OWN_PORT
    status, out, _ = run_inside(["info", "--port", "/dev/ttyOTHER", "--json"], "en", inside(tmp_path, modems))
    assert status == 0 and modems.opened == [OWN_PORT, "/dev/ttyOTHER"]


def test_diag_with_the_users_own_config_takes_that_configs_port(tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text(f'[modem]\nport = "/dev/ttyCONFIG"\n[paths]\nstate_dir = "{tmp_path / "other-state"}"\n')
    modems = Recorder()
    run_inside(["diag", "--config", str(other), "--json"], "en", inside(tmp_path, modems))
    assert modems.opened == ["/dev/ttyCONFIG"]


def test_status_inside_the_daemon_reads_the_daemons_config_and_live_state(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(f'[paths]\nstate_dir = "{tmp_path / "daemon-state"}"\n')
    status, out, err = run_inside(["status", "--json"], "en", inside(tmp_path, Recorder(), config=config))
    assert status == 0, err
    assert json.loads(out) == {"agent": {"uptime_s": 7}}  # no outbox in the daemon's state dir yet: live state only
    config.write_text("[schedule]\nsignal = 1\n")  # the daemon's config, and only it, is now refused
    status, out, _ = run_inside(["status", "--json"], "en", inside(tmp_path, Recorder(), config=config))
    assert status == 2 and str(config) in json.loads(out)["error"]["message"]
