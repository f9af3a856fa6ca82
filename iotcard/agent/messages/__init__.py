"""What the agent says to a technician, in English or Chinese: one catalogue, one render function.

``render(code, lang, **values)`` fills the catalogue's template for ``code`` in ``lang`` (English when the language
or the code's translation is missing). Callers pass codes and numbers; anything shown as text is rendered here.
"""

from __future__ import annotations

import os
import string
from collections.abc import Mapping

from ._catalogue import CATALOGUE

__all__ = ["CATALOGUE", "LANGUAGES", "detect_language", "display_width", "has", "placeholders", "render"]

LANGUAGES: tuple[str, ...] = ("en", "zh")


class _Values(dict[str, object]):
    """Format values where a missing or unknown one shows as ``?`` rather than failing the whole sentence."""

    def __missing__(self, key: str) -> str:
        return "?"


def has(code: str) -> bool:
    return code in CATALOGUE


def render(code: str, lang: str, /, **values: object) -> str:
    """The message ``code`` in ``lang`` with ``{placeholders}`` filled from ``values`` (None shows as ``?``).

    Raises KeyError for a code the catalogue does not know: a typo should fail a test, not print a code.
    """
    texts = CATALOGUE[code]
    template = texts.get(lang) or texts["en"]
    if not values and "{" not in template:
        return template
    return template.format_map(_Values({k: "?" if v is None else v for k, v in values.items()}))


def placeholders(template: str) -> frozenset[str]:
    """The names a template fills (``{value:g}`` gives ``value``)."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


def detect_language(environ: Mapping[str, str] | None = None) -> str:
    """``zh`` when LC_ALL/LC_MESSAGES/LANG/LANGUAGE (the first one set) starts with zh, else ``en``."""
    env = os.environ if environ is None else environ
    for key in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(key, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def display_width(text: str) -> int:
    """Terminal columns: CJK characters take two (for aligned labels in Chinese output)."""
    return sum(2 if ord(c) > 0x2E80 else 1 for c in text)
