"""The agent's config file: TOML read with tomllib, validated here with the standard library.

Unknown keys are refused and every error names the file, the key and what was expected. Sections grow with the
capabilities that use them; each section lives here so one file documents the whole config.

The sections are frozen dataclasses and the checks are this module's own (types, bounds, patterns, the few rules
across keys), not pydantic models: the daemon reads its config once and then keeps every module it imported, and
pydantic with these models cost it about 8 MB of resident memory (docs/benchmarks.md, "The agent daemon"). The
wording of the errors follows pydantic's ("Input should be greater than 0"), which users and tests already know.
Values are read as pydantic's lax mode read them: ``"115200"`` from an environment variable is the number
115200, ``5.0`` is 5, ``"yes"`` is true; a string is never made from a number.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import operator
import os
import re
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, ClassVar, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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

_S = TypeVar("_S", bound="Section")


@dataclass(frozen=True, slots=True)
class Bounds:
    """What one key accepts beyond its type; ``description`` documents it (config/agent.example.toml says more)."""

    description: str = ""
    min_length: int | None = None
    max_length: int | None = None
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    pattern: str | None = None


def bounds(**given: Any) -> dict[str, Bounds]:
    """The ``metadata`` of a config key's ``field()``: its :class:`Bounds`."""
    return {"bounds": Bounds(**given)}


class _Invalid(Exception):
    """Problems found under one value: (location below it, kind, message, the input)."""

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str, str, Any]]) -> None:
        super().__init__(problems)
        self.problems = problems

    @classmethod
    def one(cls, message: str, value: Any, kind: str = "value") -> _Invalid:
        return cls([((), kind, message, value)])


