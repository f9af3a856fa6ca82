"""Which resolvers `iotcard diag`'s directed probes ask: configured ones, else the carrier's when bound to the
cellular interface, else the system's."""

from __future__ import annotations

from iotcard.agent.directed import dns_for_probes

CARRIER = ("211.136.17.107", "211.136.20.203")  # what +CGCONTRDP gave the context


def test_configured_dns_wins() -> None:
    assert dns_for_probes(["223.5.5.5"], "wwan0", CARRIER) == (["223.5.5.5"], "configured")


def test_bound_probes_ask_the_carriers_dns() -> None:
    assert dns_for_probes([], "wwan0", CARRIER) == (list(CARRIER), "network")


def test_unbound_probes_or_no_carrier_dns_follow_the_system() -> None:
    assert dns_for_probes([], None, CARRIER) == ([], "system")
    assert dns_for_probes([], "wwan0", ()) == ([], "system")
