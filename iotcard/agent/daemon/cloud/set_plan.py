"""``set_plan``: the cloud's data plan; the meter counts against it, and it is kept in the state dir, where it wins
over the config file's plan at the next start (:func:`load_cloud_plan`).

Runs on the command lane; the meter takes the plan through its owner (at once, or when it opens again)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from iotcard.agent.errors import ConfigError
from iotcard.agent.state import read_json, write_json_atomic
from iotcard.agent.usage import Plan

from ._command import CloudCommand, House

__all__ = ["CLOUD_PLAN_FILE", "COMMAND", "load_cloud_plan", "save_cloud_plan"]

log = logging.getLogger("iotcard.daemon")

CLOUD_PLAN_FILE = "plan.json"


def run(house: House, command: Any) -> Mapping[str, Any]:
    plan = Plan(
        name=command.plan_name,
        total_bytes=round(command.total_mb * 1024 * 1024),
        cycle_start=command.cycle_start,
        cycle_end=command.cycle_end,
        expiry=command.expiry,
    )
    house.meter.set_plan(plan)
    save_cloud_plan(house.state_dir, plan)
    return {"plan": command.plan_name, "total_mb": command.total_mb}


COMMAND = CloudCommand("set_plan", run)


def save_cloud_plan(state_dir: Path, plan: Plan) -> None:
    write_json_atomic(
        state_dir / CLOUD_PLAN_FILE,
        {
            "name": plan.name,
            "total_bytes": plan.total_bytes,
            "cycle_start": plan.cycle_start.isoformat() if plan.cycle_start else None,
            "cycle_end": plan.cycle_end.isoformat() if plan.cycle_end else None,
            "expiry": plan.expiry.isoformat() if plan.expiry else None,
        },
    )


def load_cloud_plan(state_dir: Path) -> Plan | None:
    """The plan the cloud set, or None (none set, or unreadable: logged and ignored)."""
    try:
        data = read_json(state_dir / CLOUD_PLAN_FILE)
    except (OSError, ConfigError) as exc:
        log.warning("ignoring the stored plan: %s", exc)
        return None
    if data is None:
        return None

    def day(key: str) -> date | None:
        value = data.get(key)
        return date.fromisoformat(value) if isinstance(value, str) else None

    total = data.get("total_bytes")
    name = data.get("name")
    try:
        return Plan(
            name=name if isinstance(name, str) else None,
            total_bytes=total if isinstance(total, int) else None,
            cycle_start=day("cycle_start"),
            cycle_end=day("cycle_end"),
            expiry=day("expiry"),
        )
    except ValueError as exc:
        log.warning("ignoring the stored plan: %s", exc)
        return None
