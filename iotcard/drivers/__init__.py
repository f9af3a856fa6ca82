"""Talk AT commands to the cellular module: the engine, 27.007 parsers, vendor dialects and the snapshot reader."""

from __future__ import annotations

from .errors import (
    CmeError,
    CmsError,
    CommandError,
    ModemRebooted,
    ParseError,
    PortError,
    ProtocolError,
    ReadTimeout,
    TransportError,
)
from .models import (
    AccessTechnology,
    Carrier,
    ModemIdentity,
    ModemSnapshot,
    NetworkInfo,
    RegistrationState,
    SignalInfo,
    SimInfo,
    SimState,
)
from .modem import Modem, signal_bars
from .transport import SerialTransport, Transport

__all__ = [
    "AccessTechnology",
    "Carrier",
    "CmeError",
    "CmsError",
    "CommandError",
    "Modem",
    "ModemIdentity",
    "ModemRebooted",
    "ModemSnapshot",
    "NetworkInfo",
    "ParseError",
    "PortError",
    "ProtocolError",
    "ReadTimeout",
    "RegistrationState",
    "SerialTransport",
    "SignalInfo",
    "SimInfo",
    "SimState",
    "Transport",
    "TransportError",
    "signal_bars",
]
