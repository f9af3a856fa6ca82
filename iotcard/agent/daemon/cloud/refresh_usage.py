"""``refresh_usage``: sample and commit the meter now, publish telemetry with the figures, answer with the cycle.

Runs on the command lane; the sampling is a request to the meter owner. A state dir that cannot be written refuses
the command (``storage_unavailable``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from iotcard.agent.telemetry import CommandRejected

from .._messages import SendTelemetry
from .._storage import StorageUnavailable
from ._command import CloudCommand, House


def run(house: House, command: Any) -> Mapping[str, Any]:
    try:
        report = house.meter.refresh()
    except StorageUnavailable as exc:
        raise CommandRejected(exc.message, code=exc.code) from None
    house.post(SendTelemetry(report))
    return {"cycle_total_bytes": report.cycle_total_bytes, "cycle_start": str(report.cycle_start)}


COMMAND = CloudCommand("refresh_usage", run)
