"""The daemon's view of its state dir: a damaged database is set aside, a full or read-only disk is a degraded state.

The agent must keep talking to the cloud when its flash is full or mounted read-only, and must not crash-loop on a
damaged file: the outbox sets a damaged file aside itself; the usage database is checked here before the meter
opens it (``quick_check``), and set aside the same way (``usage.sqlite3.corrupt-<time>``). Errors of a full or
read-only disk are :class:`StorageUnavailable`: the owner reports them (STATUS, ``iotcard status``) and tries again
later, so the agent recovers without a restart once space comes back.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from iotcard.contract.errors import IotcardError

__all__ = ["StorageUnavailable", "check_database", "describe_storage_error", "set_aside"]

log = logging.getLogger("iotcard.daemon")


class StorageUnavailable(IotcardError):
    """The state dir cannot be written (full, read-only, missing permissions): a degraded state, not a crash."""

    code = "storage_unavailable"


def describe_storage_error(exc: BaseException, path: Path) -> str:
    """One sentence for a full, read-only or unusable state dir."""
    text = str(exc).lower()
    if "full" in text or getattr(exc, "errno", None) == errno.ENOSPC:
        return f"the state dir of {path} is full; the agent keeps running and retries when space is back"
    unwritable = path.parent.is_dir() and not os.access(path.parent, os.W_OK)
    if (
        unwritable
        or "readonly" in text
        or "read-only" in text
        or getattr(exc, "errno", None) in (errno.EROFS, errno.EACCES)
    ):
        return f"cannot write {path} (read-only or no permission); the agent keeps running without it"
    return f"cannot use {path}: {exc}"


def check_database(path: Path) -> str | None:
    """Why the SQLite file at ``path`` is damaged, or None (fine, or absent). Opens it read-only."""
    if not path.exists():
        return None
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.OperationalError:
        return None  # unreadable is a permission problem, not damage: the writer's open says so
    try:
        result = db.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.OperationalError as exc:
        if "malformed" in str(exc) or "not a database" in str(exc):
            return str(exc)
        return None
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        db.close()
    return None if result == "ok" else str(result)


def set_aside(path: Path, clock: Callable[[], float] = time.time) -> Path:
    """Move ``path`` (and its -wal/-shm) to ``<name>.corrupt-<time>``; the next open starts a fresh file."""
    aside = path.with_name(f"{path.name}.corrupt-{int(clock())}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.rename(Path(f"{aside}{suffix}"))
    return aside
