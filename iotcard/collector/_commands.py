"""Commands to devices: publish on ``cmd/{name}`` and wait for ``result/{name}`` with the same request id.

The device's retained ``status`` says whether it is connected: when it is ``offline`` (its Last Will) or there is
none at all, waiting would be pointless, so the command is left queued in the device's session at the broker and
the caller is told so at once. A device that is online gets ``timeout`` seconds to answer.
"""

from __future__ import annotations

import json
import queue
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from iotcard.contract.messages import (
    DEFAULT_TOPIC_PREFIX,
    CommandResultMessage,
    DiagnoseCommand,
    PingCommand,
    ProbeCommand,
    RefreshUsageCommand,
    SetPlanCommand,
    StatusMessage,
    Topic,
    Topics,
)

from ._errors import BrokerError, DeviceNotAnswering, SettingsError
from ._mqtt import BrokerSettings, Delivery, MqttWorker
from ._store import MIB

__all__ = ["CLI_COMMANDS", "PushOutcome", "build_command", "push_plans", "send_command"]

#: The names ``send`` accepts (as typed on a command line) and the contract's command names.
CLI_COMMANDS = {"ping": "ping", "diagnose": "diagnose", "probe": "probe", "refresh-usage": "refresh_usage"}
Command = PingCommand | DiagnoseCommand | ProbeCommand | RefreshUsageCommand | SetPlanCommand


def _request_id(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:12]}"


def build_command(name: str, targets: Sequence[str] = (), timeout_s: float | None = None) -> Command:
    """The contract model for a ``send`` command line; a bad one is a :class:`SettingsError`."""
    if name not in CLI_COMMANDS:
        raise SettingsError(f"unknown command {name!r}; one of {', '.join(CLI_COMMANDS)}", code="bad_command")
    if name == "probe" and not targets:
        raise SettingsError("probe needs at least one TARGET (host or host:port)", code="bad_command")
    if name != "probe" and targets:
        raise SettingsError(f"{name} takes no targets", code="bad_command")
    request_id = _request_id(CLI_COMMANDS[name])
    try:
        if name == "probe":
            extra: dict[str, Any] = {"timeout_s": float(timeout_s)} if timeout_s else {}
            return ProbeCommand(request_id=request_id, targets=list(targets), **extra)
        if name == "ping":
            return PingCommand(request_id=request_id)
        if name == "diagnose":
            return DiagnoseCommand(request_id=request_id)
        return RefreshUsageCommand(request_id=request_id)
    except ValidationError as exc:
        problem = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
        raise SettingsError(f"{name}: {problem}", code="bad_command") from None


def _payload(command: Command) -> bytes:
    return json.dumps(command.model_dump(mode="json", exclude_none=True), separators=(",", ":")).encode()


class _Session:
    """A short-lived clean MQTT session for the cloud side of commands."""

    def __init__(self, broker: BrokerSettings, subscriptions: tuple[str, ...], connect_timeout: float) -> None:
        self.worker = MqttWorker(broker, f"iotcard-collector-cli-{uuid.uuid4().hex[:10]}", subscriptions)
        self.worker.start()
        if not self.worker.subscribed.wait(connect_timeout):
            error = self.worker.last_error or f"no answer from {broker.host}:{broker.port}"
            self.worker.stop(1)
            raise BrokerError(
                f"cannot use the MQTT broker: {error}", hint="check --broker and that the broker is running"
            )

    def next(self, deadline: float) -> Delivery | None:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                event = self.worker.events.get(timeout=left)
            except queue.Empty:
                return None
            if isinstance(event, Delivery):
                return event

    def close(self) -> None:
        self.worker.stop(2)


