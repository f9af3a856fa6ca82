"""The [directed] config section: targets validated at load time with the same parser as the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from iotcard.agent.config import DirectedConfig, DirectedPattern, load_config, parse_config
from iotcard.agent.errors import ConfigError


def test_defaults() -> None:
    directed = parse_config({}).directed
    assert directed == DirectedConfig()
    assert (directed.targets, directed.dns, directed.interface, directed.port, directed.timeout, directed.tls) == (
        [],
        [],
        None,
        443,
        3.0,
        False,
    )


def test_full_section(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(
        "[directed]\n"
        'targets = ["ecloud.haiwell.com", "47.96.1.2:1883", "https://api.haiwell.com:8443/v1",\n'
        '  { pattern = "*.haiwell.com", probe = "ecloud.haiwell.com" },\n'
        '  { pattern = "**.iot.example.cn", probe = "a.b.iot.example.cn", port = 8883 }]\n'
        'dns = ["211.136.17.107", "[2409:8088::a]:53"]\n'
        'interface = "wwan0"\n'
        "timeout = 2.5\n"
        "tls = true\n",
        encoding="utf-8",
    )
    directed = load_config(path).directed
    assert directed.targets[3] == DirectedPattern(pattern="*.haiwell.com", probe="ecloud.haiwell.com")
    assert directed.probe_entries() == [
        ("ecloud.haiwell.com", None),
        ("47.96.1.2:1883", None),
        ("https://api.haiwell.com:8443/v1", None),
        ("ecloud.haiwell.com", None),
        ("a.b.iot.example.cn", 8883),
    ]
    assert (directed.interface, directed.timeout, directed.tls) == ("wwan0", 2.5, True)


@pytest.mark.parametrize(
    ("section", "fragment"),
    [
        ({"targets": ["*.haiwell.com"]}, 'write {pattern = "*.haiwell.com", probe = "ecloud.haiwell.com"}'),
        ({"targets": ["ok.com", "$(reboot)"]}, "target 2: the target '$(reboot)' contains characters"),
        ({"targets": [{"pattern": "*.haiwell.com", "probe": "ecloud.other.com"}]}, "is not under the pattern"),
        ({"targets": [{"pattern": "haiwell.com", "probe": "ecloud.haiwell.com"}]}, "not a wildcard whitelist pattern"),
        ({"targets": [{"pattern": "*.haiwell.com"}]}, "probe: Field required"),
        ({"targets": [{"pattern": "*.a.com", "probe": "x.a.com", "extra": 1}]}, "extra: Extra inputs"),
        ({"targets": [{"pattern": "*.a.com", "probe": "x.a.com", "port": 0}]}, "port: Input should be greater"),
        ({"targets": [7]}, "expected a host text or a {pattern, probe} table"),
        ({"dns": ["resolver.example"]}, "must be an IP address with an optional port"),
        ({"interface": "wwan0 && reboot"}, "is not a network interface name"),
        ({"timeout": 0}, "'directed.timeout'"),
        ({"port": 70000}, "'directed.port'"),
        ({"target": []}, "unknown key 'directed.target'"),
    ],
)
def test_invalid_sections_name_file_and_key(section: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"directed": section}, "agent.toml")
    assert caught.value.message.startswith("agent.toml: ")
    assert fragment in caught.value.message
