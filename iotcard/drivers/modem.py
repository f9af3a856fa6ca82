"""Read the truth from a cellular module: identity, SIM, signal, registration, operator, attach, PDP.

`Modem.read_snapshot` runs the 27.007 base reads plus the detected dialect's overlay over an :class:`AtSession`
and returns a :class:`ModemSnapshot`. It sends each command at most once and skips reads whose answer could not be
used (no IMSI read without a ready SIM, no address read without an active context).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TypeVar

from tenacity import Retrying, retry_if_exception, wait_random_exponential

from . import parsers as p
from .at import AtEngine, Command
from .carrier import carrier_for
from .dialects import GENERIC, KNOWN_BOOT_URCS, KNOWN_URC_PREFIXES, Dialect, VendorQuery, detect_dialect
from .dialects._generic import CLOCK_QUERY
from .errors import CmeError, CommandError, ModemRebooted, ParseError, PortError, ReadTimeout
from .models import (
    AccessTechnology,
    ModemIdentity,
    ModemSnapshot,
    NetworkInfo,
    Operator,
    PdpActivation,
    PdpAddress,
    PdpContext,
    PdpDynamicParams,
    RegDomain,
    Registration,
    RegistrationState,
    SignalInfo,
    SignalQuality,
    SimInfo,
    SimState,
    VendorFacts,
)
from .session import AtSession, Clock
from .transport import SerialTransport, Transport

_T = TypeVar("_T")

__all__ = [
    "BASE_COMMANDS",
    "Modem",
    "signal_bars",
]


def _cmd(
    text: str,
    prefix: str | None = None,
    *,
    timeout: float = 2.0,
    multiline: bool = False,
    cacheable: bool = False,
    pattern: str | None = None,
    also: tuple[str, ...] = (),
) -> Command:
    return Command(
        text,
        timeout=timeout,
        expect_prefix=prefix,
        multiline=multiline,
        cacheable=cacheable,
        answer_pattern=pattern,
        also_prefixes=also,
    )


def _reg_read(name: str) -> Command:
    # The read form is '<n>,<stat>[,...]' with two plain numbers first; the URC form ('<stat>' or
    # '<stat>,"<lac>",...') that may arrive meanwhile is not (27.007 §7.2, §10.1.20, §10.1.22).
    return _cmd(f"AT{name}?", f"{name}:", pattern=rf"(?i)^\{name}:\s*\d+\s*,\s*\d+\s*(,|$)")


# The 27.007 base (V.250 §6.1 for the +G* forms). Fallbacks are tuples, tried in order (ModemManager's generic
# modem lists +CGMI then +GMI).
BASE_COMMANDS: dict[str, tuple[Command, ...]] = {
    # One round trip sets numeric CME errors and the registration reads that carry LAC/TAC/CI/AcT (n=2), for EPS
    # also the EMM reject cause (n=3, 27.007 §10.1.22); the ladder's second rung sets each alone for a module that
    # refuses part of the line (V.250 §5.2.1 concatenation), +CEREG=2 where +CEREG=3 is refused.
    "init": (_cmd("AT+CMEE=1;+CREG=2;+CGREG=2;+CEREG=3", timeout=2.0),),
    "cmee": (_cmd("AT+CMEE=1", timeout=1.0),),
    "creg_n": (_cmd("AT+CREG=2", timeout=1.0),),
    "cgreg_n": (_cmd("AT+CGREG=2", timeout=1.0),),
    "cereg_n": (_cmd("AT+CEREG=3", timeout=1.0), _cmd("AT+CEREG=2", timeout=1.0)),
    "manufacturer": (_cmd("AT+CGMI", cacheable=True), _cmd("AT+GMI", cacheable=True)),
    "ati": (_cmd("ATI", multiline=True, cacheable=True),),
    "model": (_cmd("AT+CGMM", cacheable=True), _cmd("AT+GMM", cacheable=True)),
    "revision": (_cmd("AT+CGMR", cacheable=True), _cmd("AT+GMR", cacheable=True)),
    "imei": (_cmd("AT+CGSN", cacheable=True), _cmd("AT+GSN", cacheable=True)),
    "cpin": (_cmd("AT+CPIN?", "+CPIN:", timeout=5.0),),
    "iccid": (_cmd("AT+CCID"), _cmd("AT+ICCID"), _cmd("AT+CRSM=176,12258,0,0,10", "+CRSM:", timeout=5.0)),
    "imsi": (_cmd("AT+CIMI", timeout=5.0),),
    "csq": (_cmd("AT+CSQ", "+CSQ:"),),
    "cesq": (_cmd("AT+CESQ", "+CESQ:"),),
    "creg": (_reg_read("+CREG"),),
    "cgreg": (_reg_read("+CGREG"),),
    "cereg": (_reg_read("+CEREG"),),
    "c5greg": (_reg_read("+C5GREG"),),
    # Whether +C5GREG exists at all: asked once per module identity (ModemManager asks +C5GREG=? and caches it).
    "c5greg_test": (_cmd("AT+C5GREG=?", "+C5GREG:", cacheable=True),),
    # The serving PLMN as code and as name in one line (ModemManager sends +COPS=3,2 then +COPS?, and +COPS=3,0
    # for the name); the leading +COPS? shows the format the module had, put back afterwards if it was not 0.
    "cops": (
        _cmd("AT+COPS?;+COPS=3,2;+COPS?;+COPS=3,0;+COPS?", "+COPS:", multiline=True, timeout=10.0),
        _cmd("AT+COPS?", "+COPS:", timeout=10.0),
    ),
    # The radio's state and the packet attach; +CGATT? answers without a SIM too (27.007 §8.2, §10.1.9).
    "radio": (_cmd("AT+CFUN?;+CGATT?", "+CFUN:", multiline=True, also=("+CGATT:",), timeout=5.0),),
    "cfun": (_cmd("AT+CFUN?", "+CFUN:", timeout=5.0),),
    "cgatt": (_cmd("AT+CGATT?", "+CGATT:", timeout=5.0),),
    # The contexts, which are active, their addresses, and what the network gave them (real APN, DNS).
    "pdp": (
        _cmd(
            "AT+CGDCONT?;+CGACT?;+CGPADDR;+CGCONTRDP",
            "+CGDCONT:",
            multiline=True,
            also=("+CGACT:", "+CGPADDR:", "+CGCONTRDP:"),
            timeout=5.0,
        ),
    ),
    "cgdcont": (_cmd("AT+CGDCONT?", "+CGDCONT:", multiline=True),),
    "cgact": (_cmd("AT+CGACT?", "+CGACT:", multiline=True, timeout=5.0),),
    "cgpaddr": (_cmd("AT+CGPADDR", "+CGPADDR:", multiline=True),),
    "cgcontrdp": (_cmd("AT+CGCONTRDP", "+CGCONTRDP:", multiline=True, timeout=5.0),),
    "ceer": (_cmd("AT+CEER", "+CEER:"),),
}

_ALIVE = _cmd("AT", timeout=1.0)

_REG_RANK = {
    RegistrationState.HOME: 0,
    RegistrationState.ROAMING: 0,
    RegistrationState.DENIED: 1,
    RegistrationState.EMERGENCY_ONLY: 2,
    RegistrationState.SEARCHING: 3,
    RegistrationState.NOT_REGISTERED: 4,
    RegistrationState.UNKNOWN: 5,
}
_DOMAIN_RANK = {RegDomain.FIVE_GS: 0, RegDomain.EPS: 1, RegDomain.PS: 2, RegDomain.CS: 3}

_LTE_LIKE = {AccessTechnology.LTE, AccessTechnology.LTE_M, AccessTechnology.NB_IOT, AccessTechnology.NR5G}


def signal_bars(signal: SignalInfo | SignalQuality, technology: AccessTechnology | None) -> int:
    """0–5 bars. LTE/NR by RSRP (−80/−90/−100/−110/−120 dBm steps), else by RSSI (−65/−75/−85/−95/−105 dBm).

    The steps follow the usual handset scales (Android's SignalStrength uses −85/−95/−105/−115 for 4 LTE levels);
    one more level at the top keeps a 5-bar display honest for fixed industrial antennas.
    """
    rsrp, rssi = signal.rsrp_dbm, signal.rssi_dbm
    if rsrp is not None and (technology in _LTE_LIKE or rssi is None):
        steps = (-80.0, -90.0, -100.0, -110.0, -120.0)
        value = rsrp
    elif rssi is not None:
        steps = (-65.0, -75.0, -85.0, -95.0, -105.0)
        value = rssi
    else:
        return 0
    return sum(1 for step in steps if value >= step)


def best_registration(registrations: Sequence[Registration]) -> Registration | None:
    """The registration to show: registered beats denied beats searching...; among equals the newest domain."""
    if not registrations:
        return None
    return min(registrations, key=lambda r: (_REG_RANK[r.state], _DOMAIN_RANK[r.domain]))


@dataclass
class _Facts:
    identity: dict[str, object] = field(default_factory=dict)
    sim_state: SimState = SimState.UNKNOWN
    iccid: str | None = None
    imsi: str | None = None
    csq: SignalQuality | None = None
    cesq: SignalQuality | None = None
    registrations: list[Registration] = field(default_factory=list)
    operator: Operator | None = None
    attached: bool | None = None
    contexts: tuple[PdpContext, ...] = ()
    activations: tuple[PdpActivation, ...] = ()
    addresses: tuple[PdpAddress, ...] = ()
    dynamic: tuple[PdpDynamicParams, ...] = ()
    cfun: int | None = None
    last_error: str | None = None
    vendor: list[VendorFacts] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class Modem:
    """A modem on one port: owns the transport and the session; reconnects when the port vanishes and returns.

    ``open_transport`` makes the transport (a serial port by default); tests pass their own. ``sleep`` and
    ``clock`` are injected so nothing here waits on wall time in tests; ``wall_clock`` is the system's time of day,
    recorded beside the network's time.
    """

    def __init__(
        self,
        port: str,
        baud: int = 115200,
        *,
        open_transport: Callable[[str, int], Transport] = SerialTransport,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        reconnect_within: float = 15.0,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.port = port
        self.baud = baud
        self._open_transport = open_transport
        self._clock = clock
        self._sleep = sleep
        self.wall_clock = wall_clock
        self.reconnect_within = reconnect_within
        self.session: AtSession | None = None
        self.dialect: Dialect = GENERIC
        self.reconnects = 0
        self.reboots = 0
        self._cache: dict[str, tuple[str, ...]] = {}
        self._commands_before = 0

    def open(self) -> AtSession:
        if self.session is None:
            engine = AtEngine(KNOWN_URC_PREFIXES)
            self.session = AtSession(
                self._open_transport(self.port, self.baud), engine, clock=self._clock, boot_prefixes=KNOWN_BOOT_URCS
            )
            if self.dialect is not GENERIC:
                self.session.add_urc_prefixes(self.dialect.urc_prefixes)
        return self.session

    def close(self) -> None:
        self._cache.clear()
        if self.session is not None:
            self._commands_before += self.session.commands_sent
            self.session.transport.close()
            self.session = None

    def __enter__(self) -> Modem:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def commands_sent(self) -> int:
        return self._commands_before + (self.session.commands_sent if self.session else 0)

    def _reopen(self) -> None:
        """Wait for a vanished port to come back (USB re-enumeration), with jittered backoff and a deadline."""
        self.close()
        give_up_at = self._clock() + self.reconnect_within
        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, PortError) and e.code in _TRANSIENT_PORT),
            wait=wait_random_exponential(multiplier=0.1, max=2.0),
            # Our clock, not tenacity's: the deadline must follow the injected clock in tests.
            stop=lambda _state: self._clock() >= give_up_at,
            sleep=self._sleep,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                self.open()
        self.reconnects += 1

    def execute(self, command: Command) -> tuple[str, ...]:
        """Run one command; the answer's lines. Raises CommandError, ReadTimeout or PortError.

        A cacheable command (identity) is answered from memory until the modem reboots or the port is reopened,
        when a different module may be behind it.
        """
        if command.cacheable and command.text in self._cache:
            return self._cache[command.text]
        lines = self.open().execute(command).lines
        if command.cacheable:
            self._cache[command.text] = lines
        return lines

    def supports(self, command: Command) -> bool:
        """Whether the module knows ``command`` (a test form such as ``AT+C5GREG=?``), asked once per identity.

        The answer is kept with the identity: it changes only when another module is behind the port.
        """
        key = f"supports:{command.text}"
        if key not in self._cache:
            try:
                self.open().execute(command)
                self._cache[key] = ("yes",)
            except CommandError:
                self._cache[key] = ()
        return bool(self._cache[key])

    def forget_identity(self) -> None:
        """Read the module's identity afresh next time (a swapped module keeps the port's name)."""
        self._cache.clear()

    def read_module_counters(self) -> tuple[int, int, str] | None:
        """The module's own byte counters (rx, tx, the command that gave them) when its dialect has them.

        A second opinion beside the kernel's counters (Quectel ``AT+QGDCNT?``, u-blox ``AT+UGCNTRD``...); None when
        the dialect has no counters or the command fails.
        """
        if self.dialect is GENERIC:
            lines = self.execute(BASE_COMMANDS["manufacturer"][0])
            self.dialect = detect_dialect(" ".join(lines))
        counters = self.dialect.counters
        if counters is None:
            return None
        try:
            facts = counters.parse(self.execute(counters.command))
        except (CommandError, ParseError):
            return None
        if facts.rx_bytes is None or facts.tx_bytes is None:
            return None
        return facts.rx_bytes, facts.tx_bytes, counters.command.text

    def read_snapshot(self) -> ModemSnapshot:
        """Read everything once.

        A port that vanishes mid-read is waited for, and a modem that reboots mid-read is given a moment; either way
        the read starts over (its settings are gone), at most twice.
        """
        attempts = 3
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                return _Reader(self).run()
            except PortError as exc:
                if last or exc.code not in _TRANSIENT_PORT:
                    raise
                self._reopen()
            except ModemRebooted:
                if last:
                    raise
                self.reboots += 1
                self._cache.clear()
                # Let the rest of the boot chatter (+CPIN: READY, SMS DONE...) pass before asking again.
                self.open().pump(_BOOT_SETTLE)
        raise AssertionError("unreachable")


_TRANSIENT_PORT = frozenset({"port_vanished", "port_missing"})
_BOOT_SETTLE = 0.5


class _Reader:
    def __init__(self, modem: Modem) -> None:
        self.modem = modem
        self.facts = _Facts()
        self.timeouts = 0

    # -- plumbing --------------------------------------------------------------------------------------------------

    def _try(self, commands: Sequence[Command]) -> tuple[str, ...] | None:
        """First command of a fallback ladder that succeeds; None if all fail with an error result."""
        for command in commands:
            try:
                return self.modem.execute(command)
            except CommandError:
                continue
            except ReadTimeout as exc:
                self._timed_out(exc)
        return None

    def _timed_out(self, exc: ReadTimeout) -> None:
        """One silent command may be a slow firmware; if a bare AT also goes unanswered, the modem is gone."""
        self.facts.problems.append(f"{exc.command}: no answer within {exc.timeout:g} s")
        self.timeouts += 1
        try:
            self.modem.execute(_ALIVE)
        except ReadTimeout:
            raise ReadTimeout(
                f"the modem on {self.modem.port} stopped answering ({exc.command} and AT both timed out)",
                command=exc.command,
                timeout=exc.timeout,
                partial=exc.partial,
            ) from exc
        except CommandError:
            pass

    def _parse(self, what: str, parse: Callable[..., _T], *args: object) -> _T | None:
        try:
            return parse(*args)
        except ParseError as exc:
            self.facts.problems.append(f"{what}: {exc.message}")
            return None

    def _base(self, name: str) -> tuple[str, ...] | None:
        return self._try(BASE_COMMANDS[name])

    # -- steps -----------------------------------------------------------------------------------------------------

    def run(self) -> ModemSnapshot:
        session = self.modem.open()
        start_count = self.modem.commands_sent
        self._init()
        self._identity(session)
        self._sim()
        self._radio()
        dialect = self.modem.dialect
        model = _str(self.facts.identity.get("model"))
        # Vendor queries first: what they say (RSSI, RSRP...) need not be asked again in the base's words.
        for query in dialect.queries_for(model):
            self._vendor(query)
        vendor = _merge_vendor(self.facts.vendor)
        if "csq" not in dialect.skip_base and vendor.rssi_dbm is None and (lines := self._base("csq")):
            self.facts.csq = self._parse("+CSQ", p.parse_csq, lines[0])
        if "cesq" not in dialect.skip_base and vendor.rsrp_dbm is None and (lines := self._base("cesq")):
            self.facts.cesq = self._parse("+CESQ", p.parse_cesq, lines[0])
        self._registration(dialect)
        self._operator()
        if self.facts.sim_state is SimState.READY:
            self._packet()
        self._last_error()
        for query in dialect.extras_for(model) or (CLOCK_QUERY,):
            self._vendor(query)
        return self._build(self.modem.commands_sent - start_count)

    def _init(self) -> None:
        if self._base("init") is not None:
            return
        for name in ("cmee", "creg_n", "cgreg_n", "cereg_n"):
            self._base(name)

    def _identity(self, session: AtSession) -> None:
        ident = self.facts.identity
        manufacturer_lines = self._base("manufacturer")
        if manufacturer_lines:
            ident["manufacturer"] = self._parse("+CGMI", p.parse_text_answer, manufacturer_lines, "+CGMI:")
        if not ident.get("manufacturer") and (lines := self._base("ati")):
            parsed = self._parse("ATI", p.parse_ati, lines)
            if parsed is not None:
                ident["manufacturer"], ident["model"], ident["revision"] = parsed
        dialect = detect_dialect(str(ident.get("manufacturer") or ""))
        if dialect is not self.modem.dialect:
            self.modem.dialect = dialect
            session.add_urc_prefixes(dialect.urc_prefixes)
        if not ident.get("model") and (lines := self._base("model")):
            ident["model"] = self._parse("+CGMM", p.parse_text_answer, lines, "+CGMM:")
        if not ident.get("revision") and (lines := self._base("revision")):
            ident["revision"] = self._parse("+CGMR", p.parse_text_answer, lines, "+CGMR:")
        if lines := self._base("imei"):
            ident["imei"] = self._parse("+CGSN", p.parse_imei, lines)

    def _sim(self) -> None:
        facts = self.facts
        try:
            cpin_lines = self.modem.execute(BASE_COMMANDS["cpin"][0])
            code = self._parse("+CPIN", p.parse_cpin_code, cpin_lines[0]) if cpin_lines else None
            facts.sim_state = p.sim_state_from_cpin(code) if code is not None else SimState.UNKNOWN
        except CmeError as exc:
            facts.sim_state = p.sim_state_from_cme(exc.error_code, exc.error_text.partition(":")[2].strip())
        except CommandError:
            facts.sim_state = SimState.ERROR
        except ReadTimeout as exc:
            self._timed_out(exc)
        if facts.sim_state is SimState.ABSENT:
            return
        ladder = self.modem.dialect.iccid_commands + BASE_COMMANDS["iccid"]
        for command in ladder:
            iccid_lines = self._try((command,))
            if not iccid_lines:
                continue
            iccid = self._parse(command.text, p.parse_iccid, iccid_lines[0])
            if isinstance(iccid, str):
                facts.iccid = iccid
                break
        if facts.sim_state is SimState.READY and (lines := self._base("imsi")):
            facts.imsi = self._parse("+CIMI", p.parse_imsi, lines)

    def _registration(self, dialect: Dialect) -> None:
        names = ["creg", "cgreg", "cereg"]
        if "c5greg" not in dialect.skip_base and self._supports(BASE_COMMANDS["c5greg_test"][0]):
            names.append("c5greg")
        for name in names:
            if name in dialect.skip_base:
                continue
            lines = self._base(name)
            if lines:
                reg = self._parse(f"+{name.upper()}", p.parse_registration, lines[0])
                if isinstance(reg, Registration):
                    self.facts.registrations.append(reg)

    def _supports(self, command: Command) -> bool:
        try:
            return self.modem.supports(command)
        except ReadTimeout as exc:
            self._timed_out(exc)
            return False

    def _radio(self) -> None:
        """+CFUN? and +CGATT? whatever the SIM's state: a module in flight mode is not "searching"."""
        lines = self._base("radio")
        if lines is None:
            cfun, cgatt = self._base("cfun") or (), self._base("cgatt") or ()
            lines = (*cfun, *cgatt)
        for line in lines:
            upper = line.upper()
            if upper.startswith("+CFUN:"):
                self.facts.cfun = self._parse("+CFUN", p.parse_cfun, line)
            elif upper.startswith("+CGATT:"):
                self.facts.attached = self._parse("+CGATT", p.parse_cgatt, line)

    def _operator(self) -> None:
        """The serving PLMN's code and name from one concatenated line; the module's format is left as it was."""
        lines = self._base("cops")
        if not lines:
            return
        reads = [op for line in lines if (op := self._parse("+COPS", p.parse_cops_read, line)) is not None]
        if not reads:
            return
        numeric = next((op.mcc_mnc for op in reads if op.mcc_mnc), None)
        name = next((op.name for op in reads if op.name), None)
        act = next((op.act for op in reads if op.act is not None), None)
        self.facts.operator = Operator(
            mode=reads[0].mode,
            name=name,
            mcc_mnc=numeric,
            act=act,
            access_technology=p.access_technology_from_act(act),
        )
        before = _cops_format(lines[0]) if len(reads) > 1 else None
        if before not in (None, 0):
            self._try((_cmd(f"AT+COPS=3,{before}", timeout=2.0),))

    def _packet(self) -> None:
        facts = self.facts
        lines = self._base("pdp")
        if lines is None:
            lines = tuple(line for name in ("cgdcont", "cgact", "cgpaddr") for line in self._base(name) or ())
            if any(line.upper().startswith("+CGACT:") and line.replace(" ", "").endswith(",1") for line in lines):
                lines += self._base("cgcontrdp") or ()
        groups: dict[str, list[str]] = {}
        for line in lines:
            groups.setdefault(line.split(":", 1)[0].strip().upper(), []).append(line)
        if group := groups.get("+CGDCONT"):
            facts.contexts = self._parse("+CGDCONT", p.parse_cgdcont, group) or ()
        if group := groups.get("+CGACT"):
            facts.activations = self._parse("+CGACT", p.parse_cgact, group) or ()
        if group := groups.get("+CGPADDR"):
            facts.addresses = self._parse("+CGPADDR", p.parse_cgpaddr, group) or ()
        if group := groups.get("+CGCONTRDP"):
            facts.dynamic = self._parse("+CGCONTRDP", p.parse_cgcontrdp, group) or ()

    def _last_error(self) -> None:
        """+CEER only where something failed: not registered, or registered but not attached."""
        registered = any(
            r.state in (RegistrationState.HOME, RegistrationState.ROAMING) for r in self.facts.registrations
        )
        if registered and self.facts.attached is not False:
            return
        if self.facts.cfun is not None and self.facts.cfun != 1:
            return  # in flight mode the last error is old news
        if lines := self._base("ceer"):
            self.facts.last_error = self._parse("+CEER", p.parse_ceer, lines)

    def _vendor(self, query: VendorQuery) -> None:
        if query.fills:
            known = _merge_vendor(self.facts.vendor)
            if all(getattr(known, name) is not None for name in query.fills):
                return
        lines = self._try((query.command,))
        if lines is None and query.split:
            parts = [self._try((command,)) for command in query.split]
            lines = tuple(line for part in parts for line in part or ()) if any(parts) else None
        if lines is None:
            return
        facts = self._parse(query.command.text, query.parse, lines)
        if facts is not None:
            self.facts.vendor.append(facts)

    # -- assembly --------------------------------------------------------------------------------------------------

    def _build(self, commands_sent: int) -> ModemSnapshot:
        facts = self.facts
        vendor = _merge_vendor(facts.vendor)
        ident = facts.identity
        imei = ident.get("imei")
        imei_str = imei if isinstance(imei, str) else None
        identity = ModemIdentity(
            manufacturer=_str(ident.get("manufacturer")),
            model=_str(ident.get("model")),
            revision=_str(ident.get("revision")),
            imei=imei_str,
            imei_luhn_ok=p.luhn_valid(imei_str) if imei_str else None,
            temperature_c=vendor.temperature_c,
        )
        sim_state = facts.sim_state
        if vendor.sim_present is False and sim_state is SimState.UNKNOWN:
            sim_state = SimState.ABSENT
        sim = SimInfo(
            state=sim_state,
            iccid=facts.iccid,
            imsi=facts.imsi,
            carrier=carrier_for(facts.imsi, facts.iccid),
            slot=vendor.sim_slot,
        )

        best = best_registration(facts.registrations)
        registration = best.state if best else None
        if vendor.registration is not None and (registration is None or registration is RegistrationState.UNKNOWN):
            registration = vendor.registration
        operator = facts.operator
        technology = (
            vendor.access_technology
            or (
                best.access_technology
                if best and best.state in (RegistrationState.HOME, RegistrationState.ROAMING)
                else None
            )
            or (operator.access_technology if operator else None)
        )
        lac = next((r.lac for r in _by_rank(facts.registrations) if r.lac is not None), None) or vendor.lac
        tac = next((r.tac for r in _by_rank(facts.registrations) if r.tac is not None), None) or vendor.tac
        cell_id = (best.ci if best and best.ci is not None else None) or vendor.cell_id
        # The serving network as the module names it, never the IMSI's: China Mobile IoT cards (IMSI 46004/46008)
        # are served by 46000, China Unicom's 46006/46009 by 46001. sim.carrier is the home carrier.
        mcc_mnc = vendor.mcc_mnc or (operator.mcc_mnc if operator else None)
        apn, ip_address, dns = _pdp(facts.contexts, facts.activations, facts.addresses, facts.dynamic)
        denied = [r for r in _by_rank(facts.registrations) if p.reject_cause_of(r) is not None]
        reject = p.reject_cause_of(denied[0]) if denied else None
        network = NetworkInfo(
            registration=registration,
            registration_domain=best.domain if best else None,
            access_technology=technology,
            mcc_mnc=mcc_mnc,
            operator_name=operator.name if operator else None,
            lac=lac,
            tac=tac,
            cell_id=cell_id,
            band=vendor.band,
            attached=facts.attached,
            apn=apn,
            ip_address=ip_address,
            registrations=tuple(facts.registrations),
            radio=_radio(facts.cfun),
            cfun=facts.cfun,
            reject_cause=reject,
            last_error=facts.last_error,
            dns=dns,
            earfcn=vendor.channel,
            pci=vendor.pci,
            time=vendor.network_time,
        )
        csq, cesq = facts.csq or SignalQuality(), facts.cesq or SignalQuality()
        signal = SignalInfo(
            rssi_dbm=vendor.rssi_dbm if vendor.rssi_dbm is not None else csq.rssi_dbm,
            rsrp_dbm=vendor.rsrp_dbm if vendor.rsrp_dbm is not None else cesq.rsrp_dbm,
            rsrq_db=vendor.rsrq_db if vendor.rsrq_db is not None else cesq.rsrq_db,
            sinr_db=vendor.sinr_db,
        )
        signal = replace(signal, bars=signal_bars(signal, technology))
        return ModemSnapshot(
            identity=identity,
            sim=sim,
            network=network,
            signal=signal,
            dialect=self.modem.dialect.name,
            port=self.modem.port,
            commands_sent=commands_sent,
            problems=tuple(facts.problems),
            system_time=self.modem.wall_clock() if vendor.network_time is not None else None,
        )


