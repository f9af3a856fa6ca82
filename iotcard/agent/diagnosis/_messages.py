"""What each finding says to the technician: one sentence, then what to do next, from the agent's catalogue.

A finding carries codes and numbers (``params``); here they become the words of ``diag.<code>`` and
``diag.<code>.hint`` in :mod:`iotcard.agent.messages`, with the values only text can hold (a byte count as
"1.2 GB", the port error's sentence, the renewal advice) rendered from the catalogue too.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from iotcard.agent import messages

from ._findings import Finding

__all__ = ["FINDING_CODES", "MESSAGES", "render"]

FINDING_CODES: tuple[str, ...] = tuple(
    code.removeprefix("diag.")
    for code in messages.CATALOGUE
    if code.startswith("diag.") and code.count(".") == 1 and not code.startswith("diag.clock")
)

# registration_denied with a reject cause: what the common causes of IoT cards mean and what to do (TS 24.301
# annex A / TS 24.008 annex G numbers) -> diag.registration_denied.<group>.
_CAUSE_GROUPS: Mapping[int, str] = MappingProxyType(
    {2: "identity", 3: "identity", 5: "identity", 6: "identity"}
    | {7: "service", 8: "service", 14: "service"}
    | {11: "area", 12: "area", 13: "area", 15: "area"}
)


def _bytes(value: object) -> str:
    if not isinstance(value, int):
        return "?"
    mib = value / (1024 * 1024)
    return f"{mib / 1024:.2f} GB" if mib >= 1024 else f"{mib:.1f} MB"


def _port_texts(params: Mapping[str, object], lang: str) -> tuple[str, str]:
    error = str(params.get("error") or "port_unavailable")
    code = f"port.{error}" if messages.has(f"port.{error}") else "port.port_unavailable"
    detail = messages.render(code, lang, port=params.get("port"))
    if params.get("reason"):
        detail = messages.render("port.with_reason", lang, text=detail, reason=params["reason"])
    return detail, messages.render(f"{code}.hint", lang)


def _values(finding: Finding, lang: str) -> dict[str, object]:
    """The finding's params, and the values its templates show as text."""
    params = finding.params
    values: dict[str, object] = dict(params)
    if finding.code == "port_unavailable":
        values["detail"], values["port_hint"] = _port_texts(params, lang)
    if "used_bytes" in params:
        values.update(
            used=_bytes(params.get("used_bytes")),
            total=_bytes(params.get("total_bytes")),
            remaining=_bytes(params.get("remaining_bytes")),
        )
    if finding.code == "cycle_expiring":
        advice = params.get("renew_advice")
        code = f"renew.{advice}" if advice and messages.has(f"renew.{advice}") else "renew.default"
        values["renew_hint"] = messages.render(code, lang, renew_by=params.get("renew_by"))
    if finding.code == "directed_blocked":
        targets = params.get("targets")
        if isinstance(targets, tuple | list):
            values["targets"] = ", ".join(f"{target} ({verdict})" for target, verdict in targets)
    if finding.code == "clock_skew" and params.get("direction") in ("ahead", "behind"):
        values["direction"] = messages.render(f"diag.clock.{params['direction']}", lang)
    return values


def render(finding: Finding, lang: str) -> tuple[str, str]:
    """The finding's message and hint in ``lang`` (``en`` or ``zh``)."""
    code = f"diag.{finding.code}"
    cause = finding.params.get("reject_cause")
    if finding.code == "registration_denied" and isinstance(cause, int):
        code = f"diag.registration_denied.{_CAUSE_GROUPS.get(cause, 'other')}"
    values = _values(finding, lang)
    return messages.render(code, lang, **values), messages.render(f"{code}.hint", lang, **values)


# code -> language -> (message template, hint template): the catalogue's diag.* entries, for readers of the old table.
MESSAGES: Mapping[str, Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        code: MappingProxyType(
            {
                lang: (messages.CATALOGUE[f"diag.{code}"][lang], messages.CATALOGUE[f"diag.{code}.hint"][lang])
                for lang in messages.LANGUAGES
            }
        )
        for code in FINDING_CODES
    }
)
