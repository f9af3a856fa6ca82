"""The MQTT contract's wire side in the standard library: topics, priorities, event names and limits, plain twins of
the device → cloud messages, and the encoder the agent publishes with.

:mod:`iotcard.contract.messages` holds the pydantic models: they define what a valid message is, validate what the
collector receives and give the JSON Schemas and docs/telemetry.md. The agent's daemon does not load them: pydantic
and the models cost it about 10 MB of resident memory on a gateway with 64-128 MB (docs/benchmarks.md, "The agent
daemon"). It builds these twins instead: frozen dataclasses with the models' names, fields, field order and
defaults, and :func:`encode` writes them as :func:`iotcard.contract.messages.encode` writes the models, byte for
byte. ``tests/contract/test_wire.py`` holds the twins to the models (same fields, same required ones) and validates
every kind of payload the agent encodes against the models.

The twins check nothing: the agent's own code makes the values (bounded by the meter, the parsers and the
reporter) and the collector validates every message it reads.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import re
import types
import typing
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

__all__ = [
    "COMMAND_NAMES",
    "COMMAND_RESULT_ERRORS",
    "DEFAULT_TOPIC_PREFIX",
    "MAX_BYTES",
    "MAX_COMMAND_BYTES",
    "MAX_COUNT",
    "SCHEMA_VERSION",
    "TOPIC_RULES",
    "CommandError",
    "CommandResultMessage",
    "DailyUsage",
    "DiagnosisFinding",
    "DiagnosisMessage",
    "DirectedMessage",
    "DirectedTargetResult",
    "Envelope",
    "EventMessage",
    "EventName",
    "HourlyUsage",
    "IdentityDevice",
    "IdentityMessage",
    "IdentityModem",
    "IdentitySim",
    "MonthlyUsage",
    "PlanStatus",
    "Priority",
    "SignalStat",
    "SignalSummary",
    "StatusMessage",
    "TelemetryMessage",
    "Topic",
    "TopicRule",
    "Topics",
    "TrafficSummary",
    "UsageReport",
    "as_json",
    "encode",
    "twin",
]

SCHEMA_VERSION = 1
DEFAULT_TOPIC_PREFIX = "iotcard/v1"
#: A command payload larger than this is refused unread (commands are small; this bounds parsing work).
MAX_COMMAND_BYTES = 4096
# Bounds on everything a device sends (see messages.py): counts fit a signed 64-bit integer, byte counts stay below
# 2**53 (exact as a JSON number).
MAX_COUNT = 2**63 - 1
MAX_BYTES = 2**53

COMMAND_NAMES: tuple[str, ...] = ("ping", "diagnose", "probe", "refresh_usage", "set_plan", "set_config")

#: Every ``error.code`` a command result can carry.
COMMAND_RESULT_ERRORS: tuple[str, ...] = (
    "payload_too_large",
    "invalid_json",
    "invalid_payload",
    "unknown_command",
    "retained_command",
    "rate_limited",
    "not_available",
    "rejected",
    "handler_failed",
)

_TOPIC_LEVEL = re.compile(r"^[^/+#\x00]{1,64}$")


class Topic(enum.StrEnum):
    """The last level(s) of a topic under ``{prefix}/{device_id}/``."""

    STATUS = "status"
    IDENTITY = "identity"
    TELEMETRY = "telemetry"
    DIAGNOSIS = "diagnosis"
    DIRECTED = "directed"
    EVENT = "event"
    COMMAND = "cmd"
    RESULT = "result"


class Priority(enum.IntEnum):
    """Outbox priority: when the store is full the lowest priority goes first, the oldest first within one."""

    ROUTINE = 0
    STATE = 1
    IMPORTANT = 2
    CRITICAL = 3


class EventName(enum.StrEnum):
    SIM_CHANGED = "sim_changed"
    SIM_ABSENT = "sim_absent"
    SIM_INSERTED = "sim_inserted"
    IMEI_CHANGED = "imei_changed"
    REGISTRATION_LOST = "registration_lost"
    REGISTRATION_DENIED = "registration_denied"
    REGISTRATION_RESTORED = "registration_restored"
    ROAMING = "roaming"
    DATA_LOW = "data_low"
    DATA_EXHAUSTED = "data_exhausted"
    PLAN_EXPIRED = "plan_expired"
    MODEM_UNRESPONSIVE = "modem_unresponsive"
    MODEM_REBOOTED = "modem_rebooted"
    OUTBOX_DROPPED = "outbox_dropped"
    BUDGET_STRETCHED = "budget_stretched"
    STORAGE_DEGRADED = "storage_degraded"  # previous: the owner (meter, outbox...), current: what went wrong
    STORAGE_RECOVERED = "storage_recovered"
    USAGE_RESET = "usage_reset"  # a damaged usage database was set aside: counting started anew


@dataclass(frozen=True, slots=True)
class TopicRule:
    """How one topic is published: QoS, retain flag and outbox priority (messages.TOPICS adds the payload model)."""

    qos: int
    retain: bool
    priority: Priority
    direction: Literal["device→cloud", "cloud→device"]
    when: str


TOPIC_RULES: dict[Topic, TopicRule] = {
    Topic.STATUS: TopicRule(1, True, Priority.STATE, "device→cloud", "on connect; will on loss"),
    Topic.IDENTITY: TopicRule(1, True, Priority.STATE, "device→cloud", "on first connect, on change"),
    Topic.TELEMETRY: TopicRule(1, False, Priority.ROUTINE, "device→cloud", "every report interval"),
    Topic.DIAGNOSIS: TopicRule(1, True, Priority.IMPORTANT, "device→cloud", "on change, on command"),
    Topic.DIRECTED: TopicRule(1, False, Priority.ROUTINE, "device→cloud", "every probe interval"),
    Topic.EVENT: TopicRule(1, False, Priority.CRITICAL, "device→cloud", "at once"),
    Topic.COMMAND: TopicRule(1, False, Priority.IMPORTANT, "cloud→device", "any time; queued by the broker"),
    Topic.RESULT: TopicRule(1, False, Priority.IMPORTANT, "device→cloud", "after each command"),
}


@dataclass(frozen=True, slots=True)
class Topics:
    """The topic names of one device. ``device_id`` and the prefix's levels may not hold ``+``, ``#`` or NUL."""

    device_id: str
    prefix: str = DEFAULT_TOPIC_PREFIX

    def __post_init__(self) -> None:
        if not _TOPIC_LEVEL.match(self.device_id):
            raise ValueError(f"device id {self.device_id!r} cannot be a topic level")
        levels = self.prefix.split("/")
        if not self.prefix or any(not _TOPIC_LEVEL.match(level) for level in levels):
            raise ValueError(f"topic prefix {self.prefix!r} is not a valid topic without wildcards")

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.device_id}"

    def topic(self, topic: Topic, name: str | None = None) -> str:
        if topic in (Topic.COMMAND, Topic.RESULT):
            if not name or not _TOPIC_LEVEL.match(name):
                raise ValueError(f"{topic.value} needs a command name")
            return f"{self.base}/{topic.value}/{name}"
        return f"{self.base}/{topic.value}"

    @property
    def command_filter(self) -> str:
        """What the device subscribes to: every command addressed to it."""
        return f"{self.base}/{Topic.COMMAND.value}/+"

    def command_name(self, topic: str) -> str | None:
        """The command name of a ``cmd/{name}`` topic of this device, else None."""
        head = f"{self.base}/{Topic.COMMAND.value}/"
        if not topic.startswith(head):
            return None
        name = topic[len(head) :]
        return name if _TOPIC_LEVEL.match(name) else None


