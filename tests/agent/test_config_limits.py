"""Issue 17, finding 10: `config check` gives one line (plus the hint) for every malformed file, never a traceback,
and no value is unbounded (a 50 MB device name is not a config)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from iotcard.agent.cli import main
from iotcard.agent.config import load_config
from iotcard.agent.errors import ConfigError


def check(path: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(["--lang", "en", "config", "check", str(path)], stdout=out, stderr=err)
    return status, err.getvalue()


MALFORMED = {
    "deeply nested": "a = " + "[" * 100_000 + "]" * 100_000 + "\n",
    "deeply nested tables": "a = " + "{b = " * 5_000 + "1" + "}" * 5_000 + "\n",
    "huge device name": '[device]\nname = "' + "x" * 2_000_000 + '"\n',
    "long device name": '[device]\nname = "' + "x" * 200 + '"\n',
    "long device id": '[device]\nid = "' + "d" * 65 + '"\n',
    "long modem port": '[modem]\nport = "/dev/' + "t" * 300 + '"\n',
    "long interface": '[usage]\ninterface = "wwan0wwan0wwan0wwan0"\n',
    "long path": '[paths]\nstate_dir = "/' + "p" * 5000 + '"\n',
    "NUL bytes": "[device]\x00\nname = 1\n",
    "not UTF-8": b"\xff\xfe[device]".decode("latin-1"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_file_is_one_line_never_a_traceback(name: str, tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    text = MALFORMED[name]
    path.write_bytes(text.encode("latin-1") if name == "not UTF-8" else text.encode())
    status, err = check(path)
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("iotcard: error: ") and "Traceback" not in err, err[:500]
    assert len(lines[0]) < 400


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    status, err = check(tmp_path)
    assert status == 2 and "is a directory" in err


def test_deeply_nested_environment_overrides_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text("")
    with pytest.raises(ConfigError):
        load_config(path, environ={"IOTCARD_DEVICE__NAME": "[" * 100_000 + "]" * 100_000})
