"""The cloud's commands to the daemon: one module each (what it does, who runs it), registered in ``COMMANDS``.

Adding a command is one module defining ``COMMAND`` (see :mod:`._command`) and one line below; the MQTT contract
(:mod:`iotcard.contract`) must know its name and payload.
"""

from __future__ import annotations

from iotcard.agent.telemetry import CommandProcessor, Reply

from . import diagnose, ping, probe, refresh_usage, set_config, set_plan
from ._command import CloudCommand, CloudCommands, House, handler_for

__all__ = ["COMMANDS", "CloudCommand", "CloudCommands", "House", "register"]

COMMANDS: tuple[CloudCommand, ...] = (
    ping.COMMAND,
    diagnose.COMMAND,
    probe.COMMAND,
    refresh_usage.COMMAND,
    set_plan.COMMAND,
    set_config.COMMAND,
)


def register(processor: CommandProcessor, house: House, commands: tuple[CloudCommand, ...] = COMMANDS) -> None:
    """Give ``processor`` a handler for each of ``commands``, reaching the owners of ``house``."""

    def reply() -> Reply | None:
        return processor.reply if isinstance(processor, CloudCommands) else None

    for command in commands:
        processor.register(command.name, handler_for(house, command, reply))