# ---------------------------------------------------------------- twins of the device → cloud models
# Same names, fields, order and defaults as in messages.py; the descriptions and bounds are there.


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    schema_version: int = SCHEMA_VERSION
    device_id: str
    iccid: str | None
    imei: str | None
    seq: int
    ts: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusMessage(Envelope):
    state: Literal["online", "offline"]
    agent_version: str
    started_at: datetime
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityDevice:
    name: str | None = None
    pn: str | None = None
    type: str | None = None
    company: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityModem:
    manufacturer: str | None = None
    model: str | None = None
    revision: str | None = None
    imei: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentitySim:
    state: str
    iccid: str | None = None
    imsi: str | None = None
    carrier: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityMessage(Envelope):
    device: IdentityDevice
    modem: IdentityModem
    sim: IdentitySim


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalStat:
    min: float
    avg: float
    max: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalSummary:
    rssi_dbm: SignalStat | None = None
    rsrp_dbm: SignalStat | None = None
    rsrq_db: SignalStat | None = None
    sinr_db: SignalStat | None = None
    bars: SignalStat | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HourlyUsage:
    hour: datetime
    rx_bytes: int
    tx_bytes: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyUsage:
    day: date
    rx_bytes: int
    tx_bytes: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthlyUsage:
    month: str
    rx_bytes: int
    tx_bytes: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanStatus:
    name: str | None = None
    total_mb: float | None = None
    remaining_mb: float | None = None
    overage_mb: float | None = None
    cycle_end: date | None = None
    expiry: date | None = None
    renew_by: date | None = None
    flags: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageReport:
    cycle_start: date | None = None
    cycle_end: date | None = None
    cycle_rx_bytes: int
    cycle_tx_bytes: int
    cycle_total_bytes: int
    timezone: str | None = None
    hourly: list[HourlyUsage] = field(default_factory=list)
    days: list[DailyUsage] = field(default_factory=list)
    months: list[MonthlyUsage] = field(default_factory=list)
    plan: PlanStatus | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TrafficSummary:
    period_bytes: int
    month_bytes: int
    month_budget_bytes: int | None = None
    by_type: dict[str, int] = field(default_factory=dict)
    stretch: float = 1.0
    keepalive_s: int | None = None
    reconnects: int = 0
    outbox_pending: int = 0
    outbox_dropped: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class TelemetryMessage(Envelope):
    period_start: datetime
    period_end: datetime
    samples: int
    signal: SignalSummary
    registration: str | None = None
    technology: str | None = None
    operator: str | None = None
    lac: int | None = None
    tac: int | None = None
    cell_id: int | None = None
    registration_changes: int = 0
    technology_changes: int = 0
    operator_changes: int = 0
    cell_changes: int = 0
    usage: UsageReport | None = None
    traffic: TrafficSummary | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DiagnosisFinding:
    code: str
    severity: Literal["info", "warning", "error"]
    summary: str
    detail: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DiagnosisMessage(Envelope):
    overall: Literal["ok", "warning", "error"]
    findings: list[DiagnosisFinding] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectedTargetResult:
    target: str
    verdict: str
    dns: str | None = None
    tcp: str | None = None
    tls: str | None = None
    elapsed_ms: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectedMessage(Envelope):
    results: list[DirectedTargetResult]


