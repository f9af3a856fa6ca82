"""Sans-IO AT engine: framing, final result codes, URC registry and events. No I/O, no clocks, no threads."""

from __future__ import annotations

from ._command import DEFAULT_TIMEOUT, Command, validate_command_text
from ._engine import BASE_URC_PREFIXES, AtEngine, EngineState
from ._events import (
    NEED_DATA,
    Discarded,
    Echo,
    ErrorKind,
    Event,
    FinalError,
    FinalOk,
    InfoLine,
    NeedData,
    StrayLine,
    Urc,
)
from ._finals import CME_ERRORS, CMS_ERRORS, classify_final, cme_meaning

__all__ = [
    "BASE_URC_PREFIXES",
    "CME_ERRORS",
    "CMS_ERRORS",
    "DEFAULT_TIMEOUT",
    "NEED_DATA",
    "AtEngine",
    "Command",
    "Discarded",
    "Echo",
    "EngineState",
    "ErrorKind",
    "Event",
    "FinalError",
    "FinalOk",
    "InfoLine",
    "NeedData",
    "StrayLine",
    "Urc",
    "classify_final",
    "cme_meaning",
    "validate_command_text",
]
