"""``python -m iotcard.simulators.fleet``: publish a fleet's hello and report rounds to a broker, write its plan
file."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from iotcard.simulators.fleet import Fleet, FleetLink


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m iotcard.simulators.fleet",
        description="Simulated agents publishing the iotcard MQTT contract: 1 in 20 cards low on data, exhausted, "
        "expiring and expired each; three companies.",
    )
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883", help="mqtt://HOST[:PORT] (default %(default)s)")
    parser.add_argument("--devices", type=int, default=20, help="how many devices (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=3, help="telemetry rounds per device (default %(default)s)")
    parser.add_argument("--plans-csv", type=Path, help="also write the cards' plans here, for 'plans import'")
    parser.add_argument("--swap", action="store_true", help="then swap the cards of the first two devices")
    args = parser.parse_args(argv)
    parts = urlsplit(args.broker)
    if parts.scheme != "mqtt" or not parts.hostname:
        print(f"broker URL {args.broker!r} is not mqtt://HOST[:PORT] (the fleet speaks plain MQTT)", file=sys.stderr)
        return 2
    now = datetime.now(UTC).replace(microsecond=0)
    fleet = Fleet.build(args.devices, today=now.date())
    if args.plans_csv is not None:
        args.plans_csv.write_text(fleet.plans_csv(), encoding="utf-8")
    link = FleetLink(parts.hostname, parts.port or 1883, [d.device_id for d in fleet.devices])
    messages = [*fleet.hello(now), *fleet.rounds(now - timedelta(hours=4 * args.rounds), args.rounds)]
    if args.swap and len(fleet.devices) >= 2:
        messages += fleet.swap(fleet.devices[0], fleet.devices[1], now)
    for message in messages:
        link.publish(message.device_id, message.topic, message.payload, retain=message.retain)
    done = link.drain(60)
    link.close()
    print(f"{len(messages)} messages from {len(fleet.devices)} devices: {'all acknowledged' if done else 'NOT all'}")
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())
