"""China Mobile IoT 中移物联 OneMO modules (ML302 on UNISOC 8910, ML307 Cat.1): +MCCID and +CCED.

Sources: China Mobile OneOS molink driver for the ML302 (``ml302_general.c`` reads ``AT+ICCID``,
``ml302_netserv.c`` reads ``AT+CCED=0,1`` in the Luat form); ML307R integrations read ``AT+MCCID`` →
``+MCCID: <iccid>``.
"""

from __future__ import annotations

from ..at import Command
from ._dialect import Dialect, VendorQuery
from ._luat import CCED_SERVING_CELL, parse_cced

__all__ = ["DIALECT"]

DIALECT = Dialect(
    name="cmcc",
    display_name="China Mobile (OneMO)",
    # A bare "cm" would match far too much (any text containing those letters), so only the long forms count.
    manufacturer_patterns=("china mobile", "cmcc", "cmiot", "中移", "onemo"),
    # ML307 answers AT+MCCID; the ML302's AT+ICCID is already in the base ladder.
    iccid_commands=(Command("AT+MCCID", expect_prefix="+MCCID:"),),
    queries=(VendorQuery(CCED_SERVING_CELL, parse_cced),),
)
