"""Benchmark: the agent daemon over a long run with the modem simulator and a real Mosquitto at default intervals.

Records start-up time to READY (on a notify socket this script provides, as systemd would), peak and steady RSS,
RSS growth over the run, CPU averaged over the run, and `iotcard status` latency through the control socket.
Goals: RSS <= 45 MB, CPU <= 1 % of one core, growth < 1 MB.
Run: .venv/bin/python bench/bench_daemon.py [--duration 3600] [--delay-ms 20]

--tracemalloc N runs the daemon under tracemalloc (N frames; it costs memory and time, so RSS and CPU figures of such
a run are not the daemon's) and, at the end, prints where the Python heap is: the live allocations by package and
by line. /proc/PID/smaps_rollup splits the resident memory into anonymous (heaps, stacks) and file-backed (code).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The project root first, so "tests/agent" never shadows the real package.
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "agent" / "telemetry")]

from mosquitto_support import Broker  # noqa: E402

from iotcard.simulators.modem import ModemSimulator  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as handle:
        return int(handle.read().split()[1]) * PAGE


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def memory_split(pid: int) -> str:
    """Resident memory by kind from /proc/PID/smaps_rollup: anonymous (heaps, stacks) against file-backed (code)."""
    fields: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup") as handle:
        for line in handle:
            name, _, rest = line.partition(":")
            if rest.strip().endswith("kB"):
                fields[name] = int(rest.split()[0])
    anon = fields.get("Anonymous", 0)
    files = fields.get("Rss", 0) - anon
    pss = fields.get("Pss", 0)
    return f"anonymous {anon / 1024:.1f} MB, file-backed {files / 1024:.1f} MB (Pss {pss / 1024:.1f} MB)"


# Runs the daemon's CLI with a handler that writes a tracemalloc snapshot on SIGUSR2 (see --tracemalloc).
TRACED_DAEMON = """
import itertools, os, signal, sys, tracemalloc
taken = itertools.count(1)
def dump(signum, frame):
    path = f"{sys.argv[1]}.{next(taken)}"
    tracemalloc.take_snapshot().dump(path + ".part")
    os.rename(path + ".part", path)
