"""One fact-gathering pipeline for the CLI's ``iotcard diag`` and the daemon's diagnosis job.

Both read the same kinds of facts from their own owners: the CLI opens the port itself, probes the targets and
reads the usage database once; the daemon asks its modem worker for the last snapshot, its meter for the plan and
keeps the last round of probes. :func:`gather` takes those readers as plain callables (:class:`DiagnosisSources`)
and turns what they return into :class:`DiagnosisFacts`: codes and numbers, no sentences.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from iotcard.agent.state import KnownIdentity
from iotcard.drivers.errors import ModemRebooted, PortError, ReadTimeout
from iotcard.drivers.models import ModemSnapshot

from ._engine import DiagnosisFacts, PortFault
from ._facts import directed_facts, plan_fact

if TYPE_CHECKING:
    from iotcard.agent.directed import ProbeResult
    from iotcard.agent.usage import PlanStatus

__all__ = ["DiagnosisSources", "ModemReading", "gather", "port_fault"]

# What a modem reader returns: a snapshot; a PortFault when the port cannot be used; None when the module gave no
# (usable) answer. A reader may also raise PortError, ReadTimeout or ModemRebooted: gather() files those the same way.
ModemReading = ModemSnapshot | PortFault | None


def _nothing() -> None:
    return None


def _no_probes(snapshot: ModemSnapshot) -> None:
    return None


@dataclass(frozen=True, slots=True)
class DiagnosisSources:
    """Where the diagnosis's facts come from; every reader is injected by the caller.

    ``read_modem``        the modem snapshot (see :data:`ModemReading`)
    ``port``              the port's name, for the findings (``/dev/ttyUSB2``)
    ``previous_identity`` the ICCID/IMEI last seen (``iotcard.agent.state.last_seen_identity``)
    ``plan``              the meter's plan status (``UsageMeter.summary(...).plan``), None without a plan or meter
    ``probes``            directed-target results for this snapshot: the CLI probes now, the daemon hands back its
                          last round; called only when the snapshot has an IP address (otherwise the PDP check fails
                          and nothing rests on the probes)
    ``clock``             the system's time to hold the network's against; None takes the time recorded with the
                          snapshot (right for a snapshot read a while ago, whose network time is as old)
    """

    read_modem: Callable[[], ModemReading]
    port: str | None = None
    previous_identity: Callable[[], KnownIdentity | None] = _nothing
    plan: Callable[[], PlanStatus | None] = _nothing
    probes: Callable[[ModemSnapshot], Sequence[ProbeResult] | None] = _no_probes
    clock: Callable[[], datetime] | None = None


def port_fault(exc: PortError) -> PortFault:
    """A transport's PortError as a fact: its code, its port, and the errno name of the OS error behind it."""
    cause = exc.__cause__
    number = getattr(cause, "errno", None)
    if isinstance(number, int) and number in errno.errorcode:
        reason: str | None = errno.errorcode[number]
    elif exc.code in ("port_unavailable", "port_vanished") and cause is not None:
        reason = str(cause) or type(cause).__name__
    else:
        reason = None
    return PortFault(exc.code, exc.port, reason)


def gather(sources: DiagnosisSources) -> DiagnosisFacts:
    """Read every source once and return the facts for :func:`iotcard.agent.diagnosis.diagnose`.

    The previous identity is read before the caller records the current one, so remember the identity after
    gathering (``remember_identity(state_dir, snapshot.sim.iccid, snapshot.identity.imei)``).

    The CLI (``iotcard diag``) opens the port, probes and reads the usage database here and now::

        facts = gather(DiagnosisSources(read_modem=read_now, port=port, previous_identity=...,
                                        plan=read_plan_once, probes=probe_now))

    The daemon hands in its owners' latest state, so nothing blocks on the modem port::

        def read_modem() -> ModemReading:
            status = self.worker.status()
            if status["state"] == "port_unavailable":
                return PortFault("port_unavailable", self.worker.port, str(status["last_error"]))
            if status["state"] == "unresponsive":
                return None
            return snapshot_of_the_last_read          # None before the first read: counted as unresponsive

        facts = gather(
            DiagnosisSources(
                read_modem=read_modem,
                port=self.worker.port,
                previous_identity=lambda: last_seen_identity(self.state_dir),
                plan=lambda: meter_plan_status_or_none,   # e.g. the meter owner's summary(days=1).plan
                probes=lambda snapshot: last_probe_results,  # the directed job's last round, or None
            )
        )
        result = diagnose(facts)

    Errors of the modem reader (PortError, ReadTimeout, ModemRebooted) become facts; the other readers' errors are
    theirs to handle (return None when there is nothing to say).
    """
    snapshot: ModemSnapshot | None = None
    fault: PortFault | None = None
    try:
        reading = sources.read_modem()
    except PortError as exc:
        reading = port_fault(exc)
    except (ReadTimeout, ModemRebooted):
        reading = None
    if isinstance(reading, PortFault):
        fault = reading if reading.port is not None else PortFault(reading.code, sources.port, reading.reason)
    else:
        snapshot = reading

    directed = None
    if snapshot is not None and snapshot.network.ip_address is not None:
        results = sources.probes(snapshot)
        directed = directed_facts(results) if results else None
    status = sources.plan()
    return DiagnosisFacts(
        snapshot=snapshot,
        port=sources.port,
        port_error=fault,
        modem_unresponsive=snapshot is None and fault is None,
        previous_identity=sources.previous_identity(),
        directed=directed,
        plan=plan_fact(status) if status is not None else None,
        system_time=sources.clock() if sources.clock is not None else None,
    )
