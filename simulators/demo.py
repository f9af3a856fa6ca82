"""`make demo`: run `iotcard info` against the modem simulator on a pseudo-terminal, as a technician would."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path


def run_demo(profile: str, scenario: str, extra: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="iotcard-demo-") as tmp:
        link = str(Path(tmp) / "ttyIOT0")
        sim = subprocess.Popen(
            [sys.executable, "-m", "simulators.modem", "--profile", profile, "--scenario", scenario, "--link", link],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert sim.stdout is not None
            port = sim.stdout.readline().strip()
            if not port:
                print("the modem simulator did not start", file=sys.stderr)
                return 1
            print(f"$ iotcard info --port {port} {' '.join(extra)}".rstrip(), flush=True)
            iotcard = [sys.executable, "-m", "agent.cli", "info", "--port", port, *extra]
            return subprocess.call(iotcard, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        finally:
            sim.send_signal(signal.SIGTERM)
            try:
                sim.wait(timeout=5)
            except subprocess.TimeoutExpired:
                sim.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run `iotcard info` against the pty modem simulator.")
    parser.add_argument("--profile", default="quectel_ec25")
    parser.add_argument("--scenario", default="normal")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    status = run_demo(args.profile, args.scenario, ["--json"] if args.json else [])
    if status == 0 and not args.json:
        print()
        status = run_demo("huawei_me909s", "roaming", [])
    return status


if __name__ == "__main__":
    sys.exit(main())
