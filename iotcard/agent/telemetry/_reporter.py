"""Building contract messages from facts: pure functions of ModemSnapshot (and, as they land, usage and probes).

A :class:`Draft` is a message without its sequence number: the outbox assigns ``seq`` in the same transaction that
stores the message, and :meth:`Draft.payload` fills it in. Timestamps come from the injected wall clock.

Messages are the plain twins of :mod:`iotcard.contract.wire`, encoded as the pydantic models of
:mod:`iotcard.contract.messages` would be (tests/contract/test_wire.py validates them against the models), so the
daemon never loads pydantic. Parts given as those models (a caller not yet moved to the twins) are turned into
twins on the way in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from iotcard.agent.errors import PublishError
from iotcard.contract.wire import (
    TOPIC_RULES,
    CommandError,
    CommandResultMessage,
    DiagnosisFinding,
    DiagnosisMessage,
    DirectedMessage,
    DirectedTargetResult,
    Envelope,
    EventMessage,
    EventName,
    IdentityDevice,
    IdentityMessage,
    IdentityModem,
    IdentitySim,
    Priority,
    SignalStat,
    SignalSummary,
    StatusMessage,
    TelemetryMessage,
    Topic,
    TrafficSummary,
    UsageReport,
    encode,
    twin,
)
from iotcard.drivers.models import ModemSnapshot, RegistrationState, SimState

from ._commands import CommandOutcome

if TYPE_CHECKING:
    from iotcard.contract import messages as models

__all__ = ["Draft", "Reporter", "SampleWindow", "events_between", "identity_key"]


@dataclass(frozen=True, slots=True)
class Draft:
    """A message waiting for its seq; ``name`` is the command name of a result."""

    topic: Topic
    message: Envelope
    priority: Priority
    qos: int
    retain: bool
    name: str | None = None
    response_topic: str | None = None
    correlation: bytes | None = None

    def payload(self, seq: int) -> bytes:
        return encode(replace(self.message, seq=seq))


def _now_utc(clock: Callable[[], datetime]) -> datetime:
    return clock().astimezone(UTC).replace(microsecond=0)


class _Stat:
    __slots__ = ("high", "low", "n", "total")

    def __init__(self) -> None:
        self.n = 0
        self.total = 0.0
        self.low = float("inf")
        self.high = float("-inf")

    def add(self, value: float | None) -> None:
        if value is None:
            return
        self.n += 1
        self.total += value
        self.low = min(self.low, value)
        self.high = max(self.high, value)

    def out(self) -> SignalStat | None:
        if not self.n:
            return None
        return SignalStat(min=self.low, avg=round(self.total / self.n, 1), max=self.high)


_SIGNAL_KEYS: tuple[str, ...] = ("rssi_dbm", "rsrp_dbm", "rsrq_db", "sinr_db", "bars")
_CHANGE_KEYS: tuple[str, ...] = ("registration", "technology", "operator", "cell")


@dataclass
class SampleWindow:
    """Signal and network samples over one report period: min/avg/max and how often things changed."""

    start: datetime
    samples: int = 0
    stats: dict[str, _Stat] = field(default_factory=lambda: {k: _Stat() for k in _SIGNAL_KEYS})
    last: ModemSnapshot | None = None
    changes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_CHANGE_KEYS, 0))

    def add(self, snapshot: ModemSnapshot) -> None:
        sig = snapshot.signal
        for key, value in (
            ("rssi_dbm", sig.rssi_dbm),
            ("rsrp_dbm", sig.rsrp_dbm),
            ("rsrq_db", sig.rsrq_db),
            ("sinr_db", sig.sinr_db),
            ("bars", float(sig.bars)),
        ):
            self.stats[key].add(value)
        if self.last is not None:
            before, now = self.last.network, snapshot.network
            for key, old, new in (
                ("registration", before.registration, now.registration),
                ("technology", before.access_technology, now.access_technology),
                ("operator", before.mcc_mnc or before.operator_name, now.mcc_mnc or now.operator_name),
                ("cell", (before.tac, before.lac, before.cell_id), (now.tac, now.lac, now.cell_id)),
            ):
                if old != new:
                    self.changes[key] += 1
        self.last = snapshot
        self.samples += 1

    def signal(self) -> SignalSummary:
        return SignalSummary(**{key: stat.out() for key, stat in self.stats.items()})


def identity_key(snapshot: ModemSnapshot) -> tuple[object, ...]:
    """What the identity message says about the module and SIM; a change means re-sending it."""
    ident, sim = snapshot.identity, snapshot.sim
    return (ident.manufacturer, ident.model, ident.revision, ident.imei, sim.state, sim.iccid, sim.imsi, sim.carrier)


_REGISTERED = (RegistrationState.HOME, RegistrationState.ROAMING)


def events_between(
    previous: ModemSnapshot | None, current: ModemSnapshot
) -> list[tuple[EventName, str | None, str | None]]:
    """Events that the change from ``previous`` to ``current`` calls for: (name, previous, current)."""
    found: list[tuple[EventName, str | None, str | None]] = []
    if previous is None:
        if current.sim.state is SimState.ABSENT:
            found.append((EventName.SIM_ABSENT, None, current.sim.state.value))
        if current.network.registration is RegistrationState.DENIED:
            found.append((EventName.REGISTRATION_DENIED, None, RegistrationState.DENIED.value))
        return found
    old_sim, new_sim = previous.sim, current.sim
    if old_sim.iccid and new_sim.iccid and old_sim.iccid != new_sim.iccid:
        found.append((EventName.SIM_CHANGED, old_sim.iccid, new_sim.iccid))
    old_imei, new_imei = previous.identity.imei, current.identity.imei
    if old_imei and new_imei and old_imei != new_imei:
        found.append((EventName.IMEI_CHANGED, old_imei, new_imei))
    if new_sim.state is SimState.ABSENT and old_sim.state is not SimState.ABSENT:
        found.append((EventName.SIM_ABSENT, old_sim.state.value, new_sim.state.value))
    if old_sim.state is SimState.ABSENT and new_sim.state is not SimState.ABSENT:
        found.append((EventName.SIM_INSERTED, old_sim.state.value, new_sim.state.value))
    old_reg, new_reg = previous.network.registration, current.network.registration
    value = {None: None} | {state: state.value for state in RegistrationState}
    if new_reg is RegistrationState.DENIED and old_reg is not RegistrationState.DENIED:
        found.append((EventName.REGISTRATION_DENIED, value[old_reg], value[new_reg]))
    elif old_reg in _REGISTERED and new_reg not in _REGISTERED:
        found.append((EventName.REGISTRATION_LOST, value[old_reg], value[new_reg]))
    elif old_reg not in _REGISTERED and new_reg in _REGISTERED:
        found.append((EventName.REGISTRATION_RESTORED, value[old_reg], value[new_reg]))
    if new_reg is RegistrationState.ROAMING and old_reg is not RegistrationState.ROAMING:
        found.append((EventName.ROAMING, value[old_reg], value[new_reg]))
    return found


class Reporter:
    """Makes the drafts of one device. The device id is the configured one, else the module's IMEI."""

    def __init__(
        self,
        device: IdentityDevice | models.IdentityDevice,
        *,
        agent_version: str,
        started_at: datetime,
        device_id: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.device = twin(IdentityDevice, device)
        self.agent_version = agent_version
        self.started_at = started_at.astimezone(UTC).replace(microsecond=0)
        self.configured_id = device_id
        self._clock = clock
        self.snapshot: ModemSnapshot | None = None

    def observe(self, snapshot: ModemSnapshot) -> None:
        """The latest facts; the header's ICCID/IMEI come from here."""
        self.snapshot = snapshot

    @property
    def device_id(self) -> str:
        device_id = self.configured_id or (self.snapshot.identity.imei if self.snapshot else None)
        if not device_id:
            raise PublishError(
                "no device id: set [device] id in the config, or read a module that reports its IMEI",
                code="no_device_id",
            )
        return device_id

    def _header(self) -> dict[str, Any]:
        snap = self.snapshot
        return {
            "device_id": self.device_id,
            "iccid": snap.sim.iccid if snap else None,
            "imei": snap.identity.imei if snap else None,
            "seq": 0,
            "ts": _now_utc(self._clock),
        }

    def _draft(self, topic: Topic, message: Envelope, **extra: Any) -> Draft:
        rule = TOPIC_RULES[topic]
        priority = extra.pop("priority", rule.priority)
        return Draft(topic, message, priority, rule.qos, rule.retain, **extra)

    def status(self, state: Literal["online", "offline"], reason: str | None = None) -> Draft:
        message = StatusMessage(
            **self._header(),
            state=state,
            agent_version=self.agent_version,
            started_at=self.started_at,
            reason=reason,
        )
        return self._draft(Topic.STATUS, message)

    def identity(self) -> Draft:
        snap = self.snapshot or ModemSnapshot()
        ident, sim = snap.identity, snap.sim
        message = IdentityMessage(
            **self._header(),
            device=self.device,
            modem=IdentityModem(
                manufacturer=ident.manufacturer, model=ident.model, revision=ident.revision, imei=ident.imei
            ),
            sim=IdentitySim(
                state=sim.state.value,
                iccid=sim.iccid,
                imsi=sim.imsi,
                carrier=sim.carrier.value if sim.carrier else None,
            ),
        )
        return self._draft(Topic.IDENTITY, message)

    def telemetry(
        self,
        window: SampleWindow,
        *,
        usage: UsageReport | models.UsageReport | None = None,
        traffic: TrafficSummary | models.TrafficSummary | None = None,
        priority: Priority | None = None,
    ) -> Draft:
        """The period's summary. Pass ``priority=Priority.IMPORTANT`` for one carrying cycle totals to keep."""
        last = window.last or self.snapshot or ModemSnapshot()
        net = last.network
        message = TelemetryMessage(
            **self._header(),
            period_start=window.start.astimezone(UTC).replace(microsecond=0),
            period_end=_now_utc(self._clock),
            samples=window.samples,
            signal=window.signal(),
            registration=net.registration.value if net.registration else None,
            technology=net.access_technology.value if net.access_technology else None,
            operator=net.mcc_mnc or net.operator_name,
            lac=net.lac,
            tac=net.tac,
            cell_id=net.cell_id,
            registration_changes=window.changes["registration"],
            technology_changes=window.changes["technology"],
            operator_changes=window.changes["operator"],
            cell_changes=window.changes["cell"],
            usage=twin(UsageReport, usage) if usage is not None else None,
            traffic=twin(TrafficSummary, traffic) if traffic is not None else None,
        )
        return self._draft(Topic.TELEMETRY, message, priority=priority or TOPIC_RULES[Topic.TELEMETRY].priority)

    def event(
        self,
        name: EventName,
        *,
        previous: str | None = None,
        current: str | None = None,
        detail: Mapping[str, str | int | float | bool | None] | None = None,
    ) -> Draft:
        message = EventMessage(
            **self._header(), event=name, previous=previous, current=current, detail=dict(detail or {})
        )
        return self._draft(Topic.EVENT, message)

    def diagnosis(self, findings: Sequence[DiagnosisFinding | models.DiagnosisFinding]) -> Draft:
        order = {"error": 0, "warning": 1, "info": 2}
        plain = [twin(DiagnosisFinding, finding) for finding in findings]
        worst = min((order[f.severity] for f in plain), default=2)
        overall: Literal["ok", "warning", "error"] = ("error", "warning", "ok")[worst]
        ranked = sorted(plain, key=lambda f: order[f.severity])
        return self._draft(Topic.DIAGNOSIS, DiagnosisMessage(**self._header(), overall=overall, findings=ranked))

    def directed(self, results: Sequence[DirectedTargetResult | models.DirectedTargetResult]) -> Draft:
        plain = [twin(DirectedTargetResult, result) for result in results]
        return self._draft(Topic.DIRECTED, DirectedMessage(**self._header(), results=plain))

    def result(
        self, outcome: CommandOutcome, *, response_topic: str | None = None, correlation: bytes | None = None
    ) -> Draft:
        error = (
            CommandError(code=outcome.error_code or "error", message=outcome.error_message or "")
            if not outcome.ok
            else None
        )
        message = CommandResultMessage(
            **self._header(),
            request_id=outcome.request_id,
            command=outcome.command,
            ok=outcome.ok,
            duplicate=outcome.duplicate,
            result=dict(outcome.result) if outcome.result is not None else None,
            error=error,
        )
        name = outcome.command if _safe_level(outcome.command) else "unknown"
        return self._draft(Topic.RESULT, message, name=name, response_topic=response_topic, correlation=correlation)


def _safe_level(name: str) -> bool:
    return 0 < len(name) <= 64 and not any(c in name for c in "/+#\x00") and name.isprintable()
