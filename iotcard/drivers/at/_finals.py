"""Final result codes and the CME/CMS error tables.

V.250 §5.7.1 defines OK, CONNECT, RING, NO CARRIER, ERROR, NO DIALTONE, BUSY, NO ANSWER; 27.007 §9.2 adds
``+CME ERROR: <err>`` and 27.005 §3.2.5 ``+CMS ERROR: <err>``, each numeric or verbose (``AT+CMEE=1|2``).
"""

from __future__ import annotations

import re

from ._events import ErrorKind, FinalError, FinalOk

__all__ = ["CME_ERRORS", "CMS_ERRORS", "classify_final", "cme_meaning"]

_SIMPLE_FINALS: dict[str, FinalOk | FinalError] = {
    "OK": FinalOk("OK"),
    "ERROR": FinalError(ErrorKind.ERROR, None, "ERROR"),
    "NO CARRIER": FinalError(ErrorKind.NO_CARRIER, None, "NO CARRIER"),
    "BUSY": FinalError(ErrorKind.BUSY, None, "BUSY"),
    "NO ANSWER": FinalError(ErrorKind.NO_ANSWER, None, "NO ANSWER"),
    "NO DIALTONE": FinalError(ErrorKind.NO_DIALTONE, None, "NO DIALTONE"),
    "NO DIAL TONE": FinalError(ErrorKind.NO_DIALTONE, None, "NO DIAL TONE"),
    "COMMAND NOT SUPPORT": FinalError(ErrorKind.NOT_SUPPORTED, None, "COMMAND NOT SUPPORT"),
}

# "+CME ERROR:" with nothing after it is not a final code, "+CME ERROR: " (trailing space) is: ModemManager's
# serial-port framing tests pin this down, and we follow them.
_CME_RE = re.compile(r"^\+CME ERROR:(.+)$")
_CMS_RE = re.compile(r"^\+CMS ERROR:(.+)$")
_MODEM_RE = re.compile(r"^MODEM ERROR:\s*(\d+)\s*$")
_CONNECT_RE = re.compile(r"^CONNECT(?: .*)?$")

# 27.007 §9.2.1 (general and GPRS-related codes that matter on an IoT module).
CME_ERRORS: dict[int, str] = {
    0: "phone failure",
    1: "no connection to phone",
    3: "operation not allowed",
    4: "operation not supported",
    5: "PH-SIM PIN required",
    10: "SIM not inserted",
    11: "SIM PIN required",
    12: "SIM PUK required",
    13: "SIM failure",
    14: "SIM busy",
    15: "SIM wrong",
    16: "incorrect password",
    17: "SIM PIN2 required",
    18: "SIM PUK2 required",
    20: "memory full",
    21: "invalid index",
    22: "not found",
    23: "memory failure",
    24: "text string too long",
    25: "invalid characters in text string",
    26: "dial string too long",
    27: "invalid characters in dial string",
    30: "no network service",
    31: "network timeout",
    32: "network not allowed - emergency calls only",
    40: "network personalization PIN required",
    100: "unknown",
    103: "illegal MS",
    106: "illegal ME",
    107: "GPRS services not allowed",
    111: "PLMN not allowed",
    112: "location area not allowed",
    113: "roaming not allowed in this location area",
    132: "service option not supported",
    133: "requested service option not subscribed",
    134: "service option temporarily out of order",
    148: "unspecified GPRS error",
    149: "PDP authentication failure",
    150: "invalid mobile class",
}

# 27.005 §3.2.5 (the ones a device that never sends SMS may still see).
CMS_ERRORS: dict[int, str] = {
    300: "ME failure",
    301: "SMS service of ME reserved",
    302: "operation not allowed",
    303: "operation not supported",
    304: "invalid PDU mode parameter",
    305: "invalid text mode parameter",
    310: "SIM not inserted",
    311: "SIM PIN required",
    313: "SIM failure",
    314: "SIM busy",
    315: "SIM wrong",
    320: "memory failure",
    321: "invalid memory index",
    322: "memory full",
    330: "SMSC address unknown",
    331: "no network service",
    332: "network timeout",
    500: "unknown error",
}

_CME_BY_TEXT = {text.lower(): code for code, text in CME_ERRORS.items()}


def cme_meaning(code: int | None, text: str = "") -> str:
    """A human meaning for a CME error given as a number or in verbose form."""
    if code is not None:
        return CME_ERRORS.get(code, f"error {code}")
    return text.strip() or "unspecified error"


def _error_with_code(kind: ErrorKind, line: str, value: str) -> FinalError:
    value = value.strip()
    if value.isdigit():
        return FinalError(kind, int(value), line)
    if kind is ErrorKind.CME:
        return FinalError(kind, _CME_BY_TEXT.get(value.lower()), line)
    return FinalError(kind, None, line)


def classify_final(line: str, extra: dict[str, FinalOk | FinalError] | None = None) -> FinalOk | FinalError | None:
    """Return the final result code that ``line`` is, or ``None``.

    ``line`` is one line without its terminator but with any other whitespace kept (a trailing space is meaningful
    for ``+CME ERROR: ``). ``extra`` adds a dialect's own final codes, keyed by the exact line.
    """
    key = line.strip()
    final = _SIMPLE_FINALS.get(key)
    if final is not None:
        return final
    if extra and key in extra:
        return extra[key]
    if match := _CME_RE.match(line):
        return _error_with_code(ErrorKind.CME, key, match.group(1))
    if match := _CMS_RE.match(line):
        return _error_with_code(ErrorKind.CMS, key, match.group(1))
    if match := _MODEM_RE.match(key):
        return FinalError(ErrorKind.MODEM, int(match.group(1)), key)
    if _CONNECT_RE.match(key):
        return FinalOk(key)
    return None
