"""``--icmp``: the system ``ping``, run with an argument list (never a shell). Informational: carriers often drop
ICMP on directed cards, so it never decides the verdict."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from collections.abc import Callable

from ._model import Binding, BindMethod, IcmpResult, IcmpStatus

__all__ = ["ping", "ping_argv"]

_RTT = re.compile(r"time[=<]\s*([0-9.]+)\s*ms")


def ping_argv(address: str, timeout: float, *, source: str | None = None, command: str = "ping") -> list[str]:
    """``ping -n -c 1 -W <seconds> [-I <interface or address>] <address>`` (iputils; -W takes whole seconds)."""
    argv = [command, "-n", "-c", "1", "-W", str(max(1, math.ceil(timeout)))]
    if source:
        argv += ["-I", source]
    argv.append(address)
    return argv


def _source(binding: Binding, address: str) -> str | None:
    if binding.method is BindMethod.DEVICE:
        return binding.interface
    if binding.method is BindMethod.SOURCE_ADDRESS:
        return binding.source_v6 if ":" in address else binding.source_v4
    return None


def ping(address: str, *, timeout: float, binding: Binding, command: str, clock: Callable[[], float]) -> IcmpResult:
    """One echo request to ``address``: ``reply``, ``no_reply``, ``error`` or ``unavailable`` (no ping here)."""
    if shutil.which(command) is None:
        return IcmpResult(IcmpStatus.UNAVAILABLE, address, None, 0, detail=f"'{command}' is not installed")
    argv = ping_argv(address, timeout, source=_source(binding, address), command=command)
    started = clock()
    try:
        completed = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout + 2, check=False, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        elapsed = round((clock() - started) * 1000)
        return IcmpResult(IcmpStatus.NO_REPLY, address, None, elapsed, tuple(argv), "ping did not finish in time")
    except OSError as exc:
        elapsed = round((clock() - started) * 1000)
        return IcmpResult(IcmpStatus.ERROR, address, None, elapsed, tuple(argv), exc.strerror or str(exc))
    elapsed = round((clock() - started) * 1000)
    if completed.returncode == 0:
        match = _RTT.search(completed.stdout)
        rtt = float(match.group(1)) if match else None
        return IcmpResult(IcmpStatus.REPLY, address, rtt, elapsed, tuple(argv))
    if completed.returncode == 1:  # iputils: sent, no reply
        return IcmpResult(IcmpStatus.NO_REPLY, address, None, elapsed, tuple(argv))
    lines = (completed.stderr or completed.stdout).strip().splitlines()
    return IcmpResult(IcmpStatus.ERROR, address, None, elapsed, tuple(argv), lines[-1] if lines else None)
