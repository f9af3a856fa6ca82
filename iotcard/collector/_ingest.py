"""From an MQTT message to a validated contract model, or a reason it was refused. Pure: no I/O, no clock.

Every device → cloud topic has exactly one model in :mod:`iotcard.contract.messages`; the payload is validated with it,
the
device id in the topic must match the one in the payload, and commands on ``cmd/...`` (the cloud's own traffic,
which the wildcard subscription also sees) and empty payloads (a cleared retained message) are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from iotcard.contract.messages import (
    CommandResultMessage,
    DiagnosisMessage,
    DirectedMessage,
    Envelope,
    EventMessage,
    IdentityMessage,
    StatusMessage,
    TelemetryMessage,
    Topic,
)

__all__ = ["Accepted", "Rejected", "decode", "topic_device"]

_MODELS: dict[str, type[Envelope]] = {
    Topic.STATUS.value: StatusMessage,
    Topic.IDENTITY.value: IdentityMessage,
    Topic.TELEMETRY.value: TelemetryMessage,
    Topic.DIAGNOSIS.value: DiagnosisMessage,
    Topic.DIRECTED.value: DirectedMessage,
    Topic.EVENT.value: EventMessage,
    Topic.RESULT.value: CommandResultMessage,
}


@dataclass(frozen=True, slots=True)
class Accepted:
    """A valid device → cloud message; ``kind`` is the topic's last level (``result`` for command results)."""

    kind: str
    message: Envelope

    @property
    def key(self) -> tuple[str, int]:
        return (self.message.device_id, self.message.seq)


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message that failed validation: counted, kept in ``rejects`` and logged with the device id."""

    device_id: str | None
    topic: str
    reason: str


def topic_device(topic: str, prefix: str) -> tuple[str, list[str]] | None:
    """``(device_id, [levels after it])`` of a topic under ``prefix``, else None."""
    head = prefix + "/"
    if not topic.startswith(head):
        return None
    levels = topic[len(head) :].split("/")
    if len(levels) < 2 or not levels[0]:
        return None
    return levels[0], levels[1:]


def _problems(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:3]:
        loc = ".".join(str(part) for part in item["loc"]) or "(payload)"
        parts.append(f"{loc}: {item['msg']}")
    more = error.error_count() - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def decode(topic: str, payload: bytes, prefix: str) -> Accepted | Rejected | None:
    """Validate one message; None when it is not for the collector (commands, cleared retained messages)."""
    parsed = topic_device(topic, prefix)
    if parsed is None:
        return Rejected(None, topic, "not a topic of the contract")
    device_id, rest = parsed
    kind = rest[0]
    if kind == Topic.COMMAND.value or not payload:
        return None
    model = _MODELS.get(kind)
    if model is None or (kind == Topic.RESULT.value) != (len(rest) == 2) or len(rest) > 2:
        return Rejected(device_id, topic, f"unknown topic level {'/'.join(rest)!r}")
    try:
        message: BaseModel = model.model_validate_json(payload)
    except ValidationError as exc:
        return Rejected(device_id, topic, _problems(exc))
    assert isinstance(message, Envelope)
    if message.device_id != device_id:
        return Rejected(device_id, topic, f"device_id {message.device_id!r} differs from the topic's {device_id!r}")
    return Accepted(kind, message)
