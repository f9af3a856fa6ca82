"""The usage database: SQLite in WAL mode, a handful of small pages, written in batches.

Tables (``bucket`` is the bucket's start in the device's local time, as text that sorts by time)::

    hourly  (bucket 'YYYY-MM-DDTHH', rx, tx, agent_rx, agent_tx)   kept 7 days
    daily   (bucket 'YYYY-MM-DD',    rx, tx, agent_rx, agent_tx)   kept 400 days
    monthly (bucket 'YYYY-MM',       rx, tx, agent_rx, agent_tx)   kept 36 months
    meter_state (name, value JSON)   'interface:IF' → last accounted counters, boot id, ifindex, presence;
                                     'module' → the module's own counters; 'store' → bytes this store wrote

``rx``/``tx`` are the interface's bytes; ``agent_rx``/``agent_tx`` are the part of them the agent itself moved
(they are included in ``rx``/``tx``, not added to them).

Exactness across ``kill -9``: the bucket increments of a batch and the counter state they were computed from are
written in ONE transaction. A crash before COMMIT leaves the old state, so the next sample counts the same bytes
again from the old counters (nothing lost); a crash after COMMIT leaves the new state (nothing counted twice).

Flash: pages are 1 KiB, the WAL is checkpointed by the store itself (TRUNCATE, when it passes 64 KiB and at
close) rather than by SQLite's 1000-page auto-checkpoint, and ``synchronous=NORMAL`` skips the per-commit fsync
(WAL stays consistent; a power cut may lose the last commit, which the next boot's sample makes good up to the one
interval the reboot hides). The bytes written are counted at the file level: each commit's WAL growth plus, at each
checkpoint, one page per distinct page in the WAL (read from the WAL's frame headers). Filesystem metadata, the
``-shm`` index and the flash translation layer are not counted; ``bench/bench_usage.py`` measures those too.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._counters import CounterState

__all__ = ["DB_NAME", "Batch", "BucketRow", "InterfaceState", "ModuleCounters", "UsageStore"]

log = logging.getLogger("iotcard.usage")

DB_NAME = "usage.sqlite3"
PAGE_SIZE = 1024
CHECKPOINT_WAL_BYTES = 64 * 1024
SCHEMA_VERSION = 1
BUCKET_TABLES = ("hourly", "daily", "monthly")

_SCHEMA = [
    *(
        f"CREATE TABLE IF NOT EXISTS {table} (bucket TEXT PRIMARY KEY, rx INTEGER NOT NULL, tx INTEGER NOT NULL, "
        "agent_rx INTEGER NOT NULL, agent_tx INTEGER NOT NULL) WITHOUT ROWID"
        for table in BUCKET_TABLES
    ),
    "CREATE TABLE IF NOT EXISTS meter_state (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
]


@dataclass(frozen=True, slots=True)
class BucketRow:
    bucket: str
    rx_bytes: int
    tx_bytes: int
    agent_rx_bytes: int
    agent_tx_bytes: int


@dataclass(frozen=True, slots=True)
class InterfaceState:
    """The interface as last seen: ``counters`` is None until it was first seen present (no baseline yet)."""

    counters: CounterState | None
    present: bool
    checked_at: float
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class ModuleCounters:
    """The module's own byte counters (a second opinion, never added to the totals)."""

    rx_bytes: int
    tx_bytes: int
    at: float
    source: str


@dataclass
class Batch:
    """What a commit writes: bucket increments, interface states, module counters. Owned by one meter."""

    buckets: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    states: dict[str, InterfaceState] = field(default_factory=dict)
    module: ModuleCounters | None = None

    def add(self, keys: Iterable[tuple[str, str]], rx: int, tx: int, agent_rx: int = 0, agent_tx: int = 0) -> None:
        for key in keys:
            row = self.buckets.setdefault(key, [0, 0, 0, 0])
            row[0] += rx
            row[1] += tx
            row[2] += agent_rx
            row[3] += agent_tx

    @property
    def empty(self) -> bool:
        return not self.buckets and not self.states and self.module is None


def _state_to_json(state: InterfaceState) -> str:
    counters = state.counters
    doc: dict[str, Any] = {"present": state.present, "checked_at": state.checked_at, "problem": state.problem}
    if counters is not None:
        doc.update(
            rx=counters.rx_bytes,
            tx=counters.tx_bytes,
            boot_id=counters.boot_id,
            ifindex=counters.ifindex,
            at=counters.at,
        )
    return json.dumps(doc, separators=(",", ":"))


def _state_from_json(text: str) -> InterfaceState:
    doc = json.loads(text)
    counters = None
    if "rx" in doc:
        counters = CounterState(
            int(doc["rx"]), int(doc["tx"]), doc.get("boot_id"), doc.get("ifindex"), float(doc["at"])
        )
    return InterfaceState(counters, bool(doc["present"]), float(doc["checked_at"]), doc.get("problem"))


