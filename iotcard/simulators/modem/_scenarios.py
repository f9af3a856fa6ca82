"""Fault scenarios: how the simulated modem departs from a healthy one, as plain data.

A scenario either changes the modem's state (SIM, registration, signal) or the byte stream on the wire
(URCs, noise, chunking, delays, silence, reboots, the port disappearing). Command numbers count every
non-empty line received on the port, starting at 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

from iotcard.simulators.modem._profiles import CHINA_MOBILE, CMHK, Network, Signal


class SimStatus(Enum):
    """What +CPIN? reports (27.007 §8.3)."""

    READY = "READY"
    PIN = "SIM PIN"
    PUK = "SIM PUK"
    ABSENT = "NOT INSERTED"


class RegStat(int, Enum):
    """<stat> of +CREG/+CGREG/+CEREG/+C5GREG (27.007 §7.2, §10.1.20, §10.1.22)."""

    NOT_SEARCHING = 0
    HOME = 1
    SEARCHING = 2
    DENIED = 3
    UNKNOWN = 4
    ROAMING = 5


@dataclass(frozen=True)
class Scenario:
    """One named behaviour of the simulated modem.

    State: ``sim_status``, ``registration``, ``network``, ``has_signal``, ``signal`` (the serving cell's levels),
    ``cfun`` (the radio's <fun> at power-on: 4 is flight mode), ``reject_cause`` (the EMM cause a denial carries in
    +CEREG with n=3, TS 24.301 annex A).
    Wire: ``urc_storm`` (URCs between and inside answers), ``garbage_bytes`` (noise after each answer),
    ``split_chunks`` (1–3 byte writes), ``answer_delay`` (seconds before each answer, after the echo),
    ``hang_after`` (answer that many command lines, then nothing more), ``reboot_after`` (reboot once,
    after answering that command), ``vanish_after``/``vanish_seconds`` (the port disappears once after
    answering that command and comes back that many seconds later).
    """

    name: str
    summary: str
    sim_status: SimStatus = SimStatus.READY
    registration: RegStat = RegStat.HOME
    network: Network = CHINA_MOBILE
    has_signal: bool = True
    signal: Signal = field(default_factory=Signal)
    cfun: int = 1
    reject_cause: int | None = None
    urc_storm: bool = False
    garbage_bytes: bool = False
    split_chunks: bool = False
    answer_delay: float = 0.0
    hang_after: int | None = None
    reboot_after: int | None = None
    vanish_after: int | None = None
    vanish_seconds: float = 1.0


_ALL = (
    Scenario("normal", "healthy module: SIM ready, registered home on LTE (CHINA MOBILE 46000), attached, APN cmiot"),
    Scenario(
        "sim_absent",
        "no SIM: +CPIN? gives +CME ERROR: 10 (SIM not inserted), so do +CIMI/+CCID/+CRSM; not registered (stat 0)",
        sim_status=SimStatus.ABSENT,
        registration=RegStat.NOT_SEARCHING,
    ),
    Scenario(
        "pin_locked",
        '+CPIN: SIM PIN; +CIMI gives +CME ERROR: 11; ICCID reads still work; AT+CPIN="1234" unlocks and registers',
        sim_status=SimStatus.PIN,
    ),
    Scenario(
        "puk_locked",
        '+CPIN: SIM PUK; +CIMI gives +CME ERROR: 12; AT+CPIN="12345678","1234" unlocks and registers',
        sim_status=SimStatus.PUK,
    ),
    Scenario(
        "registration_denied",
        "stat 3 in +CREG/+CGREG/+CEREG, +COPS: 0, +CGATT: 0, no PDP address",
        registration=RegStat.DENIED,
    ),
    Scenario(
        "searching_no_signal",
        "stat 2 (searching), +CSQ: 99,99, +CESQ: 99,99,255,255,255,255, not attached",
        registration=RegStat.SEARCHING,
        has_signal=False,
    ),
    Scenario("roaming", "stat 5, roaming on CMHK (45412), attached", registration=RegStat.ROAMING, network=CMHK),
    Scenario(
        "flight_mode",
        "left in flight mode: +CFUN: 4, no signal, not registered (stat 0), not attached; AT+CFUN=1 brings it back",
        cfun=4,
    ),
    Scenario(
        "reject_cause",
        "the network rejects the card with EMM cause #7 (EPS services not allowed, e.g. a suspended IoT card): "
        "stat 3, +CEREG: 3,3,,,,0,7 with n=3, not attached",
        registration=RegStat.DENIED,
        reject_cause=7,
    ),
    Scenario(
        "weak_signal",
        "registered on a weak cell: RSRP -128 dBm, RSRQ -18 dB, SINR -4 dB, RSSI -101 dBm",
        signal=Signal(rssi_dbm=-101, rsrp_dbm=-128, rsrq_db=-18, sinr_db=-4),
    ),
    Scenario(
        "urc_storm",
        "1-3 URCs (+CEREG: 1, +CREG: 1, vendor ones) after every echo, between answer lines, before the final "
        "result code, and after it",
        urc_storm=True,
    ),
    Scenario(
        "garbage_bytes",
        "after every answer, 1-8 random bytes from NUL and 0x80-0xFF (never CR/LF) are written",
        garbage_bytes=True,
    ),
    Scenario("split_chunks", "every write goes out in 1-3 byte chunks with ~1 ms pauses", split_chunks=True),
    Scenario("slow_answers", "each answer comes 0.8 s after the echo", answer_delay=0.8),
    Scenario(
        "hang",
        "answers command lines 1 and 2 (e.g. AT, ATE0), then is silent from line 3 on: no echo, no result, no URC",
        hang_after=2,
    ),
    Scenario(
        "reboot",
        "after answering command line 4 the module reboots once: 0.3 s of silence (input dropped), boot URCs "
        "(RDY...), then echo is on again and CMEE and +CxREG settings are back to defaults",
        reboot_after=4,
    ),
    Scenario(
        "port_vanish",
        "after answering command line 3 the pty closes and the --link disappears; 1 s later a new pty appears "
        "behind the same --link, with the module freshly booted (echo on, defaults)",
        vanish_after=3,
    ),
)

SCENARIOS: Mapping[str, Scenario] = MappingProxyType({scenario.name: scenario for scenario in _ALL})
"""Every scenario by name (read-only)."""
