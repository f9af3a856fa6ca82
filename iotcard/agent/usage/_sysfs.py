"""Read the kernel's byte counters of one interface, and the boot id, under configurable roots.

Linux publishes per-interface counters in ``/sys/class/net/IF/statistics/{rx,tx}_bytes`` and the interface's
``ifindex`` beside them; a re-created interface (``ppp0`` for every PPP session) gets a new ifindex. The boot id
(``/proc/sys/kernel/random/boot_id``) is a random UUID drawn at every boot, which tells a reboot from a reset.
An interface that is absent is a value saying so, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["CounterReading", "read_boot_id", "read_counters"]


@dataclass(frozen=True, slots=True)
class CounterReading:
    """One read of an interface's counters. ``present`` is False (and the counts None) when it is absent."""

    interface: str
    present: bool
    rx_bytes: int | None = None
    tx_bytes: int | None = None
    ifindex: int | None = None
    problem: str | None = None


def _read_int(path: Path) -> int:
    text = path.read_text(encoding="ascii").strip()
    value = int(text)
    if value < 0:
        raise ValueError(f"negative counter {value}")
    return value


def read_counters(interface: str, sysfs_root: Path | str = "/sys") -> CounterReading:
    """The counters of ``interface`` under ``sysfs_root`` (``/sys`` on a device, a fake tree in tests)."""
    if not interface or "/" in interface or interface in (".", ".."):
        return CounterReading(interface, present=False, problem=f"invalid interface name {interface!r}")
    base = Path(sysfs_root) / "class" / "net" / interface
    stats = base / "statistics"
    try:
        rx = _read_int(stats / "rx_bytes")
        tx = _read_int(stats / "tx_bytes")
    except FileNotFoundError:
        return CounterReading(interface, present=False, problem=f"{base} does not exist")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        # A counter file that vanishes mid-read (interface torn down) or holds no number: nothing to count.
        return CounterReading(interface, present=False, problem=f"{stats} unreadable: {exc}")
    try:
        ifindex: int | None = _read_int(base / "ifindex")
    except (OSError, ValueError, UnicodeDecodeError):
        ifindex = None
    return CounterReading(interface, present=True, rx_bytes=rx, tx_bytes=tx, ifindex=ifindex)


def read_boot_id(proc_root: Path | str = "/proc") -> str | None:
    """The kernel's boot id, or None where there is none (then a counter drop counts as a reset)."""
    try:
        text = (Path(proc_root) / "sys" / "kernel" / "random" / "boot_id").read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None