class UsageStore:
    """One connection to the usage database. A writer creates it; a reader (``writer=False``) never writes.

    Readers run concurrently with a writer in another process (WAL): they see the last committed batch.
    """

    def __init__(self, path: Path | str, *, writer: bool = True, busy_timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.writer = writer
        self.bytes_written_total = 0
        if writer:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if writer:
            self._conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=busy_timeout)
        else:
            # Read-only: never creates the file, never checkpoints or deletes the WAL of a running writer.
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            self._conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=busy_timeout)
        try:
            if writer:
                self._init_writer()
            else:
                self._conn.execute("PRAGMA query_only = 1")
            self.schema_ready = self._conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION
            if self.schema_ready:
                stored = self._get("store")
                self.bytes_written_total = int(stored["bytes_written"]) if stored else 0
        except BaseException:
            self._conn.close()
            raise

    def _init_writer(self) -> None:
        conn = self._conn
        if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # only takes effect on a new, empty database
        if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            raise sqlite3.OperationalError(f"{self.path}: cannot switch to WAL mode")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    @property
    def page_size(self) -> int:
        return int(self._conn.execute("PRAGMA page_size").fetchone()[0])

    # -- reading -------------------------------------------------------------------------------------------------

    def _get(self, name: str) -> dict[str, Any] | None:
        row = self._conn.execute("SELECT value FROM meter_state WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else None

    def interface_state(self, interface: str) -> InterfaceState | None:
        if not self.schema_ready:
            return None
        row = self._conn.execute("SELECT value FROM meter_state WHERE name = ?", (f"interface:{interface}",)).fetchone()
        return _state_from_json(row[0]) if row else None

    def module_counters(self) -> ModuleCounters | None:
        doc = self._get("module") if self.schema_ready else None
        if doc is None:
            return None
        return ModuleCounters(int(doc["rx"]), int(doc["tx"]), float(doc["at"]), str(doc["source"]))

    def rows(self, table: str, first: str, last: str) -> list[BucketRow]:
        """Rows of ``table`` with ``first <= bucket <= last`` (keys compare as text), oldest first."""
        if table not in BUCKET_TABLES:
            raise ValueError(f"unknown bucket table {table!r}")
        if not self.schema_ready:
            return []
        cursor = self._conn.execute(
            f"SELECT bucket, rx, tx, agent_rx, agent_tx FROM {table} WHERE bucket >= ? AND bucket <= ? ORDER BY bucket",
            (first, last),
        )
        return [BucketRow(*row) for row in cursor]

    # -- writing -------------------------------------------------------------------------------------------------

    def _wal_size(self) -> int:
        try:
            return os.stat(f"{self.path}-wal").st_size
        except FileNotFoundError:
            return 0

    def commit(self, batch: Batch, prune_before: dict[str, str] | None = None, *, final: bool = False) -> int:
        """Write ``batch`` in one transaction; prune rows older than ``prune_before[table]``. Bytes written.

        The stored running count is exact for every earlier commit and checkpoint of this connection; this
        commit's own size is known only after it, so it is stored as an estimate (one WAL frame per table it
        touches, plus the checkpoint of those pages when ``final``) and replaced by the measured size in the next.
        """
        if not self.writer:
            raise sqlite3.OperationalError("this store was opened for reading")
        before = self._wal_size()
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            for (table, bucket), (rx, tx, agent_rx, agent_tx) in sorted(batch.buckets.items()):
                conn.execute(
                    f"INSERT INTO {table} (bucket, rx, tx, agent_rx, agent_tx) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT(bucket) DO UPDATE SET rx = rx + excluded.rx, tx = tx + excluded.tx, "
                    "agent_rx = agent_rx + excluded.agent_rx, agent_tx = agent_tx + excluded.agent_tx",
                    (bucket, rx, tx, agent_rx, agent_tx),
                )
            for interface, state in batch.states.items():
                self._put(f"interface:{interface}", _state_to_json(state))
            if batch.module is not None:
                module = batch.module
                doc = {"rx": module.rx_bytes, "tx": module.tx_bytes, "at": module.at, "source": module.source}
                self._put("module", json.dumps(doc, separators=(",", ":")))
            self._put("store", json.dumps({"bytes_written": self.bytes_written_total + self._estimate(batch, final)}))
            for table, oldest in (prune_before or {}).items():
                if table in BUCKET_TABLES:
                    conn.execute(f"DELETE FROM {table} WHERE bucket < ?", (oldest,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        after = self._wal_size()
        written = after - before if after >= before else after
        if after >= CHECKPOINT_WAL_BYTES:
            written += self.checkpoint()
        self.bytes_written_total += written
        return written

    def _estimate(self, batch: Batch, final: bool) -> int:
        pages = len({table for table, _ in batch.buckets}) + 1  # the leaf of each table, and meter_state's
        page_size = self.page_size
        frames = pages * (24 + page_size) + (32 if self._wal_size() == 0 else 0)
        return frames + (pages * page_size if final else 0)

    def _put(self, name: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO meter_state (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def _distinct_wal_pages(self) -> int:
        # WAL format (sqlite.org/fileformat2.html §4.1): a 32-byte header, then frames of a 24-byte header (page
        # number first, big-endian) and one page. A checkpoint writes each distinct page once.
        page_size = self.page_size
        pages: set[int] = set()
        try:
            with open(f"{self.path}-wal", "rb") as wal:
                wal.seek(32)
                while header := wal.read(24):
                    if len(header) < 24:
                        break
                    pages.add(struct.unpack(">I", header[:4])[0])
                    wal.seek(page_size, os.SEEK_CUR)
        except FileNotFoundError:
            return 0
        return len(pages)

    def checkpoint(self) -> int:
        """Copy the WAL into the database and truncate it; the bytes that wrote to the database file."""
        if not self.writer:
            return 0
        pages = self._distinct_wal_pages()
        busy, _log_frames, _done = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            # A reader holds an old snapshot; the pages were copied as far as possible, the rest goes next time.
            log.debug("usage store checkpoint incomplete: a reader is active")
        return pages * self.page_size

    def close(self) -> None:
        try:
            if self.writer and self.schema_ready:
                self.bytes_written_total += self.checkpoint()
        finally:
            self._conn.close()

    def __enter__(self) -> UsageStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
