"""Cloud → device commands read with the standard library, as the strict pydantic command models read them.

:mod:`iotcard.contract.messages` defines the commands (``PingCommand`` … ``SetConfigCommand``, their JSON Schemas and
docs); the collector uses those models. The agent's daemon reads commands here, so that a command arriving does not
load pydantic into it for good (about 10 MB of resident memory; docs/benchmarks.md, "The agent daemon").
:func:`read_command` gives frozen dataclasses with the models' names and fields, and refuses what the models refuse:
unknown fields, missing ones, wrong JSON types (no coercion: ``"30"`` is not 30, ``900.0`` is not an integer, a
bool is not a number), values out of bounds, a bad request id or target, the rules across fields.
``tests/contract/test_commands.py`` holds the two readers to the same answers on every case listed there and on
generated documents.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

__all__ = [
    "CommandInvalid",
    "DiagnoseCommand",
    "PingCommand",
    "ProbeCommand",
    "RefreshUsageCommand",
    "SetConfigCommand",
    "SetPlanCommand",
    "read_command",
]

# The patterns of messages.py; fullmatch, as pydantic's regex engine reads "$" as the end of the text only.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_TARGET = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class CommandInvalid(ValueError):
    """The command document does not match its model: ``problems`` are ``(field, message)`` pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{where}: {what}" for where, what in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True, kw_only=True)
class PingCommand:
    request_id: str
    command: Literal["ping"] = "ping"


@dataclass(frozen=True, slots=True, kw_only=True)
class DiagnoseCommand:
    request_id: str
    command: Literal["diagnose"] = "diagnose"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeCommand:
    request_id: str
    command: Literal["probe"] = "probe"
    targets: list[str]
    timeout_s: float = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class RefreshUsageCommand:
    request_id: str
    command: Literal["refresh_usage"] = "refresh_usage"


@dataclass(frozen=True, slots=True, kw_only=True)
class SetPlanCommand:
    request_id: str
    command: Literal["set_plan"] = "set_plan"
    plan_name: str
    total_mb: float
    cycle_start: date
    cycle_end: date
    expiry: date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SetConfigCommand:
    request_id: str
    command: Literal["set_config"] = "set_config"
    directed_targets: list[str] | None = None
    telemetry_interval_s: int | None = None
    sample_interval_s: int | None = None
    directed_interval_s: int | None = None


Command = PingCommand | DiagnoseCommand | ProbeCommand | RefreshUsageCommand | SetPlanCommand | SetConfigCommand


