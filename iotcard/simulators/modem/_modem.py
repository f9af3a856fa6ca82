"""The modem model: command lines in, answers out, no I/O.

A small state machine on the V.250 / 3GPP TS 27.007 base (echo, verbose results, +CMEE, registration
reporting, SIM lock, PDP context) with vendor commands rendered from the same state. The pty server in
``_simulator.py`` moves bytes; everything a modem *decides* lives here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from iotcard.simulators.modem._profiles import Network, Profile, Signal, swap_nibbles
from iotcard.simulators.modem._scenarios import RegStat, Scenario, SimStatus

# 27.007 §9.2.1 verbose texts for the codes this model produces.
CME_TEXT = {
    3: "operation not allowed",
    4: "operation not supported",
    10: "SIM not inserted",
    11: "SIM PIN required",
    12: "SIM PUK required",
    13: "SIM failure",
    16: "incorrect password",
    30: "no network service",
    50: "Incorrect parameters",
    100: "unknown",
}

# V.250 §5.7.1 numeric result codes (ATV0).
NUMERIC_RESULT = {"OK": "0", "ERROR": "4"}

ACT_EUTRAN = 7  # 27.007 §7.3 <AcT>
EF_ICCID = 0x2FE2  # TS 102 221 §13.2
READ_BINARY = 176  # 27.007 §8.18 <command>


class Form(Enum):
    """The syntax a command was used with (V.250 §5.4.2 / 27.007 §4.1)."""

    ACTION = "action"  # AT+CMD (and basic commands such as ATE0)
    READ = "read"  # AT+CMD?
    TEST = "test"  # AT+CMD=?
    SET = "set"  # AT+CMD=<args>


class CommandFailed(Exception):
    """A command failed; ``cme`` is the 27.007 error code, or None for a plain ERROR."""

    def __init__(self, cme: int | None = None) -> None:
        super().__init__(cme)
        self.cme = cme


class CommandLineError(ValueError):
    """The command line could not be split into commands."""


@dataclass(frozen=True)
class ParsedCommand:
    """One command out of a command line: ``+CREG`` / ``E`` / ``&F``, its form and raw argument text."""

    name: str
    form: Form
    args: str = ""


@dataclass(frozen=True)
class Reply:
    """What the modem sends back for one command line.

    ``echo`` is the received line when echo is on; ``final`` is None for lines the modem ignores
    (no ``AT`` prefix); ``urcs_after`` are unsolicited results caused by the command (registration changes);
    ``reboot`` asks the server to reboot the module once the answer is out (AT+CFUN=1,1).
    """

    echo: str | None
    lines: tuple[str, ...] = ()
    final: str | None = None
    urcs_after: tuple[str, ...] = ()
    reboot: bool = False


@dataclass(frozen=True)
class Wire:
    """A reply as bytes: the echo and the body pieces (each info line, then the final result code)."""

    echo: bytes
    body: tuple[bytes, ...]
    urcs_after: tuple[bytes, ...]


@dataclass
class ModemState:
    """Settings and session state a reboot forgets."""

    echo: bool
    verbose: bool
    cmee: int
    sim_status: SimStatus
    creg_n: int = 0
    cgreg_n: int = 0
    cereg_n: int = 0
    c5greg_n: int = 0
    cops_format: int = 0
    cfun: int = 1
    ps_attach_wanted: bool = True
    context_active: bool = True
    apn: str = "cmiot"
    bytes_sent: int = 1_024_300
    bytes_received: int = 8_745_112


def split_command_line(body: str) -> list[ParsedCommand]:
    """Split what follows ``AT`` into commands.

    V.250 §5.2: basic commands follow each other directly (``E0V1``), extended ones are separated by ``;``.
    """
    commands: list[ParsedCommand] = []
    i, n = 0, len(body)
    while i < n:
        char = body[i]
        if char in " ;":
            i += 1
        elif char in "+^$*%#":
            j = i + 1
            while j < n and (body[j].isalnum() or body[j] == "_"):
                j += 1
            if j == i + 1:
                raise CommandLineError(body)
            name = body[i:j].upper()
            k, in_quotes = j, False
            while k < n and (in_quotes or body[k] != ";"):
                if body[k] == '"':
                    in_quotes = not in_quotes
                k += 1
            rest = body[j:k].strip()
            if rest == "":
                commands.append(ParsedCommand(name, Form.ACTION))
            elif rest == "?":
                commands.append(ParsedCommand(name, Form.READ))
            elif rest.replace(" ", "") == "=?":
                commands.append(ParsedCommand(name, Form.TEST))
            elif rest.startswith("="):
                commands.append(ParsedCommand(name, Form.SET, rest[1:]))
            else:
                raise CommandLineError(body)
            i = k
        elif char == "&" or char.isalpha():
            j = i + (2 if char == "&" else 1)
            name = body[i:j].upper()
            if char == "&" and (len(name) < 2 or not name[1].isalpha()):
                raise CommandLineError(body)
            k = j
            while k < n and body[k].isdigit():
                k += 1
            commands.append(ParsedCommand(name, Form.ACTION, body[j:k]))
            i = k
        else:
            raise CommandLineError(body)
    return commands


def split_args(args: str) -> tuple[str, ...]:
    """Split ``1,"IP","cmiot"`` into ``("1", "IP", "cmiot")``; commas inside quotes stay."""
    parts: list[str] = []
    current: list[str] = []
    in_quotes = False
    for char in args:
        if char == '"':
            in_quotes = not in_quotes
        elif char == "," and not in_quotes:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return tuple(parts) if args.strip() else ()


def _int_arg(args: tuple[str, ...], index: int, allowed: range | tuple[int, ...]) -> int:
    try:
        value = int(args[index])
    except (IndexError, ValueError):
        raise CommandFailed(50) from None
    if value not in allowed:
        raise CommandFailed(50)
    return value


Handler = Callable[[Form, tuple[str, ...]], list[str]]


class Modem:
    """The simulated module: feed it command lines, get replies; no threads, no I/O.

    ``clock`` returns the current time in seconds since the epoch (for +CCLK).
    """

    def __init__(self, profile: Profile, scenario: Scenario, clock: Callable[[], float] = time.time) -> None:
        self.profile = profile
        self.scenario = scenario
        self._clock = clock
        self.state = self._fresh_state()
        self._urcs: list[str] = []
        self._reboot_requested = False
        self._handlers = self._handler_table()

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def _fresh_state(self) -> ModemState:
        return ModemState(
            echo=True,
            verbose=True,
            cmee=self.profile.cmee_default,
            sim_status=self.scenario.sim_status,
            apn=self.scenario.network.apn,
            cfun=self.scenario.cfun,
        )

    def reset(self) -> None:
        """Forget what a power cycle forgets: echo back on, CMEE and reporting modes to defaults, SIM relocked."""
        self.state = self._fresh_state()

    def boot_urcs(self) -> list[str]:
        """The unsolicited lines this module prints while it boots, given the SIM in the slot."""
        urcs = list(self.profile.boot_urcs)
        if self.profile.boot_reports_cpin:
            urcs.append(f"+CPIN: {self.state.sim_status.value}")
        if self.state.sim_status is SimStatus.READY:
            urcs.extend(self.profile.boot_urcs_with_sim)
        return urcs

    # -- derived state ----------------------------------------------------------------------------------------

    @property
    def network(self) -> Network:
        return self.scenario.network

    def registration(self) -> RegStat:
        """<stat> as the module reports it now: nothing without radio or an unlocked SIM."""
        if self.state.cfun != 1 or self.state.sim_status is not SimStatus.READY:
            return RegStat.NOT_SEARCHING
        return self.scenario.registration

    def registered(self) -> bool:
        return self.registration() in (RegStat.HOME, RegStat.ROAMING)

    def attached(self) -> bool:
        return self.registered() and self.state.ps_attach_wanted

    def ip_address(self) -> str | None:
        return self.network.ip_address if self.attached() and self.state.context_active else None

    def signal(self) -> Signal | None:
        return self.scenario.signal if self.scenario.has_signal and self.state.cfun == 1 else None

    # -- command lines ----------------------------------------------------------------------------------------

    def receive_line(self, line: str) -> Reply | None:
        """Execute one command line (without its terminating CR). None for an empty line."""
        text = line.strip()
        if not text:
            return None
        echo = line if self.state.echo else None
        if text[:2].upper() != "AT":
            return Reply(echo=echo)  # V.250 §5.2.1: characters before "AT" are ignored
        self._urcs = []
        self._reboot_requested = False
        lines: list[str] = []
        try:
            for command in split_command_line(text[2:]):
                lines.extend(self._execute(command))
            final = "OK"
        except CommandLineError:
            final = "ERROR"
        except CommandFailed as failure:
            final = self._error_text(failure.cme)
        return Reply(echo, tuple(lines), final, tuple(self._urcs), self._reboot_requested)

    def _execute(self, command: ParsedCommand) -> list[str]:
        handler = self._handlers.get(command.name)
        if handler is None:
            raise CommandFailed(None)  # unknown commands give a plain ERROR whatever +CMEE says
        # SET takes the argument list; a basic command (ATE0) passes its digits as the only argument
        args = split_args(command.args) if command.form is Form.SET else (command.args,) if command.args else ()
        return handler(command.form, args)

    def _error_text(self, cme: int | None) -> str:
        if cme is None or self.state.cmee == 0:
            return "ERROR"
        if self.state.cmee == 1:
            return f"+CME ERROR: {cme}"
        return f"+CME ERROR: {CME_TEXT.get(cme, 'unknown')}"

    # -- framing ---------------------------------------------------------------------------------------------

    def render(self, reply: Reply) -> Wire:
        """Frame a reply as V.250 §5.7 verbose (``\\r\\n<text>\\r\\n``) or numeric results, per ATV."""
        echo = (reply.echo + "\r").encode("latin-1") if reply.echo is not None else b""
        body: list[bytes] = []
        if reply.final is not None:
            for index, text in enumerate(reply.lines):
                lead = "\r\n" if self.state.verbose and index == 0 else ""
                body.append(f"{lead}{text}\r\n".encode("latin-1"))
            if self.state.verbose:
                body.append(f"\r\n{reply.final}\r\n".encode("latin-1"))
            elif reply.final in NUMERIC_RESULT:
                body.append(f"{NUMERIC_RESULT[reply.final]}\r".encode("latin-1"))
            else:
                body.append(f"{reply.final}\r\n".encode("latin-1"))
        return Wire(echo, tuple(body), tuple(self.frame_urc(urc) for urc in reply.urcs_after))

    def frame_urc(self, text: str) -> bytes:
        """Frame one unsolicited result line."""
        return (f"\r\n{text}\r\n" if self.state.verbose else f"{text}\r\n").encode("latin-1")

    # -- helpers for handlers ------------------------------------------------------------------------------

    def _require_sim(self, *, allow_locked: bool = False) -> None:
        status = self.state.sim_status
        if status is SimStatus.ABSENT:
            raise CommandFailed(10)
        if allow_locked:
            return  # EF_ICCID is readable without the PIN (TS 102 221 §13.2, access ALW)
        if status is SimStatus.PIN:
            raise CommandFailed(11)
        if status is SimStatus.PUK:
            raise CommandFailed(12)

    def _registration_urcs(self) -> None:
        """Queue the +CxREG URCs a change of <stat> causes, in the form each <n> asks for (27.007 §7.2)."""
        for prefix, n in (("+CREG", self.state.creg_n), ("+CGREG", self.state.cgreg_n), ("+CEREG", self.state.cereg_n)):
            if n >= 1:
                self._urcs.append(f"{prefix}: {','.join(self._registration_fields(n, with_n=False))}")

    def _registration_fields(self, n: int, *, with_n: bool) -> list[str]:
        stat = self.registration()
        fields = [str(n)] if with_n else []
        fields.append(str(stat.value))
        if n >= 2 and stat in (RegStat.HOME, RegStat.ROAMING):
            fields += [f'"{self.network.tac:04X}"', f'"{self.network.cell_id:07X}"', str(ACT_EUTRAN)]
        return fields

    # -- the handler table ----------------------------------------------------------------------------------

    def _handler_table(self) -> dict[str, Handler]:
        base: dict[str, Handler] = {
            "E": self._echo,
            "V": self._verbose,
            "Q": self._quiet,
            "I": self._ati,
            "Z": self._factory,
            "&F": self._factory,
            "&W": self._store,
            "+CGMI": self._ident(lambda: self.profile.manufacturer),
            "+GMI": self._ident(lambda: self.profile.manufacturer),
            "+CGMM": self._ident(lambda: self.profile.model),
            "+GMM": self._ident(lambda: self.profile.model),
            "+CGMR": self._ident(lambda: self.profile.revision),
            "+GMR": self._ident(lambda: self.profile.revision),
            "+GSN": self._ident(lambda: self.profile.imei),
            "+GCAP": self._ident(lambda: "+GCAP: +CGSM"),
            "+CGSN": self._cgsn,
            "+CIMI": self._cimi,
            "+CCID": self._iccid_command("+CCID"),
            "+ICCID": self._iccid_command("+ICCID"),
            "+CRSM": self._crsm,
            "+CPIN": self._cpin,
            "+CSQ": self._csq,
            "+CESQ": self._cesq,
            "+CREG": self._reg_command("+CREG", "creg_n"),
            "+CGREG": self._reg_command("+CGREG", "cgreg_n"),
            "+CEREG": self._reg_command("+CEREG", "cereg_n"),
            "+COPS": self._cops,
            "+CGATT": self._cgatt,
            "+CGDCONT": self._cgdcont,
            "+CGACT": self._cgact,
            "+CGPADDR": self._cgpaddr,
            "+CGCONTRDP": self._cgcontrdp,
            "+CFUN": self._cfun,
            "+CMEE": self._cmee,
            "+CCLK": self._cclk,
            "+CTZU": self._ctzu,
            "+CEER": self._ceer,
        }
        if self.profile.supports_5g:
            base["+C5GREG"] = self._reg_command("+C5GREG", "c5greg_n")
        vendor: dict[str, Handler] = {
            "+QCCID": self._iccid_command("+QCCID"),
            "+QENG": self._qeng,
            "+QCSQ": self._qcsq,
            "+QNWINFO": self._qnwinfo,
            "+QGDCNT": self._qgdcnt,
            "+QTEMP": self._qtemp,
            "+QLTS": self._qlts,
            "+QUIMSLOT": self._quimslot,
            "+CPMUTEMP": self._cpmutemp,
            "+CICCID": self._iccid_command("+ICCID", name="+CICCID"),
            "+CPSI": self._cpsi,
            "+CNSMOD": self._cnsmod,
            "^ICCID": self._huawei_iccid,
            "^HCSQ": self._hcsq,
            "^SYSINFOEX": self._sysinfoex,
        }
        base.update({name: vendor[name] for name in self.profile.vendor_commands})
        return base

    # -- V.250 basic commands -------------------------------------------------------------------------------

    def _echo(self, form: Form, args: tuple[str, ...]) -> list[str]:
        self.state.echo = _int_arg(args or ("0",), 0, (0, 1)) == 1
        return []

    def _verbose(self, form: Form, args: tuple[str, ...]) -> list[str]:
        self.state.verbose = _int_arg(args or ("0",), 0, (0, 1)) == 1
        return []

    def _quiet(self, form: Form, args: tuple[str, ...]) -> list[str]:
        _int_arg(args or ("0",), 0, (0,))  # ATQ1 (suppress result codes) is not supported
        return []

    def _ati(self, form: Form, args: tuple[str, ...]) -> list[str]:
        return list(self.profile.ati_lines)

    def _factory(self, form: Form, args: tuple[str, ...]) -> list[str]:
        sim_status = self.state.sim_status
        self.state = self._fresh_state()
        self.state.sim_status = sim_status  # a settings reset does not relock the SIM
        return []

    def _store(self, form: Form, args: tuple[str, ...]) -> list[str]:
        return []

    # -- identification --------------------------------------------------------------------------------------

    def _ident(self, line: Callable[[], str]) -> Handler:
        def handler(form: Form, args: tuple[str, ...]) -> list[str]:
            if form is Form.TEST:
                return []
            if form is not Form.ACTION:
                raise CommandFailed(None)
            return [line()]

        return handler

    def _cgsn(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # 27.007 §5.4: <snt> 0 = bare IMEI, 1 = +CGSN: "<IMEI>"
        if form is Form.TEST:
            return ["+CGSN: (0,1)"]
        if form is Form.ACTION:
            return [self.profile.imei]
        if form is Form.SET:
            return [self.profile.imei] if _int_arg(args, 0, (0, 1)) == 0 else [f'+CGSN: "{self.profile.imei}"']
        raise CommandFailed(None)

    # -- SIM -------------------------------------------------------------------------------------------------

    def _cimi(self, form: Form, args: tuple[str, ...]) -> list[str]:
        if form is Form.TEST:
            return []
        if form is not Form.ACTION:
            raise CommandFailed(None)
        self._require_sim()
        return [self.profile.sim.imsi]

    def _iccid_command(self, prefix: str, *, name: str | None = None) -> Handler:
        def handler(form: Form, args: tuple[str, ...]) -> list[str]:
            if form is Form.TEST:
                return []
            if form not in (Form.ACTION, Form.READ):
                raise CommandFailed(None)
            self._require_sim(allow_locked=True)
            return [f"{prefix}: {self.profile.sim.iccid}"]

        return handler

    def _crsm(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # 27.007 §8.18: +CRSM=<command>[,<fileid>[,<P1>,<P2>,<P3>]] -> +CRSM: <sw1>,<sw2>[,<response>]
        if form is Form.TEST:
            return []
        if form is not Form.SET:
            raise CommandFailed(None)
        command = _int_arg(args, 0, range(256))
        file_id = _int_arg(args, 1, range(0x10000)) if len(args) > 1 else 0
        length = _int_arg(args, 4, range(256)) if len(args) > 4 else 0
        self._require_sim(allow_locked=file_id == EF_ICCID)
        if command != READ_BINARY:
            return ["+CRSM: 109,0"]  # SW 6D00: instruction not supported
        if file_id != EF_ICCID:
            return ["+CRSM: 106,130"]  # SW 6A82: file not found
        data = swap_nibbles(self.profile.sim.iccid)
        if length:
            data = data[: 2 * length]
        return [f'+CRSM: 144,0,"{data}"']

    def _cpin(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # 27.007 §8.3
        status = self.state.sim_status
        if form is Form.TEST:
            return []
        if status is SimStatus.ABSENT:
            raise CommandFailed(10)
        if form is Form.READ:
            return [f"+CPIN: {status.value}"]
        if form is not Form.SET or not args:
            raise CommandFailed(None)
        sim = self.profile.sim
        if status is SimStatus.READY:
            raise CommandFailed(3)
        if status is SimStatus.PIN and args[0] != sim.pin:
            raise CommandFailed(16)
        if status is SimStatus.PUK and (len(args) < 2 or args[0] != sim.puk):
            raise CommandFailed(16)
        self.state.sim_status = SimStatus.READY
        self._urcs.append("+CPIN: READY")
        self._registration_urcs()
        return []

    # -- radio and registration ---------------------------------------------------------------------------------

    def _csq(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # 27.007 §8.5: <rssi> 0 = -113 dBm or less ... 31 = -51 dBm or more, 99 unknown
        if form is Form.TEST:
            return ["+CSQ: (0-31,99),(0-7,99)"]
        if form is not Form.ACTION:
            raise CommandFailed(None)
        signal = self.signal()
        if signal is None:
            return ["+CSQ: 99,99"]
        return [f"+CSQ: {max(0, min(31, (signal.rssi_dbm + 113) // 2))},99"]

    def _cesq(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # 27.007 §8.69: <rxlev>,<ber>,<rscp>,<ecno>,<rsrq>,<rsrp>; rsrq n: -20+n/2 <= RSRQ; rsrp n: -141+n <= RSRP
        if form is Form.TEST:
            return ["+CESQ: (0-63,99),(0-7,99),(0-96,255),(0-49,255),(0-34,255),(0-97,255)"]
        if form is not Form.ACTION:
            raise CommandFailed(None)
        signal = self.signal()
        if signal is None:
            return ["+CESQ: 99,99,255,255,255,255"]
        rsrq = max(0, min(34, (signal.rsrq_db + 20) * 2))
        rsrp = max(0, min(97, signal.rsrp_dbm + 141))
        return [f"+CESQ: 99,99,255,255,{rsrq},{rsrp}"]

    def _reg_command(self, prefix: str, attribute: str) -> Handler:
        # 27.007 §7.2 (+CREG), §10.1.20 (+CGREG), §10.1.22 (+CEREG), §10.1.25 (+C5GREG)
        def handler(form: Form, args: tuple[str, ...]) -> list[str]:
            if form is Form.TEST:
                return [f"{prefix}: (0-2)"]
            if form is Form.SET:
                # <n> 0-2 for every domain; 3 (with the reject cause) for +CEREG, as LTE modules have it.
                setattr(self.state, attribute, _int_arg(args, 0, range(4 if prefix == "+CEREG" else 3)))
                return []
            if form is Form.READ:
                n = getattr(self.state, attribute)
                if prefix == "+C5GREG":
                    return [f"{prefix}: {n},{RegStat.NOT_SEARCHING.value}"]  # camped on LTE, not on 5GS
                fields = self._registration_fields(n, with_n=True)
                cause = self.scenario.reject_cause
                if n == 3 and cause is not None and self.registration() is RegStat.DENIED:
                    # 27.007 §10.1.22: [<tac>],[<ci>],[<AcT>] left empty, <cause_type> 0 = EMM cause (TS 24.301)
                    fields += ["", "", "", "0", str(cause)]
                return [f"{prefix}: {','.join(fields)}"]
            raise CommandFailed(None)

        return handler

    def _cops(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # 27.007 §7.3: +COPS: <mode>[,<format>,<oper>[,<AcT>]]; format 0 long, 1 short, 2 numeric
        if form is Form.TEST:
            return ['+COPS: (2,"CHINA MOBILE","CMCC","46000",7),(3,"CHN-UNICOM","UNICOM","46001",7),,(0-4),(0-2)']
        if form is Form.SET:
            mode = _int_arg(args, 0, range(5))
            if mode == 3:
                self.state.cops_format = _int_arg(args, 1, range(3))
            return []
        if form is Form.READ:
            if not self.registered():
                return ["+COPS: 0"]
            network = self.network
            name = (network.long_name, network.short_name, network.plmn)[self.state.cops_format]
            return [f'+COPS: 0,{self.state.cops_format},"{name}",{ACT_EUTRAN}']
        raise CommandFailed(None)

    def _cfun(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # 27.007 §8.2: +CFUN=<fun>[,<rst>]
        if form is Form.TEST:
            return ["+CFUN: (0,1,4),(0,1)"]
        if form is Form.READ:
            return [f"+CFUN: {self.state.cfun}"]
        if form is not Form.SET:
            raise CommandFailed(None)
        fun = _int_arg(args, 0, (0, 1, 4))
        reset = _int_arg(args, 1, (0, 1)) if len(args) > 1 else 0
        if fun != self.state.cfun:
            self.state.cfun = fun
            self._registration_urcs()
        if reset:
            self._reboot_requested = True
        return []

    def _cmee(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # 27.007 §9.1
        if form is Form.TEST:
            return ["+CMEE: (0-2)"]
        if form is Form.READ:
            return [f"+CMEE: {self.state.cmee}"]
        if form is Form.SET:
            self.state.cmee = _int_arg(args, 0, range(3))
            return []
        raise CommandFailed(None)

    def _cclk(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # 27.007 §8.15: "yy/MM/dd,hh:mm:ss±zz", zz in quarters of an hour; China Standard Time is +32
        if form is Form.TEST:
            return []
        if form is not Form.READ:
            raise CommandFailed(None)
        local = time.gmtime(self._clock() + 8 * 3600)
        return [time.strftime('+CCLK: "%y/%m/%d,%H:%M:%S+32"', local)]

    def _ctzu(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # 27.007 §8.41: +CTZU=<onoff>, automatic time zone update from the network
        if form is Form.TEST:
            return ["+CTZU: (0-1)"]
        if form is Form.READ:
            return ["+CTZU: 1"]
        if form is Form.SET:
            _int_arg(args, 0, (0, 1))
            return []
        raise CommandFailed(None)

    def _ceer(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # 27.007 §6.10: the module's last failure in its own words; this model says nothing, as the field capture
        # "+CEER: 0,NONE" (tests/data/at_vectors_field.json) does.
        if form is Form.TEST:
            return []
        if form is not Form.ACTION:
            raise CommandFailed(None)
        return ["+CEER: 0,NONE"]

    # -- packet domain ---------------------------------------------------------------------------------------

    def _cgatt(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # 27.007 §10.1.9
        if form is Form.TEST:
            return ["+CGATT: (0,1)"]
        if form is Form.READ:
            return [f"+CGATT: {int(self.attached())}"]
        if form is not Form.SET:
            raise CommandFailed(None)
        wanted = _int_arg(args, 0, (0, 1))
        if wanted:
            self._require_sim()
            if not self.registered():
                raise CommandFailed(30)
        self.state.ps_attach_wanted = bool(wanted)
        return []

    def _cgdcont(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # 27.007 §10.1.1: +CGDCONT: <cid>,<PDP_type>,<APN>,<PDP_addr>,<d_comp>,<h_comp>
        if form is Form.TEST:
            return ['+CGDCONT: (1-15),"IP",,,(0-2),(0-4)', '+CGDCONT: (1-15),"IPV6",,,(0-2),(0-4)']
        if form is Form.READ:
            address = self.ip_address() or "0.0.0.0"
            return [f'+CGDCONT: 1,"IP","{self.state.apn}","{address}",0,0']
        if form is not Form.SET:
            raise CommandFailed(None)
        cid = _int_arg(args, 0, range(1, 16))
        if cid == 1 and len(args) > 2:
            self.state.apn = args[2]
        return []

    def _cgact(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # 27.007 §10.1.10
        if form is Form.TEST:
            return ["+CGACT: (0,1)"]
        if form is Form.READ:
            return [f"+CGACT: 1,{int(self.ip_address() is not None)}"]
        if form is not Form.SET:
            raise CommandFailed(None)
        active = _int_arg(args, 0, (0, 1))
        if active and not self.attached():
            raise CommandFailed(30)
        self.state.context_active = bool(active)
        return []

    def _cgpaddr(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # 27.007 §10.1.14: +CGPADDR: <cid>[,<PDP_addr_1>]
        if form is Form.TEST:
            return ["+CGPADDR: (1)"]
        if form is Form.SET:
            if _int_arg(args, 0, range(1, 16)) != 1:
                return []
        elif form is not Form.ACTION:
            raise CommandFailed(None)
        address = self.ip_address()
        return [f'+CGPADDR: 1,"{address}"'] if address else ["+CGPADDR: 1"]

    def _cgcontrdp(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # 27.007 §10.1.23: <cid>,<bearer_id>,<apn>,<local_addr and subnet_mask>,<gw_addr>,<DNS_prim>,<DNS_sec>
        if form is Form.TEST:
            return ["+CGCONTRDP: (1)"]
        if form is Form.SET:
            if _int_arg(args, 0, range(1, 16)) != 1:
                return []
        elif form is not Form.ACTION:
            raise CommandFailed(None)
        address = self.ip_address()
        if address is None:
            return []
        network = self.network
        return [
            f'+CGCONTRDP: 1,5,"{self.state.apn}","{address}.255.255.255.0","{network.gateway}",'
            f'"{network.dns[0]}","{network.dns[1]}"'
        ]

    # -- Quectel (EC2x AT Commands Manual) ---------------------------------------------------------------------

    def _qeng(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # The classic single-line LTE form of the EC2x/EG9x (15 values after "LTE", ending <sinr>,<srxlev>) with
        # <sinr> as 2·x − 20 dB, the form of an EP06-E/EG25-G capture (tests/data/at_vectors_field.json); the
        # RM5xx/EC200 variants are in _qeng_rm5xx / _qeng_ec200.
        if form is Form.TEST:
            return ['+QENG: "servingcell"', '+QENG: "neighbourcell"']
        if form is not Form.SET or not args:
            raise CommandFailed(50)
        if args[0].lower() != "servingcell":
            return []
        stat = self.registration()
        signal = self.signal()
        if signal is None or stat not in (RegStat.HOME, RegStat.ROAMING, RegStat.DENIED):
            return ['+QENG: "servingcell","SEARCH"']
        state = "LIMSRV" if stat is RegStat.DENIED else "NOCONN"
        net = self.network
        head = (
            f"{net.mcc},{net.mnc},{net.cell_id:X},{net.pci},{net.earfcn},{net.band},{net.bandwidth_code},"
            f"{net.bandwidth_code},{net.tac:X},{signal.rsrp_dbm},{signal.rsrq_db},{signal.rssi_dbm}"
        )
        srxlev = signal.rsrp_dbm + 140
        if self.profile.qeng_form == "rm5xx":
            # RM500Q EN-DC: a bare state line, the LTE anchor (SINR 2·x − 20 as the RM500Q capture of libqmi PR #2),
            # then the NR leg; idle NR leg as in the issue 12 field report (-32768 = unknown, 65535 = no PCI).
            return [
                f'+QENG: "servingcell","{state}"',
                f'+QENG: "LTE","FDD",{head},{(signal.sinr_db + 20) // 2},-',
                f'+QENG: "NR5G-NSA",{net.mcc},{net.mnc},65535,-32768,-32768,-32768',
            ]
        if self.profile.qeng_form == "ec200":
            # EC200 family: the classic layout with SINR in dB (EC200T capture, luci-app-3ginfo-lite #43).
            return [f'+QENG: "servingcell","{state}","LTE","FDD",{head},{signal.sinr_db},{srxlev}']
        return [f'+QENG: "servingcell","{state}","LTE","FDD",{head},{(signal.sinr_db + 20) // 2},{srxlev}']

    def _qcsq(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # EC2x manual: +QCSQ: "LTE",<lte_rssi>,<lte_rsrp>,<lte_sinr>,<lte_rsrq>; SINR in 1/5 dB from -20 dB
        if form is Form.TEST:
            return ['+QCSQ: "NOSERVICE","GSM","WCDMA","LTE"']
        if form is not Form.ACTION:
            raise CommandFailed(None)
        signal = self.signal()
        if signal is None or self.registration() in (RegStat.NOT_SEARCHING, RegStat.SEARCHING):
            return ['+QCSQ: "NOSERVICE"']
        sinr = (signal.sinr_db + 20) * 5
        return [f'+QCSQ: "LTE",{signal.rssi_dbm},{signal.rsrp_dbm},{sinr},{signal.rsrq_db}']

    def _qnwinfo(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # EC2x manual: +QNWINFO: <Act>,<oper>,<band>,<channel>
        if form is Form.TEST:
            return []
        if form is not Form.ACTION:
            raise CommandFailed(None)
        if not self.registered():
            return ["+QNWINFO: No Service"]
        net = self.network
        return [f'+QNWINFO: "FDD LTE","{net.plmn}","LTE BAND {net.band}",{net.earfcn}']

    def _qgdcnt(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # EC2x manual: +QGDCNT: <bytes_sent>,<bytes_recv>; AT+QGDCNT=0 resets
        if form is Form.TEST:
            return ["+QGDCNT: (0,1)"]
        if form is Form.READ:
            return [f"+QGDCNT: {self.state.bytes_sent},{self.state.bytes_received}"]
        if form is Form.SET:
            if _int_arg(args, 0, (0, 1)) == 0:
                self.state.bytes_sent = self.state.bytes_received = 0
            return []
        raise CommandFailed(None)

    def _qtemp(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # EC2x/EC200: +QTEMP: <pmic>,<xo>,<pa> with 255 for a missing sensor (EC200T capture "+QTEMP: 38,255,255");
        # RM5xx: one quoted name/value line per sensor (the lines obsy/modemdata's RM5xx script reads).
        if form is Form.TEST:
            return []
        if form is not Form.ACTION:
            raise CommandFailed(None)
        if self.profile.qeng_form == "rm5xx":
            return [
                '+QTEMP: "modem-lte-sub6-pa1","37"',
                '+QTEMP: "modem-ambient-usr","35"',
                '+QTEMP: "cpu0-a7-usr","41"',
            ]
        return ["+QTEMP: 38,255,255"] if self.profile.qeng_form == "ec200" else ["+QTEMP: 38,36,35"]

    def _qlts(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # EC2x manual: AT+QLTS=2 gives the local time the network last set, "yyyy/MM/dd,hh:mm:ss±zz,dst" with the
        # zone in quarter hours (capture: +QLTS: "2019/12/12,10:49:42+32,0"); China Standard Time is +32.
        if form is Form.TEST:
            return ["+QLTS: (0-2)"]
        if form not in (Form.ACTION, Form.SET):
            raise CommandFailed(None)
        if not self.registered():
            return ['+QLTS: ""']
        local = time.gmtime(self._clock() + 8 * 3600)
        return [time.strftime('+QLTS: "%Y/%m/%d,%H:%M:%S+32,0"', local)]

    def _quimslot(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # RM5xx: +QUIMSLOT: <slot>, the active SIM slot (1 or 2)
        if form is Form.TEST:
            return ["+QUIMSLOT: (1,2)"]
        if form is Form.READ:
            return ["+QUIMSLOT: 1"]
        raise CommandFailed(None)

    def _cpmutemp(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # SIMCom: +CPMUTEMP: <temp> in °C (capture "+CPMUTEMP: 34")
        if form is Form.TEST:
            return []
        if form is not Form.ACTION:
            raise CommandFailed(None)
        return ["+CPMUTEMP: 34"]

    # -- SIMCom (SIM7500/SIM7600 Series AT Command Manual) -------------------------------------------------------

    def _cpsi(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # SIM7600 manual, LTE: +CPSI: <System Mode>,<Operation Mode>,<MCC>-<MNC>,<TAC>,<SCellID>,<PCellID>,
        # <Frequency Band>,<earfcn>,<dlbw>,<ulbw>,<RSRQ>,<RSRP>,<RSSI>,<RSSNR>; RSRQ/RSRP/RSSI in 1/10 dB and
        # SINR = 2·<RSSNR> − 20. A76xx/SIM7080 print 27.007 indices instead (RSRQ 0–34, RSRP 0–97; SINR in dB), as
        # in the SIM7080 and A76xx captures of tests/data/at_vectors_field.json; 255 where the RSSI is not given.
        if form is Form.TEST:
            return ["+CPSI: (0-255)"]
        if form is Form.SET:
            return []
        if form is not Form.READ:
            raise CommandFailed(None)
        signal = self.signal()
        if signal is None or not self.registered():
            return ["+CPSI: NO SERVICE,Online"]
        net = self.network
        cell = (
            f"{net.mcc}-{net.mnc},0x{net.tac:04X},{net.cell_id},{net.pci},EUTRAN-BAND{net.band},{net.earfcn},"
            f"{net.bandwidth_code},{net.bandwidth_code}"
        )
        if self.profile.cpsi_form == "index":
            rsrq = max(0, min(34, int((signal.rsrq_db + 19.5) * 2)))
            rsrp = max(0, min(97, signal.rsrp_dbm + 140))
            return [f"+CPSI: LTE,Online,{cell},{rsrq},{rsrp},255,{signal.sinr_db}"]
        return [
            f"+CPSI: LTE,Online,{cell},{signal.rsrq_db * 10},{signal.rsrp_dbm * 10},{signal.rssi_dbm * 10},"
            f"{(signal.sinr_db + 20) // 2}"
        ]

    def _cnsmod(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # SIM7600 manual: +CNSMOD: <n>,<stat>; stat 8 = LTE, 0 = no service
        if form is Form.TEST:
            return ["+CNSMOD: (0-1)"]
        if form is Form.SET:
            _int_arg(args, 0, (0, 1))
            return []
        if form is not Form.READ:
            raise CommandFailed(None)
        return [f"+CNSMOD: 0,{8 if self.registered() else 0}"]

    # -- Huawei (ME909s AT Command Interface Specification) -----------------------------------------------------

    def _huawei_iccid(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # ^ICCID? answers the raw EF_ICCID digits, nibble-swapped as stored on the card
        if form is Form.TEST:
            return []
        if form is not Form.READ:
            raise CommandFailed(None)
        self._require_sim(allow_locked=True)
        return [f"^ICCID: {swap_nibbles(self.profile.sim.iccid)}"]

    def _hcsq(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # ^HCSQ: "LTE",<rssi>,<rsrp>,<sinr>,<rsrq> (ME909s spec): rssi -120+n dBm, rsrp -140+n dBm,
        # sinr -20+n/5 dB, rsrq -19.5+n/2 dB, each the upper edge of its step, as iotcard/drivers/dialects/_huawei.py
        # reads them
        if form is Form.TEST:
            return ['^HCSQ: "NOSERVICE","GSM","WCDMA","LTE"']
        if form is not Form.READ:
            raise CommandFailed(None)
        signal = self.signal()
        if signal is None or self.registration() in (RegStat.NOT_SEARCHING, RegStat.SEARCHING):
            return ['^HCSQ: "NOSERVICE"']
        rssi = signal.rssi_dbm + 120
        rsrp = signal.rsrp_dbm + 140
        sinr = (signal.sinr_db + 20) * 5
        rsrq = int((signal.rsrq_db + 19.5) * 2)
        return [f'^HCSQ: "LTE",{rssi},{rsrp},{sinr},{rsrq}']

    def _sysinfoex(self, form: Form, args: tuple[str, ...]) -> list[str]:
        # ^SYSINFOEX: <srv_status>,<srv_domain>,<roam_status>,<sim_state>,<lock_state>,<sysmode>,<sysmode_name>,
        # <submode>,<submode_name>; srv_status 2 = service, 1 = limited; sim_state 1 = valid, 255 = absent
        if form is Form.TEST:
            return []
        if form is not Form.ACTION:
            raise CommandFailed(None)
        stat = self.registration()
        sim_state = 255 if self.state.sim_status is SimStatus.ABSENT else 1
        roaming = int(stat is RegStat.ROAMING)
        if stat in (RegStat.HOME, RegStat.ROAMING):
            return [f'^SYSINFOEX: 2,3,{roaming},{sim_state},,6,"LTE",101,"LTE"']
        if stat is RegStat.DENIED and self.signal() is not None:
            return [f'^SYSINFOEX: 1,0,0,{sim_state},,6,"LTE",101,"LTE"']
        return [f'^SYSINFOEX: 0,0,0,{sim_state},,0,"NO SERVICE",0,"NO SERVICE"']
