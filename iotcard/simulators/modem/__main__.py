"""``python -m iotcard.simulators.modem``: serve a simulated AT modem on a pty until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from iotcard.simulators.modem._profiles import PROFILES
from iotcard.simulators.modem._scenarios import SCENARIOS
from iotcard.simulators.modem._simulator import ModemSimulator

EPILOG = """\
The first line on stdout is the path to open (the --link if given, else /dev/pts/N); then the simulator
serves until SIGINT or SIGTERM and exits 0.

examples:
  python -m iotcard.simulators.modem --list
  python -m iotcard.simulators.modem --profile quectel_ec25
  python -m iotcard.simulators.modem --profile huawei_me909s --scenario sim_absent --link /tmp/modem0
  python -m iotcard.simulators.modem --profile simcom_sim7600 --answer-delay 20      # benchmarks
  python -m iotcard.simulators.modem --link /tmp/ttyIOT0 &                         # then talk to it by hand:
  picocom -b 115200 /tmp/ttyIOT0
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m iotcard.simulators.modem",
        description="Simulate a 4G cellular module's AT command port on a pseudo-terminal.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--profile", default="quectel_ec25", choices=sorted(PROFILES), help="module model to play")
    parser.add_argument("--scenario", default="normal", choices=sorted(SCENARIOS), help="fault to play (see --list)")
    parser.add_argument(
        "--answer-delay", type=float, default=0.0, metavar="MS", help="delay every answer by MS milliseconds"
    )
    parser.add_argument(
        "--link", metavar="PATH", help="stable symlink to the pty (like /dev/serial/by-id/...), kept across vanishes"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for garbage bytes, URC storms and chunk sizes")
    parser.add_argument("--list", action="store_true", help="list profiles and scenarios, then exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every command line and answer to stderr")
    return parser


def list_choices() -> str:
    lines = ["profiles:"]
    width = max(map(len, [*PROFILES, *SCENARIOS]))
    lines += [f"  {name:<{width}}  {profile.summary}" for name, profile in PROFILES.items()]
    lines.append("scenarios:")
    lines += [f"  {name:<{width}}  {scenario.summary}" for name, scenario in SCENARIOS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.list:
        print(list_choices())
        return 0
    if args.answer_delay < 0:
        print("--answer-delay must be >= 0", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(asctime)s %(message)s", stream=sys.stderr
    )
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    simulator = ModemSimulator(
        profile=args.profile,
        scenario=args.scenario,
        answer_delay=args.answer_delay / 1000.0,
        link=args.link,
        seed=args.seed,
    )
    try:
        path = simulator.start()
    except OSError as exc:
        print(f"cannot open the pty or the link: {exc}", file=sys.stderr)
        return 1
    try:
        print(path, flush=True)
        while not stop_requested.wait(0.2):
            pass
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
