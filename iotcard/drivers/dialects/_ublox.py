"""u-blox (SARA-R4/R5, LARA-R2/R6, TOBY-L2): the +UGCNTRD byte counters.

Source: u-blox SARA-R4 / LARA-R6 AT Commands Manual (§18.x +UGCNTRD, §19 +UUPSDA/+UUPSDD, §25 +UUSORD...).
Serving-cell data (+UCGED) needs a prior mode write and its layout differs per module generation, so no
vendor query is sent; the 27.007 base answers signal and cell.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..at import Command
from ..errors import ParseError
from ..models import VendorFacts
from ..parsers._fields import parse_int, split_fields, strip_prefix
from ._dialect import Dialect, VendorQuery

__all__ = ["DIALECT", "parse_ugcntrd"]


def parse_ugcntrd(lines: Sequence[str]) -> VendorFacts:
    """``AT+UGCNTRD``: one ``+UGCNTRD: <cid>,<sent_sess>,<recv_sess>,<sent_total>,<recv_total>`` per context.

    The totals of every listed context are summed: each context is separate traffic on the same SIM, and the
    meter wants all of it. Counters are 64-bit (113728263578 in ModemManager's tests); Python ints hold them.
    """
    text = "\n".join(lines)
    rows = [
        split_fields(strip_prefix(line, "+UGCNTRD:")) for line in lines if line.strip().upper().startswith("+UGCNTRD:")
    ]
    if not rows:
        raise ParseError("no +UGCNTRD: line in the answer", text=text)
    sent = received = 0
    for row in rows:
        if len(row) != 5:
            raise ParseError(f"+UGCNTRD line has {len(row)} fields, expected 5", text=text)
        numbers = [parse_int(field, what="+UGCNTRD counter", text=text) for field in row]
        if any(n is None or n < 0 for n in numbers):
            raise ParseError("+UGCNTRD fields must be non-negative numbers", text=text)
        sent += numbers[3] or 0
        received += numbers[4] or 0
    return VendorFacts(tx_bytes=sent, rx_bytes=received)


DIALECT = Dialect(
    name="ublox",
    display_name="u-blox",
    manufacturer_patterns=("u-blox", "ublox"),
    urc_prefixes=(
        "+UUPSDA:",
        "+UUPSDD:",
        "+UUSORD:",
        "+UUSORF:",
        "+UUSOCL:",
        "+UUSOLI:",
        "+UUPING:",
        "+UUPINGER:",
        "+UUHTTPCR:",
        "+UUMQTTC:",
        "+UUSIMSTAT:",
        "+UUFWINSTALL:",
    ),
    # AT+CCID (``+CCID: 89...``) is the base ladder's first rung.
    iccid_commands=(),
    counters=VendorQuery(Command("AT+UGCNTRD", expect_prefix="+UGCNTRD:", multiline=True), parse_ugcntrd),
)
