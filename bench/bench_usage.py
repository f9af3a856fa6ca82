"""Usage meter benchmarks: CPU per sample, database size after a year, bytes written to disk per day.

Run: .venv/bin/python bench/bench_usage.py [--quick]

- CPU per sample: ``time.process_time`` over many samples read from a fake sysfs tree on disk (the same file reads
  as on a device), once without commits and once with the default 5-minute commits amortized in.
- A year of 1-minute samples (fake clock, counters in memory so the run is short): the database and WAL size.
- Bytes written per day at default settings (60 s samples, 5 min commits): a simulated day, with ``os.sync()`` after
  every commit so that each commit's dirty pages reach the disk as they would with minutes between commits.
  Measured as ``write_bytes`` of /proc/self/io (what this process caused to be sent to the block layer, in 4 KiB
  page-cache pages: WAL, database and the ``-shm`` index; the filesystem's own journal is not included), next to the
  meter's own file-level count.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [
    str(Path(__file__).resolve().parents[1]),
    str(Path(__file__).resolve().parents[1] / "tests/agent/usage"),
]

from usage_support import FakeClock, FakeSysfs  # noqa: E402

from iotcard.agent.usage import DB_NAME, CounterReading, MeterSettings, UsageMeter, open_summary  # noqa: E402


def write_bytes() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("no write_bytes in /proc/self/io")


def cpu_per_sample(base: Path, samples: int, commit_interval: float) -> float:
    tree = FakeSysfs(base / f"root-{commit_interval}")
    tree.set(0, 0)
    clock = FakeClock()
    settings = MeterSettings(sysfs_root=tree.sys, proc_root=tree.proc, commit_interval=commit_interval)
    with UsageMeter(base / f"cpu-{commit_interval}", settings, clock=clock) as meter:
        meter.sample()
        started = time.process_time()
        for _ in range(samples):
            clock.advance(60)
            meter.sample()
        spent = time.process_time() - started
    return spent / samples * 1000


class Counters:
    """In-memory counters growing like a busy gateway: ~3 MB/day in, ~1 MB/day out."""

    def __init__(self) -> None:
        self.rx = self.tx = 0

    def read(self) -> CounterReading:
        self.rx += 2_100
        self.tx += 700
        return CounterReading("wwan0", True, self.rx, self.tx, 4)


def year_of_samples(base: Path, minutes: int) -> tuple[int, int, float]:
    clock = FakeClock()
    counters = Counters()
    state = base / "year"
    started = time.perf_counter()
    with UsageMeter(state, MeterSettings(), clock=clock, read=counters.read, boot_id=lambda: "boot") as meter:
        for _ in range(minutes):
            clock.advance(60)
            meter.sample()
    elapsed = time.perf_counter() - started
    files = [state / DB_NAME, state / f"{DB_NAME}-wal", state / f"{DB_NAME}-shm"]
    size = sum(path.stat().st_size for path in files if path.exists())
    total = open_summary(state, MeterSettings(), clock=clock).months
    return size, len(total), elapsed


def day_of_writes(base: Path) -> tuple[int, int, int]:
    clock = FakeClock()
    counters = Counters()
    state = base / "day"
    meter = UsageMeter(state, MeterSettings(), clock=clock, read=counters.read, boot_id=lambda: "boot")
    meter.sample()  # the install's baseline, not part of the day
    os.sync()
    before_io, before_count = write_bytes(), meter.store.bytes_written_total
    commits = 0
    for _ in range(24 * 60):
        clock.advance(60)
        if meter.sample().committed:
            commits += 1
            os.sync()
    io_bytes = write_bytes() - before_io
    counted = meter.store.bytes_written_total - before_count
    meter.close()
    return io_bytes, counted, commits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a month instead of a year")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR", "/var/tmp")) as tmp:
        base = Path(tmp)
        fs = subprocess.run(["stat", "-f", "-c", "%T", tmp], capture_output=True, text=True).stdout.strip()
        print(f"iotcard usage meter, Python {sys.version.split()[0]}, state on {fs}")
        plain = cpu_per_sample(base, 20_000, commit_interval=1e12)
        amortized = cpu_per_sample(base, 20_000, commit_interval=300)
        print(f"CPU per sample (fake sysfs on disk), no commit:           {plain:.3f} ms (target < 2 ms)")
        print(f"CPU per sample, 5 min commits amortized:                  {amortized:.3f} ms")
        minutes = 31 * 24 * 60 if args.quick else 365 * 24 * 60
        size, months, elapsed = year_of_samples(base, minutes)
        label = "a month" if args.quick else "a year"
        print(
            f"database after {label} of 1-minute samples ({minutes} samples, {months} months kept): "
            f"{size / 1024:.1f} KiB (target < 2 MB), simulated in {elapsed:.1f} s"
        )
        io_bytes, counted, commits = day_of_writes(base)
        print(f"bytes written per day at defaults ({commits} commits):")
        print(f"  /proc/self/io write_bytes, sync after each commit:       {io_bytes / 1024:.0f} KiB")
        print(f"  the meter's own count (WAL frames + checkpointed pages): {counted / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