_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def _number(value: Any, integer: bool) -> int | float:
    """An int or float the way pydantic's lax mode reads one (bools are refused: ``baud = true`` is a slip)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            number: int | float = int(text) if integer else float(text)
        except ValueError:
            what = "integer, unable to parse string as an integer" if integer else "number, unable to parse string"
            raise _Invalid.one(f"Input should be a valid {what}" + ("" if integer else " as a number"), value) from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = value
    else:
        raise _Invalid.one(f"Input should be a valid {'integer' if integer else 'number'}", value)
    if isinstance(number, float) and not math.isfinite(number):
        raise _Invalid.one("Input should be a finite number", value)
    if integer and isinstance(number, float):
        if not number.is_integer():
            raise _Invalid.one("Input should be a valid integer, got a number with a fractional part", value)
        return int(number)
    return float(number) if not integer else number


def _convert(kind: Any, value: Any) -> Any:
    """``value`` as ``kind`` (a key's annotation), or _Invalid."""
    if isinstance(kind, UnionType) or typing.get_origin(kind) is typing.Union:
        choices = typing.get_args(kind)
        if value is None and NoneType in choices:
            return None
        options = [choice for choice in choices if choice is not NoneType]
        if len(options) == 1:
            return _convert(options[0], value)
        # Several kinds (a target text or a pattern table): a "_before_" method has already made the value one.
        if any(isinstance(value, option) for option in options):
            return value
        names = " or ".join(getattr(option, "__name__", str(option)) for option in options)
        raise _Invalid.one(f"Input should be one of {names}", value)
    if isinstance(kind, type) and issubclass(kind, Section):
        if isinstance(value, kind):
            return value
        if not isinstance(value, dict):
            raise _Invalid.one(f"Input should be a valid dictionary or instance of {kind.__name__}", value)
        return kind._from_dict(value)
    if typing.get_origin(kind) is list:
        if not isinstance(value, list | tuple):
            raise _Invalid.one("Input should be a valid list", value)
        (item,) = typing.get_args(kind)
        items, problems = [], []
        for index, entry in enumerate(value):
            try:
                items.append(_convert(item, entry))
            except _Invalid as exc:
                problems += [((index, *loc), kind_, msg, got) for loc, kind_, msg, got in exc.problems]
        if problems:
            raise _Invalid(problems)
        return items
    if kind is str:
        if not isinstance(value, str):
            raise _Invalid.one("Input should be a valid string", value)
        return value
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise _Invalid.one("Input should be a valid boolean, unable to interpret input", value)
    if kind is int or kind is float:
        return _number(value, integer=kind is int)
    if kind is Path:
        if isinstance(value, Path):
            return value
        if isinstance(value, str) and value and "\x00" not in value:
            return Path(value)
        raise _Invalid.one("Input is not a valid path", value)
    if kind is date:
        if isinstance(value, datetime):
            raise _Invalid.one("Input should be a valid date (a day, without a time)", value)
        if isinstance(value, date):
            return value
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise _Invalid.one("Input should be a valid date in the format YYYY-MM-DD", value)
    raise TypeError(f"no rule for {kind}")  # pragma: no cover - a new key type needs a rule here


def _characters(count: float) -> str:
    return f"{count:g} character" + ("" if count == 1 else "s")


def _check_bounds(bounds: Bounds, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, str):
        if bounds.min_length is not None and len(value) < bounds.min_length:
            raise _Invalid.one(f"String should have at least {_characters(bounds.min_length)}", value)
        if bounds.max_length is not None and len(value) > bounds.max_length:
            raise _Invalid.one(f"String should have at most {_characters(bounds.max_length)}", value)
        if bounds.pattern is not None and not re.search(bounds.pattern, value):
            raise _Invalid.one(f"String should match pattern '{bounds.pattern}'", value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        for limit, holds, words in (
            (bounds.gt, operator.gt, "greater than"),
            (bounds.ge, operator.ge, "greater than or equal to"),
            (bounds.lt, operator.lt, "less than"),
            (bounds.le, operator.le, "less than or equal to"),
        ):
            if limit is not None and not holds(value, limit):
                raise _Invalid.one(f"Input should be {words} {limit:g}", value)


def _keys(cls: type[Section]) -> tuple[tuple[str, Any, Bounds], ...]:
    """(name, annotation, bounds) of every key of a section, in order."""
    return _keys_of(typing.cast(Any, cls))


@functools.cache
def _keys_of(cls: Any) -> tuple[tuple[str, Any, Bounds], ...]:
    hints = typing.get_type_hints(cls)
    return tuple(
        (item.name, hints[item.name], item.metadata.get("bounds", Bounds())) for item in dataclasses.fields(cls)
    )


class Section:
    """Base of every config section: unknown keys are errors, values are checked, not coerced silently.

    A section is a frozen dataclass; a subclass may check rules across its keys in ``_after`` and rewrite one key's
    value before its type is checked with a ``_before_<key>`` method (both raise ValueError with the reason).
    """

    __slots__ = ()

    #: The keys the file (or the environment) gave, as opposed to defaults.
    given_keys: frozenset[str]
    _before: ClassVar[dict[str, str]] = {}

    @classmethod
    def _from_dict(cls: type[_S], data: Mapping[str, Any]) -> _S:
        problems: list[tuple[tuple[str | int, ...], str, str, Any]] = []
        values: dict[str, Any] = {}
        known = {name for name, _, _ in _keys(cls)}
        for name in data:
            if name not in known:
                problems.append(((name,), "unknown", "Extra inputs are not permitted", data[name]))
        for name, kind, bounds in _keys(cls):
            if name not in data:
                continue
            value = data[name]
            try:
                if isinstance(value, str) and len(value) > MAX_TEXT:
                    raise _Invalid.one(f"Value error, longer than {MAX_TEXT} characters", value)
                before = getattr(cls, f"_before_{name}", None)
                if before is not None:
                    try:
                        value = before(value)
                    except ValueError as exc:
                        raise _Invalid.one(f"Value error, {exc}", data[name]) from None
                value = _convert(kind, value)
                _check_bounds(bounds, value)
                check = getattr(cls, f"_check_{name}", None)
                if check is not None:
                    try:
                        check(value)
                    except ValueError as exc:
                        raise _Invalid.one(f"Value error, {exc}", data[name]) from None
            except _Invalid as exc:
                problems += [((name, *loc), kind_, msg, got) for loc, kind_, msg, got in exc.problems]
                continue
            values[name] = value
        missing = [name for name, _, _ in _keys(cls) if name not in data and _required(cls, name)]
        problems += [((name,), "missing", "Field required", data) for name in missing]
        if problems:
            raise _Invalid(problems)
        made = cls(**values)
        object.__setattr__(made, "given_keys", frozenset(values))
        try:
            made._after()
        except ValueError as exc:
            raise _Invalid.one(f"Value error, {exc}", dict(data)) from None
        return made

    def __post_init__(self) -> None:
        # Made in code (tests, defaults): the keys that differ from their defaults; _from_dict sets the exact set.
        given = frozenset(
            item.name
            for item in dataclasses.fields(typing.cast(Any, self))
            if not _required(type(self), item.name) and getattr(self, item.name) != _default(item)
        )
        object.__setattr__(self, "given_keys", given)

    def _after(self) -> None:
        """Rules across keys; raise ValueError."""

    def as_json(self) -> dict[str, Any]:
        """The section as JSON-able values (paths and dates as text), e.g. for ``config check --json``."""
        return {item.name: _json_value(getattr(self, item.name)) for item in dataclasses.fields(typing.cast(Any, self))}


def _required(cls: type[Section], name: str) -> bool:
    item = next(item for item in dataclasses.fields(typing.cast(Any, cls)) if item.name == name)
    return item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING


def _default(item: dataclasses.Field[Any]) -> Any:
    return item.default_factory() if item.default_factory is not dataclasses.MISSING else item.default


def _json_value(value: Any) -> Any:
    if isinstance(value, Section):
        return value.as_json()
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if isinstance(value, Path | date):
        return str(value) if isinstance(value, Path) else value.isoformat()
    return value


@dataclass(frozen=True)
class DeviceConfig(Section):
    id: str | None = field(
        default=None,
        metadata=bounds(min_length=1, max_length=64, description="device id used in MQTT topics; default: IMEI"),
    )
    name: str | None = field(default=None, metadata=bounds(max_length=128))
    pn: str | None = field(
        default=None, metadata=bounds(max_length=128, description="product number of the HMI/gateway")
    )
    type: str | None = field(default=None, metadata=bounds(max_length=128))
    company: str | None = field(
        default=None, metadata=bounds(max_length=128, description="the customer (enterprise) the device belongs to")
    )


@dataclass(frozen=True)
class ModemConfig(Section):
    port: str | None = field(
        default=None,
        metadata=bounds(max_length=256, description="AT port, e.g. /dev/serial/by-id/usb-Quectel_...-if02-port0"),
    )
    baud: int = field(default=115200, metadata=bounds(gt=0))


@dataclass(frozen=True)
class PathsConfig(Section):
    state_dir: Path = field(
        default=Path("/var/lib/iotcard"), metadata=bounds(description="usage and outbox databases, last identity")
    )


@dataclass(frozen=True)
class UsageConfig(Section):
    """The data usage meter: which interface, where its counters are, and how the billing cycle runs."""

    interface: str = field(
        default="wwan0",
        metadata=bounds(min_length=1, max_length=15, description="cellular interface: wwan0, ppp0, usb0"),
    )
    sysfs_root: Path = field(
        default=Path("/sys"), metadata=bounds(description="counters are read under ROOT/class/net/IF/statistics")
    )
    proc_root: Path = field(
        default=Path("/proc"), metadata=bounds(description="boot_id is read from ROOT/sys/kernel/random/boot_id")
    )
    cycle_start_day: int = field(
        default=1, metadata=bounds(ge=1, le=31, description="billing cycle start day; 29-31: month's last day")
    )
    timezone: str = field(
        default="Asia/Shanghai", metadata=bounds(description="days, months and cycles follow this zone")
    )
    sample_interval: float = field(default=60.0, metadata=bounds(gt=0, description="seconds between counter samples"))
    commit_interval: float = field(default=300.0, metadata=bounds(gt=0, description="seconds between writes to flash"))
    max_rate_mbps: float = field(
        default=1000.0, metadata=bounds(gt=0, description="a jump faster than this (Mbit/s) is rejected")
    )
    low_data_percent: float = field(
        default=10.0, metadata=bounds(ge=0, le=100, description="data_low below this share left")
    )
    expiring_days: int = field(
        default=7, metadata=bounds(ge=0, description="cycle_expiring this many days before the end")
    )

    @staticmethod
    def _check_timezone(value: str) -> None:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; expected an IANA name, e.g. Asia/Shanghai") from None


@dataclass(frozen=True)
class PlanConfig(Section):
    """The card's data plan, until the cloud sets one (set_plan); the cloud's is kept in the state dir and wins."""

    name: str | None = field(default=None, metadata=bounds(max_length=64))
    total_mb: float | None = field(
        default=None, metadata=bounds(ge=0, description="data in the cycle, MB (1 MB = 1024 x 1024 bytes)")
    )
    cycle_start: date | None = field(default=None, metadata=bounds(description="first day of the current cycle"))
    cycle_end: date | None = field(default=None, metadata=bounds(description="last day of the current cycle"))
    expiry: date | None = field(default=None, metadata=bounds(description="last day the card is valid"))
    card_type: str | None = field(default=None, metadata=bounds(max_length=64))

    def _after(self) -> None:
        if self.cycle_start and self.cycle_end and self.cycle_end < self.cycle_start:
            raise ValueError(f"cycle_end {self.cycle_end} is before cycle_start {self.cycle_start}")


@dataclass(frozen=True)
class MqttConfig(Section):
    """The MQTT link to the cloud. Secrets are read from files named here, never written in this file."""

    host: str | None = field(
        default=None, metadata=bounds(max_length=253, description="broker host name (TLS checks the certificate)")
    )
    port: int | None = field(
        default=None, metadata=bounds(gt=0, lt=65536, description="default 8883 with TLS, 1883 without")
    )
    tls: bool = True
    ca_file: Path | None = field(
        default=None, metadata=bounds(description="CA bundle for the broker; default: the system's CAs")
    )
    cert_file: Path | None = field(default=None, metadata=bounds(description="client certificate (PEM) for mutual TLS"))
    key_file: Path | None = field(default=None, metadata=bounds(description="client key (PEM) for mutual TLS"))
    insecure: bool = field(default=False, metadata=bounds(description="skip the host name check (testing only)"))
    username: str | None = field(default=None, metadata=bounds(max_length=128))
    password_file: Path | None = field(
        default=None, metadata=bounds(description="file holding the password on its first line")
    )
    protocol: str = field(default="5", metadata=bounds(pattern=r"^(5|3\.1\.1)$", description='"5" (MQTT 5) or "3.1.1"'))
    topic_prefix: str = field(default="iotcard/v1", metadata=bounds(min_length=1, max_length=128))
    client_id: str | None = field(
        default=None, metadata=bounds(max_length=128, description="default: iotcard-<device id>")
    )
    keepalive_initial: int = field(
        default=1200, metadata=bounds(ge=30, le=65535, description="seconds; adapted within floor..ceiling")
    )
    keepalive_floor: int = field(default=120, metadata=bounds(ge=30, le=65535))
    keepalive_ceiling: int = field(default=1740, metadata=bounds(ge=30, le=65535))
    session_expiry: int = field(
        default=7 * 86400, metadata=bounds(ge=0, description="seconds the broker keeps commands queued")
    )
    monthly_budget_mb: float = field(
        default=1.5, metadata=bounds(gt=0, description="the agent's own MQTT traffic, MB per month")
    )

    def _after(self) -> None:
        if not self.keepalive_floor <= self.keepalive_initial <= self.keepalive_ceiling:
            raise ValueError("keepalive_floor <= keepalive_initial <= keepalive_ceiling must hold")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        if self.password_file is not None and self.username is None:
            raise ValueError("password_file needs a username")


@dataclass(frozen=True)
class ScheduleConfig(Section):
    """The daemon's jobs, in seconds. Sample often, report rarely, alarm at once: events go out immediately.

    Every interval is jittered by ``jitter`` (a fraction) so a fleet does not act in lockstep. The usage meter's
    sample and commit intervals are in [usage].
    """

    signal: int = field(
        default=60, metadata=bounds(ge=10, le=3600, description="modem sample (signal, registration) feeding telemetry")
    )
    telemetry: int = field(default=4 * 3600, metadata=bounds(ge=900, le=86400, description="one telemetry summary per"))
    directed: int = field(
        default=6 * 3600, metadata=bounds(ge=3600, le=7 * 86400, description="one directed probe round per")
    )
    diagnosis: int = field(
        default=6 * 3600, metadata=bounds(ge=1800, le=7 * 86400, description="a full diagnosis per (and on changes)")
    )
    identity: int = field(
        default=3600, metadata=bounds(ge=300, le=86400, description="identity check (also at start and reboot)")
    )
    jitter: float = field(
        default=0.1, metadata=bounds(ge=0, le=0.5, description="random spread of each interval, as a fraction")
    )


@dataclass(frozen=True)
class ReportConfig(Section):
    """The outbox's bounds (report intervals are in [schedule])."""

    outbox_max_messages: int = field(default=5000, metadata=bounds(ge=10))
    outbox_max_mb: float = field(default=4.0, metadata=bounds(gt=0))
    outbox_max_age_days: float = field(
        default=30.0, metadata=bounds(gt=0, description="routine and state messages older are dropped")
    )


@dataclass(frozen=True)
class DirectedPattern(Section):
    """A wildcard whitelist entry and the concrete host probed for it (a pattern itself cannot be queried)."""

    pattern: str = field(metadata=bounds(description='"*.haiwell.com", or the app\'s spelling "**.haiwell.com"'))
    probe: str = field(metadata=bounds(description="a concrete host under the pattern, e.g. ecloud.haiwell.com"))
    port: int | None = field(default=None, metadata=bounds(ge=1, le=65535, description="default: the section's port"))

    def _after(self) -> None:
        try:
            probe_host_in_pattern(parse_target(self.probe), self.pattern)
        except (InvalidTarget, InvalidOption) as exc:
            raise ValueError(exc.message) from None


@dataclass(frozen=True)
class DirectedConfig(Section):
    """Directed-query targets (定向查询) for `iotcard probe --config` and the daemon's probe round."""

    targets: list[str | DirectedPattern] = field(
        default_factory=list,
        metadata=bounds(
            description='hosts, host:port, IPs, URLs, or {pattern = "*.haiwell.com", probe = "ecloud.haiwell.com"}'
        ),
    )
    dns: list[str] = field(
        default_factory=list, metadata=bounds(description="DNS servers IP[:PORT]; default: the PDP's or system's")
    )
    interface: str | None = field(
        default=None, metadata=bounds(description="cellular interface the probes are bound to, e.g. wwan0")
    )
    port: int = field(default=443, metadata=bounds(ge=1, le=65535, description="port for targets that do not name one"))
    timeout: float = field(
        default=3.0, metadata=bounds(gt=0, le=60, description="seconds for each phase (DNS, TCP, TLS)")
    )
    tls: bool = field(
        default=False, metadata=bounds(description="also run a TLS handshake with certificate verification")
    )
    allow_private: bool = field(
        default=False,
        metadata=bounds(
            description="let cloud probes reach loopback, link-local, private and CGNAT addresses (a private APN)"
        ),
    )

    @staticmethod
    def _before_targets(value: Any) -> Any:
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
                    entry = DirectedPattern._from_dict(entry)
                except _Invalid as exc:
                    problems = "; ".join(
                        (f"{_location(loc)}: " if loc else "") + msg.removeprefix("Value error, ")
                        for loc, _, msg, _ in exc.problems
                    )
                    raise ValueError(f"target {number}: {problems}") from None
            elif not isinstance(entry, DirectedPattern):
                raise ValueError(f"target {number}: expected a host text or a {{pattern, probe}} table")
            checked.append(entry)
        return checked

    @staticmethod
    def _check_dns(value: list[str]) -> None:
        for server in value:
            try:
                parse_dns_server(server)
            except InvalidOption as exc:
                raise ValueError(exc.message) from None

    @staticmethod
    def _check_interface(value: str | None) -> None:
        if value is not None:
            try:
                check_interface_name(value)
            except InvalidOption as exc:
                raise ValueError(exc.message) from None

    def probe_entries(self) -> list[tuple[str, int | None]]:
        """(target text, the entry's own port or None) per entry; a pattern entry gives its probe host."""
        return [(entry, None) if isinstance(entry, str) else (entry.probe, entry.port) for entry in self.targets]


@dataclass(frozen=True)
class AgentConfig(Section):
    device: DeviceConfig = field(default_factory=DeviceConfig)
    modem: ModemConfig = field(default_factory=ModemConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    usage: UsageConfig = field(default_factory=UsageConfig)
    plan: PlanConfig | None = None
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    directed: DirectedConfig = field(default_factory=DirectedConfig)


def _location(loc: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _explain(error: _Invalid, source: str) -> ConfigError:
    problems = []
    for loc, kind, message, value in error.problems:
        where = _location(loc)
        if kind == "unknown":
            problems.append(f"{source}: unknown key '{where}'")
        else:
            got = repr(value)
            got = got if len(got) <= 60 else got[:40] + f"... ({len(got)} characters)"
            problems.append(f"{source}: '{where}': {message} (got {got})")
    more = f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
    return ConfigError("; ".join(problems[:5]) + more, code="config_invalid")


def _checked(cls: type[_S], data: Mapping[str, Any], source: str) -> _S:
    if not isinstance(data, Mapping):
        raise _explain(_Invalid.one(f"Input should be a valid dictionary or instance of {cls.__name__}", data), source)
    try:
        return cls._from_dict(data)
    except _Invalid as exc:
        raise _explain(exc, source) from None


def parse_config(data: dict[str, Any], source: str = "<config>") -> AgentConfig:
    return _checked(AgentConfig, data, source)


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
