"""Vendor profiles: what a module says about itself, as plain data.

Every answer line here is written from the vendors' AT manuals and from transcripts of real modules
(Quectel EC2x AT Commands Manual; SIMCom SIM7500/SIM7600 Series AT Command Manual; Huawei ME909s AT Command
Interface Specification). Answers that depend on the modem's state (registration, signal, SIM) are rendered
by the model in ``_modem.py`` from the facts below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


def luhn_check_digit(digits: str) -> str:
    """Return the Luhn check digit for ``digits`` (IMEI check digit, 3GPP TS 23.003 §6.2.1 / annex B)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:  # the digit next to the check digit is doubled
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def imei(first_fourteen: str) -> str:
    """Complete a 14-digit TAC+SNR with its Luhn check digit."""
    if len(first_fourteen) != 14 or not first_fourteen.isdigit():
        raise ValueError(f"an IMEI body has 14 digits, got {first_fourteen!r}")
    return first_fourteen + luhn_check_digit(first_fourteen)


def swap_nibbles(iccid: str) -> str:
    """Encode an ICCID as EF_ICCID stores it (TS 102 221 §13.2): BCD, low nibble first, padded with F."""
    padded = iccid.upper() + ("F" if len(iccid) % 2 else "")
    return "".join(padded[i + 1] + padded[i] for i in range(0, len(padded), 2))


@dataclass(frozen=True)
class SimCard:
    """The card in the slot: identities and the codes that unlock it."""

    iccid: str
    imsi: str
    pin: str = "1234"
    puk: str = "12345678"


@dataclass(frozen=True)
class Signal:
    """Radio measurements of the serving LTE cell, in dB/dBm."""

    rssi_dbm: int = -65
    rsrp_dbm: int = -95
    rsrq_db: int = -10
    sinr_db: int = 14  # even, so the 2·x − 20 forms (QENG classic, CPSI RSSNR) carry it exactly


@dataclass(frozen=True)
class Network:
    """The network the modem camps on and its serving LTE cell."""

    mcc: str
    mnc: str
    long_name: str
    short_name: str
    tac: int = 0x5A1F
    cell_id: int = 0x1A2D001
    pci: int = 123
    earfcn: int = 1300
    band: int = 3
    bandwidth_code: int = 5  # 27.007-style code used by Quectel and SIMCom: 5 = 20 MHz
    apn: str = "cmiot"
    ip_address: str = "10.168.23.45"
    gateway: str = "10.168.23.1"
    dns: tuple[str, str] = ("211.136.17.107", "211.136.20.203")

    @property
    def plmn(self) -> str:
        return self.mcc + self.mnc


CHINA_MOBILE = Network(mcc="460", mnc="00", long_name="CHINA MOBILE", short_name="CMCC")
# A China Mobile card roaming on China Mobile Hong Kong's network.
CMHK = Network(
    mcc="454",
    mnc="12",
    long_name="CMHK",
    short_name="CMHK",
    tac=0x2B3C,
    cell_id=0x51A2C03,
    pci=301,
    earfcn=1825,
    ip_address="10.201.7.9",
    gateway="10.201.7.1",
)

DEFAULT_SIM = SimCard(iccid="89860424102287654321", imsi="460040123456789")
# China Mobile IoT cards exist with a hexadecimal letter in the account part of the ICCID.
HEX_ACCOUNT_SIM = SimCard(iccid="898604A8192280123456", imsi="460041987654321")


