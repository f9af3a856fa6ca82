"""The technician's language, and the names other modules have always imported for it.

The texts live in the one catalogue, :mod:`iotcard.agent.messages`; this module keeps ``t``, ``port_error_text``,
``detect_language`` and ``display_width`` working for their callers (the CLI's info and error output).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .messages import CATALOGUE, detect_language, display_width, has, render

__all__ = ["detect_language", "display_width", "port_error_text", "t"]


def _legacy_keys() -> Mapping[str, str]:
    """The keys ``t`` has always taken (an English label, a state's raw value, a port error code, ``hint:<code>``)
    mapped to catalogue codes."""
    keys: dict[str, str] = {}
    for code, texts in CATALOGUE.items():
        area, _, name = code.partition(".")
        if area == "label":
            keys[texts["en"]] = code
        elif area == "state":
            keys[name] = code
        elif area == "port" and name.startswith("port_"):
            error, _, hint = name.partition(".")
            keys[f"hint:{error}" if hint else error] = code
    keys["modem_unresponsive"] = "modem.unresponsive"
    keys["hint:modem_unresponsive"] = "modem.unresponsive.hint"
    return MappingProxyType(keys)


_LEGACY_KEYS = _legacy_keys()


def t(text: str, lang: str, **values: object) -> str:
    """``text`` (an English label, a state value or a port error code) in ``lang``, ``{placeholders}`` filled.

    Text the catalogue does not know is returned as it is (filled when values are given).
    """
    code = _LEGACY_KEYS.get(text)
    if code is None:
        return text.format(**values) if values else text
    return render(code, lang, **values)


def port_error_text(code: str, port: str, message: str, hint: str, lang: str) -> tuple[str, str]:
    """A port error's sentence and hint in ``lang``. In English the transport's own words (they may carry the
    operating system's detail); in Chinese the catalogue's ``port.<code>``."""
    if lang != "zh" or not has(f"port.{code}"):
        return message, hint
    return render(f"port.{code}", lang, port=port), render(f"port.{code}.hint", lang)
