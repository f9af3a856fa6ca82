"""Benchmark: `iotcard info` against the pty simulator answering every command after 20 ms.

The floor is one serial round trip per command, so the figure that matters is commands × delay + overhead.
Run: .venv/bin/python bench/bench_info.py [--delay-ms 20] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from iotcard.drivers.modem import Modem
from iotcard.simulators.modem import ModemSimulator

ROOT = Path(__file__).resolve().parents[1]

PROFILES = (
    "quectel_ec25",
    "quectel_ec200u",
    "quectel_rm500q",
    "simcom_sim7600",
    "simcom_a7670c",
    "huawei_me909s",
    "generic",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--delay-ms", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"iotcard info, simulator answer delay {args.delay_ms:g} ms, {args.runs} runs per profile")
    print(f"{'profile':<16} {'commands':>8} {'median s':>9} {'max s':>7} {'floor s':>8}")
    worst = 0.0
    for profile in PROFILES:
        times: list[float] = []
        commands = 0
        for _ in range(args.runs):
            with ModemSimulator(profile=profile, answer_delay=args.delay_ms / 1000) as sim:
                path = sim.path
                started = time.perf_counter()
                with Modem(path) as modem:
                    snapshot = modem.read_snapshot()
                times.append(time.perf_counter() - started)
                commands = snapshot.commands_sent
                assert len(sim.commands) == commands, (len(sim.commands), commands)
        worst = max(worst, max(times))
        floor = commands * args.delay_ms / 1000
        print(f"{profile:<16} {commands:>8} {statistics.median(times):>9.3f} {max(times):>7.3f} {floor:>8.3f}")
    # The whole command as a technician runs it: interpreter start, imports, port open, reads, output.
    cli_times: list[float] = []
    for _ in range(args.runs):
        with ModemSimulator(profile="quectel_ec25", answer_delay=args.delay_ms / 1000) as sim:
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "iotcard.agent.cli", "info", "--port", sim.path, "--json"],
                check=True,
                capture_output=True,
                cwd=ROOT,
            )
            cli_times.append(time.perf_counter() - started)
    worst = max(worst, max(cli_times))
    print(f"{'iotcard info CLI':<16} {'':>8} {statistics.median(cli_times):>9.3f} {max(cli_times):>7.3f}")
    print(f"worst run: {worst:.3f} s (target < 1.5 s)")
    return 0 if worst < 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
