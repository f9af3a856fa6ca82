"""What a cloud command is to the daemon, what it may reach, and how one that takes time is answered later.

A command module defines ``COMMAND = CloudCommand(name, run, lane=...)``. ``run(house, command)`` gets the
validated command (a dataclass of :mod:`iotcard.contract.commands`) and returns its result (a JSON-able mapping),
or raises :class:`~iotcard.agent.telemetry.CommandRejected`. With ``lane=True`` (the default) it runs on the
scheduler's command lane: the MQTT thread only hands it on, and the result is published when it is done
(:class:`~.._messages.Answer`). ``lane=False`` is for a command that is answered at once on the MQTT thread and
touches nothing (``ping``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from iotcard.agent.config import AgentConfig
from iotcard.agent.telemetry import CommandOutcome, CommandProcessor, CommandRejected, Reply

from .._board import Board, Health
from .._jobs import Jobs
from .._messages import Answer, Message
from .._meter import MeterOwner
from .._worker import ModemWorker

__all__ = ["CloudCommand", "CloudCommands", "House", "handler_for"]

log = logging.getLogger("iotcard.daemon")


class House(Protocol):
    """The owners a cloud command may reach (the daemon's :class:`~.._agent.Agent` is one)."""

    @property
    def config(self) -> AgentConfig: ...
    @property
    def version(self) -> str: ...
    @property
    def state_dir(self) -> Path: ...
    @property
    def board(self) -> Board: ...
    @property
    def health(self) -> Health: ...
    @property
    def worker(self) -> ModemWorker: ...
    @property
    def meter(self) -> MeterOwner: ...
    @property
    def jobs(self) -> Jobs: ...

    def post(self, message: Message) -> None: ...


Run = Callable[[House, Any], Mapping[str, Any]]


@dataclass(frozen=True)
class CloudCommand:
    name: str
    run: Run
    lane: bool = True


# The result a handler gives the command processor for a command handed on to the lane (never published).
_HANDED_ON = "handed_on"


class CloudCommands(CommandProcessor):
    """The daemon's command processor: checks as every processor does, then a command handed on to the lane is not
    answered now (its answer comes as an :class:`~.._messages.Answer` when it ran)."""

    reply: Reply | None = None  # where the command being handled asked for its answer (MQTT thread only)

    def handle(
        self, name: str, payload: bytes, *, retained: bool = False, reply: Reply | None = None
    ) -> CommandOutcome:
        self.reply = reply
        try:
            outcome = super().handle(name, payload, retained=retained, reply=reply)
        finally:
            self.reply = None
        if outcome.ok and outcome.result is not None and _HANDED_ON in outcome.result:
            return replace(outcome, result=None, publish=False)
        return outcome


def handler_for(
    house: House, command: CloudCommand, reply: Callable[[], Reply | None] = lambda: None
) -> Callable[[Any], Mapping[str, Any]]:
    """The handler the command processor calls (on the MQTT thread) for ``command``; ``reply`` tells where the
    command being handled asked for its answer, which a command run on the lane keeps for its :class:`Answer`."""
    if not command.lane:
        return lambda validated: command.run(house, validated)

    def hand_on(validated: Any) -> Mapping[str, Any]:
        route = reply()
        house.jobs.run_soon(lambda: house.post(Answer(run_now(house, command, validated), route)))
        return {_HANDED_ON: True}

    return hand_on


def run_now(house: House, command: CloudCommand, validated: Any) -> CommandOutcome:
    """Run ``command`` here (the lane) and say what became of it, as the command processor would."""
    request_id = getattr(validated, "request_id", None)
    try:
        result = dict(command.run(house, validated))
        return CommandOutcome(command.name, request_id, True, result)
    except CommandRejected as exc:
        return CommandOutcome(command.name, request_id, False, error_code=exc.code, error_message=str(exc))
    except Exception as exc:
        log.debug("command %s failed", command.name, exc_info=True)
        message = f"{command.name} failed: {type(exc).__name__}: {exc}"
        return CommandOutcome(command.name, request_id, False, error_code="handler_failed", error_message=message)
