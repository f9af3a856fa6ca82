"""Facts read from the modem: plain frozen values. Everything downstream is a pure function of them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "AccessTechnology",
    "Carrier",
    "ModemIdentity",
    "ModemSnapshot",
    "NetworkInfo",
    "Operator",
    "PdpActivation",
    "PdpAddress",
    "PdpContext",
    "PdpDynamicParams",
    "RegDomain",
    "Registration",
    "RegistrationState",
    "RejectCause",
    "SignalInfo",
    "SignalQuality",
    "SimInfo",
    "SimState",
    "VendorFacts",
]


class SimState(enum.Enum):
    READY = "ready"
    ABSENT = "absent"
    PIN_REQUIRED = "pin_required"
    PUK_REQUIRED = "puk_required"
    ERROR = "error"
    UNKNOWN = "unknown"


class RegistrationState(enum.Enum):
    """What the technician needs to know of a 27.007 <stat>; the raw number is kept beside it."""

    HOME = "home"
    ROAMING = "roaming"
    SEARCHING = "searching"
    DENIED = "denied"
    NOT_REGISTERED = "not_registered"
    EMERGENCY_ONLY = "emergency_only"
    UNKNOWN = "unknown"


class RegDomain(enum.Enum):
    """Which registration: CS (+CREG), PS (+CGREG), EPS (+CEREG) or 5GS (+C5GREG)."""

    CS = "cs"
    PS = "ps"
    EPS = "eps"
    FIVE_GS = "5gs"


class AccessTechnology(enum.Enum):
    GSM = "GSM"
    GPRS = "GPRS"
    EDGE = "EDGE"
    UMTS = "UMTS"
    HSPA = "HSPA"
    LTE = "LTE"
    LTE_M = "LTE-M"
    NB_IOT = "NB-IoT"
    NR5G = "NR5G"


class Carrier(enum.Enum):
    CHINA_MOBILE = "China Mobile"
    CHINA_UNICOM = "China Unicom"
    CHINA_TELECOM = "China Telecom"
    CHINA_BROADNET = "China Broadnet"


@dataclass(frozen=True, slots=True)
class Registration:
    """One registration read (+CREG/+CGREG/+CEREG/+C5GREG, 27.007 §7.2, §10.1.20, §10.1.22, §10.1.x).

    ``lac`` is set for CS/PS, ``tac`` for EPS/5GS; ``ci`` is the cell identity; ``act`` the raw AcT number.
    """

    domain: RegDomain
    stat: int
    state: RegistrationState
    lac: int | None = None
    tac: int | None = None
    ci: int | None = None
    act: int | None = None
    access_technology: AccessTechnology | None = None
    cause_type: int | None = None
    reject_cause: int | None = None


@dataclass(frozen=True, slots=True)
class RejectCause:
    """Why the network refused registration: ``kind`` is ``emm`` (TS 24.301 annex A), ``gmm``/``mm`` (TS 24.008
    annex G) or ``5gmm`` (TS 24.501 annex A); ``name`` is the specification's name for ``code``."""

    kind: str
    code: int
    name: str


@dataclass(frozen=True, slots=True)
class SignalQuality:
    """Signal values in physical units; ``None`` where the modem reported 'unknown' (99/255)."""

    rssi_dbm: float | None = None
    ber: int | None = None
    rsrp_dbm: float | None = None
    rsrq_db: float | None = None
    sinr_db: float | None = None
    rscp_dbm: float | None = None
    ecno_db: float | None = None
    rxlev_dbm: float | None = None


@dataclass(frozen=True, slots=True)
class Operator:
    """+COPS? read (27.007 §7.3): the name in whichever format the modem gave, or the numeric MCC-MNC."""

    mode: int | None
    name: str | None
    mcc_mnc: str | None
    act: int | None
    access_technology: AccessTechnology | None = None


@dataclass(frozen=True, slots=True)
class PdpContext:
    """+CGDCONT? (27.007 §10.1.1)."""

    cid: int
    pdp_type: str
    apn: str | None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class PdpActivation:
    """+CGACT? (27.007 §10.1.10)."""

    cid: int
    active: bool


@dataclass(frozen=True, slots=True)
class PdpAddress:
    """+CGPADDR (27.007 §10.1.14): the addresses of one context, IPv4 and/or IPv6."""

    cid: int
    addresses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PdpDynamicParams:
    """+CGCONTRDP (27.007 §10.1.23): the network-assigned address and DNS servers of an active context."""

    cid: int
    bearer_id: int | None
    apn: str | None
    local_address: str | None
    subnet: str | None
    gateway_address: str | None
    dns_primary: str | None
    dns_secondary: str | None


@dataclass(frozen=True, slots=True)
class VendorFacts:
    """What one vendor command adds to the 27.007 picture. ``None`` means "this command does not say"."""

    access_technology: AccessTechnology | None = None
    registration: RegistrationState | None = None
    rssi_dbm: float | None = None
    rsrp_dbm: float | None = None
    rsrq_db: float | None = None
    sinr_db: float | None = None
    rscp_dbm: float | None = None
    ecno_db: float | None = None
    mcc_mnc: str | None = None
    lac: int | None = None
    tac: int | None = None
    cell_id: int | None = None
    band: str | None = None
    channel: int | None = None
    pci: int | None = None
    rx_bytes: int | None = None
    tx_bytes: int | None = None
    sim_present: bool | None = None
    temperature_c: float | None = None
    sim_slot: int | None = None
    network_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class ModemIdentity:
    manufacturer: str | None = None
    model: str | None = None
    revision: str | None = None
    imei: str | None = None
    imei_luhn_ok: bool | None = None
    temperature_c: float | None = None


@dataclass(frozen=True, slots=True)
class SimInfo:
    state: SimState = SimState.UNKNOWN
    iccid: str | None = None
    imsi: str | None = None
    carrier: Carrier | None = None
    slot: int | None = None


@dataclass(frozen=True, slots=True)
class NetworkInfo:
    registration: RegistrationState | None = None
    registration_domain: RegDomain | None = None
    access_technology: AccessTechnology | None = None
    mcc_mnc: str | None = None
    operator_name: str | None = None
    lac: int | None = None
    tac: int | None = None
    cell_id: int | None = None
    band: str | None = None
    attached: bool | None = None
    apn: str | None = None
    ip_address: str | None = None
    registrations: tuple[Registration, ...] = ()
    radio: str | None = None  # "on" (CFUN 1), "off" (CFUN 0 or 4), "limited" (any other <fun>)
    cfun: int | None = None
    reject_cause: RejectCause | None = None
    last_error: str | None = None
    dns: tuple[str, ...] = ()
    earfcn: int | None = None
    pci: int | None = None
    time: datetime | None = None


@dataclass(frozen=True, slots=True)
class SignalInfo:
    rssi_dbm: float | None = None
    rsrp_dbm: float | None = None
    rsrq_db: float | None = None
    sinr_db: float | None = None
    bars: int = 0


@dataclass(frozen=True, slots=True)
class ModemSnapshot:
    """Everything one read of the modem learned, and what it cost (commands sent, errors met)."""

    identity: ModemIdentity = field(default_factory=ModemIdentity)
    sim: SimInfo = field(default_factory=SimInfo)
    network: NetworkInfo = field(default_factory=NetworkInfo)
    signal: SignalInfo = field(default_factory=SignalInfo)
    dialect: str = "generic"
    port: str | None = None
    commands_sent: int = 0
    problems: tuple[str, ...] = ()
    # The system's own clock when the read was made (injected into the reader), to compare with network.time.
    system_time: datetime | None = None
