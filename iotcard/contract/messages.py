"""The MQTT contract between the agent and the cloud: topics, payloads, commands, QoS and retain flags.

This module is the one thing the agent and the cloud collector share; it imports nothing else from the project
but :mod:`iotcard.contract.card_state` (the card's flags, re-exported here) and :mod:`iotcard.contract.wire` (topics,
priorities, event names and limits, re-exported here), both standard-library only, so the collector can import it
alone. Every message is a pydantic model here and nowhere else: ``iotcard schema`` exports them as JSON Schema,
``docs/telemetry.md`` is checked against them and the collector validates with them. The agent's daemon publishes
the plain twins of :mod:`iotcard.contract.wire` instead (no pydantic in its memory); a test holds the twins to these
models.

Topics live under ``{prefix}/{device_id}/`` (prefix default ``iotcard/v1``)::

    status      retained  online/offline (the Last Will sets offline), agent version, started-at
    identity    retained  device, module and SIM identity; re-sent when it changes
    telemetry             periodic summary: signal min/avg/max, registration, changes, usage, the agent's traffic
    diagnosis   retained  findings of the last diagnosis
    directed              directed-query probe results, one verdict per target
    event                 at once: sim_changed, registration_lost, data_low, modem_unresponsive, ...
    cmd/{name}            cloud → device: a command (never retained)
    result/{name}         device → cloud: the command's result (or the MQTT 5 response topic when given)

Every device → cloud message starts with the same header (:class:`Envelope`): ``schema_version``, ``device_id``,
``iccid``, ``imei``, ``seq`` (monotonic per device across restarts; a repeated ``seq`` is an at-least-once
duplicate, a gap is a message the device's outbox dropped and counted) and ``ts`` (UTC).

Readers accept fields they do not know (device → cloud models ignore extras) so that additions do not need a new
``schema_version``; a breaking change does. Commands are strict: unknown fields are refused.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)

from iotcard.contract.card_state import (
    CARD_FLAGS,
    CardState,
    card_state,
    expiring_end_ranges,
    renewal_deadline,
    usable_cycles,
)
from iotcard.contract.wire import (
    COMMAND_NAMES,
    COMMAND_RESULT_ERRORS,
    DEFAULT_TOPIC_PREFIX,
    MAX_BYTES,
    MAX_COMMAND_BYTES,
    MAX_COUNT,
    SCHEMA_VERSION,
    TOPIC_RULES,
    EventName,
    Priority,
    Topic,
    Topics,
)

__all__ = [
    "CARD_FLAGS",
    "COMMAND_NAMES",
    "COMMAND_RESULT_ERRORS",
    "DEFAULT_TOPIC_PREFIX",
    "MAX_BYTES",
    "MAX_COMMAND_BYTES",
    "MAX_COUNT",
    "SCHEMA_VERSION",
    "TOPICS",
    "CardState",
    "CommandError",
    "CommandRequest",
    "CommandResultMessage",
    "DailyUsage",
    "DiagnoseCommand",
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
    "PingCommand",
    "PlanStatus",
    "Priority",
    "ProbeCommand",
    "RefreshUsageCommand",
    "SetConfigCommand",
    "SetPlanCommand",
    "SignalStat",
    "SignalSummary",
    "StatusMessage",
    "TelemetryMessage",
    "Topic",
    "TopicSpec",
    "Topics",
    "TrafficSummary",
    "UsageReport",
    "card_state",
    "contract_markdown",
    "encode",
    "expiring_end_ranges",
    "json_schemas",
    "parse_command",
    "renewal_deadline",
    "topic_spec",
    "usable_cycles",
]

_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"

# Bounds on everything a device sends, so that no schema-valid report can overflow a reader (a 64-bit column, a
# datetime conversion): counts fit a signed 64-bit integer, byte counts stay below 2**53 (8 PiB, more than any
# card moves, and exact as a JSON number), calendar dates lie in 2000..2099, instants in 1970..2099 (a device
# without a real-time clock boots in 1970 and its messages are still worth keeping; the outbox knows them).
_EARLIEST_DAY, _LATEST_DAY = date(2000, 1, 1), date(2099, 12, 31)
_EARLIEST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST_INSTANT = datetime(2100, 1, 1, tzinfo=UTC)


# Checked by pydantic-core itself (an instant is compared in UTC whatever its offset): an ``AfterValidator`` in Python
# for every instant and date of a report took a quarter of the collector's decoding (docs/benchmarks.md).
Instant = Annotated[AwareDatetime, Field(ge=_EARLIEST_INSTANT, lt=_LATEST_INSTANT)]
Day = Annotated[date, Field(ge=_EARLIEST_DAY, le=_LATEST_DAY)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]
ByteCount = Annotated[int, Field(ge=0, le=MAX_BYTES)]
_Text = Annotated[str, Field(max_length=128)]


# ---------------------------------------------------------------- device → cloud


class _Reading(BaseModel):
    """Device → cloud payload parts: readers ignore fields they do not know (additions keep the schema version)."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True, allow_inf_nan=False)


