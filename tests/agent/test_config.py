"""The config file: unknown keys refused, errors name the file, the key and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotcard.agent.config import AgentConfig, load_config
from iotcard.agent.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_config_gets_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[modem]\nport = "/dev/ttyUSB2"\n'))
    assert config.modem.port == "/dev/ttyUSB2"
    assert config.modem.baud == 115200
    assert config.paths.state_dir == Path("/var/lib/iotcard")
    assert isinstance(config, AgentConfig)


def test_unknown_key_is_named_with_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[modem]\nprot = "/dev/ttyUSB2"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in info.value.message
    assert "modem.prot" in info.value.message
    assert "unknown key" in info.value.message


def test_wrong_type_names_key_and_expectation(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "[modem]\nbaud = -5\n"))
    assert "modem.baud" in info.value.message
    assert "greater than 0" in info.value.message


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[modem\nport = 1\n"))
    with pytest.raises(ConfigError, match="does not exist") as info:
        load_config(tmp_path / "nope.toml")
    assert info.value.code == "config_missing"


def test_binary_garbage_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(path)


def test_environment_overrides_win_and_are_named_in_errors(tmp_path: Path) -> None:
    path = write(tmp_path, '[modem]\nport = "/dev/ttyUSB2"\nbaud = 9600\n')
    config = load_config(path, environ={"IOTCARD_MODEM__BAUD": "115200", "IOTCARD_PATHS__STATE_DIR": "/tmp/x"})
    assert config.modem.baud == 115200
    assert config.modem.port == "/dev/ttyUSB2"
    assert config.paths.state_dir == Path("/tmp/x")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={"IOTCARD_MODEM__BAUD": "fast"})
    assert "IOTCARD_MODEM__*" in info.value.message and "modem.baud" in info.value.message
    with pytest.raises(ConfigError, match=r"unknown key 'modem\.speed'"):
        load_config(path, environ={"IOTCARD_MODEM__SPEED": "1"})


def test_environment_json_lists_and_cli_variables_left_alone(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    config = load_config(
        path,
        environ={
            "IOTCARD_DIRECTED__TARGETS": '["ecloud.haiwell.com", "203.0.113.7:8883"]',
            "IOTCARD_PORT": "/dev/ttyUSB9",
            "IOTCARD_SOCKET": "/run/x.sock",
        },
    )
    assert config.directed.targets == ["ecloud.haiwell.com", "203.0.113.7:8883"]
    assert config.modem.port is None
    with pytest.raises(ConfigError, match="IOTCARD_DIRECTED__TARGETS: not valid JSON"):
        load_config(path, environ={"IOTCARD_DIRECTED__TARGETS": "[oops"})


def test_example_config_is_valid_and_names_every_key() -> None:
    import re

    from pydantic import BaseModel

    example = Path(__file__).resolve().parents[2] / "config" / "agent.example.toml"
    text = example.read_text(encoding="utf-8")
    load_config(example, environ={})
    for section, field in AgentConfig.model_fields.items():
        assert re.search(rf"^#? ?\[{section}\]", text, re.MULTILINE), f"[{section}] is not in the example"
        model = next(
            arg
            for arg in (getattr(field.annotation, "__args__", None) or (field.annotation,))
            if isinstance(arg, type) and issubclass(arg, BaseModel)
        )
        for key in model.model_fields:
            assert re.search(rf"^#? ?{key} = ", text, re.MULTILINE), f"{section}.{key} is not documented"
