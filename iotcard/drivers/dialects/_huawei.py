"""Huawei (ME909s, ME906s, MU709, E33xx sticks): ^HCSQ, ^SYSINFOEX and the ^DSFLOWQRY byte counters.

Source: HUAWEI ME909s Series LTE LGA Module AT Command Interface Specification (§3 ^ICCID, §5 ^SYSINFOEX,
§5 ^HCSQ, §10 ^DSFLOWQRY); the conversions match ModemManager's huawei plugin.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..at import Command
from ..errors import ParseError
from ..models import AccessTechnology, RegistrationState, VendorFacts
from ..parsers._fields import parse_hex, split_fields, strip_prefix
from ._dialect import Dialect, VendorQuery
from ._generic import optional_int, scaled

__all__ = ["DIALECT", "parse_dsflowqry", "parse_hcsq", "parse_sysinfoex"]

_UNKNOWN = frozenset({255})


def _line(lines: Sequence[str], prefix: str) -> str:
    for line in lines:
        if line.strip().upper().startswith(prefix.upper()):
            return line
    raise ParseError(f"no {prefix} line in the answer", text="\n".join(lines))


def parse_hcsq(lines: Sequence[str]) -> VendorFacts:
    """``AT^HCSQ?`` (ME909s §5.x): ``^HCSQ: <sysmode>[,<value1>...<value4>]``, values are 0-based steps.

    LTE: rssi = -120 + n dBm, rsrp = -140 + n dBm, sinr = -20 + 0.2n dB, rsrq = -19.5 + 0.5n dB.
    WCDMA/TD-SCDMA: rssi = -120 + n, rscp = -120 + n dBm, ecio = -32 + 0.5n dB. GSM: rssi = -120 + n.
    NR (5G modules): rsrp, sinr, rsrq on the LTE scales. 255 means unknown. ``NOSERVICE`` is a valid answer
    that says nothing (ModemManager treats it as a failure; here it is not malformed).
    """
    text = "\n".join(lines)
    fields = split_fields(strip_prefix(_line(lines, "^HCSQ:"), "^HCSQ:"))
    sysmode = fields[0].upper()
    nums = [optional_int(field, what="^HCSQ value", text=text) for field in fields[1:]]
    if sysmode == "NOSERVICE":
        return VendorFacts()
    if any(n is not None and not 0 <= n <= 255 for n in nums):
        raise ParseError("^HCSQ values must be 0..255", text=text)
    if sysmode == "LTE" and len(nums) >= 4:
        return VendorFacts(
            access_technology=AccessTechnology.LTE,
            rssi_dbm=scaled(nums[0], scale=1.0, offset=-120.0, unknown=_UNKNOWN),
            rsrp_dbm=scaled(nums[1], scale=1.0, offset=-140.0, unknown=_UNKNOWN),
            sinr_db=scaled(nums[2], scale=0.2, offset=-20.0, unknown=_UNKNOWN),
            rsrq_db=scaled(nums[3], scale=0.5, offset=-19.5, unknown=_UNKNOWN),
        )
    if sysmode == "NR" and len(nums) >= 3:
        return VendorFacts(
            access_technology=AccessTechnology.NR5G,
            rsrp_dbm=scaled(nums[0], scale=1.0, offset=-140.0, unknown=_UNKNOWN),
            sinr_db=scaled(nums[1], scale=0.2, offset=-20.0, unknown=_UNKNOWN),
            rsrq_db=scaled(nums[2], scale=0.5, offset=-19.5, unknown=_UNKNOWN),
        )
    if sysmode in {"WCDMA", "TD-SCDMA"} and len(nums) >= 3:
        return VendorFacts(
            access_technology=AccessTechnology.UMTS,
            rssi_dbm=scaled(nums[0], scale=1.0, offset=-120.0, unknown=_UNKNOWN),
            rscp_dbm=scaled(nums[1], scale=1.0, offset=-120.0, unknown=_UNKNOWN),
            ecno_db=scaled(nums[2], scale=0.5, offset=-32.0, unknown=_UNKNOWN),
        )
    if sysmode == "GSM" and len(nums) >= 1:
        return VendorFacts(
            access_technology=AccessTechnology.GSM,
            rssi_dbm=scaled(nums[0], scale=1.0, offset=-120.0, unknown=_UNKNOWN),
        )
    raise ParseError(f"^HCSQ sysmode {fields[0]!r} with {len(nums)} values is not understood", text=text)


# ^SYSINFOEX <sysmode> and <submode> (ME909s §5.x); the submode is finer, the sysmode the fallback.
_SYSMODE = {1: AccessTechnology.GSM, 3: AccessTechnology.UMTS, 4: AccessTechnology.UMTS, 6: AccessTechnology.LTE}
_SUBMODE = {
    1: AccessTechnology.GSM,
    2: AccessTechnology.GPRS,
    3: AccessTechnology.EDGE,
    41: AccessTechnology.UMTS,
    42: AccessTechnology.HSPA,
    43: AccessTechnology.HSPA,
    44: AccessTechnology.HSPA,
    45: AccessTechnology.HSPA,
    46: AccessTechnology.HSPA,
    61: AccessTechnology.UMTS,
    62: AccessTechnology.HSPA,
    63: AccessTechnology.HSPA,
    64: AccessTechnology.HSPA,
    65: AccessTechnology.HSPA,
    101: AccessTechnology.LTE,
}
# <sim_state>: 0 invalid/PIN-locked, 1 valid, 2-4 invalid for CS/PS, 240 ROM SIM, 255 no card.
_SIM_PRESENT = {0: True, 1: True, 2: True, 3: True, 4: True, 240: True, 255: False}


def _registration(srv_status: int | None, roam_status: int | None) -> RegistrationState | None:
    # <srv_status>: 0 no service, 1 restricted, 2 valid, 3 restricted regional, 4 power saving.
    if srv_status == 2:
        if roam_status == 0:
            return RegistrationState.HOME
        if roam_status == 1:
            return RegistrationState.ROAMING
        return None
    if srv_status in (1, 3):
        return RegistrationState.EMERGENCY_ONLY
    if srv_status == 0:
        return RegistrationState.NOT_REGISTERED
    return None


def parse_sysinfoex(lines: Sequence[str]) -> VendorFacts:
    """``AT^SYSINFOEX`` (ME909s §5.x): ``^SYSINFOEX: <srv_status>,<srv_domain>,<roam_status>,<sim_state>,
    <lock_state>,<sysmode>,<sysmode_name>,<submode>,<submode_name>``; names may be unquoted, lock_state empty.

    A roam status other than 0/1 leaves home/roaming unsaid rather than guessed.
    """
    text = "\n".join(lines)
    fields = split_fields(strip_prefix(_line(lines, "^SYSINFOEX:"), "^SYSINFOEX:"))
    if len(fields) < 6:
        raise ParseError(f"^SYSINFOEX has {len(fields)} fields, expected at least 6", text=text)
    srv_status = optional_int(fields[0], what="srv_status", text=text)
    roam_status = optional_int(fields[2], what="roam_status", text=text)
    sim_state = optional_int(fields[3], what="sim_state", text=text)
    sysmode = optional_int(fields[5], what="sysmode", text=text)
    submode = optional_int(fields[7], what="submode", text=text) if len(fields) > 7 else None
    technology = _SUBMODE.get(submode) if submode is not None else None
    if technology is None and sysmode is not None:
        technology = _SYSMODE.get(sysmode)
    return VendorFacts(
        access_technology=technology,
        registration=_registration(srv_status, roam_status if roam_status in (0, 1) else None),
        sim_present=_SIM_PRESENT.get(sim_state) if sim_state is not None else None,
    )


def parse_dsflowqry(lines: Sequence[str]) -> VendorFacts:
    """``AT^DSFLOWQRY`` (ME909s §10.x): ``^DSFLOWQRY: <last_ds_time>,<last_tx_flow>,<last_rx_flow>,
    <total_ds_time>,<total_tx_flow>,<total_rx_flow>``, all hexadecimal.

    The totals (since the last ^DSFLOWCLR) are taken: the "last" pair restarts with every connection.
    """
    text = "\n".join(lines)
    fields = split_fields(strip_prefix(_line(lines, "^DSFLOWQRY:"), "^DSFLOWQRY:"))
    if len(fields) != 6:
        raise ParseError(f"^DSFLOWQRY has {len(fields)} fields, expected 6", text=text)
    tx = parse_hex(fields[4], what="total tx bytes", text=text)
    rx = parse_hex(fields[5], what="total rx bytes", text=text)
    if tx is None or rx is None:
        raise ParseError("^DSFLOWQRY total counters are empty", text=text)
    return VendorFacts(tx_bytes=tx, rx_bytes=rx)


DIALECT = Dialect(
    name="huawei",
    display_name="Huawei",
    manufacturer_patterns=("huawei",),
    urc_prefixes=(
        "^SYSSTART",
        "^BOOT:",
        "^RSSI:",
        "^HCSQ:",
        "^MODE:",
        "^SRVST:",
        "^SIMST:",
        "^DSFLOWRPT:",
        "^NDISSTAT:",
        "^RSSILVL:",
        "^HRSSILVL:",
        "^CSNR:",
        "^CRSSI:",
        "^CERSSI:",
        "^ANLEVEL:",
        "^LTERSRP:",
        "^ORIG:",
        "^CONF:",
        "^CONN:",
        "^CEND:",
        "^STIN:",
        "^TIME:",
        "^NWTIME:",
        "^ACTIVEBAND:",
        "^RFSWITCH:",
        "^ECCLIST:",
        "^POSITION:",
        "^POSEND:",
        "^SMMEMFULL:",
    ),
    # The ME909s answers the raw EF_ICCID nibble order (``^ICCID: 98...``); the base ICCID parser swaps it.
    iccid_commands=(Command("AT^ICCID?", expect_prefix="^ICCID:"),),
    queries=(
        VendorQuery(Command("AT^SYSINFOEX", expect_prefix="^SYSINFOEX:"), parse_sysinfoex),
        VendorQuery(Command("AT^HCSQ?", expect_prefix="^HCSQ:"), parse_hcsq),
    ),
    counters=VendorQuery(Command("AT^DSFLOWQRY", expect_prefix="^DSFLOWQRY:"), parse_dsflowqry),
    # ^SYSSTART follows every start-up; ^BOOT is a periodic heartbeat on older sticks, not a reboot.
    boot_urcs=("^SYSSTART",),
    skip_base=frozenset({"cesq"}),
)