class Envelope(_Reading):
    """The header every device → cloud message starts with."""

    schema_version: int = Field(default=SCHEMA_VERSION, ge=1, le=1000, description="bumped on breaking changes only")
    device_id: str = Field(min_length=1, max_length=64)
    iccid: str | None = Field(max_length=24, description="the SIM's ICCID; null when no SIM could be read")
    imei: str | None = Field(max_length=20, description="the module's IMEI; null when the module did not say")
    seq: int = Field(
        ge=0,
        le=MAX_COUNT,
        description="monotonic per device across restarts; equal seq = duplicate, a gap = a counted drop",
    )
    ts: Instant = Field(description="when the message was made (UTC)")


class StatusMessage(Envelope):
    """``status`` (retained): the broker publishes the ``offline`` one as the Last Will."""

    state: Literal["online", "offline"]
    agent_version: str = Field(max_length=64)
    started_at: Instant
    reason: str | None = Field(default=None, description="for offline: 'connection_lost' (the will) or 'shutdown'")


class IdentityDevice(_Reading):
    name: _Text | None = None
    pn: _Text | None = None
    type: _Text | None = None
    company: _Text | None = Field(default=None, description="what the device claims; the cloud's records decide")


class IdentityModem(_Reading):
    manufacturer: _Text | None = None
    model: _Text | None = None
    revision: _Text | None = None
    imei: str | None = Field(default=None, max_length=20)


class IdentitySim(_Reading):
    state: str = Field(max_length=32)
    iccid: str | None = Field(default=None, max_length=24)
    imsi: str | None = Field(default=None, max_length=20)
    carrier: str | None = Field(default=None, max_length=32)


class IdentityMessage(Envelope):
    """``identity`` (retained): re-sent when any field changes."""

    device: IdentityDevice
    modem: IdentityModem
    sim: IdentitySim


class SignalStat(_Reading):
    min: float = Field(ge=-1000, le=1000)
    avg: float = Field(ge=-1000, le=1000)
    max: float = Field(ge=-1000, le=1000)


class SignalSummary(_Reading):
    """Signal over the period; a value is null when no sample had it."""

    rssi_dbm: SignalStat | None = None
    rsrp_dbm: SignalStat | None = None
    rsrq_db: SignalStat | None = None
    sinr_db: SignalStat | None = None
    bars: SignalStat | None = None


class HourlyUsage(_Reading):
    """The hour's total so far on the device's meter (an absolute figure, not a delta since the last report)."""

    hour: Instant = Field(description="start of the hour (UTC)")
    rx_bytes: ByteCount
    tx_bytes: ByteCount


class DailyUsage(_Reading):
    """The local day's total so far on the device's meter (absolute; a later report of the same day replaces it)."""

    day: Day = Field(description="a day in the report's time zone")
    rx_bytes: ByteCount
    tx_bytes: ByteCount


