"""iotcard: the device side of IoT SIM cards in industrial HMIs and gateways, and a reference cloud collector.

    iotcard.drivers     AT commands to the cellular module (3GPP TS 27.007 base, vendor dialects); no agent imports
    iotcard.agent       the `iotcard` CLI and the systemd daemon: meter, directed probes, diagnosis, MQTT telemetry
    iotcard.contract    what the agent and the cloud agree on: MQTT messages and topics, card-state rules, errors
    iotcard.collector   the reference cloud collector (`iotcard-collector`, the `collector` extra)
    iotcard.simulators  a modem simulator on a pty and a fleet simulator, for tests, benchmarks and the demo

Lower layers never import higher ones: drivers and contract import neither agent nor collector, and the collector
imports the contract only (tests/test_layers.py).
"""
