"""Small crash-safe state files in the state directory: write to a temp file, fsync, rename, fsync the directory."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from iotcard.agent.errors import ConfigError

__all__ = [
    "KnownIdentity",
    "last_seen_identity",
    "load_identity",
    "read_json",
    "remember_identity",
    "save_identity",
    "write_json_atomic",
]

IDENTITY_FILE = "identity.json"
log = logging.getLogger("iotcard.state")


@dataclass(frozen=True, slots=True)
class KnownIdentity:
    """The card and module this device last saw: a change means a card moved (机卡分离 risk) or a module swap."""

    iccid: str | None
    imei: str | None


def write_json_atomic(path: Path, data: dict[str, Any]) -> int:
    """Replace ``path`` with ``data`` so that a power cut leaves the old or the new file, never half of one.

    Returns the bytes written (flash wear is counted by the callers).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return len(payload)


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object at ``path``; None when the file does not exist. A corrupt file is a ConfigError naming it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"state file {path} is corrupt ({exc}); remove it to start afresh") from None
    if not isinstance(data, dict):
        raise ConfigError(f"state file {path} does not hold a JSON object; remove it to start afresh")
    return data


def load_identity(state_dir: Path) -> KnownIdentity | None:
    data = read_json(state_dir / IDENTITY_FILE)
    if data is None:
        return None
    iccid, imei = data.get("iccid"), data.get("imei")
    return KnownIdentity(iccid if isinstance(iccid, str) else None, imei if isinstance(imei, str) else None)


def save_identity(state_dir: Path, identity: KnownIdentity) -> int:
    """Record the identity, only when it changed (each write wears the flash)."""
    if load_identity(state_dir) == identity:
        return 0
    return write_json_atomic(state_dir / IDENTITY_FILE, asdict(identity))


def last_seen_identity(state_dir: Path) -> KnownIdentity | None:
    """The identity last recorded, or None when there is none or it cannot be read (logged, never fatal)."""
    try:
        return load_identity(state_dir)
    except (ConfigError, OSError) as exc:
        log.warning("cannot read the last-seen identity: %s", exc)
        return None


def remember_identity(state_dir: Path, iccid: str | None, imei: str | None) -> None:
    """Record what was seen now; a user without write access to the state dir still gets a diagnosis."""
    if iccid is None and imei is None:
        return
    try:
        save_identity(state_dir, KnownIdentity(iccid, imei))
    except (ConfigError, OSError) as exc:
        log.info("cannot record the identity in %s: %s", state_dir, exc)