@dataclass(frozen=True)
class Profile:
    """One module model: identification lines, defaults, boot URCs and the vendor commands it understands.

    ``vendor_commands`` names extra commands (beyond the 27.007/V.250 base) that the model renders for this
    vendor; every other unknown command answers ``ERROR``.
    """

    name: str
    summary: str
    manufacturer: str  # the +CGMI / +GMI answer line
    model: str  # the +CGMM / +GMM answer line
    revision: str  # the +CGMR / +GMR answer line, exactly as the module prints it
    ati_lines: tuple[str, ...]
    imei: str
    sim: SimCard = DEFAULT_SIM
    cmee_default: int = 0
    boot_urcs: tuple[str, ...] = ()  # sent on every boot, before the SIM is read
    boot_reports_cpin: bool = False  # "+CPIN: READY" / "+CPIN: SIM PIN" / "+CPIN: NOT INSERTED" on boot
    boot_urcs_with_sim: tuple[str, ...] = ()  # sent on boot only when the SIM is ready
    vendor_commands: frozenset[str] = field(default_factory=frozenset)
    storm_urcs: tuple[str, ...] = ()  # vendor URCs mixed into the urc_storm scenario
    supports_5g: bool = False
    qeng_form: str = "classic"  # Quectel +QENG="servingcell": "classic" (EC2x), "ec200" (SINR in dB), "rm5xx"
    cpsi_form: str = "tenths"  # SIMCom +CPSI?: "tenths" (SIM7500/7600) or "index" (A76xx, SIM7080)


_QUECTEL_IMEI = imei("86767304123456")
_SIMCOM_IMEI = imei("86758403431361")
_HUAWEI_IMEI = imei("86701203217263")
_GENERIC_IMEI = imei("35000000123456")

QUECTEL_EC25 = Profile(
    name="quectel_ec25",
    summary="Quectel EC25-E (Qualcomm MDM9207), firmware EC25ECGAR06A07M1G",
    manufacturer="Quectel",
    model="EC25",
    revision="EC25ECGAR06A07M1G",
    ati_lines=("Quectel", "EC25", "Revision: EC25ECGAR06A07M1G"),
    imei=_QUECTEL_IMEI,
    cmee_default=1,  # EC2x manual: AT+CMEE default is 1
    boot_urcs=("RDY", "+CFUN: 1"),
    boot_reports_cpin=True,
    boot_urcs_with_sim=("+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"),
    vendor_commands=frozenset({"+QCCID", "+QENG", "+QCSQ", "+QNWINFO", "+QGDCNT", "+QTEMP", "+QLTS"}),
    storm_urcs=('+QIND: "csq",24,99', "+QIND: SMS DONE", '+QIND: "act","LTE"'),
)

QUECTEL_EC200U = Profile(
    name="quectel_ec200u",
    summary="Quectel EC200U-CN (Unisoc Cat.1): +QENG in the classic layout with SINR in dB",
    manufacturer="Quectel",
    model="EC200U",
    revision="EC200UCNAAR02A03M08",
    ati_lines=("Quectel", "EC200U", "Revision: EC200UCNAAR02A03M08"),
    imei=imei("86967506123456"),
    cmee_default=1,
    boot_urcs=("RDY",),
    boot_reports_cpin=True,
    boot_urcs_with_sim=("+QIND: SMS DONE", "+QIND: PB DONE"),
    vendor_commands=frozenset({"+QCCID", "+QENG", "+QCSQ", "+QNWINFO", "+QGDCNT", "+QTEMP", "+QLTS"}),
    storm_urcs=('+QIND: "csq",24,99', "+QIND: SMS DONE"),
    qeng_form="ec200",
)

QUECTEL_RM500Q = Profile(
    name="quectel_rm500q",
    summary="Quectel RM500Q-GL (5G sub-6) in EN-DC with the NR leg idle; two SIM slots",
    manufacturer="Quectel",
    model="RM500Q-GL",
    revision="RM500QGLABR11A06M4G",
    ati_lines=("Quectel", "RM500Q-GL", "Revision: RM500QGLABR11A06M4G"),
    imei=imei("86753104123456"),
    cmee_default=1,
    boot_urcs=("RDY",),
    boot_reports_cpin=True,
    boot_urcs_with_sim=("+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"),
    vendor_commands=frozenset({"+QCCID", "+QENG", "+QCSQ", "+QNWINFO", "+QGDCNT", "+QTEMP", "+QLTS", "+QUIMSLOT"}),
    storm_urcs=('+QIND: "csq",24,99', "+QIND: SMS DONE"),
    supports_5g=True,
    qeng_form="rm5xx",
)