class MonthlyUsage(_Reading):
    """The local month's total so far on the device's meter (absolute; a later report replaces it)."""

    month: str = Field(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$", description="YYYY-MM in the report's time zone")
    rx_bytes: ByteCount
    tx_bytes: ByteCount


class PlanStatus(_Reading):
    """The plan and the card's state on the device's date (the rules of :mod:`iotcard.contract.card_state`)."""

    name: _Text | None = None
    total_mb: float | None = Field(default=None, ge=0, le=1e9)
    remaining_mb: float | None = Field(default=None, ge=0, le=1e9, description="never negative; see overage_mb")
    overage_mb: float | None = Field(default=None, ge=0, le=1e9, description="used beyond the plan's size")
    cycle_end: Day | None = Field(default=None, description="the plan's explicit end (a package to renew), if any")
    expiry: Day | None = Field(default=None, description="last day the card is valid")
    renew_by: Day | None = Field(default=None, description="last day a renewal keeps the card from lapsing")
    flags: list[Annotated[str, Field(max_length=32)]] = Field(
        default_factory=list,
        max_length=16,
        description="data_low, data_exhausted, expiring, expired, renew_before_26th, renewal_paused",
    )


class UsageReport(_Reading):
    """Data usage of the cellular interface as the device metered it: every figure is an absolute total for its
    bucket (an hour, a local day, a local month, the cycle) at the report's ``ts``, so a reader stores it by
    bucket, the latest report winning, and never adds reports up. Replays, duplicates and flow checks (流量校验)
    then change nothing.

    ``days``/``months`` (with ``timezone``) came with the second usage accounting; a report without them is read by
    its ``hourly`` hour totals alone.
    """

    cycle_start: Day | None = None
    cycle_end: Day | None = None
    cycle_rx_bytes: ByteCount
    cycle_tx_bytes: ByteCount
    cycle_total_bytes: ByteCount
    timezone: str | None = Field(default=None, max_length=64, description="the zone of days and months (IANA)")
    hourly: list[HourlyUsage] = Field(default_factory=list, max_length=72)
    days: list[DailyUsage] = Field(default_factory=list, max_length=62)
    months: list[MonthlyUsage] = Field(default_factory=list, max_length=24)
    plan: PlanStatus | None = None


class TrafficSummary(_Reading):
    """The agent's own MQTT traffic (TLS records, keepalives and estimated TCP/IP headers included)."""

    period_bytes: ByteCount = Field(description="bytes both ways since the previous telemetry")
    month_bytes: ByteCount = Field(description="bytes both ways this calendar month (UTC)")
    month_budget_bytes: ByteCount | None = None
    by_type: dict[str, ByteCount] = Field(
        default_factory=dict, max_length=32, description="this month, by message type"
    )
    stretch: float = Field(default=1.0, ge=1.0, le=1e6, description="factor applied to report intervals by the budget")
    keepalive_s: int | None = Field(default=None, ge=0, le=86400)
    reconnects: Count = Field(default=0, description="connections made this month after the first")
    outbox_pending: Count = 0
    outbox_dropped: dict[str, Count] = Field(
        default_factory=dict, max_length=16, description="dropped so far, by priority name"
    )


class TelemetryMessage(Envelope):
    """``telemetry``: a summary of the samples taken over one report period."""

    period_start: Instant
    period_end: Instant
    samples: Count
    signal: SignalSummary
    registration: str | None = Field(default=None, max_length=32)
    technology: str | None = Field(default=None, max_length=32)
    operator: str | None = Field(
        default=None, max_length=64, description="MCC-MNC, or the name when the module gives no number"
    )
    lac: int | None = Field(default=None, ge=0, le=2**36)
    tac: int | None = Field(default=None, ge=0, le=2**36)
    cell_id: int | None = Field(default=None, ge=0, le=2**40)
    registration_changes: Count = 0
    technology_changes: Count = 0
    operator_changes: Count = 0
    cell_changes: Count = 0
    usage: UsageReport | None = None
    traffic: TrafficSummary | None = None


class DiagnosisFinding(_Reading):
    code: str = Field(max_length=64)
    severity: Literal["info", "warning", "error"]
    summary: str = Field(max_length=1024)
    detail: str | None = Field(default=None, max_length=2048)


class DiagnosisMessage(Envelope):
    """``diagnosis`` (retained): the findings of the last diagnosis, worst first."""

    overall: Literal["ok", "warning", "error"]
    findings: list[DiagnosisFinding] = Field(default_factory=list, max_length=64)


class DirectedTargetResult(_Reading):
    target: str = Field(max_length=300)
    verdict: str = Field(max_length=32, description="reachable, blocked, dns_failed, tcp_failed, tls_failed, ...")
    dns: str | None = Field(default=None, max_length=32, description="ok, nxdomain, timeout, ... (null: not tried)")
    tcp: str | None = Field(
        default=None, max_length=32, description="ok, refused, timeout, reset, ... (null: not tried)"
    )
    tls: str | None = Field(default=None, max_length=32, description="ok, handshake_failed, ... (null: not tried)")
    elapsed_ms: int | None = Field(default=None, ge=0, le=MAX_COUNT)


class DirectedMessage(Envelope):
    """``directed``: one round of directed-query probes (定向卡白名单)."""

    results: list[DirectedTargetResult] = Field(max_length=64)


class EventMessage(Envelope):
    """``event``: sent at once, never stretched by the traffic budget."""

    event: EventName
    previous: str | None = Field(default=None, max_length=128)
    current: str | None = Field(default=None, max_length=128)
    detail: dict[str, str | int | float | bool | None] = Field(default_factory=dict, max_length=32)


class CommandError(_Reading):
    code: str = Field(max_length=64)
    message: str = Field(max_length=1024)


class CommandResultMessage(Envelope):
    """``result/{name}`` (or the MQTT 5 response topic): what became of one command."""

    request_id: str | None = Field(
        max_length=64, description="null when the request could not be read far enough to know it"
    )
    command: str = Field(max_length=32)
    ok: bool
    duplicate: bool = Field(default=False, description="the request id was seen before: this repeats its result")
    result: dict[str, Any] | None = None
    error: CommandError | None = None


# ---------------------------------------------------------------- cloud → device


class _Command(BaseModel):
    """Commands are strict: unknown fields and coercions are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)

    request_id: str = Field(pattern=_ID_PATTERN, description="unique per request; a repeat runs once")


class PingCommand(_Command):
    """Is the agent there? Answers with its version and uptime."""

    command: Literal["ping"] = "ping"


class DiagnoseCommand(_Command):
    """Run a diagnosis now and publish it."""

    command: Literal["diagnose"] = "diagnose"


# \Z, not $: "$" also matches before a final newline, and "a.com\n" is no target.
_TARGET = re.compile(
    r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?\Z|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?\Z"
)


def _check_targets(targets: list[str] | None) -> list[str] | None:
    for target in targets or ():
        if not _TARGET.match(target):
            raise ValueError(f"not a host or host:port: {target!r}")
        _, _, port = target.rpartition(":")
        if port.isdigit() and "]" not in port and not 0 < int(port) < 65536:
            raise ValueError(f"port out of range in {target!r}")
    return targets


class ProbeCommand(_Command):
    """Probe directed-query targets now (host or host:port) and publish the results."""

    command: Literal["probe"] = "probe"
    targets: list[str] = Field(min_length=1, max_length=16)
    timeout_s: float = Field(default=10.0, gt=0, le=30)

    _targets = field_validator("targets")(_check_targets)


class RefreshUsageCommand(_Command):
    """流量校验: sample the usage counters now and report them now."""

    command: Literal["refresh_usage"] = "refresh_usage"


class SetPlanCommand(_Command):
    """Set the data plan the usage meter's remaining/flags are computed from."""

    command: Literal["set_plan"] = "set_plan"
    plan_name: str = Field(min_length=1, max_length=64)
    total_mb: float = Field(gt=0, le=10_000_000)
    cycle_start: date
    cycle_end: date
    expiry: date | None = None

    @model_validator(mode="after")
    def _cycle_order(self) -> SetPlanCommand:
        if self.cycle_end <= self.cycle_start:
            raise ValueError("cycle_end must be after cycle_start")
        return self


class SetConfigCommand(_Command):
    """Change directed targets and report intervals, within safe bounds; at least one field."""

    command: Literal["set_config"] = "set_config"
    directed_targets: list[str] | None = Field(default=None, max_length=16)
    telemetry_interval_s: int | None = Field(default=None, ge=900, le=86_400)
    sample_interval_s: int | None = Field(default=None, ge=10, le=3600)
    directed_interval_s: int | None = Field(default=None, ge=3600, le=7 * 86_400)

    _targets = field_validator("directed_targets")(_check_targets)

    @model_validator(mode="after")
    def _something(self) -> SetConfigCommand:
        if all(
            value is None
            for value in (
                self.directed_targets,
                self.telemetry_interval_s,
                self.sample_interval_s,
                self.directed_interval_s,
            )
        ):
            raise ValueError("set_config needs at least one setting")
        return self


CommandRequest = Annotated[
    PingCommand | DiagnoseCommand | ProbeCommand | RefreshUsageCommand | SetPlanCommand | SetConfigCommand,
    Field(discriminator="command"),
]


@functools.cache
def _command_adapter() -> TypeAdapter[Any]:
    # Built at the first command, not at import: the daemon's resident memory is budgeted.
    return TypeAdapter(CommandRequest)


def parse_command(data: dict[str, Any]) -> _Command:
    """Validate a decoded command document (its ``command`` field set from the topic); raises ValidationError.

    Validation runs in JSON mode, where strict still reads ISO dates from strings but refuses ``"5"`` for 5.
    """
    result: _Command = _command_adapter().validate_json(json.dumps(data))
    return result


# ---------------------------------------------------------------- topics


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """How one topic is published: its payload model, QoS, retain flag and outbox priority."""

    topic: Topic
    model: type[BaseModel]
    qos: int
    retain: bool
    priority: Priority
    direction: Literal["device→cloud", "cloud→device"]
    when: str


_MODELS: dict[Topic, type[BaseModel]] = {
    Topic.STATUS: StatusMessage,
    Topic.IDENTITY: IdentityMessage,
    Topic.TELEMETRY: TelemetryMessage,
    Topic.DIAGNOSIS: DiagnosisMessage,
    Topic.DIRECTED: DirectedMessage,
    Topic.EVENT: EventMessage,
    Topic.COMMAND: _Command,
    Topic.RESULT: CommandResultMessage,
}

TOPICS: tuple[TopicSpec, ...] = tuple(
    TopicSpec(topic, _MODELS[topic], rule.qos, rule.retain, rule.priority, rule.direction, rule.when)
    for topic, rule in TOPIC_RULES.items()
)


def topic_spec(topic: Topic) -> TopicSpec:
    for spec in TOPICS:
        if spec.topic is topic:
            return spec
    raise KeyError(topic)  # pragma: no cover - every Topic has a spec


def encode(message: BaseModel) -> bytes:
    """The wire form: compact JSON, optional fields left out when null (required ones stay, as null)."""
    doc = message.model_dump(mode="json", exclude_none=True)
    for name, info in type(message).model_fields.items():
        if info.is_required():
            doc.setdefault(name, None)
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every message and of the command request union, by file stem."""
    schemas: dict[str, dict[str, Any]] = {}
    for spec in TOPICS:
        if spec.direction == "device→cloud":
            schemas[spec.topic.value] = spec.model.model_json_schema(mode="serialization")
    schemas["command"] = _command_adapter().json_schema()
    for model in (PingCommand, DiagnoseCommand, ProbeCommand, RefreshUsageCommand, SetPlanCommand, SetConfigCommand):
        schemas[f"cmd.{model.model_fields['command'].default}"] = model.model_json_schema()
    for schema in schemas.values():
        schema.setdefault("$schema", "https://json-schema.org/draft/2020-12/schema")
    return schemas


_COMMAND_MODELS: tuple[type[_Command], ...] = (
    PingCommand,
    DiagnoseCommand,
    ProbeCommand,
    RefreshUsageCommand,
    SetPlanCommand,
    SetConfigCommand,
)


def _type_name(schema: dict[str, Any] | bool) -> str:
    if not isinstance(schema, dict):
        return "any"
    if "anyOf" in schema:
        return " or ".join(_type_name(part) for part in schema["anyOf"])
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[1]
    if "enum" in schema:
        return " / ".join(f"`{value}`" for value in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list[{_type_name(schema.get('items', {}))}]"
    if kind == "object" and "additionalProperties" in schema:
        return f"map[{_type_name(schema['additionalProperties'])}]"
    fmt = schema.get("format")
    return f"{kind} ({fmt})" if fmt else str(kind)


def _field_rows(model: type[BaseModel], skip: tuple[str, ...] = ()) -> list[str]:
    schema = model.model_json_schema(mode="serialization")
    required = set(schema.get("required", ()))
    rows = []
    for name, prop in schema["properties"].items():
        if name in skip:
            continue
        text = " ".join(str(prop.get("description", "")).split())
        rows.append(f"| `{name}` | {_type_name(prop)} | {'yes' if name in required else 'no'} | {text} |")
    return rows


def contract_markdown() -> str:
    """The topic, payload and command tables of ``docs/telemetry.md``, generated from the models here."""
    out = [
        "| topic | payload | direction | QoS | retain | outbox priority | when |",
        "|---|---|---|---|---|---|---|",
    ]
    for spec in TOPICS:
        suffix = f"{spec.topic.value}/{{name}}" if spec.topic in (Topic.COMMAND, Topic.RESULT) else spec.topic.value
        model = "see commands" if spec.topic is Topic.COMMAND else f"`{spec.model.__name__}`"
        out.append(
            f"| `{{prefix}}/{{device_id}}/{suffix}` | {model} | {spec.direction} | {spec.qos} | "
            f"{'yes' if spec.retain else 'no'} | {spec.priority.name.lower()} | {spec.when} |"
        )
    out += ["", "### `Envelope` (every device → cloud message starts with these)", ""]
    out += ["| field | type | required | meaning |", "|---|---|---|---|", *_field_rows(Envelope)]
    header = tuple(Envelope.model_fields)
    for spec in TOPICS:
        if spec.direction != "device→cloud":
            continue
        out += ["", f"### `{spec.model.__name__}` (`{spec.topic.value}`)", ""]
        out += ["| field | type | required | meaning |", "|---|---|---|---|", *_field_rows(spec.model, header)]
    parts = sorted(
        {
            ref.rsplit("/", 1)[1]
            for spec in TOPICS
            if spec.direction == "device→cloud"
            for ref in json.dumps(spec.model.model_json_schema()).split('"$ref": "')[1:]
            for ref in [ref.split('"', 1)[0]]
        }
    )
    for part in parts:
        found = globals().get(part)
        if isinstance(found, type) and issubclass(found, BaseModel):
            out += ["", f"### `{part}`", ""]
            out += ["| field | type | required | meaning |", "|---|---|---|---|", *_field_rows(found)]
    out += ["", "### Commands (`cmd/{name}`, payload: the fields below as one JSON object)", ""]
    out += ["| command | model | fields (besides `request_id`) | what it does |", "|---|---|---|---|"]
    for command in _COMMAND_MODELS:
        name = command.model_fields["command"].default
        fields = ", ".join(f"`{f}`" for f in command.model_fields if f not in ("request_id", "command")) or "—"
        doc = " ".join((command.__doc__ or "").split())
        out.append(f"| `{name}` | `{command.__name__}` | {fields} | {doc} |")
    out += ["", "Result error codes: " + ", ".join(f"`{code}`" for code in COMMAND_RESULT_ERRORS) + "."]
    events = ", ".join(f"`{event.value}`" for event in EventName)
    out += ["", f"Events: {events}."]
    return "\n".join(out) + "\n"
