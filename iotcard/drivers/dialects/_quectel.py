"""Quectel (EC2x/EG2x/EG9x/BG9x LTE, RM5xx 5G): serving cell, signal and byte counters.

Sources: Quectel EC25&EC21 AT Commands Manual V1.3 (§6.x +QNWINFO, +QCSQ; §9 +QGDCNT, +QCCID), Quectel
EC2x&EG9x&EM05 QENG Application Note (+QENG="servingcell"), Quectel RM500Q/RM520N AT manuals (5G forms).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..at import Command
from ..errors import ParseError
from ..models import AccessTechnology, RegistrationState, VendorFacts
from ..parsers._fields import parse_int, split_fields, strip_prefix
from ._dialect import Dialect, FactsParser, ModelQueries, VendorQuery
from ._generic import lte_band, mcc_mnc, nr_band, optional_hex, optional_int, parse_extras, scaled

__all__ = [
    "DIALECT",
    "parse_qcsq",
    "parse_qeng_servingcell",
    "parse_qeng_servingcell_db",
    "parse_qgdcnt",
    "parse_qnwinfo",
]

# QENG <state>: SEARCH = no cell yet; LIMSRV = camped without registration (emergency calls only);
# NOCONN/CONNECT = registered, idle or connected (home or roaming is not said).
_QENG_STATE = {
    "SEARCH": RegistrationState.SEARCHING,
    "LIMSRV": RegistrationState.EMERGENCY_ONLY,
}

# BG96 writes CAT-M/CAT-NB, BG95/BG77 eMTC/NBIoT; the field layout is the LTE one.
_LTE_FAMILY = {
    "LTE": AccessTechnology.LTE,
    "CAT-M": AccessTechnology.LTE_M,
    "CAT-M1": AccessTechnology.LTE_M,
    "EMTC": AccessTechnology.LTE_M,
    "CAT-NB": AccessTechnology.NB_IOT,
    "CAT-NB1": AccessTechnology.NB_IOT,
    "NBIOT": AccessTechnology.NB_IOT,
}

# The classic LTE form (EC2x/EG9x/BG9x) ends <sinr>,<srxlev>: 15 values from <is_tdd>. The RM5xx-generation
# form adds <cqi>,<tx_power> before <srxlev>: 17 values.
_CLASSIC_LTE_VALUES = 15

# What the NR5G leg of an EN-DC answer prints while the NR cell is idle or not measured: -32768 for a signal value,
# 65535 for the PCI (RM5xx; the same sentinels as QMI's "not available").
_NR_NO_SIGNAL = frozenset({-32768})
_NO_PCI = frozenset({65535})


def _qeng_lines(lines: Sequence[str]) -> list[list[str]]:
    rows = [split_fields(strip_prefix(line, "+QENG:")) for line in lines if line.strip().upper().startswith("+QENG:")]
    if not rows:
        raise ParseError("no +QENG: line in the answer", text="\n".join(lines))
    return rows


def _classic_sinr(raw: int | None) -> float | None:
    """<sinr> of the classic single-line LTE form: 2·raw − 20 dB (raw 0..25 is −20..+30 dB).

    The 1/5 dB scale of the QENG note belongs to +QCSQ. Sources for 2·x − 20 on this line: obsy/modemdata
    addon/usb/2c7c0306 (EP06/EG06/EM06), an RM500Q EN-DC anchor line whose 25 QMI reported as 30.0 dB (libqmi PR
    #2), and an EP06-E capture (luci-app-3ginfo-lite #108) where 1/5 dB gave -15.8 dB beside RSRQ -9.
    """
    return None if raw is None else float(2 * raw - 20)


def _lte(values: list[str], technology: AccessTechnology, text: str, *, sinr_in_db: bool = False) -> VendorFacts:
    """<is_tdd>,<mcc>,<mnc>,<cellid>,<pcid>,<earfcn>,<band>,<ul_bw>,<dl_bw>,<tac>,<rsrp>,<rsrq>,<rssi>,<sinr>,..."""
    if len(values) < 14:
        raise ParseError(f"+QENG LTE answer has {len(values)} values, expected at least 14", text=text)
    sinr_raw = optional_int(values[13], what="SINR", text=text)
    if len(values) <= _CLASSIC_LTE_VALUES and not sinr_in_db:
        sinr = _classic_sinr(sinr_raw)
    else:
        # The RM5xx-generation line (with <cqi>,<tx_power>) and the EC200 family print SINR in dB (RM520N capture:
        # 7 beside RSRQ -14; EC200T capture, luci-app-3ginfo-lite #43: "SINR value requires no conversion").
        sinr = None if sinr_raw is None else float(sinr_raw)
    return VendorFacts(
        access_technology=technology,
        mcc_mnc=mcc_mnc(values[1], values[2], text=text),
        cell_id=optional_hex(values[3], what="cell id", text=text),
        pci=optional_int(values[4], what="PCI", text=text),
        channel=optional_int(values[5], what="EARFCN", text=text),
        band=lte_band(optional_int(values[6], what="band", text=text)),
        tac=optional_hex(values[9], what="TAC", text=text),
        rsrp_dbm=_float(optional_int(values[10], what="RSRP", text=text)),
        rsrq_db=_float(optional_int(values[11], what="RSRQ", text=text)),
        rssi_dbm=_float(optional_int(values[12], what="RSSI", text=text)),
        sinr_db=sinr,
    )


def _wcdma(values: list[str], text: str) -> VendorFacts:
    """<mcc>,<mnc>,<lac>,<cellid>,<uarfcn>,<psc>,<rac>,<rscp>,<ecio>,..."""
    if len(values) < 9:
        raise ParseError(f"+QENG WCDMA answer has {len(values)} values, expected at least 9", text=text)
    return VendorFacts(
        access_technology=AccessTechnology.UMTS,
        mcc_mnc=mcc_mnc(values[0], values[1], text=text),
        lac=optional_hex(values[2], what="LAC", text=text),
        cell_id=optional_hex(values[3], what="cell id", text=text),
        channel=optional_int(values[4], what="UARFCN", text=text),
        rscp_dbm=_float(optional_int(values[7], what="RSCP", text=text)),
        ecno_db=_float(optional_int(values[8], what="Ec/Io", text=text)),
    )


def _gsm(values: list[str], text: str) -> VendorFacts:
    """<mcc>,<mnc>,<lac>,<cellid>,<bsic>,<arfcn>,<band>,<rxlev>,... with <rxlev> in dBm (captures: -52, -73)."""
    if len(values) < 6:
        raise ParseError(f"+QENG GSM answer has {len(values)} values, expected at least 6", text=text)
    return VendorFacts(
        access_technology=AccessTechnology.GSM,
        mcc_mnc=mcc_mnc(values[0], values[1], text=text),
        lac=optional_hex(values[2], what="LAC", text=text),
        cell_id=optional_hex(values[3], what="cell id", text=text),
        channel=optional_int(values[5], what="ARFCN", text=text),
        rssi_dbm=_float(optional_int(values[7], what="RxLev", text=text)) if len(values) > 7 else None,
    )


def _nr_sa(values: list[str], text: str) -> VendorFacts:
    """<duplex>,<mcc>,<mnc>,<cellid>,<pcid>,<tac>,<arfcn>,<band>,<dl_bw>,<rsrp>,<rsrq>,<sinr>,... (RM5xx)."""
    if len(values) < 12:
        raise ParseError(f"+QENG NR5G-SA answer has {len(values)} values, expected at least 12", text=text)
    return VendorFacts(
        access_technology=AccessTechnology.NR5G,
        mcc_mnc=mcc_mnc(values[1], values[2], text=text),
        cell_id=optional_hex(values[3], what="cell id", text=text),
        pci=optional_int(values[4], what="PCI", text=text),
        tac=optional_hex(values[5], what="TAC", text=text),
        channel=optional_int(values[6], what="ARFCN", text=text),
        band=nr_band(optional_int(values[7], what="band", text=text)),
        rsrp_dbm=_float(optional_int(values[9], what="RSRP", text=text)),
        rsrq_db=_float(optional_int(values[10], what="RSRQ", text=text)),
        sinr_db=_float(optional_int(values[11], what="SINR", text=text)),
    )


def _nr_nsa(values: list[str], text: str) -> VendorFacts:
    """<mcc>,<mnc>,<pcid>,<rsrp>,<sinr>,<rsrq>[,<arfcn>,<band>,<dl_bw>,<scs>] (RM5xx EN-DC secondary line).

    With the NR leg idle the line stops after <rsrq> and carries -32768 for the signal and 65535 for the PCI
    ("unknown"), which is not a malformed answer. An NR SINR above 50 is in 1/10 dB (RM500Q 2020 firmware: 180
    where QMI said 18.5 dB, libqmi PR #2); the RM520N prints dB (18).
    """
    if len(values) < 6:
        raise ParseError(f"+QENG NR5G-NSA answer has {len(values)} values, expected at least 6", text=text)
    rsrp = _sentinel(optional_int(values[3], what="RSRP", text=text), _NR_NO_SIGNAL)
    sinr = _sentinel(optional_int(values[4], what="SINR", text=text), _NR_NO_SIGNAL)
    rsrq = _sentinel(optional_int(values[5], what="RSRQ", text=text), _NR_NO_SIGNAL)
    return VendorFacts(
        access_technology=AccessTechnology.NR5G,
        mcc_mnc=mcc_mnc(values[0], values[1], text=text),
        pci=_sentinel(optional_int(values[2], what="PCI", text=text), _NO_PCI),
        rsrp_dbm=_float(rsrp),
        sinr_db=None if sinr is None else (sinr / 10 if abs(sinr) > 50 else float(sinr)),
        rsrq_db=_float(rsrq),
        channel=optional_int(values[6], what="ARFCN", text=text) if len(values) > 6 else None,
        band=nr_band(optional_int(values[7], what="band", text=text)) if len(values) > 7 else None,
    )


def _sentinel(value: int | None, unknown: frozenset[int]) -> int | None:
    return None if value is None or value in unknown else value


def _float(value: int | None) -> float | None:
    return None if value is None else float(value)


def _rat_facts(rat: str, values: list[str], text: str, *, sinr_in_db: bool) -> VendorFacts:
    key = rat.upper()
    if key in _LTE_FAMILY:
        return _lte(values, _LTE_FAMILY[key], text, sinr_in_db=sinr_in_db)
    if key == "WCDMA":
        return _wcdma(values, text)
    if key == "GSM":
        return _gsm(values, text)
    if key == "NR5G-SA":
        return _nr_sa(values, text)
    raise ParseError(f"+QENG serving cell of unknown technology {rat!r}", text=text)


def parse_qeng_servingcell(lines: Sequence[str], *, sinr_in_db: bool = False) -> VendorFacts:
    """``AT+QENG="servingcell"`` (QENG application note §2.1.1): one line per RAT, or three lines in EN-DC.

    Single line: ``+QENG: "servingcell",<state>,"LTE",<is_tdd>,<mcc>,...``. EN-DC: a bare state line, then
    ``+QENG: "LTE",...`` (the anchor) and ``+QENG: "NR5G-NSA",...``. In EN-DC the signal values are the LTE
    anchor's (it carries registration and control); the NR leg adds the technology and its band.
    ``sinr_in_db`` is for the EC200 family, whose classic-looking line prints SINR in dB.
    """
    text = "\n".join(lines)
    rows = _qeng_lines(lines)
    head = rows[0]
    if head[0].lower() != "servingcell" or len(head) < 2:
        raise ParseError('expected +QENG: "servingcell",<state> first', text=text)
    registration = _QENG_STATE.get(head[1].upper())
    if len(head) > 2:
        facts = _rat_facts(head[2], head[3:], text, sinr_in_db=sinr_in_db)
        return _with_registration(facts, registration)
    by_rat = {row[0].upper(): row for row in rows[1:] if row}
    lte_row = by_rat.get("LTE")
    nr_row = by_rat.get("NR5G-NSA")
    if lte_row is None and nr_row is None:
        return VendorFacts(registration=registration)
    nr = _nr_nsa(nr_row[1:], text) if nr_row is not None else None
    if lte_row is None:
        assert nr is not None
        return _with_registration(nr, registration)
    lte = _lte(lte_row[1:], AccessTechnology.LTE, text, sinr_in_db=sinr_in_db)
    if nr is None or nr.band is None:
        return _with_registration(lte, registration)
    return _with_registration(
        replace(lte, access_technology=AccessTechnology.NR5G, band=f"{lte.band}+{nr.band}" if lte.band else nr.band),
        registration,
    )


def parse_qeng_servingcell_db(lines: Sequence[str]) -> VendorFacts:
    """``AT+QENG="servingcell"`` of the EC200 family (EC200T/U/A, EG915U): the classic layout, SINR in dB."""
    return parse_qeng_servingcell(lines, sinr_in_db=True)


def _with_registration(facts: VendorFacts, registration: RegistrationState | None) -> VendorFacts:
    return facts if registration is None else replace(facts, registration=registration)


_QCSQ_LTE = {
    "LTE": AccessTechnology.LTE,
    "CAT-M1": AccessTechnology.LTE_M,
    "EMTC": AccessTechnology.LTE_M,
    "CAT-NB1": AccessTechnology.NB_IOT,
    "NBIOT": AccessTechnology.NB_IOT,
}


def parse_qcsq(lines: Sequence[str]) -> VendorFacts:
    """``AT+QCSQ`` (EC25 AT manual §6.x; BG96 AT manual §6.x; RM500Q AT manual for NR5G).

    ``+QCSQ: "LTE",<rssi>,<rsrp>,<sinr>,<rsrq>``: LTE SINR is in 1/5 dB from -20 dB ("0-250 is -20..+30 dB").
    EG21-G prints the LTE RSSI as a positive magnitude (Quectel forum, "AT+QCSQ command conversion on EG21-G"),
    so a positive RSSI is negated. ``"NOSERVICE"`` is a valid answer that says nothing.
    """
    text = "\n".join(lines)
    line = next((item for item in lines if item.strip().upper().startswith("+QCSQ:")), None)
    if line is None:
        raise ParseError("no +QCSQ: line in the answer", text=text)
    fields = split_fields(strip_prefix(line, "+QCSQ:"))
    sysmode = fields[0].upper()
    nums = [optional_int(field, what="+QCSQ value", text=text) for field in fields[1:]]
    if sysmode == "NOSERVICE":
        return VendorFacts()
    if sysmode == "GSM" and len(nums) >= 1:
        return VendorFacts(access_technology=AccessTechnology.GSM, rssi_dbm=_float(nums[0]))
    if sysmode in {"WCDMA", "TDSCDMA"} and len(nums) >= 3:
        return VendorFacts(
            access_technology=AccessTechnology.UMTS,
            rssi_dbm=_float(nums[0]),
            rscp_dbm=_float(nums[1]),
            ecno_db=_float(nums[2]),
        )
    if sysmode in _QCSQ_LTE and len(nums) >= 4:
        rssi = nums[0]
        return VendorFacts(
            access_technology=_QCSQ_LTE[sysmode],
            rssi_dbm=None if rssi is None else float(-abs(rssi)),
            rsrp_dbm=_float(nums[1]),
            sinr_db=scaled(nums[2], scale=0.2, offset=-20.0),
            rsrq_db=_float(nums[3]),
        )
    if sysmode == "NR5G" and len(nums) >= 3:
        # RM500Q: "NR5G",<rsrp>,<sinr>,<rsrq>, SINR already in dB.
        return VendorFacts(
            access_technology=AccessTechnology.NR5G,
            rsrp_dbm=_float(nums[0]),
            sinr_db=_float(nums[1]),
            rsrq_db=_float(nums[2]),
        )
    raise ParseError(f"+QCSQ sysmode {fields[0]!r} with {len(nums)} values is not understood", text=text)


def _qnwinfo_technology(act: str) -> AccessTechnology | None:
    key = act.upper()
    if "NR5G" in key or key == "NR":
        return AccessTechnology.NR5G
    if key in {"CAT-M1", "EMTC"}:
        return AccessTechnology.LTE_M
    if key in {"CAT-NB1", "NBIOT"}:
        return AccessTechnology.NB_IOT
    if "LTE" in key:
        return AccessTechnology.LTE
    if key in {"HSDPA", "HSUPA", "HSPA", "HSPA+", "HSDPA+HSUPA", "DC-HSPA+", "TDD HSPA", "TDD HSDPA", "TDD HSUPA"}:
        return AccessTechnology.HSPA
    if key in {"WCDMA", "TDSCDMA", "TD-SCDMA", "UMTS"}:
        return AccessTechnology.UMTS
    if key == "EDGE":
        return AccessTechnology.EDGE
    if key == "GPRS":
        return AccessTechnology.GPRS
    if key == "GSM":
        return AccessTechnology.GSM
    return None


def _qnwinfo_band(band: str) -> str | None:
    # "LTE BAND 3" → B3, "NR5G BAND 78" → n78; anything else ("GSM 1800", "WCDMA 2100") is kept as printed.
    words = band.upper().split()
    if len(words) == 3 and words[1] == "BAND" and words[2].isdecimal():
        if words[0] == "LTE":
            return f"B{int(words[2])}"
        if words[0].startswith("NR"):
            return f"n{int(words[2])}"
    return band.strip() or None


def parse_qnwinfo(lines: Sequence[str]) -> VendorFacts:
    """``AT+QNWINFO`` (EC25 AT manual §6.x): ``+QNWINFO: <act>,<oper>,<band>,<channel>``; or ``No Service``."""
    text = "\n".join(lines)
    line = next((item for item in lines if item.strip().upper().startswith("+QNWINFO:")), None)
    if line is None:
        raise ParseError("no +QNWINFO: line in the answer", text=text)
    fields = split_fields(strip_prefix(line, "+QNWINFO:"))
    if fields[0].upper().replace(" ", "") == "NOSERVICE":
        return VendorFacts()
    if len(fields) < 4:
        raise ParseError(f"+QNWINFO has {len(fields)} fields, expected 4", text=text)
    oper = fields[1].strip()
    if not (oper.isascii() and oper.isdigit() and len(oper) in (5, 6)):
        raise ParseError(f"+QNWINFO operator {oper!r} is not a numeric MCC-MNC", text=text)
    return VendorFacts(
        access_technology=_qnwinfo_technology(fields[0]),
        mcc_mnc=oper,
        band=_qnwinfo_band(fields[2]),
        channel=optional_int(fields[3], what="channel", text=text),
    )


def parse_qgdcnt(lines: Sequence[str]) -> VendorFacts:
    """``AT+QGDCNT?`` (EC25 AT manual §9.x): ``+QGDCNT: <bytes_sent>,<bytes_recv>``, kept across reboots in NV."""
    text = "\n".join(lines)
    line = next((item for item in lines if item.strip().upper().startswith("+QGDCNT:")), None)
    if line is None:
        raise ParseError("no +QGDCNT: line in the answer", text=text)
    fields = split_fields(strip_prefix(line, "+QGDCNT:"))
    if len(fields) != 2:
        raise ParseError(f"+QGDCNT has {len(fields)} fields, expected 2", text=text)
    sent = parse_int(fields[0], what="bytes sent", text=text)
    received = parse_int(fields[1], what="bytes received", text=text)
    if sent is None or received is None or sent < 0 or received < 0:
        raise ParseError("+QGDCNT counters must be two non-negative numbers", text=text)
    return VendorFacts(tx_bytes=sent, rx_bytes=received)


QENG_SERVINGCELL = Command('AT+QENG="servingcell"', timeout=3.0, expect_prefix="+QENG:", multiline=True)


def _queries(qeng: FactsParser) -> tuple[VendorQuery, ...]:
    return (
        VendorQuery(QENG_SERVINGCELL, qeng),
        # Firmware without +QENG (or a QENG in SEARCH) leaves these to fill in; after a full QENG they add nothing.
        VendorQuery(
            Command("AT+QCSQ", expect_prefix="+QCSQ:"),
            parse_qcsq,
            fills=frozenset({"access_technology", "rssi_dbm", "rsrp_dbm", "rsrq_db", "sinr_db"}),
        ),
        VendorQuery(
            Command("AT+QNWINFO", expect_prefix="+QNWINFO:"),
            parse_qnwinfo,
            fills=frozenset({"access_technology", "mcc_mnc", "band", "channel"}),
        ),
    )


_EXTRA_PARTS = {
    "+QTEMP": Command("AT+QTEMP", expect_prefix="+QTEMP:", multiline=True),
    "+QLTS=2": Command("AT+QLTS=2", expect_prefix="+QLTS:"),
    "+QUIMSLOT?": Command("AT+QUIMSLOT?", expect_prefix="+QUIMSLOT:"),
}


def _extras(line: str) -> VendorQuery:
    parts = [part if part.startswith("+") else "+" + part for part in line[2:].split(";")]
    return VendorQuery(
        Command(line, expect_prefix="+QTEMP:", multiline=True, also_prefixes=("+QLTS:", "+QUIMSLOT:")),
        parse_extras,
        split=tuple(_EXTRA_PARTS[part] for part in parts),
    )


DIALECT = Dialect(
    name="quectel",
    display_name="Quectel",
    manufacturer_patterns=("quectel",),
    urc_prefixes=(
        "RDY",
        "POWERED DOWN",
        "+QIND:",
        "+QUSIM:",
        "+QIURC:",
        "+QNETDEVSTATUS:",
        "+QSSLURC:",
        "+QMTSTAT:",
        "+QMTRECV:",
        "+QPING:",
        "+QGPSURC:",
        "+QCSQ:",
    ),
    iccid_commands=(Command("AT+QCCID", expect_prefix="+QCCID:"),),
    queries=_queries(parse_qeng_servingcell),
    # The EC200 family (Unisoc/ASR Cat.1/Cat.4; EG915U shares the EC200U's firmware) prints the classic layout with
    # SINR in dB.
    model_queries=(
        ModelQueries(("ec200", "eg915"), queries=_queries(parse_qeng_servingcell_db)),
        # The RM5xx/RG5xx have two SIM slots; +QUIMSLOT? says which one is in use.
        ModelQueries(("rm5", "rg5"), extras=(_extras("AT+QTEMP;+QLTS=2;+QUIMSLOT?"),)),
    ),
    # Module temperature (+QTEMP) and the network's local time (+QLTS=2, no +CTZU needed) in one round trip.
    extras=(_extras("AT+QTEMP;+QLTS=2"),),
    counters=VendorQuery(Command("AT+QGDCNT?", expect_prefix="+QGDCNT:"), parse_qgdcnt),
    # RDY is printed once the UART is up after power-on or reset; POWERED DOWN is the way down, not a boot.
    boot_urcs=("RDY",),
    # QENG (and QCSQ on every RAT) give RSRP/RSRQ, so +CESQ would only repeat them.
    skip_base=frozenset({"cesq"}),
)