@dataclass(frozen=True, slots=True, kw_only=True)
class EventMessage(Envelope):
    event: EventName
    previous: str | None = None
    current: str | None = None
    detail: dict[str, str | int | float | bool | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandError:
    code: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandResultMessage(Envelope):
    request_id: str | None
    command: str
    ok: bool
    duplicate: bool = False
    result: dict[str, Any] | None = None
    error: CommandError | None = None


# ---------------------------------------------------------------- encoding


def _layout(cls: type) -> tuple[tuple[tuple[str, bool], ...], tuple[str, ...]]:
    return _layout_of(typing.cast(Any, cls))


@functools.cache
def _layout_of(cls: Any) -> tuple[tuple[tuple[str, bool], ...], tuple[str, ...]]:
    """((field name, holds a float), ...) in order, and the required fields, of one twin class."""
    hints = typing.get_type_hints(cls)
    names = []
    for item in dataclasses.fields(cls):
        kinds = typing.get_args(hints[item.name]) or (hints[item.name],)
        names.append((item.name, float in kinds))
    required = tuple(
        item.name
        for item in dataclasses.fields(cls)
        if item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING
    )
    return tuple(names), required


def _instant(value: datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _any(value: Any) -> Any:
    """A free-form value (a command's result) in JSON mode: nulls kept, as pydantic's dump keeps them in a dict."""
    if isinstance(value, dict):
        return {str(k): _any(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_any(v) for v in value]
    return _scalar(value)


def _scalar(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return _instant(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _doc(message: Any, keep_none: bool) -> dict[str, Any]:
    fields, _ = _layout(type(message))
    doc: dict[str, Any] = {}
    for name, holds_float in fields:
        value = getattr(message, name)
        if value is None:
            if keep_none:
                doc[name] = None
            continue
        if dataclasses.is_dataclass(value):
            doc[name] = _doc(value, keep_none)
        elif isinstance(value, list | tuple):
            doc[name] = [_doc(v, keep_none) if dataclasses.is_dataclass(v) else _scalar(v) for v in value]
        elif isinstance(value, dict):
            doc[name] = _any(value)
        elif holds_float and isinstance(value, int) and not isinstance(value, bool):
            doc[name] = float(value)
        else:
            doc[name] = _scalar(value)
    return doc


def as_json(message: Any) -> dict[str, Any]:
    """Every field as a JSON value, nulls included (what the models' ``model_dump(mode="json")`` gives)."""
    return _doc(message, keep_none=True)


def encode(message: Envelope) -> bytes:
    """The wire form: compact JSON, optional fields left out when null (required ones stay, as null, at the end).

    The same bytes as :func:`iotcard.contract.messages.encode` gives for the model with these values.
    """
    doc = _doc(message, keep_none=False)
    for name in _layout(type(message))[1]:
        doc.setdefault(name, None)
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


_T = typing.TypeVar("_T")


def twin(cls: type[_T], value: Any) -> _T:
    """``value`` as the twin ``cls``: itself when it is one, else made from its attributes (a model of
    :mod:`iotcard.contract.messages` with the same fields), nested parts included."""
    if isinstance(value, cls):
        return value
    hints = typing.get_type_hints(cls)
    made: dict[str, Any] = {}
    for item in dataclasses.fields(typing.cast(Any, cls)):
        made[item.name] = _twin_value(hints[item.name], getattr(value, item.name))
    return cls(**made)


def _twin_value(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    union = typing.get_origin(kind) is typing.Union or isinstance(kind, types.UnionType)
    for option in typing.get_args(kind) if union else (kind,):
        if typing.get_origin(option) is list:
            (item,) = typing.get_args(option)
            if dataclasses.is_dataclass(item) and isinstance(item, type):
                return [twin(item, v) for v in value]
            return list(value)
        if dataclasses.is_dataclass(option) and isinstance(option, type):
            return twin(option, value)
    return value
