"""What the other owners send the MQTT session: small frozen messages, named for what happened or what to send.

Each one is put on the session's inbox (:meth:`iotcard.agent.daemon._session.MqttSession.post`) by the thread that
has it: the signal job (``ModemRead``, ``ModemDown``), the other jobs and the cloud commands on the scheduler's
command lane (``SendTelemetry``, ``SendDirected``, ``SendDiagnosis``, ``Answer``), any owner whose storage
degrades (``Event``). The session turns them into reports, in the order they arrived.
"""

from __future__ import annotations

from dataclasses import dataclass

from iotcard.agent.telemetry import CommandOutcome, Reply
from iotcard.contract.wire import DiagnosisFinding, DirectedTargetResult, EventName, UsageReport
from iotcard.drivers.models import ModemSnapshot

__all__ = [
    "Answer",
    "Event",
    "Message",
    "ModemDown",
    "ModemRead",
    "SendDiagnosis",
    "SendDirected",
    "SendTelemetry",
]


@dataclass(frozen=True, slots=True)
class ModemRead:
    """The modem worker read a snapshot: fold it in (identity and state-change events follow from it)."""

    snapshot: ModemSnapshot


@dataclass(frozen=True, slots=True)
class ModemDown:
    """A read failed (``code``: port_unavailable, modem_unresponsive...): say so once, until the next read."""

    code: str


@dataclass(frozen=True, slots=True)
class Event:
    name: EventName
    previous: str | None = None
    current: str | None = None


@dataclass(frozen=True, slots=True)
class SendTelemetry:
    """Publish the sample window now, with the meter's figures when it could give them."""

    usage: UsageReport | None


@dataclass(frozen=True, slots=True)
class SendDirected:
    """Publish a round of directed probes; a scheduled one only when it changed (or once a day)."""

    results: tuple[DirectedTargetResult, ...]
    only_if_changed: bool = False


@dataclass(frozen=True, slots=True)
class SendDiagnosis:
    """Publish a diagnosis; with a ``key`` (the scheduled job's), only when the key changed (or once a day)."""

    findings: tuple[DiagnosisFinding, ...]
    key: object | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """A cloud command another owner ran: publish its result (to the Response Topic it was asked with, if any)."""

    outcome: CommandOutcome
    reply: Reply | None = None


Message = ModemRead | ModemDown | Event | SendTelemetry | SendDirected | SendDiagnosis | Answer
