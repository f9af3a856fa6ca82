"""The agent's config file: TOML read with tomllib, validated by pydantic at the edge.

Unknown keys are refused and every error names the file, the key and what was expected. Sections grow with the
capabilities that use them; each section model lives here so one file documents the whole config.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from iotcard.agent.directed import (
    InvalidOption,
    InvalidTarget,
    check_interface_name,
    parse_dns_server,
    parse_target,
    probe_host_in_pattern,
)
from iotcard.agent.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "AgentConfig",
    "DeviceConfig",
    "DirectedConfig",
    "DirectedPattern",
    "ModemConfig",
    "MqttConfig",
    "PathsConfig",
    "PlanConfig",
    "ReportConfig",
    "ScheduleConfig",
    "UsageConfig",
    "load_config",
    "parse_config",
]

DEFAULT_CONFIG_PATH = Path("/etc/iotcard/agent.toml")


# No text value in the config is longer (paths included); fields that go on the wire have tighter limits.
MAX_TEXT = 4096
# A config file is a few kilobytes; anything this large is not one.
MAX_CONFIG_BYTES = 1024 * 1024


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _bounded_text(cls, value: Any) -> Any:
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise ValueError(f"longer than {MAX_TEXT} characters")
        return value


class DeviceConfig(Section):
    id: str | None = Field(
        default=None, min_length=1, max_length=64, description="device id used in MQTT topics; default: the IMEI"
    )
    name: str | None = Field(default=None, max_length=128)
    pn: str | None = Field(default=None, max_length=128, description="product number of the HMI/gateway")
    type: str | None = Field(default=None, max_length=128)
    company: str | None = Field(
        default=None, max_length=128, description="the customer (enterprise) the device belongs to"
    )


class ModemConfig(Section):
    port: str | None = Field(
        default=None, max_length=256, description="AT port, e.g. /dev/serial/by-id/usb-Quectel_...-if02-port0"
    )
    baud: int = Field(default=115200, gt=0)


class PathsConfig(Section):
    state_dir: Path = Field(default=Path("/var/lib/iotcard"), description="usage and outbox databases, last identity")


class UsageConfig(Section):
    """The data usage meter: which interface, where its counters are, and how the billing cycle runs."""

    interface: str = Field(
        default="wwan0", min_length=1, max_length=15, description="cellular interface: wwan0, ppp0, usb0, eth1"
    )
    sysfs_root: Path = Field(default=Path("/sys"), description="counters are read under ROOT/class/net/IF/statistics")
    proc_root: Path = Field(default=Path("/proc"), description="boot_id is read from ROOT/sys/kernel/random/boot_id")
    cycle_start_day: int = Field(default=1, ge=1, le=31, description="billing cycle start day; 29-31: month's last day")
    timezone: str = Field(default="Asia/Shanghai", description="days, months and cycles follow this zone")
    sample_interval: float = Field(default=60.0, gt=0, description="seconds between counter samples")
    commit_interval: float = Field(default=300.0, gt=0, description="seconds between writes to flash")
    max_rate_mbps: float = Field(default=1000.0, gt=0, description="a jump faster than this (Mbit/s) is rejected")
    low_data_percent: float = Field(default=10.0, ge=0, le=100, description="data_low below this share left")
    expiring_days: int = Field(default=7, ge=0, description="cycle_expiring this many days before the end")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; expected an IANA name, e.g. Asia/Shanghai") from None
        return value


class PlanConfig(Section):
    """The card's data plan, until the cloud sets one (set_plan); the cloud's is kept in the state dir and wins."""

    name: str | None = Field(default=None, max_length=64)
    total_mb: float | None = Field(default=None, ge=0, description="data in the cycle, MB (1 MB = 1024 x 1024 bytes)")
    cycle_start: date | None = Field(default=None, description="first day of the current cycle")
    cycle_end: date | None = Field(default=None, description="last day of the current cycle")
    expiry: date | None = Field(default=None, description="last day the card is valid")
    card_type: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _cycle_in_order(self) -> PlanConfig:
        if self.cycle_start and self.cycle_end and self.cycle_end < self.cycle_start:
            raise ValueError(f"cycle_end {self.cycle_end} is before cycle_start {self.cycle_start}")
        return self


class MqttConfig(Section):
    """The MQTT link to the cloud. Secrets are read from files named here, never written in this file."""

    host: str | None = Field(
        default=None, max_length=253, description="broker host name (TLS checks the certificate against it)"
    )
    port: int | None = Field(default=None, gt=0, lt=65536, description="default 8883 with TLS, 1883 without")
    tls: bool = True
    ca_file: Path | None = Field(default=None, description="CA bundle for the broker; default: the system's CAs")
    cert_file: Path | None = Field(default=None, description="client certificate (PEM) for mutual TLS")
    key_file: Path | None = Field(default=None, description="client key (PEM) for mutual TLS")
    insecure: bool = Field(default=False, description="skip the host name check (testing only)")
    username: str | None = Field(default=None, max_length=128)
    password_file: Path | None = Field(default=None, description="file holding the password on its first line")
    protocol: str = Field(default="5", pattern=r"^(5|3\.1\.1)$", description='"5" (MQTT 5) or "3.1.1"')
    topic_prefix: str = Field(default="iotcard/v1", min_length=1, max_length=128)
    client_id: str | None = Field(default=None, max_length=128, description="default: iotcard-<device id>")
    keepalive_initial: int = Field(default=1200, ge=30, le=65535, description="seconds; adapted within floor..ceiling")
    keepalive_floor: int = Field(default=120, ge=30, le=65535)
    keepalive_ceiling: int = Field(default=1740, ge=30, le=65535)
    session_expiry: int = Field(default=7 * 86400, ge=0, description="seconds the broker keeps commands queued")
    monthly_budget_mb: float = Field(default=1.5, gt=0, description="the agent's own MQTT traffic, MB per month")

    @model_validator(mode="after")
    def _consistent(self) -> MqttConfig:
        if not self.keepalive_floor <= self.keepalive_initial <= self.keepalive_ceiling:
            raise ValueError("keepalive_floor <= keepalive_initial <= keepalive_ceiling must hold")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        if self.password_file is not None and self.username is None:
            raise ValueError("password_file needs a username")
        return self


class ScheduleConfig(Section):
    """The daemon's jobs, in seconds. Sample often, report rarely, alarm at once: events go out immediately.

    Every interval is jittered by ``jitter`` (a fraction) so a fleet does not act in lockstep. The usage meter's
    sample and commit intervals are in [usage].
    """

    signal: int = Field(default=60, ge=10, le=3600, description="modem sample (signal, registration) feeding telemetry")
    telemetry: int = Field(default=4 * 3600, ge=900, le=86400, description="one telemetry summary per")
    directed: int = Field(default=6 * 3600, ge=3600, le=7 * 86400, description="one directed probe round per")
    diagnosis: int = Field(default=6 * 3600, ge=1800, le=7 * 86400, description="a full diagnosis per (and on changes)")
    identity: int = Field(default=3600, ge=300, le=86400, description="identity check (also at start and reboot)")
    jitter: float = Field(default=0.1, ge=0, le=0.5, description="random spread of each interval, as a fraction")


class ReportConfig(Section):
    """The outbox's bounds (report intervals are in [schedule])."""

    outbox_max_messages: int = Field(default=5000, ge=10)
    outbox_max_mb: float = Field(default=4.0, gt=0)
    outbox_max_age_days: float = Field(default=30.0, gt=0, description="routine and state messages older are dropped")


