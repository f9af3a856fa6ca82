"""Card diagnosis (卡诊断): facts in, findings with a verdict out, rendered in English or Chinese.

``diagnose(DiagnosisFacts(...)) -> Diagnosis`` is pure; the CLI (``iotcard diag``) and the daemon gather the facts.
"""

from __future__ import annotations

from ._engine import DiagnosisFacts, DirectedFact, PlanFact, Thresholds, diagnose
from ._facts import directed_facts, plan_fact
from ._findings import CHECK_ORDER, CheckOutcome, Diagnosis, Finding, Severity, Verdict
from ._messages import MESSAGES, render

__all__ = [
    "CHECK_ORDER",
    "MESSAGES",
    "CheckOutcome",
    "Diagnosis",
    "DiagnosisFacts",
    "DirectedFact",
    "Finding",
    "PlanFact",
    "Severity",
    "Thresholds",
    "Verdict",
    "diagnose",
    "directed_facts",
    "plan_fact",
    "render",
]
