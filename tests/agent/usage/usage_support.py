"""A fake sysfs/proc tree for the usage meter, and a fake clock."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass
class FakeClock:
    now: float = 1_740_000_000.0  # 2025-02-20 05:20 +08:00

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeSysfs:
    """``root/sys/class/net/IF/statistics/{rx,tx}_bytes`` + ``ifindex`` and ``root/proc/.../boot_id``."""

    def __init__(self, root: Path, interface: str = "wwan0", boot_id: str = "boot-1") -> None:
        self.root = root
        self.sys = root / "sys"
        self.proc = root / "proc"
        self.interface = interface
        self.set_boot(boot_id)

    def _write(self, path: Path, text: str) -> None:
        # Write-then-rename: a reader never sees half a number.
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="ascii")
        os.replace(tmp, path)

    def set(self, rx: int, tx: int, ifindex: int | None = 4) -> None:
        base = self.sys / "class" / "net" / self.interface
        if ifindex is not None:
            self._write(base / "ifindex", f"{ifindex}\n")
        self._write(base / "statistics" / "tx_bytes", f"{tx}\n")
        self._write(base / "statistics" / "rx_bytes", f"{rx}\n")

    def remove(self) -> None:
        base = self.sys / "class" / "net" / self.interface
        for path in sorted(base.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        base.rmdir()

    def set_boot(self, boot_id: str) -> None:
        self._write(self.proc / "sys" / "kernel" / "random" / "boot_id", boot_id + "\n")
