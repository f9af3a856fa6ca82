"""The config file: unknown keys refused, errors name the file, the key and what was expected."""

from __future__ import annotations

import dataclasses
import json
import typing
from datetime import date
from pathlib import Path
from types import NoneType

import pytest

from iotcard.agent.config import AgentConfig, UsageConfig, load_config, parse_config
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

    example = Path(__file__).resolve().parents[2] / "config" / "agent.example.toml"
    text = example.read_text(encoding="utf-8")
    load_config(example, environ={})
    hints = typing.get_type_hints(AgentConfig)
    for section in dataclasses.fields(AgentConfig):
        assert re.search(rf"^#? ?\[{section.name}\]", text, re.MULTILINE), f"[{section.name}] is not in the example"
        model = next(
            arg for arg in typing.get_args(hints[section.name]) or (hints[section.name],) if arg is not NoneType
        )
        for key in dataclasses.fields(model):
            assert re.search(rf"^#? ?{key.name} = ", text, re.MULTILINE), f"{section.name}.{key.name} is not documented"


def test_values_are_read_as_before_numbers_from_text_and_whole_floats() -> None:
    config = parse_config(
        {
            "modem": {"baud": "9600"},
            "usage": {"sample_interval": 30, "cycle_start_day": 5.0},
            "mqtt": {"tls": "no", "port": "1883"},
            "plan": {"cycle_start": "2026-01-01", "cycle_end": date(2026, 1, 31), "total_mb": 100},
        }
    )
    assert config.modem.baud == 9600 and isinstance(config.modem.baud, int)
    assert config.usage.sample_interval == 30.0 and isinstance(config.usage.sample_interval, float)
    assert config.usage.cycle_start_day == 5 and isinstance(config.usage.cycle_start_day, int)
    assert (config.mqtt.tls, config.mqtt.port) == (False, 1883)
    assert config.plan is not None and config.plan.cycle_start == date(2026, 1, 1)
    assert config.plan.total_mb == 100.0


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"device": {"name": 5}}, "'device.name': Input should be a valid string (got 5)"),
        ({"device": {"id": ""}}, "'device.id': String should have at least 1 character"),
        ({"device": {"id": "d" * 65}}, "'device.id': String should have at most 64 characters"),
        ({"modem": {"baud": 9600.5}}, "got a number with a fractional part"),
        ({"modem": {"baud": True}}, "'modem.baud': Input should be a valid integer"),
        ({"modem": {"baud": "fast"}}, "unable to parse string as an integer"),
        ({"usage": {"sample_interval": "nan"}}, "'usage.sample_interval': Input should be a finite number"),
        ({"usage": {"cycle_start_day": 32}}, "Input should be less than or equal to 31"),
        ({"usage": {"timezone": "Mars/Base"}}, "unknown time zone 'Mars/Base'"),
        ({"mqtt": {"port": 65536}}, "'mqtt.port': Input should be less than 65536"),
        ({"mqtt": {"protocol": "4"}}, "String should match pattern"),
        ({"mqtt": {"tls": "maybe"}}, "Input should be a valid boolean"),
        ({"mqtt": {"cert_file": "/c.pem"}}, "'mqtt': Value error, cert_file and key_file go together"),
        ({"mqtt": {"keepalive_floor": 600, "keepalive_initial": 300}}, "keepalive_floor <= keepalive_initial"),
        ({"plan": {"cycle_start": "2026-02-01", "cycle_end": "2026-01-01"}}, "cycle_end 2026-01-01 is before"),
        ({"plan": {"expiry": "tomorrow"}}, "'plan.expiry': Input should be a valid date"),
        ({"paths": {"state_dir": 7}}, "'paths.state_dir': Input is not a valid path"),
        ({"directed": {"dns": "8.8.8.8"}}, "'directed.dns': Input should be a valid list"),
        ({"directed": {"dns": ["8.8.8.8", 7]}}, "'directed.dns.1': Input should be a valid string"),
        ({"modem": "fast"}, "'modem': Input should be a valid dictionary"),
        ({"device": {"name": "x" * 5000}}, "longer than 4096 characters"),
    ],
)
def test_each_wrong_value_names_its_key_and_what_was_expected(data: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "agent.toml")
    assert caught.value.message.startswith("agent.toml: ")
    assert fragment in caught.value.message
    assert caught.value.code == "config_invalid"


def test_every_problem_is_reported_up_to_five() -> None:
    data = {"modem": {"baud": -1}, "device": {"id": ""}, "usage": {"cycle_start_day": 0}, "nope": 1}
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "agent.toml")
    message = caught.value.message
    assert all(part in message for part in ("modem.baud", "device.id", "usage.cycle_start_day", "unknown key 'nope'"))
    many = {"schedule": {name: 1 for name in ("signal", "telemetry", "directed", "diagnosis", "identity")}}
    with pytest.raises(ConfigError, match="; and 1 more"):
        parse_config({**many, "modem": {"baud": 0}})


def test_given_keys_tell_the_file_from_the_defaults() -> None:
    config = parse_config({"usage": {"interface": "wwan0"}})
    assert config.usage.given_keys == {"interface"}
    assert "interface" not in parse_config({}).usage.given_keys
    assert UsageConfig(interface="usb0").given_keys == {"interface"}


def test_the_effective_config_as_json() -> None:
    config = parse_config(
        {
            "plan": {"cycle_start": "2026-01-01"},
            "directed": {"targets": ["a.example.com", {"pattern": "*.b.com", "probe": "x.b.com"}]},
        }
    )
    doc = json.loads(json.dumps(config.as_json()))
    assert doc["paths"]["state_dir"] == "/var/lib/iotcard"
    assert doc["plan"]["cycle_start"] == "2026-01-01"
    assert doc["directed"]["targets"][1] == {"pattern": "*.b.com", "probe": "x.b.com", "port": None}
    assert parse_config(doc) == config
