"""iotcard: the device side of IoT SIM cards in industrial HMIs and gateways, and a reference cloud collector.

    iotcard.drivers     AT commands to the cellular module (3GPP TS 27.007 base, vendor dialects); no agent imports
    iotcard.agent       the `iotcard` CLI and the systemd daemon: meter, directed probes, diagnosis, MQTT telemetry
    iotcard.contract    what the agent and the cloud agree on: MQTT messages and topics, card-state rules, errors
    iotcard.collector   the reference cloud collector (`iotcard-collector`, the `collector` extra)
    iotcard.simulators  a modem simulator on a pty and a fleet simulator, for tests, benchmarks and the demo

Lower layers never import higher ones: drivers and contract import neither agent nor collector, and the collector
imports the contract only (tests/test_layers.py).
"""

from __future__ import annotations

__all__ = ["version"]


def version() -> str:
    """The installed distribution's version (the .deb and the wheel record it); ``0+unknown`` in a source tree that
    was never installed. Read only when asked: importlib.metadata is not loaded by ``import iotcard``."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as distribution_version

    try:
        return distribution_version("iotcard")
    except PackageNotFoundError:
        return "0+unknown"
