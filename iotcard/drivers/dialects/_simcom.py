"""SIMCom (SIM7500/SIM7600, A76xx, SIM7000/SIM7080, SIM82xx): +CPSI? and +CNSMOD?.

Source: SIM7500_SIM7600 Series AT Command Manual V1.08 (§4.2.x AT+CPSI, AT+CNSMOD; §3.x AT+CICCID).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..at import Command
from ..errors import ParseError
from ..models import AccessTechnology, VendorFacts
from ..parsers._fields import split_fields, strip_prefix
from ._dialect import Dialect, VendorQuery
from ._generic import CLOCK_QUERY, lte_band, mcc_mnc, nr_band, optional_hex, optional_int, parse_extras, scaled

__all__ = ["DIALECT", "parse_cnsmod", "parse_cpsi"]


def _line(lines: Sequence[str], prefix: str) -> str:
    for line in lines:
        if line.strip().upper().startswith(prefix.upper()):
            return line
    raise ParseError(f"no {prefix} line in the answer", text="\n".join(lines))


def _plmn(field: str, text: str) -> str | None:
    mcc, sep, mnc = field.partition("-")
    if not sep:
        raise ParseError(f"+CPSI MCC-MNC {field!r} has no '-'", text=text)
    return mcc_mnc(mcc, mnc, text=text)


def _band_number(field: str, marker: str) -> int | None:
    # "EUTRAN-BAND3" → 3, "NR5G_BAND78" → 78.
    upper = field.upper()
    at = upper.find(marker)
    digits = upper[at + len(marker) :] if at >= 0 else ""
    return int(digits) if digits.isdecimal() else None


def _tenths(value: int | None, *, tenths: bool) -> float | None:
    if value is None:
        return None
    return round(value / 10, 1) if tenths else float(value)


_INDEX_UNKNOWN = frozenset({255})


def _cpsi_lte(mode: str, fields: list[str], text: str) -> VendorFacts:
    """<mode>,<op>,<mcc>-<mnc>,<tac>,<scellid>,<pcellid>,<band>,<earfcn>,<dlbw>,<ulbw>,<rsrq>,<rsrp>,<rssi>,<rssnr>.

    Three unit forms exist, told apart by the numbers themselves:

    * tenths (SIM7500/SIM7600, SIM7906): ``-94,-850,-545,15`` is -9.4 dB, -85.0 / -54.5 dBm; an RSRP below -200 can
      only be tenths. SINR = 2·<RSSNR> − 20 (SIM7500/SIM7600 manual: "the range of SINR is -20 to 30").
    * whole units (SIM7000): ``-16,-113,-83,10``; SINR as above.
    * 27.007-style indices (A76xx Cat.1, SIM7070/SIM7080): ``16,59,61,9``, RSRQ 0–34 and RSRP 0–97 as in +CESQ
      (27.007 §8.69; 255 = unknown), read like :func:`~iotcard.drivers.parsers.parse_cesq` (upper bin edge). A
      non-negative
      RSRP is an index: no LTE cell is heard at 0 dBm or more. The RSSI index has no documented scale, so it is not
      taken; the SINR is in dB (a 28 seen in this form would be 36 dB as 2·x − 20, beyond the -20..30 range).
    """
    if len(fields) < 14:
        raise ParseError(f"+CPSI LTE answer has {len(fields)} fields, expected 14", text=text)
    rsrq = optional_int(fields[10], what="RSRQ", text=text)
    rsrp = optional_int(fields[11], what="RSRP", text=text)
    rssi = optional_int(fields[12], what="RSSI", text=text)
    rssnr = optional_int(fields[13], what="RSSNR", text=text)
    mode_upper = mode.upper()
    if "NB" in mode_upper:
        technology = AccessTechnology.NB_IOT
    elif "CAT-M" in mode_upper:
        technology = AccessTechnology.LTE_M
    else:
        technology = AccessTechnology.LTE
    if rsrp is not None and rsrp >= 0:
        if not (rsrp <= 97 or rsrp == 255) or (rsrq is not None and not (0 <= rsrq <= 34 or rsrq == 255)):
            raise ParseError("+CPSI index form: RSRP must be 0..97 and RSRQ 0..34 (255 unknown)", text=text)
        rsrp_dbm = scaled(rsrp, scale=1.0, offset=-140.0, unknown=_INDEX_UNKNOWN)
        rsrq_db = scaled(rsrq, scale=0.5, offset=-19.5, unknown=_INDEX_UNKNOWN)
        rssi_dbm = None
        sinr_db = None if rssnr is None or rssnr == 255 else float(rssnr)
    else:
        tenths = rsrp is not None and rsrp < -200
        rsrp_dbm = _tenths(rsrp, tenths=tenths)
        rsrq_db = _tenths(rsrq, tenths=tenths)
        rssi_dbm = _tenths(rssi, tenths=tenths)
        sinr_db = None if rssnr is None else float(2 * rssnr - 20)
    return VendorFacts(
        access_technology=technology,
        mcc_mnc=_plmn(fields[2], text),
        tac=optional_hex(fields[3], what="TAC", text=text),
        cell_id=optional_int(fields[4], what="cell id", text=text),
        pci=optional_int(fields[5], what="PCI", text=text),
        band=lte_band(_band_number(fields[6], "BAND")),
        channel=optional_int(fields[7], what="EARFCN", text=text),
        rsrq_db=rsrq_db,
        rsrp_dbm=rsrp_dbm,
        rssi_dbm=rssi_dbm,
        sinr_db=sinr_db,
    )


def _cpsi_wcdma(fields: list[str], text: str) -> VendorFacts:
    """<mode>,<op>,<mcc>-<mnc>,<lac>,<cellid>,<band>,<psc>,<freq>,<ssc>,<ecio>,<rscp>,<qual>,<rxlev>,<txpwr>.

    The Ec/Io and RSCP columns are raw firmware units, so only the cell identity is taken.
    """
    if len(fields) < 8:
        raise ParseError(f"+CPSI WCDMA answer has {len(fields)} fields, expected 14", text=text)
    return VendorFacts(
        access_technology=AccessTechnology.UMTS,
        mcc_mnc=_plmn(fields[2], text),
        lac=optional_hex(fields[3], what="LAC", text=text),
        cell_id=optional_int(fields[4], what="cell id", text=text),
        channel=optional_int(fields[7], what="UARFCN", text=text),
    )


def _cpsi_gsm(fields: list[str], text: str) -> VendorFacts:
    """<mode>,<op>,<mcc>-<mnc>,<lac>,<cellid>,<arfcn band>,<rxlev dBm>,<track lo>,<c1-c2>."""
    if len(fields) < 7:
        raise ParseError(f"+CPSI GSM answer has {len(fields)} fields, expected 9", text=text)
    arfcn_band = fields[5].split(maxsplit=1)
    arfcn = optional_int(arfcn_band[0], what="ARFCN", text=text) if arfcn_band else None
    rxlev = optional_int(fields[6], what="RxLev", text=text)
    return VendorFacts(
        access_technology=AccessTechnology.GSM,
        mcc_mnc=_plmn(fields[2], text),
        lac=optional_hex(fields[3], what="LAC", text=text),
        cell_id=optional_int(fields[4], what="cell id", text=text),
        channel=arfcn,
        band=arfcn_band[1] if len(arfcn_band) > 1 else None,
        rssi_dbm=None if rxlev is None else float(rxlev),
    )


def _cpsi_nr_sa(fields: list[str], text: str) -> VendorFacts:
    """SIM82xx: <mode>,<op>,<mcc>-<mnc>,<tac>,<scellid>,<pcellid>,<band>,<arfcn>,...; signal units differ by
    firmware, so only the cell identity is taken."""
    if len(fields) < 8:
        raise ParseError(f"+CPSI NR5G_SA answer has {len(fields)} fields, expected at least 8", text=text)
    return VendorFacts(
        access_technology=AccessTechnology.NR5G,
        mcc_mnc=_plmn(fields[2], text),
        tac=optional_hex(fields[3], what="TAC", text=text),
        cell_id=optional_int(fields[4], what="cell id", text=text),
        band=nr_band(_band_number(fields[6], "BAND")),
        channel=optional_int(fields[7], what="ARFCN", text=text),
    )


def parse_cpsi(lines: Sequence[str]) -> VendorFacts:
    """``AT+CPSI?`` (SIM7500/7600 manual §4.2.x): the system mode decides the field layout.

    ``+CPSI: NO SERVICE,Online`` is a valid answer that says nothing.
    """
    text = "\n".join(lines)
    fields = split_fields(strip_prefix(_line(lines, "+CPSI:"), "+CPSI:"))
    mode = fields[0].upper()
    if mode == "NO SERVICE" or len(fields) == 2:
        return VendorFacts()
    if mode.startswith("LTE"):
        return _cpsi_lte(fields[0], fields, text)
    if mode == "WCDMA":
        return _cpsi_wcdma(fields, text)
    if mode == "GSM":
        return _cpsi_gsm(fields, text)
    if mode.startswith("NR5G_SA"):
        return _cpsi_nr_sa(fields, text)
    raise ParseError(f"+CPSI system mode {fields[0]!r} is not understood", text=text)


# +CNSMOD <stat> (SIM7500/7600 manual §4.2.x). SIM7000-class firmware numbers 7 as LTE-M and 9 as NB-IoT; this
# table is the SIM7600 one, and +CPSI (asked first) names those modes in words, so it wins the merge.
_CNSMOD = {
    1: AccessTechnology.GSM,
    2: AccessTechnology.GPRS,
    3: AccessTechnology.EDGE,
    4: AccessTechnology.UMTS,
    5: AccessTechnology.HSPA,
    6: AccessTechnology.HSPA,
    7: AccessTechnology.HSPA,
    8: AccessTechnology.LTE,
    9: AccessTechnology.UMTS,
    10: AccessTechnology.HSPA,
    11: AccessTechnology.HSPA,
    12: AccessTechnology.HSPA,
}


def parse_cnsmod(lines: Sequence[str]) -> VendorFacts:
    """``AT+CNSMOD?`` (SIM7500/7600 manual §4.2.x): ``+CNSMOD: <n>,<stat>``; stat 0 is no service."""
    text = "\n".join(lines)
    fields = split_fields(strip_prefix(_line(lines, "+CNSMOD:"), "+CNSMOD:"))
    if len(fields) != 2:
        raise ParseError(f"+CNSMOD has {len(fields)} fields, expected 2", text=text)
    stat = optional_int(fields[1], what="network system mode", text=text)
    if stat is None or stat < 0:
        raise ParseError("+CNSMOD network system mode is missing", text=text)
    return VendorFacts(access_technology=_CNSMOD.get(stat))


DIALECT = Dialect(
    name="simcom",
    display_name="SIMCom",
    manufacturer_patterns=("simcom",),
    urc_prefixes=(
        "RDY",
        "*ATREADY:",
        "*ISIMAID:",
        "PB DONE",
        "SMS DONE",
        "+CPSI:",
        "+CNSMOD:",
        "+CIPEVENT:",
        "+IPCLOSE:",
        "+CLIENT:",
        "+CMQTTCONNLOST:",
        "+CMQTTRXSTART:",
        "+CMQTTRXTOPIC:",
        "+CMQTTRXPAYLOAD:",
        "+CMQTTRXEND:",
    ),
    iccid_commands=(Command("AT+CICCID", expect_prefix="+ICCID:"),),
    queries=(
        VendorQuery(Command("AT+CPSI?", expect_prefix="+CPSI:"), parse_cpsi),
        VendorQuery(
            Command("AT+CNSMOD?", expect_prefix="+CNSMOD:"), parse_cnsmod, fills=frozenset({"access_technology"})
        ),
    ),
    # RDY (SIM7xxx) and *ATREADY: 1 (A76xx) come once per power-up. PB DONE / SMS DONE also follow a SIM
    # re-initialisation (AT+CFUN=0/1, hot swap) without a reboot, so they are not taken as one.
    boot_urcs=("RDY", "*ATREADY:"),
    skip_base=frozenset({"cesq"}),
    # Module temperature (+CPMUTEMP) and the network time (+CTZU=1, +CCLK?) in one round trip.
    extras=(
        VendorQuery(
            Command("AT+CPMUTEMP;+CTZU=1;+CCLK?", expect_prefix="+CPMUTEMP:", also_prefixes=("+CCLK:",)),
            parse_extras,
            split=(Command("AT+CPMUTEMP", expect_prefix="+CPMUTEMP:"), *CLOCK_QUERY.split),
        ),
    ),
)
