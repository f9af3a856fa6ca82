"""What a technician reads about a probe: views of the agent's catalogue (``directed.*`` in
:mod:`iotcard.agent.messages`), kept under the names the directed package has always used.

Templates take ``{host}``, ``{port}``, ``{address}``, ``{server}``, ``{error}``, ``{protocol}`` (results) or
``{text}``, ``{detail}`` (refused targets).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from iotcard.agent.messages import CATALOGUE, LANGUAGES

from ._model import Reason

__all__ = ["IP_TARGET_TEXT", "REASON_TEXT", "TARGET_HINT", "TARGET_PROBLEM_TEXT"]


def _pairs(prefix: str) -> Mapping[str, tuple[str, str | None]]:
    hint = CATALOGUE.get(f"{prefix}.hint")
    return MappingProxyType({lang: (CATALOGUE[prefix][lang], hint[lang] if hint else None) for lang in LANGUAGES})


# reason -> language -> (explanation, hint or None)
REASON_TEXT: Mapping[Reason, Mapping[str, tuple[str, str | None]]] = MappingProxyType(
    {reason: _pairs(f"directed.{reason.value}") for reason in Reason if f"directed.{reason.value}" in CATALOGUE}
)

# An IP target resolved nothing, so "resolved, but" would be wrong.
IP_TARGET_TEXT: Mapping[Reason, Mapping[str, tuple[str, str | None]]] = MappingProxyType(
    {reason: _pairs(f"directed.ip.{reason.value}") for reason in Reason if f"directed.ip.{reason.value}" in CATALOGUE}
)

TARGET_HINT: Mapping[str, str] = CATALOGUE["directed.target_hint"]

# problem reason -> language -> message
TARGET_PROBLEM_TEXT: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        code.removeprefix("directed.problem."): texts
        for code, texts in CATALOGUE.items()
        if code.startswith("directed.problem.")
    }
)