class DirectedPattern(Section):
    """A wildcard whitelist entry and the concrete host probed for it (a pattern itself cannot be queried)."""

    pattern: str = Field(description='"*.haiwell.com", or the app\'s spelling "**.haiwell.com"')
    probe: str = Field(description="a concrete host under the pattern, e.g. ecloud.haiwell.com")
    port: int | None = Field(default=None, ge=1, le=65535, description="default: the section's port")

    @model_validator(mode="after")
    def _probe_under_pattern(self) -> DirectedPattern:
        try:
            probe_host_in_pattern(parse_target(self.probe), self.pattern)
        except (InvalidTarget, InvalidOption) as exc:
            raise ValueError(exc.message) from None
        return self


class DirectedConfig(Section):
    """Directed-query targets (定向查询) for `iotcard probe --config` and the daemon's probe round."""

    targets: list[str | DirectedPattern] = Field(
        default_factory=list,
        description='hosts, host:port, IPs, URLs, or {pattern = "*.haiwell.com", probe = "ecloud.haiwell.com"}',
    )
    dns: list[str] = Field(default_factory=list, description="DNS servers IP[:PORT]; default: the PDP's or system's")
    interface: str | None = Field(default=None, description="cellular interface the probes are bound to, e.g. wwan0")
    port: int = Field(default=443, ge=1, le=65535, description="port for targets that do not name one")
    timeout: float = Field(default=3.0, gt=0, le=60, description="seconds for each phase (DNS, TCP, TLS)")
    tls: bool = Field(default=False, description="also run a TLS handshake with certificate verification")
    allow_private: bool = Field(
        default=False,
        description="let cloud probes reach loopback, link-local, private and CGNAT addresses (a private APN)",
    )

    @field_validator("targets", mode="before")
    @classmethod
    def _parse_targets(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        checked: list[Any] = []
        for number, entry in enumerate(value, start=1):
            if isinstance(entry, str):
                try:
                    parse_target(entry)
                except InvalidTarget as exc:
                    wildcard = exc.problem.reason == "wildcard"
                    extra = ' (write {pattern = "*.haiwell.com", probe = "ecloud.haiwell.com"})' if wildcard else ""
                    raise ValueError(f"target {number}: {exc.message}{extra}") from None
            elif isinstance(entry, dict):
                try:
                    entry = DirectedPattern.model_validate(entry)
                except ValidationError as exc:
                    problems = "; ".join(
                        (f"{_location(e['loc'])}: " if e["loc"] else "") + e["msg"].removeprefix("Value error, ")
                        for e in exc.errors()
                    )
                    raise ValueError(f"target {number}: {problems}") from None
            else:
                raise ValueError(f"target {number}: expected a host text or a {{pattern, probe}} table")
            checked.append(entry)
        return checked

    @field_validator("dns")
    @classmethod
    def _parse_dns(cls, value: list[str]) -> list[str]:
        for server in value:
            try:
                parse_dns_server(server)
            except InvalidOption as exc:
                raise ValueError(exc.message) from None
        return value

    @field_validator("interface")
    @classmethod
    def _interface_name(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                check_interface_name(value)
            except InvalidOption as exc:
                raise ValueError(exc.message) from None
        return value

    def probe_entries(self) -> list[tuple[str, int | None]]:
        """(target text, the entry's own port or None) per entry; a pattern entry gives its probe host."""
        return [(entry, None) if isinstance(entry, str) else (entry.probe, entry.port) for entry in self.targets]


class AgentConfig(Section):
    device: DeviceConfig = DeviceConfig()
    modem: ModemConfig = ModemConfig()
    paths: PathsConfig = PathsConfig()
    usage: UsageConfig = UsageConfig()
    plan: PlanConfig | None = None
    mqtt: MqttConfig = MqttConfig()
    report: ReportConfig = ReportConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    directed: DirectedConfig = DirectedConfig()


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _explain(error: ValidationError, source: str) -> ConfigError:
    problems = []
    for item in error.errors():
        key = _location(item["loc"])
        if item["type"] == "extra_forbidden":
            problems.append(f"{source}: unknown key '{key}'")
        else:
            got = repr(item.get("input"))
            got = got if len(got) <= 60 else got[:40] + f"... ({len(got)} characters)"
            problems.append(f"{source}: '{key}': {item['msg']} (got {got})")
    more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
    return ConfigError("; ".join(problems[:5]) + more, code="config_invalid")


def parse_config(data: dict[str, Any], source: str = "<config>") -> AgentConfig:
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc, source) from None


ENV_PREFIX = "IOTCARD_"


def env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """``IOTCARD_SECTION__KEY=value`` → ``{"section": {"key": value}}``; a value starting with ``[`` or ``{`` is JSON.

    Variables without ``__`` (``IOTCARD_PORT``, ``IOTCARD_SOCKET``) are the CLI's, not the config's.
    """
    found: dict[str, dict[str, Any]] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        value: Any = raw
        if raw.strip().startswith(("[", "{")):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"environment {name}: not valid JSON ({exc.msg})") from None
        found.setdefault(section, {})[key] = value
    return found


