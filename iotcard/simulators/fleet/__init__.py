"""A fleet of lightweight simulated agents publishing the MQTT contract: for the collector's tests and load.

::

    from iotcard.simulators.fleet import Fleet, FleetLink

    fleet = Fleet.build(1000, today=date.today())          # 1 in 20 cards low, exhausted, expiring, expired
    link = FleetLink("127.0.0.1", 1883, [d.device_id for d in fleet.devices])
    for message in fleet.hello(now):
        link.publish(message.device_id, message.topic, message.payload, retain=message.retain)
    link.drain(timeout=30)                                 # every message acknowledged by the broker

Command line: ``python -m iotcard.simulators.fleet --help``.
"""

from __future__ import annotations

from iotcard.simulators.fleet._fleet import PROFILES, Fleet, Message, SimDevice
from iotcard.simulators.fleet._wire import FleetLink, encode_connect, encode_publish

__all__ = ["PROFILES", "Fleet", "FleetLink", "Message", "SimDevice", "encode_connect", "encode_publish"]