def _radio(cfun: int | None) -> str | None:
    """27.007 §8.2 <fun>: 1 full functionality; 0 minimum and 4 flight mode have the radio off; others
    (vendor modes, 5/6 test modes...) are neither."""
    if cfun is None:
        return None
    if cfun == 1:
        return "on"
    return "off" if cfun in (0, 4) else "limited"


def _cops_format(line: str) -> int | None:
    """The <format> of a +COPS? read line (``+COPS: 0,2,"46000",7`` → 2), ``None`` without one."""
    fields = line.partition(":")[2].split(",")
    value = fields[1].strip() if len(fields) > 2 else ""
    return int(value) if value.isdecimal() and int(value) <= 2 else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _by_rank(registrations: Sequence[Registration]) -> list[Registration]:
    return sorted(registrations, key=lambda r: (_REG_RANK[r.state], _DOMAIN_RANK[r.domain]))


def _merge_vendor(items: Sequence[VendorFacts]) -> VendorFacts:
    """Earlier queries win: a dialect lists its most precise query first."""
    merged: dict[str, object] = {}
    for item in items:
        for name in VendorFacts.__slots__:
            value = getattr(item, name)
            if value is not None and merged.get(name) is None:
                merged[name] = value
    return VendorFacts(**merged)  # type: ignore[arg-type]


