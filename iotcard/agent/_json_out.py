"""The base of the CLI's ``--json`` documents: frozen dataclasses written as JSON.

They were pydantic models; they are plain because the CLI's commands also run inside the daemon (through its
control socket), and one ``iotcard status`` or ``info --json`` would load pydantic into the daemon for good (about
10 MB of resident memory; docs/benchmarks.md, "The agent daemon"). The output is the same JSON the models wrote:
compact, or indented with ``indent``; dates and times in ISO 8601 (UTC as ``Z``), enums as their values, a float
field as a float even when given an int, every field present (null when None).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import typing
from datetime import date, datetime
from typing import Any

__all__ = ["JsonOut"]


@functools.cache
def _float_fields(cls: Any) -> frozenset[str]:
    hints = typing.get_type_hints(cls)
    return frozenset(
        name for name, kind in hints.items() if kind is float or float in (typing.get_args(kind) or (kind,))
    )


def _value(value: Any) -> Any:
    if isinstance(value, JsonOut):
        return value.as_json()
    if isinstance(value, list | tuple):
        return [_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _value(item) for key, item in value.items()}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, date):
        return value.isoformat()
    return value


class JsonOut:
    """Subclass as ``@dataclass(frozen=True, kw_only=True)``; every field is written, in order."""

    __slots__ = ()

    def as_json(self) -> dict[str, Any]:
        floats = _float_fields(typing.cast(Any, type(self)))
        doc: dict[str, Any] = {}
        for item in dataclasses.fields(typing.cast(Any, self)):
            value = getattr(self, item.name)
            if item.name in floats and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            doc[item.name] = _value(value)
        return doc

    def to_json(self, indent: int | None = None) -> str:
        separators = (",", ":") if indent is None else (",", ": ")
        return json.dumps(self.as_json(), indent=indent, separators=separators, ensure_ascii=False)
