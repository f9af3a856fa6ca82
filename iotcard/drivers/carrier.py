"""Which Chinese carrier issued a SIM: from the IMSI's MCC-MNC (23.003 §2.2) or the ICCID's issuer prefix (E.118).

The IMSI names the home network the card registers as, so it wins over the ICCID, whose issuer digits are only a
convention of each carrier's card orders.
"""

from __future__ import annotations

import re
from types import MappingProxyType

from .models import Carrier

__all__ = ["carrier_for", "carrier_from_iccid", "carrier_from_imsi", "operator_display_name"]

# MCC 460 (China), MNC per MIIT assignment.
_IMSI_CARRIERS = MappingProxyType(
    {
        "46000": Carrier.CHINA_MOBILE,
        "46002": Carrier.CHINA_MOBILE,
        "46004": Carrier.CHINA_MOBILE,  # IoT numbering
        "46007": Carrier.CHINA_MOBILE,
        "46008": Carrier.CHINA_MOBILE,
        "46001": Carrier.CHINA_UNICOM,
        "46006": Carrier.CHINA_UNICOM,
        "46009": Carrier.CHINA_UNICOM,
        "46003": Carrier.CHINA_TELECOM,
        "46005": Carrier.CHINA_TELECOM,
        "46011": Carrier.CHINA_TELECOM,
        "46015": Carrier.CHINA_BROADNET,
    }
)

# E.118 ICCID: 89 (telecom) + 86 (China) + 2-digit issuer code.
_ICCID_CARRIERS = MappingProxyType(
    {
        "898600": Carrier.CHINA_MOBILE,
        "898602": Carrier.CHINA_MOBILE,
        "898604": Carrier.CHINA_MOBILE,
        "898607": Carrier.CHINA_MOBILE,
        "898608": Carrier.CHINA_MOBILE,
        "898601": Carrier.CHINA_UNICOM,
        "898606": Carrier.CHINA_UNICOM,
        "898609": Carrier.CHINA_UNICOM,
        "898603": Carrier.CHINA_TELECOM,
        "898611": Carrier.CHINA_TELECOM,
        "898615": Carrier.CHINA_BROADNET,
    }
)

_DISPLAY_NAMES = MappingProxyType(
    {
        Carrier.CHINA_MOBILE: "中国移动",
        Carrier.CHINA_UNICOM: "中国联通",
        Carrier.CHINA_TELECOM: "中国电信",
        Carrier.CHINA_BROADNET: "中国广电",
    }
)

_IMSI_RE = re.compile(r"[0-9]{6,15}")
_ICCID_RE = re.compile(r"[0-9A-Fa-f]{6,20}")


def carrier_from_imsi(imsi: str | None) -> Carrier | None:
    """The carrier whose MCC-MNC starts ``imsi``; ``None`` for another country's network or a malformed IMSI."""
    if imsi is None:
        return None
    value = imsi.strip()
    if not _IMSI_RE.fullmatch(value):
        return None
    return _IMSI_CARRIERS.get(value[:5])


def carrier_from_iccid(iccid: str | None) -> Carrier | None:
    """The carrier whose issuer prefix (first six digits) starts ``iccid``; ``None`` when unknown or malformed."""
    if iccid is None:
        return None
    value = iccid.strip()
    if not _ICCID_RE.fullmatch(value):
        return None
    return _ICCID_CARRIERS.get(value[:6])


def carrier_for(imsi: str | None, iccid: str | None) -> Carrier | None:
    """The carrier of a SIM: from the IMSI when it names one, else from the ICCID."""
    return carrier_from_imsi(imsi) or carrier_from_iccid(iccid)


def operator_display_name(carrier: Carrier) -> str:
    """The name a Chinese technician knows the carrier by (中国移动, 中国联通, 中国电信, 中国广电)."""
    return _DISPLAY_NAMES[carrier]
