"""``set_config``: the cloud changes the directed targets and the signal, telemetry and directed intervals.

Runs on the command lane, the one writer of the board's settings: the new :class:`~.._board.Settings` replace the
old ones whole (the jobs read them), and the jobs whose interval changed are rescheduled. Targets that are not
public addresses are refused unless the device's config allows private ones."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from iotcard.agent.directed import InvalidTarget, parse_target, refused_address
from iotcard.agent.telemetry import CommandRejected

from ._command import CloudCommand, House

# The command's fields and the jobs they set the interval of.
_INTERVALS = (
    ("telemetry_interval_s", "telemetry"),
    ("sample_interval_s", "signal"),
    ("directed_interval_s", "directed"),
)


def run(house: House, command: Any) -> Mapping[str, Any]:
    directed = house.config.directed
    settings = house.board.settings
    changed: dict[str, Any] = {}
    if command.directed_targets is not None:
        for text in command.directed_targets:
            try:
                target = parse_target(text, directed.port)
            except InvalidTarget as exc:
                raise CommandRejected(exc.message) from None
            why = refused_address(target.host) if target.is_ip else None
            if why is not None and not directed.allow_private:
                raise CommandRejected(
                    f"{text} is not a public address ({why}); the device's config does not allow it",
                    code="refused_target",
                )
        settings = replace(settings, targets=tuple(command.directed_targets), targets_from_cloud=True)
        changed["directed_targets"] = list(settings.targets)
    for field_name, job in _INTERVALS:
        value = getattr(command, field_name)
        if value is not None:
            settings = settings.with_interval(job, value)
            changed[field_name] = value
    house.jobs.replace_settings(settings)
    return {"changed": changed}


COMMAND = CloudCommand("set_config", run)
