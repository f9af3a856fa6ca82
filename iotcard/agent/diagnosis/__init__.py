"""Card diagnosis (卡诊断): sources in, facts, findings with a verdict out, rendered in English or Chinese.

``gather(DiagnosisSources(...)) -> DiagnosisFacts`` reads the facts (codes and numbers) from injected readers: the
CLI's (``iotcard diag``) and the daemon's. ``diagnose(facts) -> Diagnosis`` is pure. ``render(finding, lang)`` is
the only place a finding becomes text, from the agent's one catalogue (:mod:`iotcard.agent.messages`).
"""

from __future__ import annotations

from ._engine import DiagnosisFacts, DirectedFact, PlanFact, PortFault, Thresholds, diagnose
from ._facts import directed_facts, plan_fact
from ._findings import CHECK_ORDER, CheckOutcome, Diagnosis, Finding, Severity, Verdict
from ._gather import DiagnosisSources, ModemReading, gather, port_fault
from ._messages import MESSAGES, render

__all__ = [
    "CHECK_ORDER",
    "MESSAGES",
    "CheckOutcome",
    "Diagnosis",
    "DiagnosisFacts",
    "DiagnosisSources",
    "DirectedFact",
    "Finding",
    "ModemReading",
    "PlanFact",
    "PortFault",
    "Severity",
    "Thresholds",
    "Verdict",
    "diagnose",
    "directed_facts",
    "gather",
    "plan_fact",
    "port_fault",
    "render",
]
