"""The 27.007 base with no overlay, and the small field helpers the vendor overlays share."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..at import Command
from ..errors import ParseError
from ..models import VendorFacts
from ..parsers._fields import parse_hex, parse_int, split_fields, strip_prefix
from ..parsers._gpp import parse_network_time
from ._dialect import Dialect, VendorQuery

__all__ = [
    "CLOCK_QUERY",
    "GENERIC",
    "lte_band",
    "mcc_mnc",
    "nr_band",
    "optional_hex",
    "optional_int",
    "parse_extras",
    "scaled",
]

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


# A module clock before this year was never set from the network (RTC defaults: 1980, 2000, 2004...): not a time.
_FIRST_PLAUSIBLE_YEAR = 2020
# Temperature sensors print 255 (EC200T: "+QTEMP: 38,255,255") or -273 where there is no sensor.
_NO_SENSOR = frozenset({255, -273})


def _temperatures(line: str, prefix: str) -> list[int]:
    values: list[int] = []
    for field in split_fields(strip_prefix(line, prefix)):
        value = field.strip()
        if value.lstrip("-").isdecimal() and int(value) not in _NO_SENSOR and -40 <= int(value) <= 150:
            values.append(int(value))
    return values


def parse_extras(lines: Sequence[str]) -> VendorFacts:
    """The answer lines of a concatenated extras read, each by its prefix.

    * ``+QTEMP: 38,255,255`` (EC2x/EC200: PMIC, XO, PA) or ``+QTEMP: "modem-lte-sub6-pa1","33"`` lines (RM5xx):
      the hottest sensor, 255 = no sensor. ``+CPMUTEMP: 34`` (SIMCom): °C.
    * ``+QUIMSLOT: 1`` (Quectel dual-SIM): the active slot.
    * ``+QLTS: "2019/12/12,10:49:42+32,0"`` (Quectel AT+QLTS=2) and ``+CCLK: "yy/MM/dd,hh:mm:ss±zz"``
      (27.007 §8.15): the network time; a clock before 2020 was never set and is left out.
    """
    temperatures: list[int] = []
    slot: int | None = None
    network_time: datetime | None = None
    text = "\n".join(lines)
    for raw in lines:
        line = raw.strip()
        upper = line.upper()
        if upper.startswith("+QTEMP:"):
            temperatures += _temperatures(line, "+QTEMP:")
        elif upper.startswith("+CPMUTEMP:"):
            temperatures += _temperatures(line, "+CPMUTEMP:")
        elif upper.startswith("+QUIMSLOT:"):
            slot = optional_int(strip_prefix(line, "+QUIMSLOT:"), what="SIM slot", text=text)
        elif upper.startswith(("+QLTS:", "+CCLK:")):
            prefix = "+QLTS:" if upper.startswith("+QLTS:") else "+CCLK:"
            if strip_prefix(line, prefix).strip('"').strip():
                when = parse_network_time(line, prefix)
                if when.year >= _FIRST_PLAUSIBLE_YEAR:
                    network_time = when
    return VendorFacts(
        temperature_c=float(max(temperatures)) if temperatures else None, sim_slot=slot, network_time=network_time
    )


# The 27.007 way to the network's time: let the network set the clock (+CTZU=1, §8.41), then read it (+CCLK?).
CLOCK_QUERY = VendorQuery(
    Command("AT+CTZU=1;+CCLK?", expect_prefix="+CCLK:"),
    parse_extras,
    split=(Command("AT+CCLK?", expect_prefix="+CCLK:"),),
)
