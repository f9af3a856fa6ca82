"""Pure parsers for 3GPP TS 27.007 answers: registration, signal, operator, SIM, identity and packet domain.

Every parser takes the text of one answer line (or the answer lines of one command, as the AT engine hands them
over) and returns a frozen value from :mod:`iotcard.drivers.models`, or raises
:class:`~iotcard.drivers.errors.ParseError` naming
what was wrong. Nothing here reads a port or a clock.

The tolerance rules come from replies captured on real modems (ModemManager's, Nordic's and others' test tables):
a parser accepts what modems send, not only what the specification prints.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

from ..errors import ParseError
from ..models import (
    AccessTechnology,
    Operator,
    PdpActivation,
    PdpAddress,
    PdpContext,
    PdpDynamicParams,
    RegDomain,
    Registration,
    RegistrationState,
    RejectCause,
    SignalQuality,
    SimState,
)
from ._fields import is_quoted, parse_uint, split_fields, split_raw_fields, strip_prefix, unquote

__all__ = [
    "REJECT_CAUSE_NAMES",
    "Charset",
    "NetworkOffer",
    "access_technology_from_act",
    "luhn_valid",
    "parse_ati",
    "parse_ceer",
    "parse_cesq",
    "parse_cfun",
    "parse_cgact",
    "parse_cgatt",
    "parse_cgcontrdp",
    "parse_cgdcont",
    "parse_cgpaddr",
    "parse_cops_read",
    "parse_cops_test",
    "parse_cpin",
    "parse_cpin_code",
    "parse_crsm",
    "parse_csq",
    "parse_iccid",
    "parse_imei",
    "parse_imsi",
    "parse_network_time",
    "parse_registration",
    "parse_text_answer",
    "registration_state_from_stat",
    "reject_cause_of",
    "sim_state_from_cme",
    "sim_state_from_cpin",
]

Charset = Literal["IRA", "GSM", "UCS2"]
"""The TE character set (+CSCS, 27.007 §5.5) the modem used for operator names."""

_HEX_RE = re.compile(r"[0-9A-Fa-f]+")
_DIGITS_RE = re.compile(r"[0-9]+")


def _lines_of(lines: Sequence[str] | str) -> list[str]:
    """The non-empty, stripped lines of an answer; a single string is split at its line ends."""
    if isinstance(lines, str):
        lines = lines.splitlines()
    return [line.strip() for line in lines if line.strip()]


def _hex(field: str, *, what: str, text: str) -> int | None:
    """A hex field (LAC, TAC, CI): quotes, spaces, any case, odd length, ``0x``; ``''`` gives ``None``."""
    value = unquote(field).strip()
    if value[:2].lower() == "0x":
        value = value[2:]
    if not value:
        return None
    if not _HEX_RE.fullmatch(value):
        raise ParseError(f"{what} {field!r} is not a hexadecimal number", text=text)
    return int(value, 16)


# -- access technology -------------------------------------------------------------------------------------------

# 27.007 §7.3 <AcT>. 8 is "EC-GSM-IoT (A/Gb mode)" in 27.007, but the LTE IoT modules that report it (Quectel
# BG9x, SIMCom SIM70x0) use 8 for LTE Cat-M1 and 9 for Cat-NB1, and EC-GSM-IoT has next to no deployments, so 8 is
# read as LTE-M here. 10 is E-UTRA attached to a 5G core: the radio is still LTE.
_ACT_TECHNOLOGY: dict[int, AccessTechnology] = {
    0: AccessTechnology.GSM,
    1: AccessTechnology.GSM,  # GSM Compact
    2: AccessTechnology.UMTS,
    3: AccessTechnology.EDGE,  # GSM w/EGPRS
    4: AccessTechnology.HSPA,  # UTRAN w/HSDPA
    5: AccessTechnology.HSPA,  # UTRAN w/HSUPA
    6: AccessTechnology.HSPA,  # UTRAN w/HSDPA and HSUPA
    7: AccessTechnology.LTE,
    8: AccessTechnology.LTE_M,
    9: AccessTechnology.NB_IOT,  # E-UTRAN (NB-S1 mode)
    10: AccessTechnology.LTE,  # E-UTRA connected to a 5GCN
    11: AccessTechnology.NR5G,  # NR connected to a 5GCN
    12: AccessTechnology.NR5G,  # NG-RAN
    13: AccessTechnology.NR5G,  # E-UTRA-NR dual connectivity (EN-DC)
}


def access_technology_from_act(act: int | None) -> AccessTechnology | None:
    """The access technology of a 27.007 §7.3 ``<AcT>`` number; ``None`` when absent or not a known value."""
    if act is None:
        return None
    return _ACT_TECHNOLOGY.get(act)


# -- registration: +CREG / +CGREG / +CEREG / +C5GREG -------------------------------------------------------------

_REGISTRATION_PREFIXES: tuple[tuple[str, RegDomain], ...] = (
    ("+CREG:", RegDomain.CS),  # 27.007 §7.2
    ("+CGREG:", RegDomain.PS),  # 27.007 §10.1.20
    ("+CEREG:", RegDomain.EPS),  # 27.007 §10.1.22
    ("+C5GREG:", RegDomain.FIVE_GS),  # 27.007 §10.1.44
)

# 27.007 §7.2 <stat>: 6/7 are "SMS only", 9/10 "CSFB not preferred" (still registered), 8 "emergency services
# only" and 11 "attached for access to RLOS" (restricted local operator services: no normal service either).
_STAT_STATE: dict[int, RegistrationState] = {
    0: RegistrationState.NOT_REGISTERED,
    1: RegistrationState.HOME,
    2: RegistrationState.SEARCHING,
    3: RegistrationState.DENIED,
    4: RegistrationState.UNKNOWN,
    5: RegistrationState.ROAMING,
    6: RegistrationState.HOME,
    7: RegistrationState.ROAMING,
    8: RegistrationState.EMERGENCY_ONLY,
    9: RegistrationState.HOME,
    10: RegistrationState.ROAMING,
    11: RegistrationState.EMERGENCY_ONLY,
}

_MAX_N = 5  # the largest <n> of +CREG/+CGREG/+CEREG/+C5GREG


def registration_state_from_stat(stat: int) -> RegistrationState:
    """The state word for a 27.007 ``<stat>``; a number beyond the table is ``UNKNOWN``."""
    return _STAT_STATE.get(stat, RegistrationState.UNKNOWN)


def _is_small_decimal(field: str) -> bool:
    return not is_quoted(field) and bool(_DIGITS_RE.fullmatch(field))


def _has_n_field(fields: list[str]) -> bool:
    """Whether a registration line starts with ``<n>`` (read form) rather than ``<stat>`` (URC form).

    Decided by content, because several modems put ``<n>`` into their URCs too. The read form is
    ``<n>,<stat>[,<lac>,<ci>[,<AcT>...]]``, the URC ``<stat>[,<lac>,<ci>[,<AcT>...]]``. The only overlaps are
    four unquoted fields (``2,1,0001,0010`` vs ``1,0001,0010,0``) and three (``1,1,`` vs ``2,,``): a quoted second
    field is a LAC, a quoted third field means the second was ``<stat>``, a first field above 5 cannot be ``<n>``,
    and a LAC is 2 bytes of hex (``0001``) while a ``<stat>`` is one or two digits.
    """
    if len(fields) < 2:
        return False
    first, second = fields[0], fields[1]
    if not _is_small_decimal(second):
        return False
    if len(fields) > 2 and is_quoted(fields[2]):
        return True
    if not _is_small_decimal(first) or int(first) > _MAX_N:
        return False
    return len(fields) == 2 or len(second) <= 2


def _act_field(field: str) -> int | None:
    """An AcT field if it is one: an unquoted small decimal within the 27.007 table, else ``None``."""
    if _is_small_decimal(field) and len(field) <= 4 and int(field) in _ACT_TECHNOLOGY:
        return int(field)
    return None


def _lenient_hex(field: str) -> int | None:
    # The Qualcomm Gobi 1000 sends a garbled LAC ("  0 5"); an unreadable area code is unknown, not fatal.
    value = unquote(field).strip()
    if value[:2].lower() == "0x":
        value = value[2:]
    return int(value, 16) if _HEX_RE.fullmatch(value) else None


def _split_registration_prefix(line: str) -> tuple[RegDomain | None, str]:
    upper = line.upper()
    for prefix, domain in _REGISTRATION_PREFIXES:
        if upper.startswith(prefix):
            return domain, line[len(prefix) :].strip()
    return None, line


def parse_registration(text: str, domain: RegDomain | None = None) -> Registration:
    """Parse one +CREG/+CGREG/+CEREG/+C5GREG line, read form or URC form (27.007 §7.2, §10.1.20, §10.1.22, §10.1.44).

    The domain comes from the prefix; ``domain`` is needed only for a line whose prefix was already stripped, and
    must agree with the prefix when both are given. Tolerated: hex LAC/TAC/CI quoted or not, any case, odd length,
    spaces around fields; zero-padded decimals; a non-standard field between TAC and CI (Novatel E362); trailing
    ``<rac>``, NSSAI, reject cause and PSM timer fields; trailing junk that is no AcT (Samsung S8500 ``, B, C2816``).
    """
    line = text.strip()
    if not line or "\n" in line or "\r" in line:
        raise ParseError(f"a registration answer is one non-empty line, got {text!r}", text=text)
    found, body = _split_registration_prefix(line)
    if found is None:
        if domain is None:
            raise ParseError(f"expected a +CREG/+CGREG/+CEREG/+C5GREG line, got {line!r}", text=text)
        found = domain
    elif domain is not None and domain is not found:
        raise ParseError(f"expected a {domain.value} registration line, got {line!r}", text=text)

    fields = split_raw_fields(body)
    values = fields[1:] if _has_n_field(fields) else fields
    stat_field = values[0]
    if not _is_small_decimal(stat_field) or len(stat_field) > 4:
        raise ParseError(f"registration <stat> {stat_field!r} is not a number in {line!r}", text=text)
    stat = int(stat_field)
    rest = values[1:]

    area = _lenient_hex(rest[0]) if rest else None
    ci_field = rest[1] if len(rest) > 1 else ""
    act_field = rest[2] if len(rest) > 2 else ""
    if len(rest) > 3 and act_field and _act_field(act_field) is None and _act_field(rest[3]) is not None:
        # Novatel E362: "<tac>, 20 ,<ci> ,<AcT>" - an extra field before the CI; the AcT is one further on.
        ci_field, act_field = rest[2], rest[3]
    ci = _hex(ci_field, what="cell id", text=text)
    act = _act_field(act_field)

    cause_type = reject_cause = None
    if _has_n_field(fields) and fields[0] in ("3", "5"):
        # n=3/5 adds [<cause_type>,<reject_cause>] after the location fields (27.007 §7.2, §10.1.20, §10.1.22,
        # §10.1.44): after <AcT> for CREG/CEREG, after <rac> for CGREG, after the NSSAI pair for C5GREG.
        at = {RegDomain.CS: 3, RegDomain.EPS: 3, RegDomain.PS: 4, RegDomain.FIVE_GS: 5}[found]
        if len(rest) > at + 1:
            cause_type = _small_int(rest[at])
            reject_cause = _small_int(rest[at + 1])

    on_lac = found in (RegDomain.CS, RegDomain.PS)
    return Registration(
        domain=found,
        stat=stat,
        state=registration_state_from_stat(stat),
        lac=area if on_lac else None,
        tac=None if on_lac else area,
        ci=ci,
        act=act,
        access_technology=access_technology_from_act(act),
        cause_type=cause_type,
        reject_cause=reject_cause,
    )


def _small_int(field: str) -> int | None:
    value = unquote(field).strip()
    return int(value) if _DIGITS_RE.fullmatch(value) and len(value) <= 4 else None


# TS 24.301 annex A (EMM) and TS 24.008 annex G (MM/GMM) cause names; the numbers an IoT card meets are shared.
REJECT_CAUSE_NAMES: dict[int, str] = {
    2: "IMSI unknown in HSS",
    3: "Illegal UE",
    5: "IMEI not accepted",
    6: "Illegal ME",
    7: "EPS services not allowed",
    8: "EPS services and non-EPS services not allowed",
    9: "UE identity cannot be derived by the network",
    10: "Implicitly detached",
    11: "PLMN not allowed",
    12: "Tracking area not allowed",
    13: "Roaming not allowed in this tracking area",
    14: "EPS services not allowed in this PLMN",
    15: "No suitable cells in tracking area",
    16: "MSC temporarily not reachable",
    17: "Network failure",
    18: "CS domain not available",
    19: "ESM failure",
    22: "Congestion",
    25: "Not authorized for this CSG",
    35: "Requested service option not authorized in this PLMN",
    39: "CS service temporarily not available",
    40: "No EPS bearer context activated",
    42: "Severe network failure",
    111: "Protocol error, unspecified",
}
# Where TS 24.008 names the same number differently (MM/GMM).
_GPP_24008_NAMES: dict[int, str] = {
    2: "IMSI unknown in HLR",
    3: "Illegal MS",
    7: "GPRS services not allowed",
    8: "GPRS services and non-GPRS services not allowed",
    12: "Location area not allowed",
    13: "Roaming not allowed in this location area",
    14: "GPRS services not allowed in this PLMN",
    15: "No suitable cells in location area",
}
_CAUSE_KIND = {RegDomain.EPS: "emm", RegDomain.PS: "gmm", RegDomain.CS: "mm", RegDomain.FIVE_GS: "5gmm"}


def reject_cause_of(registration: Registration) -> RejectCause | None:
    """The 3GPP reject cause a +CxREG read with n=3 carried, or ``None``.

    Only ``<cause_type>`` 0 is a 3GPP cause (1 is manufacturer-specific); cause 0 is "no cause".
    """
    if registration.cause_type != 0 or not registration.reject_cause:
        return None
    code = registration.reject_cause
    kind = _CAUSE_KIND[registration.domain]
    names = _GPP_24008_NAMES if kind in ("mm", "gmm") else {}
    name = names.get(code) or REJECT_CAUSE_NAMES.get(code) or f"cause #{code}"
    return RejectCause(kind=kind, code=code, name=name)


_CEER_SILENT = re.compile(
    r"(?i)^(\d+\s*,\s*)?(none|no cause information available|no report available|normal,? unspecified|"
    r"no error|0|)$"
)


def parse_ceer(lines: Sequence[str] | str) -> str | None:
    """``+CEER: <report>`` (27.007 §6.10): the last failure in the module's words, or ``None`` when it says
    nothing ("0,NONE", "No cause information available"...). The report is free text; quotes are dropped."""
    for line in _lines_of(lines):
        if line.upper().startswith("+CEER:"):
            report = ",".join(part for part in split_fields(strip_prefix(line, "+CEER:")))
            report = report.strip()
            return None if _CEER_SILENT.match(report) else report
    raise ParseError("no +CEER: line in the answer", text="\n".join(_lines_of(lines)))


_CCLK_RE = re.compile(r'^\s*"?(\d{2,4})/(\d{2})/(\d{2}),(\d{2}):(\d{2}):(\d{2})([+-]\d{1,2})?(?:,(\d))?"?\s*$')


def parse_network_time(text: str, prefix: str = "+CCLK:") -> datetime:
    """``+CCLK: "yy/MM/dd,hh:mm:ss±zz"`` (27.007 §8.15, local time, zone in quarter hours) or Quectel
    ``+QLTS: "yyyy/MM/dd,hh:mm:ss±zz,dst"`` (EC2x manual, AT+QLTS) as an aware datetime.

    +CCLK gives local time and the zone: the instant is local − zone. ``AT+QLTS=2`` gives local time too (the
    EC2x manual's mode 2: "the current local time"), with its zone in quarters and a DST flag already counted in
    the zone. A missing zone is read as UTC.
    """
    match = _CCLK_RE.match(strip_prefix(text, prefix))
    if match is None:
        raise ParseError(f"{prefix} time {text.strip()!r} is not yy/MM/dd,hh:mm:ss±zz", text=text)
    year = int(match.group(1))
    if year < 100:
        year += 1900 if year >= 80 else 2000  # "80/01/06" is a module clock at its 1980 epoch, not 2080
    zone = int(match.group(7) or 0)
    try:
        local = datetime(
            year,
            int(match.group(2)),
            int(match.group(3)),
            int(match.group(4)),
            int(match.group(5)),
            int(match.group(6)),
            tzinfo=timezone(timedelta(minutes=15 * zone)),
        )
    except ValueError:
        raise ParseError(f"{prefix} time {text.strip()!r} is not a date", text=text) from None
    return local


# -- signal: +CSQ / +CESQ ----------------------------------------------------------------------------------------


def _bounded(field: str, *, what: str, text: str, low: int, high: int, unknown: tuple[int, ...]) -> int | None:
    value = parse_uint(field, what=what, text=text)
    if value is None or value in unknown:
        return None
    if not low <= value <= high:
        raise ParseError(f"{what} {value} is outside {low}..{high}", text=text)
    return value


def parse_csq(text: str) -> SignalQuality:
    """``+CSQ: <rssi>,<ber>`` (27.007 §8.5): rssi 0..31 is -113 + 2n dBm, 99 unknown; ber 0..7, 99 unknown.

    Values 100..191 are the TD-SCDMA extension (-116 dBm + (n - 100)), which Quectel and SIMCom modules report.
    """
    fields = split_fields(strip_prefix(text, "+CSQ:"))
    if len(fields) < 2:
        raise ParseError(f"+CSQ needs <rssi>,<ber>, got {text.strip()!r}", text=text)
    rssi = parse_uint(fields[0], what="+CSQ <rssi>", text=text)
    ber = _bounded(fields[1], what="+CSQ <ber>", text=text, low=0, high=7, unknown=(99,))
    if rssi is None or rssi == 99:
        rssi_dbm: float | None = None
    elif rssi <= 31:
        rssi_dbm = float(-113 + 2 * rssi)
    elif 100 <= rssi <= 191:
        rssi_dbm = float(-216 + rssi)
    else:
        raise ParseError(f"+CSQ <rssi> {rssi} is outside 0..31, 99 and 100..191", text=text)
    return SignalQuality(rssi_dbm=rssi_dbm, ber=ber)


def parse_cesq(text: str) -> SignalQuality:
    """``+CESQ: <rxlev>,<ber>,<rscp>,<ecno>,<rsrq>,<rsrp>`` (27.007 §8.69).

    Each index names a bin; the value given is the bin's upper edge: rsrp -140 + n dBm, rsrq -19.5 + n/2 dB,
    rscp -120 + n dBm, ecno -24 + n/2 dB, rxlev -110 + n dBm. 255 (and 99 for rxlev/ber) is "not known"; some modems
    also send 255 for rxlev/ber, which is read the same way.
    """
    fields = split_fields(strip_prefix(text, "+CESQ:"))
    if len(fields) < 6:
        raise ParseError(f"+CESQ needs six fields, got {text.strip()!r}", text=text)
    unknown = (99, 255)
    rxlev = _bounded(fields[0], what="+CESQ <rxlev>", text=text, low=0, high=63, unknown=unknown)
    ber = _bounded(fields[1], what="+CESQ <ber>", text=text, low=0, high=7, unknown=unknown)
    rscp = _bounded(fields[2], what="+CESQ <rscp>", text=text, low=0, high=96, unknown=(255,))
    ecno = _bounded(fields[3], what="+CESQ <ecno>", text=text, low=0, high=49, unknown=(255,))
    rsrq = _bounded(fields[4], what="+CESQ <rsrq>", text=text, low=0, high=34, unknown=(255,))
    rsrp = _bounded(fields[5], what="+CESQ <rsrp>", text=text, low=0, high=97, unknown=(255,))
    return SignalQuality(
        ber=ber,
        rxlev_dbm=None if rxlev is None else float(-110 + rxlev),
        rscp_dbm=None if rscp is None else float(-120 + rscp),
        ecno_db=None if ecno is None else -24 + 0.5 * ecno,
        rsrq_db=None if rsrq is None else -19.5 + 0.5 * rsrq,
        rsrp_dbm=None if rsrp is None else float(-140 + rsrp),
    )


# -- operator: +COPS? and +COPS=? --------------------------------------------------------------------------------

# GSM 7-bit default alphabet (23.038 §6.2.1) where it differs from ASCII in the printable range: a modem in
# +CSCS="GSM" sends these bytes, which mean the characters on the right.
_GSM_TO_TEXT = str.maketrans("@$[\\]^_`{|}~", "¡¤ÄÖÑÜ§¿äöñü")


def _decode_ucs2(value: str) -> str | None:
    """A +CSCS="UCS2" string (hex of UTF-16BE) decoded, or ``None`` if it is not one."""
    if not value or len(value) % 4 or not _HEX_RE.fullmatch(value):
        return None
    try:
        decoded = bytes.fromhex(value).decode("utf-16-be")
    except UnicodeDecodeError:
        return None
    return decoded if decoded.isprintable() else None


def _looks_ucs2(value: str) -> bool:
    # A name that is hex of printable UTF-16, at least two characters long ("4E2D56FD" is "中国").
    return len(value) >= 8 and _decode_ucs2(value) is not None


def _decode_name(value: str, charset: Charset) -> str:
    if charset == "UCS2" or (charset == "IRA" and _looks_ucs2(value)):
        return _decode_ucs2(value) or value
    if charset == "GSM":
        return value.translate(_GSM_TO_TEXT)
    return value


def _decode_numeric(value: str) -> str:
    # An MCC-MNC has 5 or 6 digits; 20 or 24 hex digits are its UCS2 form ("00320031003400300037" is "21407").
    if _DIGITS_RE.fullmatch(value) and len(value) <= 7:
        return value
    decoded = _decode_ucs2(value)
    return decoded if decoded is not None and _DIGITS_RE.fullmatch(decoded) else value


_OPERATOR_TAIL_RE = re.compile(r"(?s)(.*?)\s*,\s*([0-9]+)\s*")


def _split_operator(rest: str, text: str) -> tuple[str, str]:
    """``"name",7`` → (name, "7"); also a name without its closing quote or without quotes (chan-dongle)."""
    rest = rest.strip()
    if rest.startswith('"'):
        close = rest.find('"', 1)
        if close >= 0:
            tail = rest[close + 1 :].strip()
            if tail and not tail.startswith(","):
                raise ParseError(f"unexpected {tail!r} after the +COPS operator name", text=text)
            return rest[1:close], tail[1:].strip()
        rest = rest[1:]
    match = _OPERATOR_TAIL_RE.fullmatch(rest)
    if match:
        return match.group(1), match.group(2)
    return rest, ""


def parse_cops_read(text: str, *, charset: Charset = "IRA") -> Operator:
    """``+COPS: <mode>[,<format>,<oper>[,<AcT>]]`` (27.007 §7.3).

    Format 0/1 give the long/short name in ``name``, format 2 the MCC-MNC in ``mcc_mnc``. ``+COPS: 0`` (not
    registered) gives no operator. A missing closing quote or an unquoted name is accepted. Names in a UCS2 reply
    are decoded; ``charset="GSM"`` maps the GSM 7-bit characters that differ from ASCII.
    """
    body = strip_prefix(text, "+COPS:")
    if not body:
        raise ParseError("+COPS read answer has no <mode>", text=text)
    mode_field, _, rest = body.partition(",")
    mode = parse_uint(mode_field, what="+COPS <mode>", text=text)
    format_field, has_operator, rest = rest.partition(",")
    operator_format = parse_uint(format_field, what="+COPS <format>", text=text)
    if operator_format is not None and operator_format > 2:
        raise ParseError(f"+COPS <format> {operator_format} is not 0, 1 or 2", text=text)
    if not has_operator:
        return Operator(mode=mode, name=None, mcc_mnc=None, act=None)
    operator, act_field = _split_operator(rest, text)
    act = parse_uint(act_field, what="+COPS <AcT>", text=text)
    operator = operator.strip()
    name: str | None = None
    mcc_mnc: str | None = None
    if operator_format == 2:
        numeric = _decode_numeric(operator)
        if numeric and not (_DIGITS_RE.fullmatch(numeric) and 5 <= len(numeric) <= 6):
            raise ParseError(f"+COPS numeric operator {operator!r} is not an MCC-MNC", text=text)
        mcc_mnc = numeric or None
    else:
        name = _decode_name(operator, charset) or None
    return Operator(mode=mode, name=name, mcc_mnc=mcc_mnc, act=act, access_technology=access_technology_from_act(act))


@dataclass(frozen=True, slots=True)
class NetworkOffer:
    """One network of a +COPS=? scan (27.007 §7.3): ``stat`` 0 unknown, 1 available, 2 current, 3 forbidden."""

    stat: int
    long: str | None
    short: str | None
    numeric: str | None
    act: int | None

    @property
    def access_technology(self) -> AccessTechnology | None:
        return access_technology_from_act(self.act)


_COPS_PREFIX_RE = re.compile(r"(?im)^\s*\+COPS:")
_TRAILING_ACT_RE = re.compile(r"\s*,\s*([0-9]+)\s*\)")


def _cops_groups(body: str) -> list[tuple[str, str | None]]:
    """The parenthesised groups of a +COPS=? list, each with an AcT that a broken firmware put after its ')'."""
    groups: list[tuple[str, str | None]] = []
    index = 0
    while index < len(body):
        if body[index] != "(":
            index += 1
            continue
        end = index + 1
        in_quotes = False
        while end < len(body) and (in_quotes or body[end] != ")"):
            if body[end] == '"':
                in_quotes = not in_quotes
            end += 1
        content = body[index + 1 : end]
        index = end + 1
        trailing: str | None = None
        # Ericsson F3607gw / TM-506: ("AT&T","AT&T","310410"),2) - the AcT follows the closing parenthesis.
        match = _TRAILING_ACT_RE.match(body, index)
        if match and len(split_raw_fields(content)) == 4:
            trailing = match.group(1)
            index = match.end()
        groups.append((content, trailing))
    return groups


def parse_cops_test(text: str, *, charset: Charset = "IRA") -> tuple[NetworkOffer, ...]:
    """The networks of a ``+COPS=?`` answer (27.007 §7.3), in the order given.

    ``(<stat>,"long","short","numeric"[,<AcT>])`` groups are kept; the trailing ``<mode>``/``<format>`` range lists
    and anything else are skipped, so an answer with no network group gives ``()``. Tolerated: ``+COPS:`` on every
    line, line breaks inside the list, a missing comma between groups, commas inside quoted names, an AcT after the
    closing parenthesis, and UCS2 (hex) names and numerics. Empty names are ``None``.
    """
    body = _COPS_PREFIX_RE.sub(",", text)
    offers: list[NetworkOffer] = []
    raw_offers: list[tuple[int, str, str, str, int | None]] = []
    for content, trailing in _cops_groups(body):
        fields = split_raw_fields(content)
        if len(fields) < 4 or not any(is_quoted(field) for field in fields[1:4]):
            continue
        if not _is_small_decimal(fields[0]) or len(fields[0]) > 2:
            continue
        act_field = fields[4] if len(fields) > 4 else (trailing or "")
        act = int(act_field) if _is_small_decimal(act_field) and len(act_field) <= 3 else None
        raw_offers.append((int(fields[0]), unquote(fields[1]), unquote(fields[2]), unquote(fields[3]), act))

    numerics = [offer[3] for offer in raw_offers]
    ucs2 = charset == "UCS2" or (
        bool(numerics) and all(_decode_numeric(n) != n and _DIGITS_RE.fullmatch(_decode_numeric(n)) for n in numerics)
    )
    for stat, long_name, short_name, numeric, act in raw_offers:
        if ucs2:
            long_name = _decode_ucs2(long_name) or long_name
            short_name = _decode_ucs2(short_name) or short_name
            numeric = _decode_numeric(numeric)
        elif charset == "GSM":
            long_name = long_name.translate(_GSM_TO_TEXT)
            short_name = short_name.translate(_GSM_TO_TEXT)
        offers.append(NetworkOffer(stat, long_name or None, short_name or None, numeric or None, act))
    return tuple(offers)


# -- SIM: +CPIN, CME errors, ICCID, +CRSM ------------------------------------------------------------------------


def parse_cpin_code(text: str) -> str:
    """The ``<code>`` of ``+CPIN: <code>`` (27.007 §8.3), e.g. ``READY``, ``SIM PIN``, ``NOT INSERTED``.

    The prefix is optional (``"   SIM PUK"``), quotes are dropped and runs of spaces collapse to one.
    """
    body = text.strip()
    if body.upper().startswith("+CPIN:"):
        body = body[len("+CPIN:") :]
    code = " ".join(unquote(body).split())
    if not code:
        raise ParseError("+CPIN answer has no <code>", text=text)
    upper = code.upper()
    if upper.startswith(("+CME ERROR", "+CMS ERROR")) or upper == "ERROR" or "\n" in text.strip():
        raise ParseError(f"not a +CPIN <code>: {text.strip()!r}", text=text)
    return code


def sim_state_from_cpin(code: str) -> SimState:
    """What a +CPIN ``<code>`` (27.007 §8.3) means for the SIM.

    PIN2/PUK2 guard only some files (FDN): the SIM itself is usable, so they count as ready. Personalisation
    locks (``PH-…``) need a code before the SIM can be used. ``NOT INSERTED`` (SIMCom, Quectel) is absent;
    ``NOT READY`` (SIM still initialising) and anything unknown is unknown.
    """
    word = " ".join(code.upper().replace('"', " ").split())
    if word in ("READY", "SIM PIN2", "SIM PUK2"):
        return SimState.READY
    if word == "SIM PIN":
        return SimState.PIN_REQUIRED
    if word == "SIM PUK":
        return SimState.PUK_REQUIRED
    if word.startswith("PH"):
        return SimState.PUK_REQUIRED if word.endswith("PUK") else SimState.PIN_REQUIRED
    if "NOT INSERTED" in word or word in ("NO SIM", "SIM REMOVED", "SIM NOT PRESENT", "ABSENT"):
        return SimState.ABSENT
    if "ERROR" in word or "FAIL" in word or "WRONG" in word:
        return SimState.ERROR
    return SimState.UNKNOWN


# 27.007 §9.2.1 codes that say something about the SIM.
_CME_SIM_STATE: dict[int, SimState] = {
    5: SimState.PIN_REQUIRED,  # PH-SIM PIN required
    6: SimState.PIN_REQUIRED,  # PH-FSIM PIN required
    7: SimState.PUK_REQUIRED,  # PH-FSIM PUK required
    10: SimState.ABSENT,  # SIM not inserted
    11: SimState.PIN_REQUIRED,  # SIM PIN required
    12: SimState.PUK_REQUIRED,  # SIM PUK required
    13: SimState.ERROR,  # SIM failure
    14: SimState.UNKNOWN,  # SIM busy
    15: SimState.ERROR,  # SIM wrong
    17: SimState.READY,  # SIM PIN2 required
    18: SimState.READY,  # SIM PUK2 required
    40: SimState.PIN_REQUIRED,  # network personalisation PIN
    41: SimState.PUK_REQUIRED,
    42: SimState.PIN_REQUIRED,  # network subset personalisation PIN
    43: SimState.PUK_REQUIRED,
    44: SimState.PIN_REQUIRED,  # service provider personalisation PIN
    45: SimState.PUK_REQUIRED,
    46: SimState.PIN_REQUIRED,  # corporate personalisation PIN
    47: SimState.PUK_REQUIRED,
}

_CME_PREFIX_RE = re.compile(r"(?i)^\s*\+CME ERROR:\s*")


def sim_state_from_cme(code: int | None, text: str = "") -> SimState:
    """What a ``+CME ERROR`` (27.007 §9.2) answering a SIM command says about the SIM.

    ``code`` is the numeric error (``AT+CMEE=1``); with ``None``, ``text`` is read, numeric or verbose
    (``AT+CMEE=2``: "SIM not inserted", "SIM PIN required"...). Codes that say nothing about the SIM are unknown.
    """
    detail = _CME_PREFIX_RE.sub("", text).strip().strip('"').strip()
    if code is None and _DIGITS_RE.fullmatch(detail) and len(detail) <= 6:
        code = int(detail)
    if code is not None:
        return _CME_SIM_STATE.get(code, SimState.UNKNOWN)
    words = " ".join(detail.lower().split())
    if any(key in words for key in ("not inserted", "no sim", "not present", "sim removed")):
        return SimState.ABSENT
    if "pin2" in words or "puk2" in words:
        return SimState.READY
    if "puk" in words:
        return SimState.PUK_REQUIRED
    if "pin" in words:
        return SimState.PIN_REQUIRED
    if "sim failure" in words or "sim wrong" in words or "sim error" in words:
        return SimState.ERROR
    return SimState.UNKNOWN


def parse_cpin(text: str) -> SimState:
    """The SIM state of a ``+CPIN: <code>`` line (27.007 §8.3); see :func:`sim_state_from_cpin`."""
    return sim_state_from_cpin(parse_cpin_code(text))


def parse_crsm(text: str) -> tuple[int, int, str]:
    """``+CRSM: <sw1>,<sw2>[,<response>]`` (27.007 §8.18) → (sw1, sw2, upper-case hex; ``''`` if none)."""
    fields = split_fields(strip_prefix(text, "+CRSM:"))
    if len(fields) < 2:
        raise ParseError(f"+CRSM needs <sw1>,<sw2>, got {text.strip()!r}", text=text)
    sw1 = parse_uint(fields[0], what="+CRSM <sw1>", text=text)
    sw2 = parse_uint(fields[1], what="+CRSM <sw2>", text=text)
    if sw1 is None or sw2 is None or sw1 > 255 or sw2 > 255:
        raise ParseError(f"+CRSM status words must be bytes, got {text.strip()!r}", text=text)
    data = fields[2].strip() if len(fields) > 2 else ""
    if data and not _HEX_RE.fullmatch(data):
        raise ParseError(f"+CRSM <response> {data!r} is not hexadecimal", text=text)
    return sw1, sw2, data.upper()


# Any vendor prefix before the value: +CCID:, +ICCID:, ^ICCID:, +QCCID:, %XICCID:, +MCCID:, !ICCID:, ^SCID:, ICCID:
_ICCID_PREFIX_RE = re.compile(r"^[+^%!#$*]?[A-Za-z]{1,12}\s*:\s*")
_SW1_OK = (0x90, 0x91, 0x92)  # 102 221 §10.2.1: normal ending (0x91/0x92: with extra information)


def _swap_nibbles(value: str) -> str:
    return "".join(value[i + 1] + value[i] for i in range(0, len(value), 2))


def _iccid_from_value(value: str, *, swapped: bool | None, text: str) -> str:
    value = value.strip().upper()
    if not value or not _HEX_RE.fullmatch(value):
        raise ParseError(f"ICCID {value!r} is not a string of hex digits", text=text)
    if swapped is None:
        # Raw EF_ICCID (31.102 §4.1.1 / 102 221 §13.2) is BCD with swapped nibbles: "89..." reads "98...".
        swapped = value.startswith("98")
    if swapped:
        if len(value) % 2:
            raise ParseError(f"raw EF_ICCID {value!r} has an odd number of digits", text=text)
        value = _swap_nibbles(value)
    # E.118: an odd-length ICCID is padded with F. Only trailing F is padding; China Mobile puts hex digits
    # (898602F9...) inside the account part, and those stay.
    iccid = value.rstrip("F")
    if len(iccid) not in (19, 20):
        raise ParseError(f"ICCID {iccid!r} has {len(iccid)} digits, expected 19 or 20", text=text)
    if not iccid.startswith("89"):
        raise ParseError(f"ICCID {iccid!r} does not start with the telecom industry identifier 89", text=text)
    return iccid


def parse_iccid(text: str) -> str:
    """The ICCID (E.118) from any vendor's answer line, as the card prints it.

    Accepts ``+CCID:``, ``+ICCID:``, ``^ICCID:``, ``+QCCID:``, ``+CICCID:``, ``%XICCID:``, ``+MCCID:``, ``ICCID:`` or
    no prefix, quoted or not; a ``+CRSM: 144,0,"98…"`` read of EF_ICCID (nibble-swapped); a bare swapped value
    (starting ``98``). Trailing ``F`` padding is dropped. The result has 19 or 20 characters and starts with 89.
    """
    raw = text.strip()
    if raw.upper().startswith("+CRSM:"):
        sw1, sw2, data = parse_crsm(raw)
        if sw1 not in _SW1_OK:
            raise ParseError(f"the SIM refused to read EF_ICCID (sw1={sw1}, sw2={sw2})", text=text)
        return _iccid_from_value(data, swapped=True, text=text)
    body = _ICCID_PREFIX_RE.sub("", raw, count=1)
    return _iccid_from_value(unquote(body), swapped=None, text=text)


# -- identity: IMEI, IMSI, manufacturer / model / revision ---------------------------------------------------------

_IMEI_PREFIX_RE = re.compile(r"(?i)^(?:\+C?GSN|IMEI)\s*:\s*")
_IMSI_PREFIX_RE = re.compile(r"(?i)^\+CIMI\s*:\s*")


def luhn_valid(digits: str) -> bool:
    """Whether ``digits`` (ASCII 0-9 only) passes the Luhn check that an IMEI's last digit carries (23.003 §6.2)."""
    if not digits or not _DIGITS_RE.fullmatch(digits):
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def parse_imei(lines: Sequence[str]) -> str:
    """The IMEI from an ``AT+CGSN`` / ``AT+GSN`` / ``AT+CGSN=1`` answer (27.007 §5.4, 23.003 §6.2).

    Bare (``354237065082227``), prefixed and quoted (``+CGSN: "…"``), or followed by a serial number
    (``356936001568843,NL2A62Z0N5``). The IMEI is 15 digits; 14 digits (without the check digit, as a few
    firmwares print it) are accepted too. A 16-digit IMEISV, a CDMA ESN/MEID (``0x…``) and anything else is refused.
    The Luhn digit is not checked here (captured IMEIs are often anonymised): see :func:`luhn_valid`.
    """
    candidates = _lines_of(lines)
    if not candidates:
        raise ParseError("the IMEI answer is empty")
    for line in candidates:
        value = unquote(_IMEI_PREFIX_RE.sub("", line, count=1).split(",")[0]).strip()
        if _DIGITS_RE.fullmatch(value) and len(value) in (14, 15):
            return value
    shown = candidates[0]
    raise ParseError(f"no 14- or 15-digit IMEI in the answer {shown!r}", text="\n".join(candidates))


def parse_imsi(lines: Sequence[str]) -> str:
    """The IMSI from an ``AT+CIMI`` answer (27.007 §5.6): 6 to 15 digits, bare or after ``+CIMI:``."""
    candidates = _lines_of(lines)
    if not candidates:
        raise ParseError("the IMSI answer is empty")
    for line in candidates:
        value = unquote(_IMSI_PREFIX_RE.sub("", line, count=1)).strip()
        if _DIGITS_RE.fullmatch(value) and 6 <= len(value) <= 15:
            return value
    raise ParseError(f"no 6- to 15-digit IMSI in the answer {candidates[0]!r}", text="\n".join(candidates))


_IDENTITY_PREFIX_RE = re.compile(r"(?i)^\+C?GM[IMR]\s*:\s*")
_IDENTITY_LABEL_RE = re.compile(r"(?i)^(?:manufacturer|model|revision|rev)\s*:\s*")


def parse_text_answer(lines: Sequence[str], prefix: str) -> str:
    """The text of a +CGMI/+GMI/+CGMM/+GMM/+CGMR/+GMR answer (27.007 §5.1-§5.3, V.250 §6.1.4-§6.1.6).

    ``prefix`` is the command's own (``"+CGMI"``); it, the other command's prefix, a ``Manufacturer:``/``Model:``
    /``Revision:`` label and quotes are removed. The first line with text left is the answer.
    """
    tag = prefix.strip().rstrip(":").upper()
    for line in _lines_of(lines):
        value = line
        if tag and value.upper().startswith(tag):
            value = value[len(tag) :].lstrip()
            value = value[1:] if value.startswith(":") else value
        value = _IDENTITY_PREFIX_RE.sub("", value.strip(), count=1)
        value = unquote(_IDENTITY_LABEL_RE.sub("", value, count=1)).strip()
        if value:
            return value
    raise ParseError(f"the {prefix.strip() or 'identity'} answer has no text")


_ATI_LABEL_RE = re.compile(r"^([A-Za-z][A-Za-z ]{0,30}?)\s*:\s*(.*)$")


def parse_ati(lines: Sequence[str]) -> tuple[str | None, str | None, str | None]:
    """(manufacturer, model, revision) from an ``ATI`` answer (V.250 §6.1.3; the content is the vendor's).

    Labelled lines (SIMCom, Huawei: ``Manufacturer: …``, ``Model: …``, ``Revision: …``) are read by label;
    unlabelled lines (Quectel: ``Quectel`` / ``EC25`` / ``Revision: …``) fill manufacturer then model, and a lone
    unlabelled line is the model. ``IMEI:``, ``+GCAP:`` and other lines are ignored.
    """
    manufacturer: str | None = None
    model: str | None = None
    revision: str | None = None
    bare: list[str] = []
    for line in _lines_of(lines):
        if line.startswith("+") or line.upper() in ("ATI", "OK"):
            continue
        match = _ATI_LABEL_RE.match(line)
        if match:
            label, value = match.group(1).strip().lower(), match.group(2).strip() or None
            if label == "manufacturer":
                manufacturer = value
            elif label == "model":
                model = value
            elif label in ("revision", "rev"):
                revision = value
            continue
        bare.append(line)
    if len(bare) == 1 and model is None:
        model = bare[0]
    elif len(bare) > 1:
        slots = [manufacturer, model, revision]
        for value in bare:
            free = next((i for i, slot in enumerate(slots) if slot is None), None)
            if free is None:
                break
            slots[free] = value
        manufacturer, model, revision = slots
    if manufacturer is None and model is None and revision is None:
        raise ParseError("the ATI answer names no manufacturer, model or revision")
    return manufacturer, model, revision


# -- packet domain: +CGATT, +CFUN, +CGDCONT, +CGACT, +CGPADDR, +CGCONTRDP ------------------------------------------


def parse_cgatt(text: str) -> bool:
    """``+CGATT: <state>`` (27.007 §10.1.9): attached to the packet domain or not."""
    fields = split_fields(strip_prefix(text, "+CGATT:"))
    state = parse_uint(fields[0], what="+CGATT <state>", text=text)
    if state not in (0, 1):
        raise ParseError(f"+CGATT <state> must be 0 or 1, got {text.strip()!r}", text=text)
    return state == 1


def parse_cfun(text: str) -> int:
    """``+CFUN: <fun>[,...]`` (27.007 §8.2): 0 minimum, 1 full, 4 flight mode; vendors add more (19...)."""
    fields = split_fields(strip_prefix(text, "+CFUN:"))
    fun = parse_uint(fields[0], what="+CFUN <fun>", text=text)
    if fun is None:
        raise ParseError("+CFUN answer has no <fun>", text=text)
    return fun


def _address(field: str, *, text: str) -> str | None:
    """An IP address in any 27.007 notation, as standard text; ``None`` for empty or unspecified (``0.0.0.0``).

    IPv6 comes in colon form or, per 27.007 §10.1.1 before +CGPIAF, as 16 dotted decimal bytes.
    """
    value = unquote(field).strip()
    if not value:
        return None
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    try:
        if ":" in value:
            address = ipaddress.IPv6Address(value)
        else:
            parts = value.split(".")
            if not all(_DIGITS_RE.fullmatch(part) and len(part) <= 3 and int(part) <= 255 for part in parts):
                raise ValueError(value)
            octets = bytes(int(part) for part in parts)
            if len(octets) == 4:
                address = ipaddress.IPv4Address(octets)
            elif len(octets) == 16:
                address = ipaddress.IPv6Address(octets)
            else:
                raise ValueError(value)
    except ValueError:
        raise ParseError(f"{value!r} is not an IPv4 or IPv6 address", text=text) from None
    return None if address.is_unspecified else address.compressed


def _address_and_mask(field: str, *, text: str) -> tuple[str | None, str | None]:
    """27.007 §10.1.23 ``<local_addr and subnet_mask>``: 8 or 32 dotted bytes, or address and mask apart."""
    value = unquote(field).strip()
    pieces = value.split()
    if len(pieces) == 2:
        return _address(pieces[0], text=text), _address(pieces[1], text=text)
    parts = value.split(".")
    if ":" not in value and len(parts) in (8, 32):
        half = len(parts) // 2
        return _address(".".join(parts[:half]), text=text), _address(".".join(parts[half:]), text=text)
    return _address(value, text=text), None


def _is_ipv4_netmask(field: str) -> bool:
    value = unquote(field).strip()
    try:
        ipaddress.IPv4Network(f"0.0.0.0/{value}")
    except ValueError:
        return False
    return value.count(".") == 3 and value.startswith("255.")


def parse_cgdcont(lines: Sequence[str]) -> tuple[PdpContext, ...]:
    """``+CGDCONT: <cid>,<PDP_type>,<APN>[,<PDP_addr>,...]`` read answer (27.007 §10.1.1), one context a line.

    An empty APN is ``None``; the address is normalised like :func:`parse_cgpaddr`'s, and kept as given if it
    is in no known notation.
    """
    contexts: list[PdpContext] = []
    for line in _lines_of(lines):
        fields = split_fields(strip_prefix(line, "+CGDCONT:"))
        cid = parse_uint(fields[0], what="+CGDCONT <cid>", text=line)
        if cid is None or len(fields) < 2 or not fields[1]:
            raise ParseError(f"+CGDCONT line needs <cid>,<PDP_type>, got {line!r}", text=line)
        raw_address = fields[3].strip() if len(fields) > 3 else ""
        try:
            address = _address(raw_address, text=line)
        except ParseError:
            address = raw_address
        apn = fields[2].strip() if len(fields) > 2 else ""
        contexts.append(PdpContext(cid=cid, pdp_type=fields[1].strip(), apn=apn or None, address=address))
    return tuple(contexts)


def parse_cgact(lines: Sequence[str]) -> tuple[PdpActivation, ...]:
    """``+CGACT: <cid>,<state>`` read answer (27.007 §10.1.10), one context a line; no line means no context."""
    result: list[PdpActivation] = []
    for line in _lines_of(lines):
        fields = split_fields(strip_prefix(line, "+CGACT:"))
        if len(fields) < 2:
            raise ParseError(f"+CGACT line needs <cid>,<state>, got {line!r}", text=line)
        cid = parse_uint(fields[0], what="+CGACT <cid>", text=line)
        state = parse_uint(fields[1], what="+CGACT <state>", text=line)
        if cid is None or state not in (0, 1):
            raise ParseError(f"+CGACT line needs <cid>,<state 0|1>, got {line!r}", text=line)
        result.append(PdpActivation(cid=cid, active=state == 1))
    return tuple(result)


def parse_cgpaddr(lines: Sequence[str]) -> tuple[PdpAddress, ...]:
    """``+CGPADDR: <cid>[,<PDP_addr_1>[,<PDP_addr_2>]]`` (27.007 §10.1.14), one context a line.

    Addresses come as IPv4, IPv6 in colon form, or IPv6 as 16 dotted decimal bytes; all are returned as standard
    text. Empty and unspecified (``0.0.0.0``) addresses are left out.
    """
    result: list[PdpAddress] = []
    for line in _lines_of(lines):
        fields = split_fields(strip_prefix(line, "+CGPADDR:"))
        cid = parse_uint(fields[0], what="+CGPADDR <cid>", text=line)
        if cid is None:
            raise ParseError(f"+CGPADDR line has no <cid>: {line!r}", text=line)
        addresses: list[str] = []
        for field in fields[1:]:
            for piece in field.split():
                address = _address(piece, text=line)
                if address is not None:
                    addresses.append(address)
        result.append(PdpAddress(cid=cid, addresses=tuple(addresses)))
    return tuple(result)


def parse_cgcontrdp(lines: Sequence[str]) -> tuple[PdpDynamicParams, ...]:
    """``+CGCONTRDP: <cid>,<bearer_id>,<apn>,<local_addr and subnet_mask>,<gw_addr>,<DNS_prim>,<DNS_sec>,...``.

    27.007 §10.1.23. Address and mask share one field (8 or 32 dotted bytes) since 27.007 v9.4; older firmware
    sends them as two fields, recognised by a netmask after a plain IPv4 address. Addresses are normalised like
    :func:`parse_cgpaddr`'s; an empty or unspecified field is ``None``.
    """
    result: list[PdpDynamicParams] = []
    for line in _lines_of(lines):
        fields = split_fields(strip_prefix(line, "+CGCONTRDP:"))
        cid = parse_uint(fields[0], what="+CGCONTRDP <cid>", text=line)
        if cid is None:
            raise ParseError(f"+CGCONTRDP line has no <cid>: {line!r}", text=line)
        bearer_id = parse_uint(fields[1], what="+CGCONTRDP <bearer_id>", text=line) if len(fields) > 1 else None
        apn = fields[2].strip() if len(fields) > 2 else ""
        local_field = fields[3] if len(fields) > 3 else ""
        local, subnet = _address_and_mask(local_field, text=line)
        rest = fields[4:]
        plain_ipv4 = ":" not in local_field and local_field.count(".") == 3
        if subnet is None and plain_ipv4 and rest and _is_ipv4_netmask(rest[0]):
            subnet, rest = _address(rest[0], text=line), rest[1:]
        gateway, dns_primary, dns_secondary = (
            _address(rest[i], text=line) if len(rest) > i else None for i in range(3)
        )
        result.append(
            PdpDynamicParams(
                cid=cid,
                bearer_id=bearer_id,
                apn=apn or None,
                local_address=local,
                subnet=subnet,
                gateway_address=gateway,
                dns_primary=dns_primary,
                dns_secondary=dns_secondary,
            )
        )
    return tuple(result)
