"""Events the AT engine produces: small frozen values named for what happened on the line."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "NEED_DATA",
    "Discarded",
    "Echo",
    "ErrorKind",
    "Event",
    "FinalError",
    "FinalOk",
    "InfoLine",
    "NeedData",
    "StrayLine",
    "Urc",
]


class ErrorKind(enum.Enum):
    """Which final result code ended a command in failure (V.250 §5.7.1, 27.007 §9.2, 27.005 §3.2.5)."""

    ERROR = "error"
    CME = "cme"
    CMS = "cms"
    MODEM = "modem"  # "MODEM ERROR: <n>" (seen on some Sierra/Option firmwares; ModemManager treats it as final)
    NOT_SUPPORTED = "not_supported"  # "COMMAND NOT SUPPORT" (Huawei)
    NO_CARRIER = "no_carrier"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    NO_DIALTONE = "no_dialtone"


@dataclass(frozen=True, slots=True)
class Echo:
    """The modem repeated our command line (ATE1)."""

    text: str


@dataclass(frozen=True, slots=True)
class InfoLine:
    """A line that answers the pending command."""

    text: str


@dataclass(frozen=True, slots=True)
class FinalOk:
    """The pending command succeeded (``OK``, or ``CONNECT`` for a dial)."""

    text: str = "OK"


@dataclass(frozen=True, slots=True)
class FinalError:
    """The pending command failed. ``code`` is the numeric CME/CMS/modem code when one was given."""

    kind: ErrorKind
    code: int | None
    text: str


@dataclass(frozen=True, slots=True)
class Urc:
    """An unsolicited result code: ``prefix`` is the registry entry it matched (``+CREG:``, ``RDY``...)."""

    prefix: str
    text: str


@dataclass(frozen=True, slots=True)
class StrayLine:
    """A line that is no answer, no final code and no known URC: kept, never silently merged into an answer."""

    text: str


@dataclass(frozen=True, slots=True)
class Discarded:
    """Bytes thrown away because a line grew past the engine's bound without a line end."""

    byte_count: int


class NeedData:
    """Sentinel: the engine needs more bytes before it can produce another event."""

    _instance: NeedData | None = None

    def __new__(cls) -> NeedData:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = NeedData()

Event = Echo | InfoLine | FinalOk | FinalError | Urc | StrayLine | Discarded
