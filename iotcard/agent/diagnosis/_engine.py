"""The diagnosis engine: a pure function from facts to findings, checks in dependency order.

port → modem → radio → SIM → identity → signal → registration → attach → PDP/IP → DNS → directed targets → usage and
plan → clock.
A check whose prerequisite failed is reported as skipped with the reason; nothing here raises on odd facts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType

from iotcard.agent.state import KnownIdentity
from iotcard.drivers.models import AccessTechnology, ModemSnapshot, RegistrationState, SimState

from ._findings import CHECK_ORDER, CheckOutcome, Diagnosis, Finding, Severity, Verdict

__all__ = ["DiagnosisFacts", "DirectedFact", "PlanFact", "PortFault", "Thresholds", "diagnose"]


@dataclass(frozen=True, slots=True)
class DirectedFact:
    """One directed-target probe, as the diagnosis needs it."""

    target: str
    verdict: str  # reachable | dns_failed | blocked | port_closed | tls_failed | invalid_target
    dns_status: str | None = None


@dataclass(frozen=True, slots=True)
class PortFault:
    """Why the modem's port could not be used: a code, the port, and the operating system's reason.

    ``code`` is the transport's (``port_missing``, ``port_permission``, ``port_busy``, ``port_not_tty``,
    ``port_vanished``, ``port_config``, ``port_unavailable``); ``reason`` is the errno name (``ENOENT``) or, when
    there is none, the operating system's own words. The sentence and the hint come from the messages catalogue.
    """

    code: str
    port: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class PlanFact:
    """Usage against the plan, as the diagnosis needs it (from the usage meter's summary)."""

    used_bytes: int
    total_bytes: int | None
    remaining_bytes: int | None
    percent_left: float | None
    cycle_end: date | None
    days_left: int | None
    data_low: bool = False
    data_exhausted: bool = False
    cycle_expiring: bool = False
    expired: bool = False
    # A code (``renew_before_26th`` | ``renewal_paused``, :class:`iotcard.agent.usage.RenewalAdvice`) and the last
    # day a renewal keeps the card from lapsing; the sentence comes from the messages catalogue.
    renew_advice: str | None = None
    renew_by: date | None = None


@dataclass(frozen=True, slots=True)
class DiagnosisFacts:
    """Everything the diagnosis looks at: codes and numbers, never sentences.

    ``port_error`` says why the port could not be used. The older ``(code, message, hint)`` tuple is still read (as
    a :class:`PortFault` with the message as its reason) until every caller builds facts with
    :func:`iotcard.agent.diagnosis.gather`.
    """

    snapshot: ModemSnapshot | None = None
    port: str | None = None
    port_error: PortFault | tuple[str, str, str] | None = None
    modem_unresponsive: bool = False
    previous_identity: KnownIdentity | None = None
    directed: Sequence[DirectedFact] | None = None
    plan: PlanFact | None = None
    # The system's time to hold the network's against; None takes the one the modem read recorded.
    system_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Weak-signal thresholds per technology family (dBm)."""

    lte_rsrp_dbm: float = -110.0
    gsm_umts_rssi_dbm: float = -95.0
    # TLS certificates are checked against the clock: minutes off already fail a handshake's validity window.
    clock_skew_s: float = 300.0


_LTE_FAMILY = {AccessTechnology.LTE, AccessTechnology.LTE_M, AccessTechnology.NB_IOT, AccessTechnology.NR5G}


def _finding(code: str, severity: Severity, check: str, **params: object) -> Finding:
    return Finding(code, severity, check, MappingProxyType(params))


class _Run:
    def __init__(self, facts: DiagnosisFacts, thresholds: Thresholds) -> None:
        self.facts = facts
        self.thresholds = thresholds
        self.findings: list[Finding] = []
        self.outcomes: dict[str, CheckOutcome] = {}

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def run(self, check: str, needs: tuple[str, ...], body: Callable[[], bool | None]) -> None:
        """Run ``body`` unless a check it rests on did not pass. ``body`` returns False when its check failed,
        None when it had nothing to look at (skipped)."""
        for need in needs:
            if not self.outcomes[need].passed:
                reason = self.outcomes[need].skip_reason or f"the {need} check failed"
                self.outcomes[check] = CheckOutcome(check, passed=False, skipped=True, skip_reason=reason)
                return
        before = len(self.findings)
        result = body()
        if result is None:
            self.outcomes[check] = CheckOutcome(check, passed=True, skipped=True, skip_reason="nothing to check")
        else:
            codes = ", ".join(f.code for f in self.findings[before:]) or "failed"
            failed = None if result else f"the {check} check failed ({codes})"
            self.outcomes[check] = CheckOutcome(check, passed=result, skip_reason=failed)

    # -- checks ----------------------------------------------------------------------------------------------------

    def port(self) -> bool:
        fault = self.facts.port_error
        if fault is None:
            return True
        if isinstance(fault, tuple):
            fault = PortFault(fault[0], self.facts.port, fault[1] or None)
        self.add(
            _finding(
                "port_unavailable",
                Severity.ERROR,
                "port",
                error=fault.code,
                port=fault.port or self.facts.port,
                reason=fault.reason,
            )
        )
        return False

    def modem(self) -> bool:
        if self.facts.modem_unresponsive or self.facts.snapshot is None:
            self.add(_finding("modem_unresponsive", Severity.ERROR, "modem", port=self.facts.port))
            return False
        return True

    def radio(self) -> bool | None:
        """A module left in flight mode (+CFUN: 4) or minimum functionality (+CFUN: 0) hears nothing: that, not
        "no signal" or "searching", is what is wrong."""
        net = self._snap.network
        if net.radio is None:
            return None
        if net.radio == "off":
            self.add(_finding("radio_off", Severity.ERROR, "radio", cfun=net.cfun if net.cfun is not None else "?"))
            return False
        return True

    def sim(self) -> bool:
        state = self._snap.sim.state
        codes = {
            SimState.ABSENT: "sim_absent",
            SimState.PIN_REQUIRED: "sim_pin_required",
            SimState.PUK_REQUIRED: "sim_puk_required",
            SimState.ERROR: "sim_error",
        }
        if state in codes:
            self.add(_finding(codes[state], Severity.ERROR, "sim", detail=state.value))
            return False
        return True

    def identity(self) -> bool | None:
        previous = self.facts.previous_identity
        if previous is None:
            return None
        current_iccid, current_imei = self._snap.sim.iccid, self._snap.identity.imei
        if previous.iccid and current_iccid and previous.iccid != current_iccid:
            self.add(
                _finding("iccid_changed", Severity.WARNING, "identity", previous=previous.iccid, current=current_iccid)
            )
        if previous.imei and current_imei and previous.imei != current_imei:
            self.add(
                _finding("imei_changed", Severity.WARNING, "identity", previous=previous.imei, current=current_imei)
            )
        return True

    def signal(self) -> bool:
        sig, net = self._snap.signal, self._snap.network
        technology = net.access_technology
        if sig.rssi_dbm is None and sig.rsrp_dbm is None:
            self.add(_finding("no_signal", Severity.ERROR, "signal"))
            return False
        if sig.rsrp_dbm is not None and (technology in _LTE_FAMILY or sig.rssi_dbm is None):
            if sig.rsrp_dbm < self.thresholds.lte_rsrp_dbm:
                self.add(
                    _finding(
                        "weak_signal",
                        Severity.WARNING,
                        "signal",
                        measure="RSRP",
                        value=sig.rsrp_dbm,
                        unit="dBm",
                        threshold=self.thresholds.lte_rsrp_dbm,
                        technology=technology.value if technology else "LTE",
                    )
                )
        elif sig.rssi_dbm is not None and sig.rssi_dbm < self.thresholds.gsm_umts_rssi_dbm:
            self.add(
                _finding(
                    "weak_signal",
                    Severity.WARNING,
                    "signal",
                    measure="RSSI",
                    value=sig.rssi_dbm,
                    unit="dBm",
                    threshold=self.thresholds.gsm_umts_rssi_dbm,
                    technology=technology.value if technology else "GSM/UMTS",
                )
            )
        return True

    def registration(self) -> bool:
        net = self._snap.network
        state = net.registration
        if state is RegistrationState.DENIED:
            cause = net.reject_cause
            if cause is None:
                self.add(_finding("registration_denied", Severity.ERROR, "registration"))
            else:
                self.add(
                    _finding(
                        "registration_denied",
                        Severity.ERROR,
                        "registration",
                        reject_cause=cause.code,
                        cause_type=cause.kind,
                        cause_name=cause.name,
                    )
                )
            return False
        if state in (RegistrationState.SEARCHING, RegistrationState.NOT_REGISTERED, RegistrationState.UNKNOWN, None):
            self.add(_finding("searching", Severity.ERROR, "registration", state=state.value if state else None))
            return False
        if state is RegistrationState.EMERGENCY_ONLY:
            self.add(_finding("registration_denied", Severity.ERROR, "registration", state=state.value))
            return False
        if state is RegistrationState.ROAMING:
            operator = " ".join(x for x in (net.operator_name, net.mcc_mnc) if x) or "?"
            self.add(_finding("roaming", Severity.WARNING, "registration", operator=operator))
        return True

    def attach(self) -> bool:
        if self._snap.network.attached is False:
            self.add(_finding("not_attached", Severity.ERROR, "attach"))
            return False
        return True

    def pdp(self) -> bool:
        net = self._snap.network
        apn = net.apn or "?"
        if net.ip_address is None:
            self.add(_finding("no_ip" if net.apn else "pdp_inactive", Severity.ERROR, "pdp", apn=apn))
            return False
        return True

    def dns(self) -> bool | None:
        directed = self.facts.directed
        if not directed:
            return None
        probed = [d for d in directed if d.verdict != "invalid_target"]
        if probed and all(d.verdict == "dns_failed" for d in probed):
            statuses = sorted({d.dns_status or "failed" for d in probed})
            self.add(_finding("dns_failed", Severity.ERROR, "dns", detail=", ".join(statuses)))
            return False
        return True

    def directed_targets(self) -> bool | None:
        directed = self.facts.directed
        if not directed:
            return None
        bad = [d for d in directed if d.verdict not in ("reachable", "invalid_target")]
        if bad:
            listed = tuple((d.target, d.verdict) for d in bad)
            self.add(_finding("directed_blocked", Severity.ERROR, "directed", count=len(bad), targets=listed))
            return False
        return True

    def usage(self) -> bool | None:
        plan = self.facts.plan
        if plan is None or (plan.total_bytes is None and plan.cycle_end is None):
            return None
        ok = True
        common = {
            "used_bytes": plan.used_bytes,
            "total_bytes": plan.total_bytes,
            "remaining_bytes": plan.remaining_bytes,
            "percent_left": plan.percent_left if plan.percent_left is not None else 0.0,
            "end": plan.cycle_end.isoformat() if plan.cycle_end else None,
            "days_left": plan.days_left,
        }
        if plan.expired:
            self.add(_finding("expired", Severity.ERROR, "usage", **common))
            ok = False
        if plan.data_exhausted:
            self.add(_finding("data_exhausted", Severity.ERROR, "usage", **common))
            ok = False
        elif plan.data_low:
            self.add(_finding("data_low", Severity.WARNING, "usage", **common))
        if plan.cycle_expiring and not plan.expired:
            self.add(
                _finding(
                    "cycle_expiring",
                    Severity.WARNING,
                    "usage",
                    renew_advice=str(plan.renew_advice) if plan.renew_advice else None,
                    renew_by=plan.renew_by.isoformat() if plan.renew_by else None,
                    **common,
                )
            )
        return ok

    def clock(self) -> bool | None:
        """HMIs that boot without an RTC keep a wrong clock until NTP runs, and TLS to the cloud fails meanwhile;
        the network's time (+CCLK/+QLTS) says how far off the system is."""
        network_time = self._snap.network.time
        system_time = self.facts.system_time or self._snap.system_time
        if network_time is None or system_time is None:
            return None
        skew = (system_time - network_time).total_seconds()
        if abs(skew) <= self.thresholds.clock_skew_s:
            return True
        self.add(
            _finding(
                "clock_skew",
                Severity.WARNING,
                "clock",
                skew_s=round(skew),
                skew_min=round(abs(skew) / 60),
                direction="ahead" if skew > 0 else "behind",
                network_time=network_time.isoformat(),
                system_time=system_time.isoformat(),
            )
        )
        return False

    @property
    def _snap(self) -> ModemSnapshot:
        assert self.facts.snapshot is not None  # the modem check passed
        return self.facts.snapshot


def diagnose(facts: DiagnosisFacts, thresholds: Thresholds | None = None) -> Diagnosis:
    """Turn facts into findings (most severe first) and a verdict. Pure: same facts, same diagnosis."""
    run = _Run(facts, thresholds or Thresholds())
    plan: dict[str, tuple[tuple[str, ...], Callable[[], bool | None]]] = {
        "port": ((), run.port),
        "modem": (("port",), run.modem),
        "radio": (("modem",), run.radio),
        "sim": (("modem",), run.sim),
        "identity": (("modem",), run.identity),
        "signal": (("radio",), run.signal),
        "registration": (("sim", "radio"), run.registration),
        "attach": (("registration",), run.attach),
        "pdp": (("attach",), run.pdp),
        "dns": (("pdp",), run.dns),
        "directed": (("dns",), run.directed_targets),
        "usage": ((), run.usage),
        "clock": (("modem",), run.clock),
    }
    for check in CHECK_ORDER:
        needs, body = plan[check]
        run.run(check, needs, body)
    order = {check: i for i, check in enumerate(CHECK_ORDER)}
    findings = sorted(run.findings, key=lambda f: (-f.severity, order[f.check]))
    worst = findings[0].severity if findings else None
    if worst is Severity.ERROR:
        verdict = Verdict.FAIL
    elif worst is Severity.WARNING:
        verdict = Verdict.DEGRADED
    else:
        verdict = Verdict.OK
    if not findings:
        findings = [_finding("ok", Severity.INFO, "usage")]
    return Diagnosis(verdict, tuple(findings), tuple(run.outcomes[c] for c in CHECK_ORDER))
