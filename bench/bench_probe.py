"""Benchmark: `iotcard probe` with 20 targets, 5 of which time out at 2 s, against a loopback network.

Targets run concurrently, so the whole run should take about as long as the slowest probe (target: <= 2.5 s).
The network is the one the tests use (tests/directed_loopback.py): a real dnsmasq, listeners on
127.0.0.x, and listeners whose full accept queue drops SYNs like a carrier's whitelist does.
Run: .venv/bin/python bench/bench_probe.py [--runs 5] [--timeout 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The project root first, so "tests/agent" and "tests/drivers" never shadow the real packages.
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from directed_loopback import RECORDS, BlockedListener, ClosedPort, Dnsmasq, OpenListener  # noqa: E402
from iotcard.agent.directed import ProbeOptions, parse_dns_server, probe_texts  # noqa: E402

TARGET_WALL_S = 2.5


def targets(open_port: int, closed_port: int, blocked_ports: list[int]) -> list[str]:
    reachable = [f"open.iot.test:{open_port}"] * 6 + [f"127.0.0.2:{open_port}"] * 4
    closed = [f"closed.iot.test:{closed_port}"] * 3
    failing_dns = ["missing.iot.test", "elsewhere.example"]
    blocked = [f"blocked.iot.test:{port}" for port in blocked_ports]
    return reachable + closed + failing_dns + blocked


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=2.0)
    args = parser.parse_args()
    opened, closed = OpenListener("127.0.0.2"), ClosedPort("127.0.0.3")
    blocked = [BlockedListener("127.0.0.4") for _ in range(5)]
    if not all(listener.verified for listener in blocked):
        print("this kernel answers SYNs to a full accept queue: no silent-drop listener, no benchmark")
        return 1
    server = Dnsmasq(dict(RECORDS)).start()
    try:
        texts = targets(opened.port, closed.port, [listener.port for listener in blocked])
        options = ProbeOptions(dns_servers=(parse_dns_server(server.address),), timeout=args.timeout)
        print(f"iotcard probe, {len(texts)} targets (5 dropped, timeout {args.timeout:g} s), {args.runs} runs")
        times: list[float] = []
        verdicts: Counter[str] = Counter()
        for _ in range(args.runs):
            started = time.perf_counter()
            results = probe_texts(texts, options)
            times.append(time.perf_counter() - started)
            verdicts = Counter(result.verdict.value for result in results)
        print(f"{'probe_texts':<22} median {statistics.median(times):.3f} s   max {max(times):.3f} s")
        print("verdicts: " + ", ".join(f"{name} {count}" for name, count in sorted(verdicts.items())))
        # The whole command as a technician runs it: interpreter start, imports, probes, JSON output.
        argv = [sys.executable, "-m", "iotcard.agent.cli", "probe", *texts, "--dns", server.address]
        argv += ["--timeout", str(args.timeout), "--json"]
        cli_times: list[float] = []
        for _ in range(args.runs):
            started = time.perf_counter()
            completed = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False)
            cli_times.append(time.perf_counter() - started)
            assert completed.returncode == 1, completed.stderr
            assert len(json.loads(completed.stdout)["results"]) == len(texts)
        print(f"{'iotcard probe CLI':<22} median {statistics.median(cli_times):.3f} s   max {max(cli_times):.3f} s")
        worst = max(*times, *cli_times)
        verdict = "ok" if worst <= TARGET_WALL_S else "TOO SLOW"
        print(f"worst run: {worst:.3f} s (target <= {TARGET_WALL_S} s): {verdict}")
        return 0 if worst <= TARGET_WALL_S else 1
    finally:
        server.stop()
        for resource in (opened, closed, *blocked):
            resource.close()


if __name__ == "__main__":
    sys.exit(main())
