"""The 27.007 base with no overlay, and the small field helpers the vendor overlays share."""

from __future__ import annotations

from ..errors import ParseError
from ..parsers._fields import parse_hex, parse_int
from ._dialect import Dialect

__all__ = ["GENERIC", "lte_band", "mcc_mnc", "nr_band", "optional_hex", "optional_int", "scaled"]

GENERIC = Dialect(name="generic", display_name="3GPP TS 27.007 modem")

# Vendors write "-" (Quectel, Cinterion) or leave the field empty when a value is not available.
_ABSENT = {"", "-", "--", "---", "----"}


# No radio measurement or channel number comes near this; a longer number is line noise, not a value.
_MAX_MAGNITUDE = 10**12


def optional_int(field: str, *, what: str, text: str = "") -> int | None:
    """A decimal field, or ``None`` when the vendor marks it absent."""
    if field.strip().strip('"').strip() in _ABSENT:
        return None
    value = parse_int(field, what=what, text=text)
    if value is not None and abs(value) > _MAX_MAGNITUDE:
        raise ParseError(f"{what} {field!r} is out of range", text=text or field)
    return value


def optional_hex(field: str, *, what: str, text: str = "") -> int | None:
    """A hexadecimal field (LAC, TAC, cell id), or ``None`` when the vendor marks it absent."""
    if field.strip().strip('"').strip() in _ABSENT:
        return None
    return parse_hex(field, what=what, text=text)


def scaled(raw: int | None, *, scale: float, offset: float, unknown: frozenset[int] = frozenset()) -> float | None:
    """``offset + raw * scale``; ``None`` for a missing value or one of the vendor's "unknown" codes."""
    if raw is None or raw in unknown:
        return None
    return round(offset + raw * scale, 2)


def mcc_mnc(mcc: str, mnc: str, *, text: str = "") -> str | None:
    """``'460'`` + ``'0'`` → ``'46000'``: a one-digit MNC is a 2-digit one printed as a number.

    Quectel prints the MCC as a number too: the 001 test network of a callbox comes as ``1`` (libqmi PR #2).
    """
    mcc, mnc = mcc.strip().strip('"'), mnc.strip().strip('"')
    if mcc in _ABSENT or mnc in _ABSENT:
        return None
    if mcc.isascii() and mcc.isdigit() and len(mcc) < 3:
        mcc = mcc.zfill(3)
    if not ((mcc + mnc).isascii() and mcc.isdigit() and mnc.isdigit() and len(mcc) == 3 and 1 <= len(mnc) <= 3):
        raise ParseError(f"MCC/MNC {mcc!r}/{mnc!r} is not 3 + 2-3 digits", text=text or f"{mcc},{mnc}")
    return mcc + mnc.zfill(2)


def lte_band(number: int | None) -> str | None:
    return None if number is None else f"B{number}"


def nr_band(number: int | None) -> str | None:
    return None if number is None else f"n{number}"