class _Reader:
    """Reads one document's fields in order, collecting problems (pydantic reports them all, in field order)."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.problems: list[tuple[str, str]] = []
        self.used: set[str] = set()

    def _problem(self, where: str, message: str) -> None:
        self.problems.append((where, message))

    def get(self, name: str, kind: str, *, required: bool, default: Any = None, **bounds: Any) -> Any:
        self.used.add(name)
        if name not in self.doc:
            if required:
                self._problem(name, "Field required")
            return default
        value = self.doc[name]
        if value is None and not required and default is None:
            return None
        try:
            return _READERS[kind](value, **bounds)
        except _Bad as exc:
            self._problem(f"{name}{exc.where}", exc.message)
            return default

    def finish(self) -> None:
        for name in self.doc:
            if name not in self.used:
                self._problem(name, "Extra inputs are not permitted")
        if self.problems:
            raise CommandInvalid(self.problems)


class _Bad(Exception):
    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.where = where


def _text(
    value: Any, min_length: int = 0, max_length: int | None = None, pattern: re.Pattern[str] | None = None
) -> str:
    if not isinstance(value, str):
        raise _Bad("Input should be a valid string")
    if len(value) < min_length:
        raise _Bad(f"String should have at least {min_length} character{'s' if min_length != 1 else ''}")
    if max_length is not None and len(value) > max_length:
        raise _Bad(f"String should have at most {max_length} characters")
    if pattern is not None and not pattern.fullmatch(value):
        raise _Bad(f"String should match pattern '^{pattern.pattern}$'")
    return value


def _bounded(value: float, gt: float | None = None, ge: float | None = None, le: float | None = None) -> None:
    if gt is not None and not value > gt:
        raise _Bad(f"Input should be greater than {gt:g}")
    if ge is not None and not value >= ge:
        raise _Bad(f"Input should be greater than or equal to {ge:g}")
    if le is not None and not value <= le:
        raise _Bad(f"Input should be less than or equal to {le:g}")


def _integer(value: Any, **bounds: float) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Bad("Input should be a valid integer")
    _bounded(value, **bounds)
    return value


def _number(value: Any, **bounds: float) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _Bad("Input should be a valid number")
    if not math.isfinite(value):
        raise _Bad("Input should be a finite number")
    _bounded(value, **bounds)
    return float(value)


def _day(value: Any) -> date:
    if not isinstance(value, str):
        raise _Bad("Input should be a valid date")
    if not _DAY.fullmatch(value):
        raise _Bad("Input should be a valid date in the format YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _Bad("Input should be a valid date, day value is outside expected range") from None


def _targets(value: Any, min_length: int = 0, max_length: int = 16) -> list[str]:
    if not isinstance(value, list):
        raise _Bad("Input should be a valid list")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise _Bad("Input should be a valid string", f".{index}")
    if len(value) < min_length:
        raise _Bad(f"List should have at least {min_length} item after validation, not {len(value)}")
    if len(value) > max_length:
        raise _Bad(f"List should have at most {max_length} items after validation, not {len(value)}")
    for target in value:
        if not _TARGET.fullmatch(target):
            raise _Bad(f"Value error, not a host or host:port: {target!r}")
        _, _, port = target.rpartition(":")
        if port.isdigit() and "]" not in port and not 0 < int(port) < 65536:
            raise _Bad(f"Value error, port out of range in {target!r}")
    return list(value)


_READERS: dict[str, Any] = {"text": _text, "int": _integer, "number": _number, "day": _day, "targets": _targets}


def read_command(name: str, doc: dict[str, Any]) -> Command:
    """The command ``name`` from its decoded JSON object (``command`` may be absent or must be ``name``).

    Raises CommandInvalid with every problem found, or KeyError for a name that is no command.
    """
    read = _Reader(doc)
    command = read.get("command", "text", required=False, default=name)
    if command != name:
        read.problems.append(("command", f"Input should be '{name}'"))
    request_id: str = read.get("request_id", "text", required=True, pattern=_ID)
    made: Command | None = None
    if name in ("ping", "diagnose", "refresh_usage"):
        read.finish()
        simple: dict[str, type[PingCommand | DiagnoseCommand | RefreshUsageCommand]] = {
            "ping": PingCommand,
            "diagnose": DiagnoseCommand,
            "refresh_usage": RefreshUsageCommand,
        }
        return simple[name](request_id=request_id)
    if name == "probe":
        targets = read.get("targets", "targets", required=True, min_length=1)
        timeout_s = read.get("timeout_s", "number", required=False, default=10.0, gt=0, le=30)
        read.finish()
        made = ProbeCommand(request_id=request_id, targets=targets, timeout_s=timeout_s)
    elif name == "set_plan":
        plan_name = read.get("plan_name", "text", required=True, min_length=1, max_length=64)
        total_mb = read.get("total_mb", "number", required=True, gt=0, le=10_000_000)
        cycle_start = read.get("cycle_start", "day", required=True)
        cycle_end = read.get("cycle_end", "day", required=True)
        expiry = read.get("expiry", "day", required=False)
        read.finish()
        if cycle_end <= cycle_start:
            raise CommandInvalid([("(payload)", "Value error, cycle_end must be after cycle_start")])
        made = SetPlanCommand(
            request_id=request_id,
            plan_name=plan_name,
            total_mb=total_mb,
            cycle_start=cycle_start,
            cycle_end=cycle_end,
            expiry=expiry,
        )
    elif name == "set_config":
        settings = SetConfigCommand(
            request_id=request_id,
            directed_targets=read.get("directed_targets", "targets", required=False),
            telemetry_interval_s=read.get("telemetry_interval_s", "int", required=False, ge=900, le=86_400),
            sample_interval_s=read.get("sample_interval_s", "int", required=False, ge=10, le=3600),
            directed_interval_s=read.get("directed_interval_s", "int", required=False, ge=3600, le=7 * 86_400),
        )
        read.finish()
        if all(
            value is None
            for value in (
                settings.directed_targets,
                settings.telemetry_interval_s,
                settings.sample_interval_s,
                settings.directed_interval_s,
            )
        ):
            raise CommandInvalid([("(payload)", "Value error, set_config needs at least one setting")])
        made = settings
    if made is None:
        raise KeyError(name)
    return made