signal.signal(signal.SIGUSR2, dump)
from iotcard.agent.cli import main
sys.exit(main(sys.argv[2:]))
"""


def load_snapshot(path: Path) -> Any:
    import tracemalloc

    deadline = time.monotonic() + 60
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    return tracemalloc.Snapshot.load(str(path)).filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<unknown>")]
    )


def heap_growth(first: Any, last: Any, top: int = 12) -> str:
    """What the Python heap gained between two snapshots, by line of the allocation."""
    lines = ["heap growth between the snapshots, by line:"]
    for stat in last.compare_to(first, "lineno")[:top]:
        frame = stat.traceback[0]
        where = f"{frame.filename.split('/')[-1]}:{frame.lineno}"
        lines.append(f"  {stat.size_diff / 1024:+8.1f} KiB  {stat.count_diff:+6d} blocks  {where}")
    return "\n".join(lines)


def heap_report(snapshot: Any, top: int = 12) -> str:
    """The traced Python heap by package (iotcard.* by module) and the largest single lines."""
    by_package: dict[str, int] = {}
    for stat in snapshot.statistics("filename"):
        name = stat.traceback[0].filename
        if "site-packages/" in name:
            key = name.split("site-packages/", 1)[1].split("/", 1)[0]
        elif "/iotcard/" in name:
            key = "iotcard/" + name.split("/iotcard/", 1)[1].rsplit("/", 1)[0]
        elif name.startswith("<frozen"):
            key = "imports (code objects, module dicts)"
        else:
            key = "stdlib: " + Path(name).stem
        by_package[key] = by_package.get(key, 0) + stat.size
    total = sum(by_package.values())
    lines = [f"traced Python heap {total / 2**20:.1f} MB, by package (file of the allocating line):"]
    for key, size in sorted(by_package.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {size / 2**20:6.2f} MB  {key}")
    lines.append("largest lines:")
    for stat in snapshot.statistics("lineno")[:top]:
        frame = stat.traceback[0]
        lines.append(f"  {stat.size / 2**20:6.2f} MB  {frame.filename.split('/')[-1]}:{frame.lineno}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=3600.0, help="seconds to run (default one hour)")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="simulator answer delay")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--samples", type=Path, help="append each sample (seconds, RSS bytes, CPU seconds) to this CSV")
    parser.add_argument("--tracemalloc", type=int, metavar="N", help="trace the daemon's heap (N frames); see above")
    parser.add_argument(
        "--heap-diff-from",
        type=float,
        metavar="S",
        help="with --tracemalloc: also a snapshot S seconds in, and the growth",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="iotcard-bench-"))
    broker = Broker(work / "broker")
    broker.start()
    sim = ModemSimulator(profile="quectel_ec25", answer_delay=args.delay_ms / 1000, link=str(work / "tty"))
    sim.start()
    config = work / "agent.toml"
    config.write_text(
        f'[device]\nid = "bench-0001"\n[modem]\nport = "{work / "tty"}"\n[paths]\nstate_dir = "{work / "state"}"\n'
        f'[usage]\ninterface = "lo"\n[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\ntls = false\n'
        f'[directed]\ntargets = ["127.0.0.1:{broker.port}"]\n'
    )
    notify_path = work / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.settimeout(30)
    control = work / "agent.sock"
    # As the systemd unit sets it: one malloc arena per thread would hold memory the agent does not need.
    env = {**os.environ, "NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "120000000", "MALLOC_ARENA_MAX": "2"}
    started = time.perf_counter()
    run = ["run", "--config", str(config), "--control-socket", str(control)]
    snapshot = work / "heap.snapshot"
    if args.tracemalloc:
        command = [sys.executable, "-X", f"tracemalloc={args.tracemalloc}", "-c", TRACED_DAEMON, str(snapshot), *run]
    else:
        command = [sys.executable, "-m", "iotcard.agent.cli", *run]
    # The daemon's log goes to a file, as systemd's journal would take it. A pipe nobody reads fills after 64 KiB
    # (one line a status request: about two hours here) and then blocks the daemon's next log line, a control
    # request's included: the CLI then waits 300 s for an answer that never comes.
    log_path = work / "daemon.log"
    log_file = log_path.open("w")
    daemon = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log_file)
    log_file.close()
    try:
        while b"READY=1" not in notify.recv(4096):
            pass
        ready_s = time.perf_counter() - started
        rss: list[int] = []
        cpu_start = cpu_seconds(daemon.pid)
        wall_start = time.monotonic()
        latencies: list[float] = []
        watchdogs = 0
        notify.settimeout(0.01)
        first_snapshot_due = args.heap_diff_from if args.tracemalloc and args.heap_diff_from else None
        while time.monotonic() - wall_start < args.duration:
            if first_snapshot_due is not None and time.monotonic() - wall_start >= first_snapshot_due:
                daemon.send_signal(signal.SIGUSR2)
                first_snapshot_due = None
            rss.append(rss_bytes(daemon.pid))
            if args.samples:
                with args.samples.open("a") as out:
                    elapsed = time.monotonic() - wall_start
                    out.write(f"{elapsed:.0f},{rss[-1]},{cpu_seconds(daemon.pid) - cpu_start:.2f}\n")
            t0 = time.perf_counter()
            status = subprocess.run(
                [sys.executable, "-m", "iotcard.agent.cli", "--socket", str(control), "status", "--json"],
                capture_output=True,
                cwd=ROOT,
            )
            latencies.append(time.perf_counter() - t0)
            assert status.returncode == 0, f"{status.stderr!r}; the daemon's log: {log_path}"
            deadline = time.monotonic() + args.every
            while time.monotonic() < deadline:
                try:
                    if b"WATCHDOG=1" in notify.recv(4096):
                        watchdogs += 1
                except TimeoutError:
                    time.sleep(0.2)
        wall = time.monotonic() - wall_start
        cpu = cpu_seconds(daemon.pid) - cpu_start
        # Status calls each cost the daemon a little; they are part of the measured load on purpose.
        # Early: the first 10 minutes (the first tenth on short runs); late: the last hour (the second half on runs
        # under two hours). Medians, so one status call's transient does not decide.
        per_minute = 60 / args.every
        early_n = int(10 * per_minute) if wall >= 7200 else max(2, len(rss) // 10)
        late_n = int(60 * per_minute) if wall >= 7200 else len(rss) // 2
        steady = statistics.median(rss[-late_n:])
        warm = statistics.median(rss[1:early_n])
        print(f"iotcard run, {wall:.0f} s, simulator delay {args.delay_ms:g} ms, broker on loopback, default intervals")
        print(f"start-up to READY        {ready_s:.2f} s")
        print(f"RSS peak / steady        {max(rss) / 2**20:.1f} MB / {steady / 2**20:.1f} MB   (goal <= 45 MB)")
        print(f"RSS growth (late - early) {(steady - warm) / 2**20:+.2f} MB   (goal < 1 MB)")
        print(f"CPU                      {100 * cpu / wall:.2f} % of one core   (goal <= 1 %)")
        print(f"status via socket        median {statistics.median(latencies) * 1000:.0f} ms (whole CLI process)")
        print(f"watchdog pings           {watchdogs}")
        print(f"modem commands answered  {len(sim.commands)}")
        print(f"RSS at the end           {rss_bytes(daemon.pid) / 2**20:.1f} MB: {memory_split(daemon.pid)}")
        if args.tracemalloc:
            daemon.send_signal(signal.SIGUSR2)
            first_taken = bool(args.heap_diff_from) and first_snapshot_due is None
            last = load_snapshot(Path(f"{snapshot}.{2 if first_taken else 1}"))
            print(heap_report(last))
            if first_taken:
                print(heap_growth(load_snapshot(Path(f"{snapshot}.1")), last))
    finally:
        daemon.terminate()
        try:
            daemon.wait(15)
        except subprocess.TimeoutExpired:
            daemon.kill()
        sim.stop()
        broker.stop()
        notify.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
