"""Vendor dialects: small overlays on the 3GPP TS 27.007 base, chosen by the +CGMI/ATI answer."""

from __future__ import annotations

from ..at import BASE_URC_PREFIXES
from ._cmcc import DIALECT as CMCC
from ._dialect import Dialect, ModelQueries, VendorQuery
from ._fibocom import DIALECT as FIBOCOM
from ._generic import GENERIC
from ._huawei import DIALECT as HUAWEI
from ._luat import DIALECT as LUAT
from ._quectel import DIALECT as QUECTEL
from ._simcom import DIALECT as SIMCOM
from ._ublox import DIALECT as UBLOX

__all__ = [
    "CMCC",
    "DIALECTS",
    "FIBOCOM",
    "GENERIC",
    "HUAWEI",
    "KNOWN_BOOT_URCS",
    "KNOWN_URC_PREFIXES",
    "LUAT",
    "QUECTEL",
    "SIMCOM",
    "UBLOX",
    "Dialect",
    "ModelQueries",
    "VendorQuery",
    "detect_dialect",
    "dialect_by_name",
]

# Tried in order; the first whose pattern occurs in the manufacturer text wins.
DIALECTS: tuple[Dialect, ...] = (QUECTEL, SIMCOM, HUAWEI, FIBOCOM, UBLOX, LUAT, CMCC)

# Every URC prefix any known dialect uses. The engine registers all of them from the first byte: a vendor's
# boot URC (Quectel '+QIND: SMS DONE') can arrive before +CGMI has told us the vendor.
KNOWN_URC_PREFIXES: tuple[str, ...] = tuple(
    sorted({*BASE_URC_PREFIXES, *(prefix for dialect in DIALECTS for prefix in dialect.urc_prefixes)})
)

# URCs that mean "the module has just booted" for any known dialect.
KNOWN_BOOT_URCS: tuple[str, ...] = tuple(sorted({prefix for dialect in DIALECTS for prefix in dialect.boot_urcs}))

_BY_NAME: dict[str, Dialect] = {dialect.name: dialect for dialect in (GENERIC, *DIALECTS)}


def detect_dialect(manufacturer_text: str) -> Dialect:
    """The first dialect whose pattern occurs in the ``+CGMI``/``ATI`` answer, else :data:`GENERIC`."""
    for dialect in DIALECTS:
        if dialect.matches(manufacturer_text):
            return dialect
    return GENERIC


def dialect_by_name(name: str) -> Dialect:
    """The dialect called ``name`` (``"quectel"``, ``"generic"``...); ``KeyError`` names the known ones."""
    try:
        return _BY_NAME[name.strip().lower()]
    except KeyError:
        known = ", ".join(sorted(_BY_NAME))
        raise KeyError(f"unknown modem dialect {name!r}; known dialects: {known}") from None
