"""A sampler that runs until killed: samples a fake tree every few ms and commits every 20 ms.

Usage: python sampler_process.py ROOT STATE_DIR START

START is the epoch second the sampler's clock reads at its start (the test's pinned clock, never the machine's);
from there it advances with the monotonic clock.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from iotcard.agent.usage import MeterSettings, UsageMeter


def main() -> None:
    root, state_dir, start = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
    origin = time.monotonic()
    settings = MeterSettings(
        interface="wwan0",
        sysfs_root=root / "sys",
        proc_root=root / "proc",
        timezone="Asia/Shanghai",
        commit_interval=0.02,
    )
    meter = UsageMeter(state_dir, settings, clock=lambda: start + time.monotonic() - origin)
    meter.sample()
    print("ready", flush=True)
    while True:
        meter.sample()
        time.sleep(0.002)  # pacing of the sampler itself, not a test waiting for code


if __name__ == "__main__":
    main()
