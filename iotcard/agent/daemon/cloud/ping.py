"""``ping``: the agent's version and uptime, answered at once on the MQTT thread (it touches nothing)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ._command import CloudCommand, House


def run(house: House, command: Any) -> Mapping[str, Any]:
    return {"pong": True, "agent_version": house.version, "uptime_s": round(time.monotonic() - house.health.started)}


COMMAND = CloudCommand("ping", run, lane=False)
