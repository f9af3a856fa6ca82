"""Luat / AirM2M 合宙 (Air724UG on UNISOC 8910, Air780E on EC618): +CCED, ^SYSINFO, ^DATAINFO.

Source: 合宙 Air780E 模块 AT 指令手册 (openLuat luatos-doc-pool, AT_Command_Manual: Base/CGMI, Base/ICCID,
Network_service/CCED, Network_service/SYSINFO, Network_service/DATAINFO, Network_service/^MODE). The same
+CCED form is read by China Mobile's OneOS driver for the ML302 (UNISOC 8910), which shares this parser.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..at import Command
from ..errors import ParseError
from ..models import AccessTechnology, RegistrationState, VendorFacts
from ..parsers._fields import parse_int, split_fields, strip_prefix
from ._dialect import Dialect, VendorQuery
from ._generic import lte_band, mcc_mnc, optional_hex, optional_int, scaled

__all__ = ["CCED_SERVING_CELL", "DIALECT", "parse_cced", "parse_datainfo", "parse_sysinfo"]


def _line(lines: Sequence[str], prefix: str) -> str:
    for line in lines:
        if line.strip().upper().startswith(prefix.upper()):
            return line
    raise ParseError(f"no {prefix} line in the answer", text="\n".join(lines))


def parse_cced(lines: Sequence[str]) -> VendorFacts:
    """``AT+CCED=0,1`` (Air780E manual, Network_service/CCED): the serving cell, once.

    LTE: ``+CCED:LTE current cell:<mcc>,<mnc>,<imsi>,<roaming>,<band>,<bandwidth>,<dl_earfcn>,<cellid>,<rsrp>,
    <rsrq>,<tac>,<srxlev>,<pcid>`` with decimal cell id and TAC, RSRP/RSRQ as 36.133 report indices
    (upper bin edge: -140 + n dBm, -19.5 + n/2 dB, the project's +CESQ convention).
    GSM: ``+CCED:GSM current cell info:<mcc>,<mnc>,<lac>,<cellid>,<bsic>,<rxlev>,<rxlev_sub>,<arfcn>`` with hex
    LAC/cell id (the manual's 18be is the 6334 its neighbour list prints) and RxLev 0..63 (-110 + n dBm).
    """
    text = "\n".join(lines)
    body = strip_prefix(_line(lines, "+CCED:"), "+CCED:")
    header, sep, rest = body.partition(":")
    if not sep:
        raise ParseError("+CCED answer has no '<rat> current cell:' header", text=text)
    header_words = header.upper().split()
    if "CURRENT" not in header_words:
        raise ParseError(f"+CCED line {header!r} is not the serving cell", text=text)
    fields = split_fields(rest)
    if header_words[0] == "LTE":
        if len(fields) < 13:
            raise ParseError(f"+CCED LTE serving cell has {len(fields)} fields, expected 13", text=text)
        return VendorFacts(
            access_technology=AccessTechnology.LTE,
            mcc_mnc=mcc_mnc(fields[0], fields[1], text=text),
            band=lte_band(optional_int(fields[4], what="band", text=text)),
            channel=optional_int(fields[6], what="EARFCN", text=text),
            cell_id=optional_int(fields[7], what="cell id", text=text),
            rsrp_dbm=scaled(optional_int(fields[8], what="RSRP", text=text), scale=1.0, offset=-140.0),
            rsrq_db=scaled(optional_int(fields[9], what="RSRQ", text=text), scale=0.5, offset=-19.5),
            tac=optional_int(fields[10], what="TAC", text=text),
        )
    if header_words[0] == "GSM":
        if len(fields) < 8:
            raise ParseError(f"+CCED GSM serving cell has {len(fields)} fields, expected 8", text=text)
        rxlev = optional_int(fields[5], what="RxLev", text=text)
        return VendorFacts(
            access_technology=AccessTechnology.GSM,
            mcc_mnc=mcc_mnc(fields[0], fields[1], text=text),
            lac=optional_hex(fields[2], what="LAC", text=text),
            cell_id=optional_hex(fields[3], what="cell id", text=text),
            rssi_dbm=scaled(rxlev, scale=1.0, offset=-110.0, unknown=frozenset({99})),
            channel=optional_int(fields[7], what="ARFCN", text=text),
        )
    raise ParseError(f"+CCED serving cell of unknown technology {header_words[0]!r}", text=text)


# ^SYSINFO <sys_mode> in Luat's numbering (not Huawei's): 3 GSM/GPRS, 4 WCDMA, 5 TD-SCDMA, 17 LTE;
# <sys_submode> is the 27.007 AcT (0 GSM, 3 EGPRS, 4-6 HSPA, 7 E-UTRAN).
_SYSMODE = {3: AccessTechnology.GSM, 4: AccessTechnology.UMTS, 5: AccessTechnology.UMTS, 17: AccessTechnology.LTE}


def parse_sysinfo(lines: Sequence[str]) -> VendorFacts:
    """``AT^SYSINFO`` (Air780E manual, Network_service/SYSINFO):
    ``^SYSINFO:<srv_status>,<srv_domain>,<roam_status>,<sys_mode>,<sim_state>,<sys_submode>``.

    Unlike Huawei's ^SYSINFO there is no <lock_state> before the submode. sim_state 255 is "no card or PIN
    not entered", so it does not prove the card is absent.
    """
    text = "\n".join(lines)
    fields = split_fields(strip_prefix(_line(lines, "^SYSINFO:"), "^SYSINFO:"))
    if len(fields) < 5:
        raise ParseError(f"^SYSINFO has {len(fields)} fields, expected at least 5", text=text)
    srv_status = optional_int(fields[0], what="srv_status", text=text)
    roam_status = optional_int(fields[2], what="roam_status", text=text)
    sys_mode = optional_int(fields[3], what="sys_mode", text=text)
    sim_state = optional_int(fields[4], what="sim_state", text=text)
    sub_mode = optional_int(fields[5], what="sys_submode", text=text) if len(fields) > 5 else None
    technology = _SYSMODE.get(sys_mode) if sys_mode is not None else None
    if technology is AccessTechnology.GSM and sub_mode == 3:
        technology = AccessTechnology.EDGE
    elif technology is AccessTechnology.UMTS and sub_mode in (4, 5, 6):
        technology = AccessTechnology.HSPA
    registration: RegistrationState | None = None
    if srv_status == 2 and roam_status in (0, 1):
        registration = RegistrationState.ROAMING if roam_status == 1 else RegistrationState.HOME
    elif srv_status in (1, 3):
        registration = RegistrationState.EMERGENCY_ONLY
    elif srv_status == 0:
        registration = RegistrationState.NOT_REGISTERED
    return VendorFacts(
        access_technology=technology,
        registration=registration,
        sim_present=True if sim_state in (0, 1) else None,
    )


def parse_datainfo(lines: Sequence[str]) -> VendorFacts:
    """``AT^DATAINFO`` (Air780E manual, Network_service/DATAINFO): ``^DATAINFO: <uplink>,<downlink>`` in bytes,
    kept across power cycles; answers only after ``AT^DATAINFO=1,<period>`` switched counting on."""
    text = "\n".join(lines)
    fields = split_fields(strip_prefix(_line(lines, "^DATAINFO:"), "^DATAINFO:"))
    if len(fields) != 2:
        raise ParseError(f"^DATAINFO has {len(fields)} fields, expected 2", text=text)
    up = parse_int(fields[0], what="uplink bytes", text=text)
    down = parse_int(fields[1], what="downlink bytes", text=text)
    if up is None or down is None or up < 0 or down < 0:
        raise ParseError("^DATAINFO counters must be two non-negative numbers", text=text)
    return VendorFacts(tx_bytes=up, rx_bytes=down)


CCED_SERVING_CELL = Command("AT+CCED=0,1", timeout=5.0, expect_prefix="+CCED:")

DIALECT = Dialect(
    name="luat",
    display_name="Luat (AirM2M 合宙)",
    manufacturer_patterns=("airm2m", "luat", "合宙"),
    urc_prefixes=("^MODE:", "+NITZ:", "+EEMLTESVC:", "+EEMLTEINTRA:", "+EEMLTEINTER:"),
    # +CCID (bare digits) and +ICCID (``+ICCID: 8986...``) are both in the base ladder.
    iccid_commands=(),
    queries=(
        VendorQuery(CCED_SERVING_CELL, parse_cced),
        VendorQuery(Command("AT^SYSINFO", expect_prefix="^SYSINFO:"), parse_sysinfo),
    ),
    counters=VendorQuery(Command("AT^DATAINFO", expect_prefix="^DATAINFO:"), parse_datainfo),
)
