"""Fibocom (L8x0 on Intel XMM; L610/L716 Cat.1; FM150/FM650 5G): +XCESQ on the XMM family.

Source: Fibocom L850-GL / L860-GL AT Commands User Manual (+XCESQ), as read by ModemManager's xmm plugin.
The Cat.1 modules (L610, L716) answer ERROR to +XCESQ; the query is then skipped and the 27.007 base stands.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..at import Command
from ..errors import ParseError
from ..models import AccessTechnology, VendorFacts
from ..parsers._fields import split_fields, strip_prefix
from ._dialect import Dialect, VendorQuery
from ._generic import optional_int, scaled

__all__ = ["DIALECT", "parse_xcesq"]


def parse_xcesq(lines: Sequence[str]) -> VendorFacts:
    """``AT+XCESQ?``: ``+XCESQ: <n>,<rxlev>,<ber>,<rscp>,<ecno>,<rsrq>,<rsrp>,<rssnr>``.

    Like 27.007 +CESQ (§8.69) with a leading <n> and a signed <rssnr> in 0.5 dB steps (255 = unknown). The
    indices map to the upper bin edge as the project's +CESQ does: rsrp -140 + n, rsrq -19.5 + n/2,
    rscp -120 + n, ecno -24 + n/2, rxlev -110 + n. The RAT is the one whose values are present.
    """
    text = "\n".join(lines)
    line = next((item for item in lines if item.strip().upper().startswith("+XCESQ:")), None)
    if line is None:
        raise ParseError("no +XCESQ: line in the answer", text=text)
    fields = split_fields(strip_prefix(line, "+XCESQ:"))
    if len(fields) != 8:
        raise ParseError(f"+XCESQ has {len(fields)} fields, expected 8", text=text)
    values = [optional_int(field, what="+XCESQ value", text=text) for field in fields]
    _, rxlev, _, rscp, ecno, rsrq, rsrp, rssnr = values
    for raw, top in ((rxlev, 99), (rscp, 255), (ecno, 255), (rsrq, 255), (rsrp, 255)):
        if raw is not None and not 0 <= raw <= top:
            raise ParseError(f"+XCESQ value {raw} is out of range", text=text)
    unknown = frozenset({255})
    rsrp_dbm = scaled(rsrp, scale=1.0, offset=-140.0, unknown=unknown)
    rscp_dbm = scaled(rscp, scale=1.0, offset=-120.0, unknown=unknown)
    rxlev_dbm = scaled(rxlev, scale=1.0, offset=-110.0, unknown=frozenset({99}))
    if rsrp_dbm is not None:
        technology: AccessTechnology | None = AccessTechnology.LTE
    elif rscp_dbm is not None:
        technology = AccessTechnology.UMTS
    elif rxlev_dbm is not None:
        technology = AccessTechnology.GSM
    else:
        technology = None
    return VendorFacts(
        access_technology=technology,
        rsrp_dbm=rsrp_dbm,
        rsrq_db=scaled(rsrq, scale=0.5, offset=-19.5, unknown=unknown),
        sinr_db=scaled(rssnr, scale=0.5, offset=0.0, unknown=unknown) if technology is AccessTechnology.LTE else None,
        rscp_dbm=rscp_dbm,
        ecno_db=scaled(ecno, scale=0.5, offset=-24.0, unknown=unknown),
        rssi_dbm=rxlev_dbm,
    )


DIALECT = Dialect(
    name="fibocom",
    display_name="Fibocom",
    manufacturer_patterns=("fibocom",),
    # +XCESQI is the unsolicited form of +XCESQ (XMM); +PBREADY follows SIM/phonebook start-up.
    urc_prefixes=("+XCESQI:", "+PBREADY"),
    # AT+CCID / AT+ICCID (``+CCID: 8986...``) are the base ladder's first two rungs.
    iccid_commands=(),
    queries=(VendorQuery(Command("AT+XCESQ?", expect_prefix="+XCESQ:"), parse_xcesq),),
)
