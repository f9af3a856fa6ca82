"""``diagnose``: diagnose now from what the owners know, publish the findings, answer with the verdict.

Runs on the command lane: the facts are the modem worker's state and the board's last read and probe round (no
port I/O), and the plan from the meter owner."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._checks import diagnose_now
from .._mapping import diagnosis_findings
from .._messages import SendDiagnosis
from ._command import CloudCommand, House


def run(house: House, command: Any) -> Mapping[str, Any]:
    result = diagnose_now(worker=house.worker, board=house.board, meter=house.meter, state_dir=house.state_dir)
    house.post(SendDiagnosis(tuple(diagnosis_findings(result))))
    return {"verdict": result.verdict.value, "findings": [f.code for f in result.findings]}


COMMAND = CloudCommand("diagnose", run)
