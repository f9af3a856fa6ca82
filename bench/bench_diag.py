"""Benchmark: a full `iotcard diag` on the simulator (20 ms per answer) with three reachable directed targets.

Target: under 3 s. The facts come from the pty modem simulator and the tests' loopback network (a real dnsmasq,
listeners on 127.0.0.x; see tests/directed_loopback.py).
Run: .venv/bin/python bench/bench_diag.py [--runs 5] [--delay-ms 20]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The project root first, so "tests/agent" and "tests/drivers" never shadow the real packages.
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from directed_loopback import RECORDS, Dnsmasq, OpenListener  # noqa: E402
from iotcard.agent.cli import main as iotcard  # noqa: E402
from iotcard.simulators.modem import ModemSimulator  # noqa: E402

TARGET_WALL_S = 3.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--delay-ms", type=float, default=20.0)
    args = parser.parse_args()
    listener = OpenListener("127.0.0.2")
    server = Dnsmasq({**RECORDS, "ecloud.iot.test": "127.0.0.2"}).start()
    targets = [f"open.iot.test:{listener.port}", f"ecloud.iot.test:{listener.port}", f"127.0.0.2:{listener.port}"]
    common = ["--targets", *targets, "--dns", server.address, "--json"]
    print(f"iotcard diag, simulator answer delay {args.delay_ms:g} ms, 3 directed targets, {args.runs} runs")
    worst = 0.0
    try:
        for mode in ("in-process", "CLI"):
            times: list[float] = []
            verdict = ""
            for _ in range(args.runs):
                with (
                    tempfile.TemporaryDirectory() as state,
                    ModemSimulator(profile="quectel_ec25", answer_delay=args.delay_ms / 1000) as sim,
                ):
                    argv = ["diag", "--port", sim.path, "--state-dir", state, *common]
                    started = time.perf_counter()
                    if mode == "CLI":
                        done = subprocess.run(
                            [sys.executable, "-m", "iotcard.agent.cli", *argv], capture_output=True, text=True, cwd=ROOT
                        )
                        output = done.stdout
                    else:
                        buffer = io.StringIO()
                        iotcard(argv, stdout=buffer, stderr=io.StringIO())
                        output = buffer.getvalue()
                    times.append(time.perf_counter() - started)
                    doc = json.loads(output)
                    verdict = doc["verdict"]
                    verdicts = [result["verdict"] for result in doc["probes"]["results"]]
                    assert verdicts == ["reachable"] * 3, verdicts
            worst = max(worst, max(times))
            print(f"{mode:<12} median {statistics.median(times):.3f} s   max {max(times):.3f} s   verdict {verdict}")
    finally:
        server.stop()
        listener.close()
    print(f"worst run: {worst:.3f} s (target < {TARGET_WALL_S:g} s)")
    return 0 if worst < TARGET_WALL_S else 1


if __name__ == "__main__":
    sys.exit(main())
