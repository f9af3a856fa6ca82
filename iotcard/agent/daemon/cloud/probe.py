"""``probe``: probe the targets the cloud names now, publish the round, answer with each target's verdict.

Runs on the command lane. The cloud's targets are bound to the cellular interface and refused when they are not
public addresses, unless the device's config allows private ones (see :func:`.._checks.probe_targets`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from iotcard.contract.wire import as_json

from .._checks import probe_targets
from .._mapping import directed_results
from .._messages import SendDirected
from ._command import CloudCommand, House

# A cloud probe's per-phase timeout is capped here, whatever the command asks.
MAX_TIMEOUT_S = 10.0


def run(house: House, command: Any) -> Mapping[str, Any]:
    timeout = min(command.timeout_s, MAX_TIMEOUT_S)
    results = probe_targets(house.config, house.board.last_read, command.targets, timeout=timeout, from_cloud=True)
    payload = directed_results(results)
    house.post(SendDirected(tuple(payload)))
    return {"results": [as_json(r) for r in payload]}


COMMAND = CloudCommand("probe", run)