SIMCOM_SIM7600 = Profile(
    name="simcom_sim7600",
    summary="SIMCom SIM7600CE-T, firmware LE11B12SIM7600M22; China Mobile hex-account ICCID",
    manufacturer="SIMCOM INCORPORATED",
    model="SIMCOM_SIM7600CE-T",
    revision="+CGMR: LE11B12SIM7600M22",
    ati_lines=(
        "Manufacturer: SIMCOM INCORPORATED",
        "Model: SIMCOM_SIM7600CE-T",
        "Revision: SIM7600M22_V1.1",
        f"IMEI: {_SIMCOM_IMEI}",
        "+GCAP: +CGSM",
    ),
    imei=_SIMCOM_IMEI,
    sim=HEX_ACCOUNT_SIM,
    boot_urcs=("RDY",),
    boot_reports_cpin=True,
    boot_urcs_with_sim=("SMS DONE", "PB DONE"),
    vendor_commands=frozenset({"+CICCID", "+CPSI", "+CNSMOD", "+CPMUTEMP"}),
    storm_urcs=("+CGEV: ME PDN ACT 1", "SMS DONE"),
)

_A7670_IMEI = imei("86323508708455")
SIMCOM_A7670C = Profile(
    name="simcom_a7670c",
    summary="SIMCom A7670C (ASR Cat.1): +CPSI? in 27.007 index form, *ATREADY boot URC",
    manufacturer="SIMCOM INCORPORATED",
    model="A7670C-LASE",
    revision="A011B09A7670M7_F",
    ati_lines=(
        "Manufacturer: SIMCOM INCORPORATED",
        "Model: A7670C-LASE",
        "Revision: A011B09A7670M7_F",
        f"IMEI: {_A7670_IMEI}",
        "+GCAP: +CGSM,+FCLASS,+DS",
    ),
    imei=_A7670_IMEI,
    boot_urcs=("*ATREADY: 1",),
    boot_reports_cpin=True,
    boot_urcs_with_sim=("SMS DONE", "PB DONE"),
    vendor_commands=frozenset({"+CICCID", "+CPSI", "+CNSMOD", "+CPMUTEMP"}),
    storm_urcs=("SMS DONE",),
    cpsi_form="index",
)

HUAWEI_ME909S = Profile(
    name="huawei_me909s",
    summary="Huawei ME909s-821 (Balong), firmware 11.617.05.00.00",
    manufacturer="Huawei Technologies Co., Ltd.",
    model="ME909s-821",
    revision="11.617.05.00.00",
    ati_lines=(
        "Manufacturer: Huawei Technologies Co., Ltd.",
        "Model: ME909s-821",
        "Revision: 11.617.05.00.00",
        f"IMEI: {_HUAWEI_IMEI}",
        "+GCAP: +CGSM,+DS,+ES",
    ),
    imei=_HUAWEI_IMEI,
    boot_urcs=("^SYSSTART",),
    vendor_commands=frozenset({"^ICCID", "^HCSQ", "^SYSINFOEX"}),
    storm_urcs=("^RSSI: 22", '^HCSQ: "LTE",56,46,176,20', "^MODE: 17,17"),
)

GENERIC = Profile(
    name="generic",
    summary="A plain 3GPP TS 27.007 modem with no vendor commands (Acme Wireless AW-1)",
    manufacturer="Acme Wireless",
    model="AW-1",
    revision="AW-1_V1.0.0",
    ati_lines=("Acme Wireless", "AW-1", "Revision: AW-1_V1.0.0"),
    imei=_GENERIC_IMEI,
    boot_urcs=("RDY",),
    boot_reports_cpin=True,
    supports_5g=True,
)

PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        profile.name: profile
        for profile in (
            QUECTEL_EC25,
            QUECTEL_EC200U,
            QUECTEL_RM500Q,
            SIMCOM_SIM7600,
            SIMCOM_A7670C,
            HUAWEI_ME909S,
            GENERIC,
        )
    }
)
"""Every profile by name (read-only)."""
