"""An AT modem simulator on a real pseudo-terminal, with vendor profiles and fault scenarios.

It plays the module's side of the serial line, written from the vendors' AT manuals and 3GPP TS 27.007 /
ITU-T V.250, so the agent's drivers can be tested and benchmarked against a real tty without hardware::

    from iotcard.simulators.modem import ModemSimulator

    with ModemSimulator(profile="quectel_ec25", scenario="normal") as sim:
        port = serial.Serial(sim.path, 115200, timeout=1)
        port.write(b"AT+CGMI\\r")  # -> b"AT+CGMI\\r\\r\\nQuectel\\r\\n\\r\\nOK\\r\\n"

Command line: ``python -m iotcard.simulators.modem --help``.
"""

from __future__ import annotations

from iotcard.simulators.modem._modem import Modem, Reply
from iotcard.simulators.modem._profiles import (
    PROFILES,
    Network,
    Profile,
    Signal,
    SimCard,
    luhn_check_digit,
    swap_nibbles,
)
from iotcard.simulators.modem._scenarios import SCENARIOS, RegStat, Scenario, SimStatus
from iotcard.simulators.modem._simulator import ModemSimulator

__all__ = [
    "PROFILES",
    "SCENARIOS",
    "Modem",
    "ModemSimulator",
    "Network",
    "Profile",
    "RegStat",
    "Reply",
    "Scenario",
    "Signal",
    "SimCard",
    "SimStatus",
    "luhn_check_digit",
    "swap_nibbles",
]