def send_command(
    broker: BrokerSettings,
    device_id: str,
    command: Command,
    *,
    prefix: str = DEFAULT_TOPIC_PREFIX,
    timeout: float = 30.0,
    status_wait: float = 1.0,
) -> CommandResultMessage:
    """Publish ``command`` to ``device_id`` and return its result; :class:`DeviceNotAnswering` when none comes."""
    try:
        topics = Topics(device_id, prefix)
    except ValueError as exc:
        raise SettingsError(str(exc), code="bad_device") from None
    status_topic = topics.topic(Topic.STATUS)
    result_topic = topics.topic(Topic.RESULT, command.command)
    session = _Session(broker, (status_topic, result_topic), min(timeout, 10.0))
    try:
        # The retained status comes right after the subscription was granted.
        status: StatusMessage | None = None
        deadline = time.monotonic() + status_wait
        while status is None and (delivery := session.next(deadline)) is not None:
            if delivery.topic == status_topic:
                try:
                    status = StatusMessage.model_validate_json(delivery.payload)
                except ValidationError:
                    status = None
        session.worker.publish(topics.topic(Topic.COMMAND, command.command), _payload(command))
        if status is None or status.state == "offline":
            since = f" since {status.ts:%Y-%m-%d %H:%M} UTC" if status is not None else ""
            said = f"is offline{since}" if status is not None else "has never reported a status to this broker"
            raise DeviceNotAnswering(
                f"device {device_id} {said}: the {command.command} command waits at the broker and runs when the "
                "device connects",
                offline=True,
                code="device_offline",
                hint="the collector stores its result when it comes; see 'iotcard-collector card ICCID'",
            )
        deadline = time.monotonic() + timeout
        while (delivery := session.next(deadline)) is not None:
            if delivery.topic != result_topic:
                continue
            try:
                result = CommandResultMessage.model_validate_json(delivery.payload)
            except ValidationError:
                continue
            if result.request_id == command.request_id:
                return result
        raise DeviceNotAnswering(
            f"no result from device {device_id} within {timeout:g} s (it was online)",
            offline=False,
            code="timeout",
            hint="the device may be busy or its link slow; try again with a longer --timeout",
        )
    finally:
        session.close()


@dataclass(frozen=True, slots=True)
class PushOutcome:
    iccid: str
    device_id: str | None
    request_id: str | None
    state: str  # ok, failed, no_result, skipped
    message: str | None = None


def push_plans(
    broker: BrokerSettings,
    plans: Sequence[dict[str, Any]],
    *,
    prefix: str = DEFAULT_TOPIC_PREFIX,
    timeout: float = 15.0,
) -> list[PushOutcome]:
    """Send each card's plan to the device it sits in (``set_plan``) and collect the results."""
    outcomes: dict[str, PushOutcome] = {}
    commands: dict[str, tuple[str, SetPlanCommand]] = {}  # request id -> (iccid, command)
    for plan in plans:
        iccid, device_id = plan["iccid"], plan["device_id"]
        if plan["cycle_start"] is None or plan["cycle_end"] is None or plan["cycle_end"] <= plan["cycle_start"]:
            outcomes[iccid] = PushOutcome(iccid, device_id, None, "skipped", "the plan has no cycle dates")
            continue
        try:
            command = SetPlanCommand(
                request_id=_request_id("plan"),
                plan_name=plan["plan_name"] or "plan",
                total_mb=round(plan["plan_total_bytes"] / MIB, 6),
                cycle_start=plan["cycle_start"],
                cycle_end=plan["cycle_end"],
                expiry=plan["expiry"],
            )
        except ValidationError as exc:
            outcomes[iccid] = PushOutcome(iccid, device_id, None, "skipped", exc.errors()[0]["msg"])
            continue
        commands[command.request_id] = (iccid, command)
        outcomes[iccid] = PushOutcome(iccid, device_id, command.request_id, "no_result", "no result in time")
    if not commands:
        return list(outcomes.values())
    devices = {plan["iccid"]: plan["device_id"] for plan in plans}
    topics = {Topics(devices[iccid], prefix).topic(Topic.RESULT, "set_plan") for iccid, _ in commands.values()}
    session = _Session(broker, tuple(sorted(topics)), min(timeout, 10.0))
    try:
        for iccid, command in commands.values():
            session.worker.publish(Topics(devices[iccid], prefix).topic(Topic.COMMAND, "set_plan"), _payload(command))
        waiting = set(commands)
        deadline = time.monotonic() + timeout
        while waiting and (delivery := session.next(deadline)) is not None:
            try:
                result = CommandResultMessage.model_validate_json(delivery.payload)
            except ValidationError:
                continue
            if result.request_id not in waiting:
                continue
            waiting.discard(result.request_id)
            iccid, _ = commands[result.request_id]
            outcomes[iccid] = PushOutcome(
                iccid,
                devices[iccid],
                result.request_id,
                "ok" if result.ok else "failed",
                None if result.ok or result.error is None else f"{result.error.code}: {result.error.message}",
            )
    finally:
        session.close()
    return list(outcomes.values())
