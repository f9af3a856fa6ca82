"""The agent's config file: TOML read with tomllib, validated by pydantic at the edge.

Unknown keys are refused and every error names the file, the key and what was expected. Sections grow with the
capabilities that use them; each section model lives here so one file documents the whole config.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from drivers.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "AgentConfig",
    "DeviceConfig",
    "ModemConfig",
    "PathsConfig",
    "load_config",
    "parse_config",
]

DEFAULT_CONFIG_PATH = Path("/etc/iotcard/agent.toml")


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceConfig(Section):
    id: str | None = Field(default=None, description="device id used in MQTT topics; default: the IMEI")
    name: str | None = None
    pn: str | None = Field(default=None, description="product number of the HMI/gateway")
    type: str | None = None
    company: str | None = Field(default=None, description="the customer (enterprise) the device belongs to")


class ModemConfig(Section):
    port: str | None = Field(default=None, description="AT port, e.g. /dev/serial/by-id/usb-Quectel_...-if02-port0")
    baud: int = Field(default=115200, gt=0)


class PathsConfig(Section):
    state_dir: Path = Field(default=Path("/var/lib/iotcard"), description="usage and outbox databases, last identity")


class AgentConfig(Section):
    device: DeviceConfig = DeviceConfig()
    modem: ModemConfig = ModemConfig()
    paths: PathsConfig = PathsConfig()


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _explain(error: ValidationError, source: str) -> ConfigError:
    problems = []
    for item in error.errors():
        key = _location(item["loc"])
        if item["type"] == "extra_forbidden":
            problems.append(f"{source}: unknown key '{key}'")
        else:
            problems.append(f"{source}: '{key}': {item['msg']} (got {item.get('input')!r})")
    return ConfigError("; ".join(problems), code="config_invalid")


def parse_config(data: dict[str, Any], source: str = "<config>") -> AgentConfig:
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc, source) from None


def load_config(path: Path | str) -> AgentConfig:
    """Read and validate the config at ``path``; ConfigError names the file, the key and what was expected."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist", code="config_missing") from None
    except PermissionError:
        raise ConfigError(f"no permission to read config file {path}", code="config_unreadable") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, str(path))