def _pdp(
    contexts: Sequence[PdpContext],
    activations: Sequence[PdpActivation],
    addresses: Sequence[PdpAddress],
    dynamic: Sequence[PdpDynamicParams] = (),
) -> tuple[str | None, str | None, tuple[str, ...]]:
    """APN, IP and DNS of the active context (the lowest active cid), else the first defined context's APN.

    The APN in use is what the network gave (+CGCONTRDP), where it says: many DTUs leave +CGDCONT's APN blank.
    """
    active = sorted(a.cid for a in activations if a.active)
    by_cid = {c.cid: c for c in contexts}
    cid = active[0] if active else (min(by_cid) if by_cid else None)
    if cid is None:
        return None, None, ()
    context = by_cid.get(cid)
    given = next((d for d in dynamic if d.cid == cid), None) if active else None
    apn = (given.apn if given and given.apn else None) or (context.apn if context and context.apn else None)
    dns = tuple(x for x in ((given.dns_primary, given.dns_secondary) if given else ()) if x)
    ip_address = None
    if active:
        for address in addresses:
            if address.cid == cid and address.addresses:
                ip_address = address.addresses[0]
                break
        if ip_address is None and context is not None and context.address:
            ip_address = context.address
        if ip_address is None and given is not None:
            ip_address = given.local_address
    return apn, ip_address, dns