def _merge(data: dict[str, Any], overrides: dict[str, dict[str, Any]]) -> dict[str, Any]:
    merged = dict(data)
    for section, values in overrides.items():
        current = merged.get(section)
        merged[section] = {**current, **values} if isinstance(current, dict) else dict(values)
    return merged


def load_config(path: Path | str, environ: Mapping[str, str] | None = None) -> AgentConfig:
    """Read and validate the config at ``path``, with ``IOTCARD_SECTION__KEY`` environment overrides applied.

    ConfigError names the file (or the variable), the key and what was expected.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise ConfigError(f"{path} is a directory, not a config file", code="config_unreadable")
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KiB, not a config file")
        data = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist", code="config_missing") from None
    except PermissionError:
        raise ConfigError(f"no permission to read config file {path}", code="config_unreadable") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a config file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}", code="config_unreadable") from None
    try:
        overrides = env_overrides(os.environ if environ is None else environ)
    except RecursionError:
        raise ConfigError("an IOTCARD_* environment variable is nested too deeply") from None
    source = str(path)
    if overrides:
        source += " (with " + ", ".join(sorted(f"IOTCARD_{name.upper()}__*" for name in overrides)) + ")"
    try:
        return parse_config(_merge(data, overrides), source)
    except RecursionError:
        raise ConfigError(f"{source}: nested too deeply to be a config file") from None
