"""Findings: what is wrong, how badly, and (rendered per language) what to do about it."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["CHECK_ORDER", "CheckOutcome", "Diagnosis", "Finding", "Severity", "Verdict"]


class Severity(enum.IntEnum):
    INFO = 0
    WARNING = 1
    ERROR = 2

    @property
    def label(self) -> str:
        return self.name.lower()


class Verdict(enum.Enum):
    OK = "ok"
    DEGRADED = "degraded"
    FAIL = "fail"


# The dependency order of checks: a check runs only when the one it rests on passed.
CHECK_ORDER: tuple[str, ...] = (
    "port",
    "modem",
    "radio",
    "sim",
    "identity",
    "signal",
    "registration",
    "attach",
    "pdp",
    "dns",
    "directed",
    "usage",
    "clock",
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing found. ``params`` fill the message and hint templates (values, not prose)."""

    code: str
    severity: Severity
    check: str
    params: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """A check's result: ``passed`` False means later checks resting on it are skipped with ``skip_reason``."""

    check: str
    passed: bool
    skipped: bool = False
    skip_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Diagnosis:
    verdict: Verdict
    findings: tuple[Finding, ...]
    checks: tuple[CheckOutcome, ...]

    @property
    def first(self) -> Finding:
        return self.findings[0]
