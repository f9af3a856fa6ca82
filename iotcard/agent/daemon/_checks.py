"""Directed probes and the diagnosis as the daemon runs them: on the scheduler's threads, from the owners' state.

Both the scheduled jobs and the cloud's ``probe`` and ``diagnose`` commands call these; neither runs on the MQTT
thread. The diagnosis reads the modem worker's state and the board's last read and last probe round (no port I/O),
and asks the meter owner for the plan (:func:`iotcard.agent.diagnosis.gather` puts the facts together).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from iotcard.agent.config import AgentConfig
from iotcard.agent.diagnosis import Diagnosis, DiagnosisSources, ModemReading, PortFault, diagnose, gather
from iotcard.agent.directed import (
    ProbeOptions,
    ProbeResult,
    dns_for_probes,
    parse_dns_server,
    probe_texts,
    refused_address,
)
from iotcard.agent.state import last_seen_identity, remember_identity

from ._board import Board, LastRead
from ._meter import MeterOwner
from ._worker import ModemWorker

__all__ = ["diagnose_now", "probe_targets"]

log = logging.getLogger("iotcard.daemon")


def probe_targets(
    config: AgentConfig,
    last_read: LastRead | None,
    targets: Sequence[str],
    *,
    timeout: float | None = None,
    from_cloud: bool = False,
) -> list[ProbeResult]:
    """Probe ``targets``. Targets the cloud chose are bound to the cellular interface whenever one is configured
    and never reach loopback, link-local, multicast, private or CGNAT addresses unless [directed] allow_private
    (refused before any packet is sent)."""
    directed = config.directed
    interface = directed.interface
    if from_cloud and interface is None and "interface" in config.usage.given_keys:
        interface = config.usage.interface
    snapshot = last_read.snapshot if last_read is not None else None
    # Bound to the cellular interface, probes ask the carrier's DNS (the PDP context's) unless [directed] dns names
    # resolvers: the system's may be the LAN's, which a directed card cannot reach.
    servers, source = dns_for_probes(directed.dns, interface, snapshot.network.dns if snapshot else ())
    log.debug("directed probes resolve with %s DNS %s", source, servers)
    options = ProbeOptions(
        dns_servers=tuple(parse_dns_server(text) for text in servers),
        interface=interface,
        timeout=timeout or directed.timeout,
        tls=directed.tls,
        address_filter=refused_address if from_cloud and not directed.allow_private else None,
    )
    return probe_texts(list(targets), options, default_port=directed.port)


def diagnose_now(*, worker: ModemWorker, board: Board, meter: MeterOwner, state_dir: Path) -> Diagnosis:
    """Diagnose from what the owners know now; the verdict goes on the board, the identity into the state dir."""
    last_read = board.last_read
    probes = board.last_probes

    def read_modem() -> ModemReading:
        status = worker.status()
        if status["state"] == "port_unavailable":
            return PortFault("port_unavailable", worker.port, str(status["last_error"]))
        if status["state"] == "unresponsive":
            return None
        return last_read.snapshot if last_read is not None else None  # none yet: counted as unresponsive

    facts = gather(
        DiagnosisSources(
            read_modem=read_modem,
            port=worker.port,
            previous_identity=lambda: last_seen_identity(state_dir),
            plan=meter.plan_status,
            probes=lambda snapshot: probes,
        )
    )
    result = diagnose(facts)
    if facts.snapshot is not None:
        remember_identity(state_dir, facts.snapshot.sim.iccid, facts.snapshot.identity.imei)
    board.last_diagnosis = result.verdict.value
    return result
