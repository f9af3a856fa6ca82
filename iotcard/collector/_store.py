"""The data layer: one SQLAlchemy Core engine over SQLite or PostgreSQL, batched writes, the card queries.

Writes come in batches (:meth:`Store.apply`), one transaction each:

1. the batch's ``(device_id, seq)`` pairs go into ``received`` with ``ON CONFLICT DO NOTHING ... RETURNING``:
   what comes back is new, everything else is an at-least-once duplicate and has no effect at all (this is what
   makes broker and collector restarts, and two collectors, never count twice);
2. devices and cards are upserted once per key with the latest facts of the batch, each kind of fact guarded by
   its own timestamp so a late, older message never overwrites a newer one;
3. bindings: the cards and devices of the batch are read in one query each (locked on PostgreSQL, in key order),
   and only a card seen with another device or IMEI, or a device seen with another card, takes the slow path that
   closes the binding, opens the new one and raises the alarm (机卡分离);
4. hourly usage is added to days and months (in the collector's time zone), events, command results and rejects
   are inserted, and the counters are added to.

SQLite runs in WAL mode and its write transactions begin IMMEDIATE (two writers queue instead of failing on a
stale snapshot); a busy or deadlocked batch is rolled back and retried whole, which is safe because step 1 is in
the same transaction.
"""

from __future__ import annotations

import functools
import json
import logging
import operator
import sqlite3
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Engine,
    MetaData,
    and_,
    bindparam,
    case,
    create_engine,
    event,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.sql.elements import ColumnElement
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_random_exponential

from iotcard.contract.messages import (
    CommandResultMessage,
    DiagnosisMessage,
    DirectedMessage,
    EventMessage,
    IdentityMessage,
    StatusMessage,
    TelemetryMessage,
    UsageReport,
    expiring_end_ranges,
)

from ._errors import SettingsError, StoreError
from ._ingest import Accepted, Rejected
from ._schema import PG_SEARCH_TEXT, SCHEMA_VERSION, SEARCH_SEPARATOR, Tables, migrate, schema_version

__all__ = [
    "DEFAULT_THRESHOLDS",
    "FILTERS",
    "FILTER_FLAGS",
    "MIB",
    "RETENTION_DAYS",
    "SORTS",
    "ApplyResult",
    "CardQuery",
    "PlanRow",
    "Store",
    "Thresholds",
    "database_url",
]

log = logging.getLogger(__name__)

MIB = 1024 * 1024
FILTERS = ("low", "exhausted", "expiring", "expired")
#: How many days each kind of record is kept (``Store.prune``; ``iotcard-collector prune``, ``run --prune-every``).
RETENTION_DAYS = {
    "received": 30,
    "usage_hourly": 7,
    "rejects": 30,
    "alert_outbox": 30,
    "command_results": 90,
    "events": 180,
    "alarms": 365,
    "audit_log": 365,
}

#: The flag (iotcard.contract.card_state) each quick filter lists; the flags' names work as filter names too.
FILTER_FLAGS = {"low": "data_low", "exhausted": "data_exhausted", "expiring": "expiring", "expired": "expired"}
_FILTER_ALIASES = {"data_low": "low", "data_exhausted": "exhausted"}
_SQLITE_BUSY_MS = 30_000


def database_url(url: str) -> str:
    """Accept ``sqlite:///PATH``, ``postgresql://...`` (driven by psycopg 3) and SQLAlchemy's own spellings."""
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError:
        raise SettingsError(
            f"database URL {url!r} is not a URL",
            code="bad_db_url",
            hint="use sqlite:///PATH or postgresql://USER@HOST/DB",
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+pysqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise SettingsError(
        f"database URL {url!r}: only SQLite and PostgreSQL are supported",
        code="bad_db_url",
        hint="use sqlite:///PATH or postgresql://USER@HOST/DB",
    )


_Getter = Callable[[Any], tuple[Any, ...]]
_Converters = tuple[tuple[int, Callable[[Any], Any]], ...]  # (index, converter) of the values that need one


def _utc_now() -> datetime:
    return datetime.now(UTC)


@functools.lru_cache(maxsize=8192)
def _naive(value: datetime) -> datetime:
    """``value`` as naive UTC, how times are stored. Kept for the few thousand instants of the latest batches: a
    report's time is converted five or more times on its way in, at 2 us each (equal instants give equal results,
    whatever their offsets)."""
    return value.astimezone(UTC).replace(tzinfo=None)


def aware(value: datetime | None) -> datetime | None:
    """Stored times are naive UTC; give them their zone back."""
    return None if value is None else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The app's quick filters: 流量不足 below ``low_percent`` left, 卡临期 within ``expiring_days`` (or in the
    renewal pause, see :mod:`iotcard.contract.card_state`); ``usage_mismatch`` past ``mismatch_percent`` between the
    device's
    figure and the carrier's."""

    low_percent: float = 10.0
    expiring_days: int = 7
    mismatch_percent: float = 10.0


DEFAULT_THRESHOLDS = Thresholds()


_DETAIL_ONLY = frozenset({"diagnosis_json", "directed_json"})
#: ``sort=`` keys: the column, and what a NULL sorts as (so keyset pagination compares plain values).
SORTS: dict[str, Any] = {
    "iccid": None,
    "expiry": date(9999, 12, 31),
    "last_seen": datetime(1970, 1, 1),
    "used_bytes": -1,
    "company": "",
    "device_name": "",
}


@dataclass(frozen=True, slots=True)
class CardQuery:
    """A page of cards. ``filter`` and ``filters`` are the quick filters (several: a card matching any of them, or
    all with ``match="all"``); ``sort`` a key of :data:`SORTS`, ``-`` first for descending, the ICCID breaking
    ties; ``after`` the last card of the previous page (its sort value and ICCID) for keyset pagination."""

    company: str | None = None
    filter: str | None = None
    search: str | None = None
    limit: int = 100
    offset: int = 0
    filters: tuple[str, ...] = ()
    match: str = "any"
    sort: str = "iccid"
    after: tuple[Any, str] | None = None
    count: bool = True

    def wanted(self) -> tuple[str, ...]:
        names = [*self.filters, *([self.filter] if self.filter else [])]
        return tuple(dict.fromkeys(_FILTER_ALIASES.get(name, name) for name in names))


@dataclass(frozen=True, slots=True)
class PlanRow:
    """One imported plan (``plans import``): the card's plan is this until another import."""

    iccid: str
    plan_name: str
    total_mb: float
    cycle_start: date | None
    cycle_end: date | None
    expiry: date | None
    card_type: str | None
    company: str | None = None
    device_category: str | None = None  # personal, enterprise, maintenance (个人/企业/维护设备)
    carrier_used_bytes: int | None = None  # the carrier's own figure for the cycle ...
    carrier_as_of: datetime | None = None  # ... as of this instant


@dataclass(slots=True)
class ApplyResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    alarms: list[dict[str, Any]] = field(default_factory=list)


#: ``received`` rows per INSERT on SQLite, 4 parameters each: a whole batch in one statement where SQLite allows 32,766
#: parameters (3.32 and later; chunks of 200 rows, a different statement for the last one, cost the next statement of
#: the batch twice its time), else within the older limit of 999.
_CLAIM_ROWS = 8000 if sqlite3.sqlite_version_info >= (3, 32, 0) else 249
_CLAIM_SQL = (
    "INSERT INTO received (device_id, seq, kind, ts) VALUES {values} ON CONFLICT (device_id, seq) DO NOTHING "
    "RETURNING device_id, seq"
)

#: The card columns the ingest side changes, by the fact that changes them together (:meth:`Store._write_cards`).
_CARD_GROUPS: dict[str, tuple[str, ...]] = {
    "seen": ("first_seen", "last_seen"),
    "binding": ("device_id", "imei", "bound_since", "unbound_at"),
    "radio": ("rssi_dbm", "rsrp_dbm", "sinr_db", "bars", "registration", "technology", "operator", "telemetry_ts"),
    "usage": ("used_bytes", "used_rx_bytes", "used_tx_bytes", "usage_cycle_start", "usage_cycle_end", "usage_ts"),
    "plan": ("plan_name", "plan_total_bytes", "cycle_start", "cycle_end", "expiry", "plan_source"),
}
_CARD_READ = ("iccid", *(name for names in _CARD_GROUPS.values() for name in names))


@dataclass(slots=True)
class _Card:
    """A card of the batch as read at its start, changed in memory and written once at its end."""

    row: dict[str, Any]
    dirty: set[str] = field(default_factory=set)

    def set(self, group: str, **values: Any) -> None:
        if any(self.row[name] != value for name, value in values.items()):
            self.row.update(values)
            self.dirty.add(group)


class Store:
    """The collector's database. ``writer=True`` for the ingest side (IMMEDIATE transactions on SQLite)."""

    def __init__(
        self,
        url: str,
        *,
        timezone: str = "Asia/Shanghai",
        migrate_schema: bool = True,
        writer: bool = False,
        pool_size: int = 8,
        clock: Callable[[], datetime] | None = None,
        max_rate_mbps: float = 2000.0,
    ) -> None:
        self.url = database_url(url)
        # No cellular interface moves more than this (5G NR peaks near 2 Gbit/s down): a usage figure that would
        # need more is a device lying or broken, and is refused with an alarm instead of flagging the card.
        self.max_bytes_per_hour = int(max_rate_mbps * 1e6 / 8 * 3600)
        self.zone = ZoneInfo(timezone)
        # The instant "now" (timezone-aware): today's date, the first day of this month and received_at follow it.
        # Tests hand in a fixed instant; nothing else in the store reads the wall clock.
        self.clock: Callable[[], datetime] = clock or _utc_now
        self.tables = Tables(MetaData())
        self._sqlite = self.url.startswith("sqlite")
        if self._sqlite:
            # Connections are kept: opening one costs its pragmas and a cold page cache. The writer keeps its one
            # between batches; readers keep up to twice pool_size, since the API's threadpool runs more requests at
            # once than SQLAlchemy's default pool of 5 kept (the rest were opened and closed for every request under
            # 10 concurrent clients).
            pooling: dict[str, Any] = {} if writer else {"pool_size": 2 * pool_size, "max_overflow": 2 * pool_size}
            engine = create_engine(
                self.url,
                connect_args={"timeout": _SQLITE_BUSY_MS / 1000, "check_same_thread": False},
                **pooling,
            )
            _sqlite_pragmas(engine, immediate=writer)
        else:
            engine = create_engine(self.url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        self.engine: Engine = engine
        self.dialect = postgresql if not self._sqlite else sqlite
        # per statement shape: its SQL, a getter of a row's values in the SQL's order, and the converters by index
        self._prepared: dict[Hashable, tuple[str, _Getter, _Converters]] = {}
        self._filters: dict[tuple[str, date, Thresholds], ColumnElement[bool]] = {}
        self._selects: dict[tuple[str, ...], tuple[str, _Converters]] = {}
        if migrate_schema:
            self.migrate()

    # ------------------------------------------------------------ lifecycle

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as connection:
                yield connection
        except sa_exc.OperationalError as exc:
            raise StoreError(
                f"the database did not answer: {_short(exc)}",
                hint="check --db, that the server runs and this user may connect",
            ) from exc

    def migrate(self) -> list[int]:
        with self._begin() as connection:
            return migrate(connection)

    def schema_version(self) -> int:
        with self._begin() as connection:
            return schema_version(connection)

    def today(self) -> date:
        """Today in the collector's time zone (days, months and the filters follow it)."""
        return self.clock().astimezone(self.zone).date()

    @property
    def backend(self) -> str:
        return "sqlite" if self._sqlite else "postgresql"

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ ingest

    def apply(self, batch: Sequence[Accepted], rejected: Sequence[Rejected] = ()) -> ApplyResult:
        """Write one batch in one transaction; retried whole on lock conflicts (idempotent by device id + seq)."""
        retrying = Retrying(
            retry=retry_if_exception_type(sa_exc.OperationalError),
            wait=wait_random_exponential(multiplier=0.05, max=2.0),
            stop=stop_after_delay(60),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt, self.engine.begin() as connection:
                    return self._apply(connection, batch, rejected)
        except sa_exc.OperationalError as exc:
            raise StoreError(f"cannot write to the database: {_short(exc)}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _insert(self, table: Any) -> Any:
        return self.dialect.insert(table)

    def _many(self, conn: Connection, key: Hashable, stmt: Any, rows: list[dict[str, Any]]) -> None:
        """``conn.execute(stmt, rows)``, an executemany; on SQLite without SQLAlchemy's work on every row: the
        statement is compiled once per shape (``key``) and each row goes to the driver as a tuple, dates and times
        as the same text SQLAlchemy stores. That work was about 4 of the 11 µs an upserted row costs; the
        values are taken by one itemgetter, and converted only where their column needs it."""
        if not self._sqlite or len(rows) < 2:
            conn.execute(stmt, rows)
            return
        columns = sorted(rows[0])  # as SQLAlchemy compiles for execution: an INSERT's columns are the rows' keys
        prepared = self._prepared.get((key, *columns))
        if prepared is None:
            compiled = stmt.compile(dialect=self.engine.dialect, column_keys=columns, for_executemany=True)
            names = compiled.positiontup or []
            convert = tuple(
                (index, process)
                for index, name in enumerate(names)
                if (process := _sqlite_text(compiled.binds[name].type)) is not None
            )
            prepared = self._prepared[(key, *columns)] = (compiled.string, _values_of(names), convert)
        sql, get, convert = prepared
        if not convert:
            conn.exec_driver_sql(sql, [get(row) for row in rows])
            return
        params = []
        for row in rows:
            values = list(get(row))
            for index, process in convert:
                values[index] = process(values[index])
            params.append(tuple(values))
        conn.exec_driver_sql(sql, params)

    def _apply(self, conn: Connection, batch: Sequence[Accepted], rejected: Sequence[Rejected]) -> ApplyResult:
        t = self.tables
        result = ApplyResult(rejected=len(rejected))
        unique: dict[tuple[str, int], Accepted] = {}
        for item in batch:
            unique.setdefault(item.key, item)
        fresh: list[Accepted] = []
        if unique:
            new = self._claim(conn, unique)
            fresh = [item for key, item in unique.items() if key in new]
        result.accepted = len(fresh)
        result.duplicates = len(batch) - len(fresh)
        if fresh:
            fresh.sort(key=lambda item: item.message.ts)
            cards = self._touch(conn, fresh)
            self._bindings(conn, fresh, result, cards)
            self._status(conn, fresh)
            self._identity(conn, fresh, result)
            self._telemetry(conn, fresh, result, cards)
            self._write_cards(conn, cards)
            self._reports(conn, fresh)
            self._inserts(conn, fresh)
        if rejected:
            conn.execute(
                self._insert(t.rejects),
                [
                    {
                        "device_id": r.device_id,
                        "topic": r.topic[:256],
                        "reason": r.reason,
                        "received_at": _naive(self.clock()),
                        "kind": "invalid",
                    }
                    for r in rejected
                ],
            )
        counts = {"accepted": result.accepted, "duplicates": result.duplicates, "invalid": result.rejected}
        counts = {name: n for name, n in counts.items() if n}
        if counts:
            ins = self._insert(t.counters)
            conn.execute(
                ins.on_conflict_do_update(
                    index_elements=["name"], set_={"value": t.counters.c.value + ins.excluded.value}
                ),
                [{"name": name, "value": n} for name, n in sorted(counts.items())],
            )
        return result

    def _claim(self, conn: Connection, unique: dict[tuple[str, int], Accepted]) -> set[tuple[str, int]]:
        """Insert the batch's ``(device_id, seq)`` into ``received``; returns the pairs that were not there."""
        t = self.tables
        keys = sorted(unique)
        if not self._sqlite:
            stmt = (
                self._insert(t.received)
                .on_conflict_do_nothing(index_elements=["device_id", "seq"])
                .returning(t.received.c.device_id, t.received.c.seq)
            )
            rows = [
                {"device_id": d, "seq": s, "kind": unique[d, s].kind, "ts": _naive(unique[d, s].message.ts)}
                for d, s in keys
            ]
            return {(row[0], row[1]) for row in conn.execute(stmt, rows)}
        # SQLite: the same statement with many VALUES rows written out, as SQLAlchemy's "insertmanyvalues" does,
        # without its work on every row (a sixth of the writer's time in a profile of the collector).
        new: set[tuple[str, int]] = set()
        for start in range(0, len(keys), _CLAIM_ROWS):
            chunk = keys[start : start + _CLAIM_ROWS]
            params: list[Any] = []
            for d, s in chunk:
                item = unique[d, s]
                params += (d, s, item.kind, _datetime_text(_naive(item.message.ts)))
            sql = _CLAIM_SQL.format(values=", ".join(("(?, ?, ?, ?)",) * len(chunk)))
            new.update((row[0], row[1]) for row in conn.exec_driver_sql(sql, tuple(params)).all())
        return new

    def _select_in(
        self, conn: Connection, table: Any, names: Sequence[str], key: str, keys: list[str]
    ) -> Sequence[Sequence[Any]]:
        """``SELECT names FROM table WHERE key IN keys`` on SQLite, as tuples of the values SQLAlchemy would give
        (each column's own result processor), without building its row objects one fetch at a time."""
        prepared = self._selects.get((table.name, *names))
        if prepared is None:
            quote = self.engine.dialect.identifier_preparer.quote
            dialect = self.engine.dialect
            sql = (
                f"SELECT {', '.join(quote(name) for name in names)} FROM {quote(table.name)} "
                f"WHERE {quote(key)} IN (SELECT value FROM json_each(?))"
            )
            processors = tuple(
                (index, process)
                for index, name in enumerate(names)
                if (process := table.c[name].type.dialect_impl(dialect).result_processor(dialect, None)) is not None
            )
            prepared = self._selects[(table.name, *names)] = (sql, processors)
        sql, processors = prepared
        rows = conn.exec_driver_sql(sql, (json.dumps(keys),)).all()
        if not processors:
            return rows
        converted = []
        for row in rows:
            values = list(row)
            for index, process in processors:
                values[index] = process(values[index])
            converted.append(values)
        return converted

    def _touch(self, conn: Connection, fresh: list[Accepted]) -> dict[str, _Card]:
        """Every device and card of the batch exists afterwards; returns the batch's cards as read (locked on
        PostgreSQL, in key order), with first/last seen already moved in memory for :meth:`_write_cards`."""
        t = self.tables
        devices: dict[str, datetime] = {}
        seen: dict[str, tuple[datetime, datetime]] = {}
        for item in fresh:
            msg = item.message
            ts = _naive(msg.ts)
            devices[msg.device_id] = max(devices.get(msg.device_id, ts), ts)
            if msg.iccid:
                low, high = seen.get(msg.iccid, (ts, ts))
                seen[msg.iccid] = (min(low, ts), max(high, ts))
        ins = self._insert(t.devices)
        self._many(
            conn,
            "devices_seen",
            ins.on_conflict_do_update(
                index_elements=["device_id"],
                set_={"last_seen": _later(t.devices.c.last_seen, ins.excluded.last_seen)},
            ),
            [{"device_id": d, "last_seen": ts} for d, ts in sorted(devices.items())],
        )
        if not seen:
            return {}
        iccids = sorted(seen)
        cards = self._read_cards(conn, iccids)
        missing = [iccid for iccid in iccids if iccid not in cards]
        if missing:
            # Another writer may insert the same card meanwhile (PostgreSQL): nothing happens then, and the read
            # below finds its row.
            conn.execute(
                self._insert(t.cards).on_conflict_do_nothing(index_elements=["iccid"]),
                [{"iccid": iccid, "first_seen": seen[iccid][0], "last_seen": seen[iccid][1]} for iccid in missing],
            )
            cards.update(self._read_cards(conn, missing))
        for iccid, (low, high) in seen.items():
            card = cards[iccid]
            first, last = card.row["first_seen"], card.row["last_seen"]
            card.set(
                "seen",
                first_seen=low if first is None or low < first else first,
                last_seen=high if last is None or high > last else last,
            )
        return cards

    def _read_cards(self, conn: Connection, iccids: list[str]) -> dict[str, _Card]:
        c = self.tables.cards.c
        rows: Sequence[Sequence[Any]]
        if self._sqlite:
            rows = self._select_in(conn, self.tables.cards, _CARD_READ, "iccid", iccids)
        else:  # concurrent writers lock the batch's cards in one order
            rows = conn.execute(
                select(*(c[name] for name in _CARD_READ)).where(c.iccid.in_(iccids)).order_by(c.iccid).with_for_update()
            ).all()
        return {row[0]: _Card(dict(zip(_CARD_READ, row, strict=True))) for row in rows}

    def _write_cards(self, conn: Connection, cards: dict[str, _Card]) -> None:
        """What the batch changed on its cards, one UPDATE per card: an executemany per set of changed groups
        (usually one: seen, radio and usage; the plan only where it changed)."""
        c = self.tables.cards.c
        shapes: dict[tuple[str, ...], list[_Card]] = {}
        for iccid in sorted(cards):
            card = cards[iccid]
            if card.dirty:
                shapes.setdefault(tuple(sorted(card.dirty)), []).append(card)
        for groups, changed in shapes.items():
            names = [name for group in groups for name in _CARD_GROUPS[group]]
            self._many(
                conn,
                ("cards", groups),
                update(self.tables.cards)
                .where(c.iccid == bindparam("b_iccid"))
                .values({name: bindparam(f"v_{name}", type_=c[name].type) for name in names}),
                [{"b_iccid": card.row["iccid"], **{f"v_{name}": card.row[name] for name in names}} for card in changed],
            )

    def _bindings(self, conn: Connection, fresh: list[Accepted], result: ApplyResult, read: dict[str, _Card]) -> None:
        """Which card sits in which device (and module); alarms when that changes."""
        t = self.tables
        # Every report's (device, card, module) in time order, not only each device's latest: a card that moves or
        # is swapped and back within one batch raises its alarms, and each holder keeps its own binding.
        sightings: list[tuple[datetime, str, str, str | None]] = sorted(
            {(_naive(item.message.ts), item.message.device_id, item.message.iccid, item.message.imei)
             for item in fresh if item.message.iccid},
            key=lambda entry: (entry[0], entry[1], entry[2], entry[3] or ""),
        )  # fmt: skip
        if not sightings:
            return
        seen = {device_id for _, device_id, _, _ in sightings}
        iccids = sorted({iccid for _, _, iccid, _ in sightings})
        lock = not self._sqlite
        names = ("device_id", "iccid", "iccid_since")
        rows: Sequence[Sequence[Any]]
        if lock:
            query = select(*(t.devices.c[name] for name in names)).where(t.devices.c.device_id.in_(sorted(seen)))
            rows = conn.execute(query.order_by(t.devices.c.device_id).with_for_update()).all()
        else:
            rows = self._select_in(conn, t.devices, names, "device_id", sorted(seen))
        devices = {row[0]: dict(zip(names, row, strict=True)) for row in rows}
        cards = {iccid: read[iccid].row for iccid in iccids}
        # Decide in memory, in time order, then write each kind of change with one executemany. A binding opened
        # and closed within this batch is inserted already closed.
        close_open: dict[str, datetime] = {}  # iccid -> until, for bindings open before this batch
        close_at_device: dict[tuple[str, str], datetime] = {}  # (iccid, device) -> until, likewise
        opened: dict[str, dict[str, Any]] = {}  # iccid -> the binding row opened in this batch
        new_bindings: list[dict[str, Any]] = []
        unbind_elsewhere: dict[tuple[str, str], datetime] = {}  # cards not read here that left a device
        changed_cards: set[str] = set()
        changed_devices: set[str] = set()

        def close_binding(iccid: str, ts: datetime, device_id: str | None = None) -> None:
            row = opened.get(iccid)
            if row is not None and device_id in (None, row["device_id"]):
                row["until"] = ts
                del opened[iccid]
            elif row is None:
                if device_id is None:
                    close_open.setdefault(iccid, ts)
                else:
                    close_at_device.setdefault((iccid, device_id), ts)

        for ts, device_id, iccid, imei in sightings:
            card = cards[iccid]
            device = devices[device_id]
            same_place = card["device_id"] == device_id and card["imei"] == imei and card["unbound_at"] is None
            if not same_place and (card["bound_since"] is None or ts >= card["bound_since"]):
                if card["device_id"] is not None and (card["device_id"] != device_id or card["imei"] != imei):
                    result.alarms.append(
                        {
                            "kind": "card_moved",
                            "iccid": iccid,
                            "device_id": device_id,
                            "previous_device_id": card["device_id"],
                            "previous": card["imei"],
                            "current": imei,
                            "ts": ts,
                        }
                    )
                close_binding(iccid, ts)
                row = {"iccid": iccid, "device_id": device_id, "imei": imei, "since": ts, "until": None}
                new_bindings.append(row)
                opened[iccid] = row
                card.update(device_id=device_id, imei=imei, bound_since=ts, unbound_at=None)
                changed_cards.add(iccid)
            old = device["iccid"]
            if old != iccid and (device["iccid_since"] is None or ts >= device["iccid_since"]):
                if old is not None:
                    result.alarms.append(
                        {
                            "kind": "card_swapped",
                            "iccid": iccid,
                            "device_id": device_id,
                            "previous_device_id": None,
                            "previous": old,
                            "current": iccid,
                            "ts": ts,
                        }
                    )
                    # The old card left this device: its binding ends; its record keeps the device until the card
                    # shows up elsewhere (then card_moved fires) or comes back.
                    close_binding(old, ts, device_id)
                    if old in cards:
                        if cards[old]["device_id"] == device_id:
                            cards[old]["unbound_at"] = ts
                            changed_cards.add(old)
                    else:
                        unbind_elsewhere[(old, device_id)] = ts
                device.update(iccid=iccid, iccid_since=ts)
                changed_devices.add(device_id)
        b = t.bindings.c
        if close_open:
            conn.execute(
                update(t.bindings)
                .where(b.iccid == bindparam("b_iccid"), b.until.is_(None))
                .values(until=bindparam("b_until")),
                [{"b_iccid": i, "b_until": ts} for i, ts in sorted(close_open.items())],
            )
        if close_at_device:
            conn.execute(
                update(t.bindings)
                .where(b.iccid == bindparam("b_iccid"), b.device_id == bindparam("b_device"), b.until.is_(None))
                .values(until=bindparam("b_until")),
                [{"b_iccid": i, "b_device": d, "b_until": ts} for (i, d), ts in sorted(close_at_device.items())],
            )
        if new_bindings:
            conn.execute(self._insert(t.bindings), new_bindings)
        for iccid in changed_cards:
            read[iccid].dirty.add("binding")  # written with the batch's other card changes (_write_cards)
        if unbind_elsewhere:
            c = t.cards.c
            conn.execute(
                update(t.cards)
                .where(c.iccid == bindparam("b_iccid"), c.device_id == bindparam("b_device"))
                .values(unbound_at=bindparam("b_ts")),
                [{"b_iccid": i, "b_device": d, "b_ts": ts} for (i, d), ts in sorted(unbind_elsewhere.items())],
            )
        if changed_devices:
            d = t.devices.c
            conn.execute(
                update(t.devices)
                .where(d.device_id == bindparam("b_device"))
                .values(iccid=bindparam("b_iccid"), iccid_since=bindparam("b_since")),
                [
                    {"b_device": i, "b_iccid": devices[i]["iccid"], "b_since": devices[i]["iccid_since"]}
                    for i in sorted(changed_devices)
                ],
            )
        if result.alarms:
            conn.execute(self._insert(t.alarms), result.alarms)

    def _status(self, conn: Connection, fresh: list[Accepted]) -> None:
        t = self.tables
        latest: dict[str, StatusMessage] = {}
        for item in fresh:
            if isinstance(item.message, StatusMessage):
                latest[item.message.device_id] = item.message
        if not latest:
            return
        c = t.devices.c
        stmt = (
            update(t.devices)
            .where(c.device_id == bindparam("b_device"), or_(c.status_ts.is_(None), c.status_ts <= bindparam("b_ts")))
            .values(online=bindparam("b_online"), agent_version=bindparam("b_version"), status_ts=bindparam("b_ts"))
        )
        conn.execute(
            stmt,
            [
                {
                    "b_device": d,
                    "b_ts": _naive(m.ts),
                    "b_online": m.state == "online",
                    "b_version": m.agent_version[:64],
                }
                for d, m in sorted(latest.items())
            ],
        )

    def _identity(self, conn: Connection, fresh: list[Accepted], result: ApplyResult) -> None:
        t = self.tables
        latest: dict[str, IdentityMessage] = {}
        for item in fresh:
            if isinstance(item.message, IdentityMessage):
                latest[item.message.device_id] = item.message
        if not latest:
            return
        c = t.devices.c
        conn.execute(
            update(t.devices)
            .where(
                c.device_id == bindparam("b_device"), or_(c.identity_ts.is_(None), c.identity_ts <= bindparam("b_ts"))
            )
            .values(
                name=bindparam("b_name"),
                pn=bindparam("b_pn"),
                type=bindparam("b_type"),
                company=bindparam("b_company"),
                imei=bindparam("b_imei"),
                manufacturer=bindparam("b_manufacturer"),
                model=bindparam("b_model"),
                revision=bindparam("b_revision"),
                identity_ts=bindparam("b_ts"),
            ),
            [
                {
                    "b_device": d,
                    "b_ts": _naive(m.ts),
                    "b_name": m.device.name,
                    "b_pn": m.device.pn,
                    "b_type": m.device.type,
                    "b_company": m.device.company,
                    "b_imei": m.modem.imei or m.imei,
                    "b_manufacturer": m.modem.manufacturer,
                    "b_model": m.modem.model,
                    "b_revision": m.modem.revision,
                }
                for d, m in sorted(latest.items())
            ],
        )
        by_card = {m.sim.iccid or m.iccid: m for m in latest.values() if m.sim.iccid or m.iccid}
        if not by_card:
            return
        c = t.cards.c
        # The card's company is the collector's record (plans import, an admin); a device's claim only fills in a
        # card that has none yet. A claim that differs from the record is kept beside it and raises an alarm.
        known = {
            row.iccid: (row.company, row.claimed_company)
            for row in conn.execute(select(c.iccid, c.company, c.claimed_company).where(c.iccid.in_(sorted(by_card))))
        }
        claims = []
        for iccid, m in sorted(by_card.items()):
            company, claimed = known.get(iccid, (None, None))
            claim = m.device.company
            if claim is not None and company is not None and claim != company and claim != claimed:
                claims.append(
                    {
                        "kind": "company_claimed",
                        "iccid": iccid,
                        "device_id": m.device_id,
                        "previous_device_id": None,
                        "previous": company[:128],
                        "current": claim[:128],
                        "ts": _naive(m.ts),
                    }
                )
        if claims:
            conn.execute(self._insert(t.alarms), claims)
            result.alarms.extend(claims)
        conn.execute(
            update(t.cards)
            .where(c.iccid == bindparam("b_iccid"), or_(c.identity_ts.is_(None), c.identity_ts <= bindparam("b_ts")))
            .values(
                imsi=func.coalesce(bindparam("b_imsi"), c.imsi),
                carrier=func.coalesce(bindparam("b_carrier"), c.carrier),
                company=func.coalesce(c.company, bindparam("b_company")),
                claimed_company=bindparam("b_company"),
                sim_state=bindparam("b_state"),
                device_name=bindparam("b_name"),
                device_pn=bindparam("b_pn"),
                device_type=bindparam("b_type"),
                identity_ts=bindparam("b_ts"),
            ),
            [
                {
                    "b_iccid": iccid,
                    "b_ts": _naive(m.ts),
                    "b_imsi": m.sim.imsi,
                    "b_carrier": m.sim.carrier,
                    "b_company": m.device.company,
                    "b_state": m.sim.state[:32],
                    "b_name": m.device.name,
                    "b_pn": m.device.pn,
                    "b_type": m.device.type,
                }
                for iccid, m in sorted(by_card.items())
            ],
        )

    def _telemetry(self, conn: Connection, fresh: list[Accepted], result: ApplyResult, cards: dict[str, _Card]) -> None:
        """Radio facts, the device's plan and its usage. Usage figures are absolute per bucket: each bucket keeps
        the figure of the latest report (by the device's ``ts``), so replays, duplicates, out-of-order delivery and
        flow checks leave the same numbers (docs/telemetry.md, "Usage accounting")."""
        t = self.tables
        latest: dict[str, TelemetryMessage] = {}
        hours: dict[tuple[str, datetime], tuple[datetime, int, int]] = {}
        days: dict[tuple[str, date], tuple[datetime, int, int]] = {}
        months: dict[tuple[str, str], tuple[datetime, int, int]] = {}
        cycles: dict[tuple[str, date], tuple[datetime, date | None, int, int]] = {}

        alarms: list[dict[str, Any]] = []

        def keep(table: dict[Any, Any], key: Any, value: tuple[Any, ...]) -> None:
            if key not in table or table[key][0] <= value[0]:
                table[key] = value

        for item in fresh:
            msg = item.message
            if not isinstance(msg, TelemetryMessage) or not msg.iccid:
                continue
            iccid = msg.iccid
            usage = msg.usage
            implausible = self._implausible(usage) if usage is not None else None
            if implausible is not None:
                alarms.append(
                    {
                        "kind": "implausible_usage",
                        "iccid": msg.iccid,
                        "device_id": msg.device_id,
                        "previous_device_id": None,
                        "previous": None,
                        "current": implausible[:128],
                        "ts": _naive(msg.ts),
                    }
                )
                msg = msg.model_copy(update={"usage": None})  # the radio facts stand; the figures do not
                usage = None
            latest[iccid] = msg
            if usage is None:
                continue
            ts = _naive(msg.ts)
            if usage.days or usage.months:
                for daily in usage.days:
                    keep(days, (msg.iccid, daily.day), (ts, daily.rx_bytes, daily.tx_bytes))
                for monthly in usage.months:
                    keep(months, (msg.iccid, monthly.month), (ts, monthly.rx_bytes, monthly.tx_bytes))
            else:  # the first accounting: hour totals only; days and months are summed from them below
                for hour in usage.hourly:
                    keep(hours, (msg.iccid, _naive(hour.hour)), (ts, hour.rx_bytes, hour.tx_bytes))
            if usage.cycle_start is not None:
                keep(
                    cycles,
                    (msg.iccid, usage.cycle_start),
                    (ts, usage.cycle_end, usage.cycle_rx_bytes, usage.cycle_tx_bytes),
                )
        if alarms:
            conn.execute(self._insert(t.alarms), alarms)
            result.alarms.extend(alarms)
        if not latest:
            return
        for iccid, message in latest.items():
            _card_telemetry(cards[iccid], message)
        self._latest_wins(conn, t.usage_hourly, "hour", _fields(hours, "rx_bytes", "tx_bytes"))
        old_days = sorted({(iccid, hour.replace(tzinfo=UTC).astimezone(self.zone).date()) for iccid, hour in hours})
        for iccid, day in old_days:
            keep(days, (iccid, day), self._day_from_hours(conn, iccid, day))
        self._latest_wins(conn, t.usage_daily, "day", _fields(days, "rx_bytes", "tx_bytes"))
        for iccid, month in sorted({(iccid, f"{day:%Y-%m}") for iccid, day in old_days}):
            keep(months, (iccid, month), self._month_from_days(conn, iccid, month))
        self._latest_wins(conn, t.usage_monthly, "month", _fields(months, "rx_bytes", "tx_bytes"))
        self._latest_wins(
            conn,
            t.usage_cycles,
            "cycle_start",
            _fields(cycles, "cycle_end", "rx_bytes", "tx_bytes"),
        )

    def _implausible(self, usage: UsageReport) -> str | None:
        """Why ``usage`` cannot be true of one cellular interface, or None."""
        hour = self.max_bytes_per_hour
        for bucket in usage.hourly:
            if bucket.rx_bytes + bucket.tx_bytes > hour:
                return f"{bucket.rx_bytes + bucket.tx_bytes} bytes in the hour from {bucket.hour:%Y-%m-%dT%H:%MZ}"
        for day in usage.days:
            if day.rx_bytes + day.tx_bytes > 24 * hour:
                return f"{day.rx_bytes + day.tx_bytes} bytes on {day.day}"
        for month in usage.months:
            if month.rx_bytes + month.tx_bytes > 31 * 24 * hour:
                return f"{month.rx_bytes + month.tx_bytes} bytes in {month.month}"
        if usage.cycle_start is not None and usage.cycle_end is not None:
            days = (usage.cycle_end - usage.cycle_start).days + 1
            if days > 0 and usage.cycle_total_bytes > days * 24 * hour:
                return f"{usage.cycle_total_bytes} bytes in the cycle from {usage.cycle_start}"
        return None

    def dead_letter(self, letters: Sequence[tuple[str | None, str, bytes, str]]) -> None:
        """Keep messages the writer could not store (device id, topic, payload, why), so ingest goes on."""
        if not letters:
            return
        now = _naive(self.clock())
        with self._begin() as conn:
            conn.execute(
                self._insert(self.tables.rejects),
                [
                    {
                        "device_id": (device_id or "")[:128] or None,
                        "topic": topic[:256],
                        "reason": reason[:2000],
                        "received_at": now,
                        "kind": "dead_letter",
                        "payload": payload[:16384].decode("utf-8", errors="replace"),
                    }
                    for device_id, topic, payload, reason in letters
                ],
            )
            ins = self._insert(self.tables.counters)
            conn.execute(
                ins.on_conflict_do_update(
                    index_elements=["name"], set_={"value": self.tables.counters.c.value + ins.excluded.value}
                ),
                [{"name": "dead_lettered", "value": len(letters)}],
            )

    def _latest_wins(
        self, conn: Connection, table: Any, key: str, rows: dict[tuple[str, Any], tuple[datetime, dict[str, Any]]]
    ) -> None:
        """Upsert ``(iccid, key) -> values`` where the stored row is older than the report (or has no time)."""
        if not rows:
            return
        ins = self._insert(table)
        values = next(iter(rows.values()))[1]
        stmt = ins.on_conflict_do_update(
            index_elements=["iccid", key],
            set_={name: ins.excluded[name] for name in (*values, "reported_at")},
            where=or_(table.c.reported_at.is_(None), table.c.reported_at <= ins.excluded.reported_at),
        )
        # In key order on PostgreSQL, so that concurrent writers lock rows in one order (no deadlock); SQLite has
        # one writer at a time and needs no order.
        keys = rows if self._sqlite else sorted(rows)
        self._many(
            conn,
            (table.name, tuple(values)),
            stmt,
            [
                {"iccid": bucket_key[0], key: bucket_key[1], **rows[bucket_key][1], "reported_at": rows[bucket_key][0]}
                for bucket_key in keys
            ],
        )

    def _day_from_hours(self, conn: Connection, iccid: str, day: date) -> tuple[datetime, int, int]:
        """A local day's total from the hour totals stored for it (reports of the first usage accounting)."""
        h = self.tables.usage_hourly.c
        start = _naive(datetime.combine(day, time(0), self.zone))
        end = _naive(datetime.combine(day + timedelta(days=1), time(0), self.zone))
        row = conn.execute(
            select(
                func.coalesce(func.sum(h.rx_bytes), 0), func.coalesce(func.sum(h.tx_bytes), 0), func.max(h.reported_at)
            ).where(h.iccid == iccid, h.hour >= start, h.hour < end)
        ).one()
        return (row[2], int(row[0]), int(row[1]))

    def _month_from_days(self, conn: Connection, iccid: str, month: str) -> tuple[datetime, int, int]:
        d = self.tables.usage_daily.c
        first = date.fromisoformat(f"{month}-01")
        after = (first + timedelta(days=32)).replace(day=1)
        row = conn.execute(
            select(
                func.coalesce(func.sum(d.rx_bytes), 0), func.coalesce(func.sum(d.tx_bytes), 0), func.max(d.reported_at)
            ).where(d.iccid == iccid, d.day >= first, d.day < after)
        ).one()
        return (row[2], int(row[0]), int(row[1]))

    def _reports(self, conn: Connection, fresh: list[Accepted]) -> None:
        """The last diagnosis and the last directed-probe round of each card."""
        t = self.tables
        c = t.cards.c
        diagnosis: dict[str, DiagnosisMessage] = {}
        directed: dict[str, DirectedMessage] = {}
        for item in fresh:
            msg = item.message
            if isinstance(msg, DiagnosisMessage) and msg.iccid:
                diagnosis[msg.iccid] = msg
            elif isinstance(msg, DirectedMessage) and msg.iccid:
                directed[msg.iccid] = msg
        if diagnosis:
            conn.execute(
                update(t.cards)
                .where(
                    c.iccid == bindparam("b_iccid"),
                    or_(c.diagnosis_ts.is_(None), c.diagnosis_ts <= bindparam("b_ts")),
                )
                .values(
                    diagnosis_overall=bindparam("b_overall"),
                    diagnosis_json=bindparam("b_json"),
                    diagnosis_ts=bindparam("b_ts"),
                ),
                [
                    {
                        "b_iccid": iccid,
                        "b_ts": _naive(m.ts),
                        "b_overall": m.overall,
                        "b_json": json.dumps([f.model_dump(mode="json") for f in m.findings], ensure_ascii=False),
                    }
                    for iccid, m in sorted(diagnosis.items())
                ],
            )
        if directed:
            conn.execute(
                update(t.cards)
                .where(
                    c.iccid == bindparam("b_iccid"), or_(c.directed_ts.is_(None), c.directed_ts <= bindparam("b_ts"))
                )
                .values(directed_json=bindparam("b_json"), directed_ts=bindparam("b_ts")),
                [
                    {
                        "b_iccid": iccid,
                        "b_ts": _naive(m.ts),
                        "b_json": json.dumps([r.model_dump(mode="json") for r in m.results], ensure_ascii=False),
                    }
                    for iccid, m in sorted(directed.items())
                ],
            )

    def _inserts(self, conn: Connection, fresh: list[Accepted]) -> None:
        t = self.tables
        events = []
        results = []
        for item in fresh:
            msg = item.message
            if isinstance(msg, EventMessage):
                events.append(
                    {
                        "device_id": msg.device_id,
                        "iccid": msg.iccid,
                        "event": msg.event.value,
                        "previous": _clip(msg.previous),
                        "current": _clip(msg.current),
                        "detail_json": json.dumps(msg.detail, ensure_ascii=False) if msg.detail else None,
                        "ts": _naive(msg.ts),
                    }
                )
            elif isinstance(msg, CommandResultMessage):
                results.append(
                    {
                        "device_id": msg.device_id,
                        "iccid": msg.iccid,
                        "request_id": msg.request_id,
                        "command": msg.command[:32],
                        "ok": msg.ok,
                        "result_json": json.dumps(msg.result, ensure_ascii=False, default=str)
                        if msg.result is not None
                        else None,
                        "error_code": msg.error.code[:32] if msg.error else None,
                        "error_message": msg.error.message if msg.error else None,
                        "ts": _naive(msg.ts),
                    }
                )
        if events:
            conn.execute(self._insert(t.events), events)
        if results:
            conn.execute(self._insert(t.command_results), results)

    # ------------------------------------------------------------ plans

    def import_plans(self, rows: Iterable[PlanRow]) -> int:
        """Upsert imported plans by ICCID (a card not seen yet gets a record now); returns the rows written."""
        t = self.tables
        params = [
            {
                "iccid": row.iccid,
                "plan_name": row.plan_name,
                "plan_total_bytes": round(row.total_mb * MIB),
                "cycle_start": row.cycle_start,
                "cycle_end": row.cycle_end,
                "expiry": row.expiry,
                "card_type": row.card_type,
                "company": row.company,
                "plan_source": "import",
                "device_category": row.device_category,
                "carrier_used_bytes": row.carrier_used_bytes,
                "carrier_as_of": _naive(row.carrier_as_of) if row.carrier_as_of is not None else None,
            }
            for row in rows
        ]
        if not params:
            return 0
        ins = self._insert(t.cards)
        excluded = ins.excluded
        stmt = ins.on_conflict_do_update(
            index_elements=["iccid"],
            set_={
                "plan_name": excluded.plan_name,
                "plan_total_bytes": excluded.plan_total_bytes,
                "cycle_start": excluded.cycle_start,
                "cycle_end": excluded.cycle_end,
                "expiry": excluded.expiry,
                "card_type": excluded.card_type,
                "company": func.coalesce(excluded.company, t.cards.c.company),
                "plan_source": excluded.plan_source,
                "device_category": func.coalesce(excluded.device_category, t.cards.c.device_category),
                "carrier_used_bytes": func.coalesce(excluded.carrier_used_bytes, t.cards.c.carrier_used_bytes),
                "carrier_as_of": func.coalesce(excluded.carrier_as_of, t.cards.c.carrier_as_of),
            },
        )
        with self._begin() as conn:
            conn.execute(stmt, params)
        return len(params)

    # ------------------------------------------------------------ reads

    def _filter(self, name: str, today: date, thresholds: Thresholds) -> ColumnElement[bool]:
        """The quick filters in SQL, the same rules as :func:`iotcard.contract.messages.card_state` (held together by
        tests). Kept per day and thresholds: building one took about as long as SQLite's part of a list page."""
        key = (name, today, thresholds)
        found = self._filters.get(key)
        if found is None:
            if len(self._filters) >= 64:
                self._filters.clear()
            found = self._filters[key] = self._filter_sql(name, today, thresholds)
        return found

    def _filter_sql(self, name: str, today: date, thresholds: Thresholds) -> ColumnElement[bool]:
        c = self.tables.cards.c
        total, used = c.plan_total_bytes, c.used_bytes
        # The device's figure counts only for the cycle that contains today (last cycle's report flags nothing).
        current = and_(
            used.isnot(None),
            or_(c.usage_cycle_start.is_(None), c.usage_cycle_start <= today),
            or_(c.usage_cycle_end.is_(None), c.usage_cycle_end >= today),
        )
        name = _FILTER_ALIASES.get(name, name)
        if name == "low":
            return and_(
                total > 0, current, used < total, (total - used) * 100 < total * literal(thresholds.low_percent)
            )
        if name == "exhausted":
            return and_(total > 0, current, used >= total)
        if name == "expiring":
            ranges = expiring_end_ranges(today, thresholds.expiring_days)
            near = [column.between(low, high) for column in (c.expiry, c.cycle_end) for low, high in ranges]
            return and_(or_(c.expiry.is_(None), c.expiry >= today), or_(*near))
        if name == "expired":
            return c.expiry < today
        raise SettingsError(f"unknown filter {name!r}; one of {', '.join(FILTERS)}", code="bad_filter")

    def _where(self, query: CardQuery, today: date, thresholds: Thresholds) -> ColumnElement[bool]:
        c = self.tables.cards.c
        conditions: list[ColumnElement[bool]] = []
        if query.company:
            conditions.append(c.company == query.company)
        wanted = [self._filter(name, today, thresholds) for name in query.wanted()]
        if wanted:
            conditions.append(and_(*wanted) if query.match == "all" else or_(*wanted))
        if query.search:
            conditions.append(self._search(query.search))
        return and_(*conditions) if conditions else true()

    def _search(self, search: str) -> ColumnElement[bool]:
        """Part of an ICCID, IMEI, device id or device name, case-insensitive, from the trigram index (schema 6)."""
        c = self.tables.cards.c
        part = search.replace(SEARCH_SEPARATOR, "")
        escaped = "%" + part.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        if not self._sqlite:  # LIKE's default escape is the backslash: pg_trgm's GIN answers it
            return literal_column(PG_SEARCH_TEXT.format(p="cards.")).like(escaped.lower())
        if "%" in part or "_" in part or "\\" in part:  # FTS5 answers LIKE from its index only without ESCAPE
            return or_(
                *(column.ilike(escaped, escape="\\") for column in (c.iccid, c.imei, c.device_id, c.device_name))
            )
        found: Any = (
            select(literal_column("rowid"))
            .select_from(text("cards_search"))
            .where(literal_column("body").like(bindparam("search_part", "%" + part + "%")))
        )
        return literal_column("cards.rowid").in_(found)

    def _sort_key(self, sort: str) -> tuple[ColumnElement[Any], bool]:
        descending = sort.startswith("-")
        name = sort.lstrip("-")
        if name not in SORTS:
            raise SettingsError(f"unknown sort {sort!r}; one of {', '.join(SORTS)}", code="bad_sort")
        column = self.tables.cards.c[name]
        default = SORTS[name]
        return (column if default is None else func.coalesce(column, default)), descending

    def list_cards(
        self,
        query: CardQuery,
        *,
        today: date,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
        columns: Collection[str] | None = None,
    ) -> tuple[int, list[dict[str, Any]]]:
        """(how many match, the page of them in ``sort`` order, ICCID breaking ties) joined with their current
        device's status; the count is -1 when ``query.count`` is false. ``columns``: only these of the card's
        columns (the API's list page reads the ~20 a summary shows, not all 45, most of them times to parse)."""
        t = self.tables
        c = t.cards.c
        where = self._where(query, today, thresholds)
        key, descending = self._sort_key(query.sort)
        page_where = where
        if query.after is not None:
            value, iccid = query.after
            if isinstance(SORTS[query.sort.lstrip("-")], date) and isinstance(value, str):
                value = date.fromisoformat(value)
            elif isinstance(SORTS[query.sort.lstrip("-")], datetime) and isinstance(value, str):
                value = datetime.fromisoformat(value)
            if query.sort.lstrip("-") == "iccid":
                beyond = c.iccid < iccid if descending else c.iccid > iccid
            elif descending:
                beyond = or_(key < value, and_(key == value, c.iccid < iccid))
            else:
                beyond = or_(key > value, and_(key == value, c.iccid > iccid))
            page_where = and_(where, beyond)
        order = [key.desc(), c.iccid.desc()] if descending else [key, c.iccid]
        if query.sort.lstrip("-") == "iccid":
            order = order[1:]
        # Not the diagnosis and probe JSON: a list never shows them, and they are most of a card row's bytes.
        read: list[Any] = [
            column
            for column in t.cards.c
            if column.name not in _DETAIL_ONLY and (columns is None or column.name in columns or column.name == "iccid")
        ]
        device = [t.devices.c.online, t.devices.c.status_ts, t.devices.c.iccid.label("device_iccid")]
        read += [column for column in device if columns is None or column.name in columns]
        if query.sort.lstrip("-") != "iccid":
            read.append(key.label("sort_value"))
        page = (
            select(*read)
            .select_from(t.cards.outerjoin(t.devices, t.devices.c.device_id == c.device_id))
            .where(page_where)
            .order_by(*order)
            .limit(query.limit)
            .offset(query.offset)
        )
        count = select(func.count()).select_from(t.cards).where(where)
        with self._begin() as conn:
            total = int(conn.execute(count).scalar_one()) if query.count else -1
            found = conn.execute(page)
            names = list(found.keys())
            rows = [dict(zip(names, row, strict=True)) for row in found]
        return total, rows

    def card_counts(
        self, query: CardQuery, *, today: date, thresholds: Thresholds = DEFAULT_THRESHOLDS
    ) -> dict[str, int]:
        """How many cards of the query's company and search match each quick filter (the app's badges), and
        ``all``: one scan, whatever the query's own filters."""
        c = self.tables.cards.c
        base = self._where(CardQuery(company=query.company, search=query.search), today, thresholds)
        columns: list[Any] = [func.count().label("all")]
        for name in FILTERS:
            columns.append(func.coalesce(func.sum(case((self._filter(name, today, thresholds), 1), else_=0)), 0)
                           .label(name))  # fmt: skip
        with self._begin() as conn:
            row = conn.execute(select(*columns).select_from(self.tables.cards).where(base)).one()
        del c
        return {name: int(value) for name, value in row._mapping.items()}

    def iter_cards(
        self, query: CardQuery, *, today: date, thresholds: Thresholds = DEFAULT_THRESHOLDS, chunk: int = 1000
    ) -> Iterator[dict[str, Any]]:
        """Every card the query matches, in its sort order, read in keyset chunks (the CSV export)."""
        after = query.after
        while True:
            _, rows = self.list_cards(
                CardQuery(
                    company=query.company,
                    search=query.search,
                    filters=query.wanted(),
                    match=query.match,
                    sort=query.sort,
                    after=after,
                    limit=chunk,
                    count=False,
                ),
                today=today,
                thresholds=thresholds,
            )
            yield from rows
            if len(rows) < chunk:
                return
            after = (rows[-1].get("sort_value"), rows[-1]["iccid"])

    def card_company(self, iccid: str) -> tuple[bool, str | None]:
        """(the card exists, its company): the tenancy check before anything else is read."""
        t = self.tables
        with self._begin() as conn:
            row = conn.execute(select(t.cards.c.company).where(t.cards.c.iccid == iccid)).first()
        return (False, None) if row is None else (True, row[0])

    def _device_used_at(self, conn: Connection, record: dict[str, Any]) -> int | None:
        """The device meter's figure for the carrier's cycle up to the carrier's as-of day (its days summed), so
        the two figures compare at the same time (流量校验)."""
        as_of, start = record.get("carrier_as_of"), record.get("cycle_start") or record.get("usage_cycle_start")
        if as_of is None or start is None:
            return None
        d = self.tables.usage_daily.c
        last = as_of.replace(tzinfo=UTC).astimezone(self.zone).date()
        total = conn.execute(
            select(func.sum(d.rx_bytes + d.tx_bytes)).where(d.iccid == record["iccid"], d.day >= start, d.day <= last)
        ).scalar()
        return int(total) if total is not None else None

    def card(self, iccid: str) -> dict[str, Any] | None:
        """The card row with its device, bindings, alarms, recent events and command results; None if unknown."""
        t = self.tables
        with self._begin() as conn:
            row = conn.execute(select(t.cards).where(t.cards.c.iccid == iccid)).first()
            if row is None:
                return None
            record: dict[str, Any] = dict(row._mapping)
            device = None
            if record["device_id"] is not None:
                found = conn.execute(select(t.devices).where(t.devices.c.device_id == record["device_id"])).first()
                device = dict(found._mapping) if found is not None else None
            record["device"] = device
            record["device_used_at_carrier_as_of"] = self._device_used_at(conn, record)
            record["cycles"] = self._cycles(conn, iccid, 12)
            record["bindings"] = [
                dict(r._mapping)
                for r in conn.execute(
                    select(t.bindings).where(t.bindings.c.iccid == iccid).order_by(t.bindings.c.since.desc())
                )
            ]
            record["alarms"] = [
                dict(r._mapping)
                for r in conn.execute(
                    select(t.alarms)
                    .where(or_(t.alarms.c.iccid == iccid, t.alarms.c.previous == iccid))
                    .order_by(t.alarms.c.ts.desc(), t.alarms.c.id.desc())
                    .limit(50)
                )
            ]
            record["events"] = [
                dict(r._mapping)
                for r in conn.execute(
                    select(t.events).where(t.events.c.iccid == iccid).order_by(t.events.c.ts.desc()).limit(20)
                )
            ]
            record["results"] = [
                dict(r._mapping)
                for r in conn.execute(
                    select(t.command_results)
                    .where(t.command_results.c.iccid == iccid)
                    .order_by(t.command_results.c.ts.desc())
                    .limit(10)
                )
            ]
        return record

    def cycles(self, iccid: str, limit: int = 12) -> list[dict[str, Any]]:
        """The device meter's figure for each cycle it reported, the latest cycle first."""
        with self._begin() as conn:
            return self._cycles(conn, iccid, limit)

    def _cycles(self, conn: Connection, iccid: str, limit: int) -> list[dict[str, Any]]:
        u = self.tables.usage_cycles.c
        rows = conn.execute(
            select(u.cycle_start, u.cycle_end, u.rx_bytes, u.tx_bytes, u.reported_at)
            .where(u.iccid == iccid)
            .order_by(u.cycle_start.desc())
            .limit(limit)
        )
        return [
            {
                "cycle_start": row.cycle_start,
                "cycle_end": row.cycle_end,
                "rx_bytes": int(row.rx_bytes),
                "tx_bytes": int(row.tx_bytes),
                "total_bytes": int(row.rx_bytes) + int(row.tx_bytes),
                "reported_at": aware(row.reported_at),
            }
            for row in rows
        ]

    def usage(self, iccid: str, granularity: str, *, today: date, periods: int) -> list[dict[str, Any]]:
        """The last ``periods`` days or months up to ``today`` (local), zeros where nothing was reported."""
        t = self.tables
        if granularity == "day":
            keys: list[Any] = [today - timedelta(days=n) for n in range(periods - 1, -1, -1)]
            table, column = t.usage_daily, t.usage_daily.c.day
        elif granularity == "month":
            keys = []
            year, month = today.year, today.month
            for _ in range(periods):
                keys.append(f"{year:04d}-{month:02d}")
                year, month = (year, month - 1) if month > 1 else (year - 1, 12)
            keys.reverse()
            table, column = t.usage_monthly, t.usage_monthly.c.month
        else:
            raise SettingsError(f"granularity {granularity!r}: day or month", code="bad_granularity")
        with self._begin() as conn:
            found = {
                row[0]: (int(row[1]), int(row[2]))
                for row in conn.execute(
                    select(column, table.c.rx_bytes, table.c.tx_bytes).where(
                        table.c.iccid == iccid, column >= keys[0], column <= keys[-1]
                    )
                )
            }
        points = []
        for key in keys:
            rx, tx = found.get(key, (0, 0))
            points.append(
                {
                    "period": key.isoformat() if isinstance(key, date) else key,
                    "rx_bytes": rx,
                    "tx_bytes": tx,
                    "total_bytes": rx + tx,
                }
            )
        return points

    def has_card(self, iccid: str) -> bool:
        t = self.tables
        with self._begin() as conn:
            return conn.execute(select(t.cards.c.iccid).where(t.cards.c.iccid == iccid)).first() is not None

    def device(self, device_id: str) -> dict[str, Any] | None:
        t = self.tables
        with self._begin() as conn:
            row = conn.execute(select(t.devices).where(t.devices.c.device_id == device_id)).first()
        return dict(row._mapping) if row is not None else None

    def counters(self) -> dict[str, int]:
        t = self.tables
        with self._begin() as conn:
            return {row[0]: int(row[1]) for row in conn.execute(select(t.counters.c.name, t.counters.c.value))}

    def rejects(self, limit: int = 20) -> list[dict[str, Any]]:
        t = self.tables
        with self._begin() as conn:
            return [
                dict(r._mapping) for r in conn.execute(select(t.rejects).order_by(t.rejects.c.id.desc()).limit(limit))
            ]

    def prune(self, retention_days: dict[str, int] | None = None) -> dict[str, int]:
        """Delete what is older than its retention (days, by the row's own time); returns rows deleted per table.

        The defaults keep a month of raw idempotency keys (a replay older than that is stored again, which the
        absolute usage accounting makes harmless), hour figures of the first accounting a week, and the records
        people look back at longer. Card records, bindings, usage days/months/cycles and tokens are never pruned.
        """
        days = {**RETENTION_DAYS, **(retention_days or {})}
        unknown = sorted(set(days) - set(RETENTION_DAYS))
        if unknown:
            raise SettingsError(f"no retention for {', '.join(unknown)}; one of {', '.join(RETENTION_DAYS)}")
        t = self.tables
        columns = {
            "received": t.received.c.ts,
            "events": t.events.c.ts,
            "command_results": t.command_results.c.ts,
            "rejects": t.rejects.c.received_at,
            "alarms": t.alarms.c.ts,
            "usage_hourly": t.usage_hourly.c.hour,
            "alert_outbox": t.alert_outbox.c.created_at,
            "audit_log": t.audit_log.c.ts,
        }
        now = _naive(self.clock())
        deleted = {}
        with self._begin() as conn:
            for name, column in columns.items():
                where = column < now - timedelta(days=days[name])
                if name == "alert_outbox":
                    where = and_(where, t.alert_outbox.c.state != "pending")
                deleted[name] = conn.execute(column.table.delete().where(where)).rowcount or 0
        return deleted

    def count(self, table: str) -> int:
        with self._begin() as conn:
            return int(conn.execute(select(func.count()).select_from(self.tables.__dict__[table])).scalar_one())

    def plans_to_push(self, iccids: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Cards with a plan and a device to send it to (``plans push``)."""
        t = self.tables
        c = t.cards.c
        query = select(
            c.iccid, c.device_id, c.plan_name, c.plan_total_bytes, c.cycle_start, c.cycle_end, c.expiry
        ).where(c.plan_total_bytes.isnot(None), c.device_id.isnot(None), c.unbound_at.is_(None))
        if iccids:
            query = query.where(c.iccid.in_(list(iccids)))
        with self._begin() as conn:
            return [dict(r._mapping) for r in conn.execute(query.order_by(c.iccid))]

    # ------------------------------------------------------------ the web console's reads

    def card_choices(self, company: str | None) -> dict[str, list[str]]:
        """The companies, carriers and plan names the cards have (those of ``company`` if given): the console's
        company switch and filter menus."""
        c = self.tables.cards.c
        found: dict[str, list[str]] = {}
        with self._begin() as conn:
            for name, column in (("companies", c.company), ("carriers", c.carrier), ("plans", c.plan_name)):
                query = select(column).where(column.isnot(None)).distinct().order_by(column).limit(200)
                if company is not None and name != "companies":
                    query = query.where(c.company == company)
                found[name] = [row[0] for row in conn.execute(query)]
        return found

    def list_cards_by(
        self,
        query: CardQuery,
        *,
        today: date,
        thresholds: Thresholds = DEFAULT_THRESHOLDS,
        online: bool | None = None,
        carrier: str | None = None,
        plan: str | None = None,
        alarm: bool | None = None,
    ) -> tuple[int, list[dict[str, Any]]]:
        """:meth:`list_cards` with the console's further filters: the device online or not, the carrier, the plan
        name, whether the card has alarms (机卡分离). The count is -1 when ``query.count`` is false."""
        t = self.tables
        c = t.cards.c
        extra: list[ColumnElement[bool]] = []
        if online is not None:
            extra.append(t.devices.c.online.is_(True) if online else or_(t.devices.c.online.isnot(True)))
        if carrier is not None:
            extra.append(c.carrier == carrier)
        if plan is not None:
            extra.append(c.plan_name == plan)
        if alarm is not None:
            has = select(t.alarms.c.id).where(t.alarms.c.iccid == c.iccid).exists()
            extra.append(has if alarm else ~has)
        if not extra:
            return self.list_cards(query, today=today, thresholds=thresholds)
        where = and_(self._where(query, today, thresholds), *extra)
        key, descending = self._sort_key(query.sort)
        by_iccid = query.sort.lstrip("-") == "iccid"
        page_where = where
        if query.after is not None:
            value, iccid = query.after
            if by_iccid:
                beyond = c.iccid < iccid if descending else c.iccid > iccid
            elif descending:
                beyond = or_(key < value, and_(key == value, c.iccid < iccid))
            else:
                beyond = or_(key > value, and_(key == value, c.iccid > iccid))
            page_where = and_(where, beyond)
        order: list[Any] = [c.iccid.desc()] if descending else [c.iccid]
        if not by_iccid:
            order.insert(0, key.desc() if descending else key)
        joined = t.cards.outerjoin(t.devices, t.devices.c.device_id == c.device_id)
        columns: list[Any] = [
            t.cards,
            t.devices.c.online,
            t.devices.c.status_ts,
            t.devices.c.iccid.label("device_iccid"),
        ]
        if not by_iccid:
            columns.append(key.label("sort_value"))
        page = select(*columns).select_from(joined).where(page_where).order_by(*order)
        page = page.limit(query.limit).offset(query.offset)
        with self._begin() as conn:
            total = (
                int(conn.execute(select(func.count()).select_from(joined).where(where)).scalar_one())
                if query.count
                else -1
            )
            rows = [dict(row._mapping) for row in conn.execute(page)]
        return total, rows

    def device_companies(self, device_id: str) -> tuple[bool, set[str | None]]:
        """(the device is known, the companies it belongs to: its own claim and its cards'): the console's tenancy
        check for a device's picture."""
        t = self.tables
        with self._begin() as conn:
            row = conn.execute(select(t.devices.c.company).where(t.devices.c.device_id == device_id)).first()
            if row is None:
                return False, set()
            cards = conn.execute(select(t.cards.c.company).where(t.cards.c.device_id == device_id).distinct())
            return True, {row[0], *(card[0] for card in cards)}


def _fields(rows: dict[Any, tuple[Any, ...]], *names: str) -> dict[Any, tuple[datetime, dict[str, Any]]]:
    """``key -> (ts, v1, v2, ...)`` as ``key -> (ts, {name: v})`` for :meth:`Store._latest_wins`."""
    return {key: (value[0], dict(zip(names, value[1:], strict=True))) for key, value in rows.items()}


def _card_telemetry(card: _Card, m: TelemetryMessage) -> None:
    """A telemetry report on its card: the radio facts (a report without samples leaves the last known ones), the
    current cycle's usage (only from a report of the same or a later cycle) and, until a plan is imported, the
    device's plan (only where it changed). Decided in memory on the card as read at the batch's start."""
    row = card.row
    ts = _naive(m.ts)
    if row["telemetry_ts"] is None or row["telemetry_ts"] <= ts:
        sig = m.signal
        radio = {
            "rssi_dbm": sig.rssi_dbm.avg if sig.rssi_dbm else None,
            "rsrp_dbm": sig.rsrp_dbm.avg if sig.rsrp_dbm else None,
            "sinr_db": sig.sinr_db.avg if sig.sinr_db else None,
            "bars": sig.bars.avg if sig.bars else None,
            "registration": m.registration,
            "technology": m.technology,
            "operator": m.operator,
        }
        card.set("radio", telemetry_ts=ts, **{k: row[k] if v is None else v for k, v in radio.items()})
    usage = m.usage
    if usage is None:
        return
    stored_start = row["usage_cycle_start"]
    if (
        stored_start is None
        or usage.cycle_start is None
        or stored_start < usage.cycle_start
        or (stored_start == usage.cycle_start and (row["usage_ts"] is None or row["usage_ts"] <= ts))
    ):
        card.set(
            "usage",
            used_bytes=usage.cycle_total_bytes,
            used_rx_bytes=usage.cycle_rx_bytes,
            used_tx_bytes=usage.cycle_tx_bytes,
            usage_cycle_start=usage.cycle_start,
            usage_cycle_end=usage.cycle_end,
            usage_ts=ts,
        )
    plan = usage.plan
    from_device = row["plan_source"] != "import"
    if plan is None or not from_device or (row["usage_ts"] is not None and row["usage_ts"] > ts):
        return
    total = round(plan.total_mb * MIB) if plan.total_mb is not None else None
    explicit = plan.cycle_end  # a package's end; a rolling monthly cycle is not a plan date
    card.set(
        "plan",
        plan_name=row["plan_name"] if plan.name is None else plan.name,
        plan_total_bytes=row["plan_total_bytes"] if total is None else total,
        cycle_start=usage.cycle_start if explicit is not None else None,
        cycle_end=explicit,
        expiry=row["expiry"] if plan.expiry is None else plan.expiry,
        plan_source="device" if total is not None else row["plan_source"],
    )


def _values_of(names: Sequence[str]) -> _Getter:
    """A getter of a row's values in ``names``' order, as a tuple (``itemgetter`` of one name gives a bare value)."""
    if len(names) == 1:
        name = names[0]
        return lambda row: (row[name],)
    return operator.itemgetter(*names)


def _sqlite_text(type_: Any) -> Callable[[Any], Any] | None:
    """How SQLAlchemy's SQLite dialect stores a value of ``type_`` (dates and times as text), or None: as it is."""
    if isinstance(type_, DateTime):
        return _datetime_text
    if isinstance(type_, Date):
        return _date_text
    return None


def _datetime_text(value: datetime | date | None) -> str | None:
    """SQLAlchemy's SQLite DATETIME text, ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        return f"{value.isoformat()} 00:00:00.000000"
    return _naive_text(value.replace(tzinfo=None))


@functools.lru_cache(maxsize=8192)
def _naive_text(value: datetime) -> str:
    """The text of a naive time, kept as :func:`_naive` keeps its results (1.6 us each to make)."""
    return value.isoformat(" ", "microseconds")


def _date_text(value: date | None) -> str | None:
    """SQLAlchemy's SQLite DATE text, ``YYYY-MM-DD``."""
    if value is None:
        return None
    return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()


def _later(stored: Any, new: Any) -> Any:
    return case((stored.is_(None), new), (new > stored, new), else_=stored)


def _earlier(stored: Any, new: Any) -> Any:
    return case((stored.is_(None), new), (new < stored, new), else_=stored)


def _clip(value: str | None, size: int = 128) -> str | None:
    return None if value is None else value[:size]


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0][:200] if text.strip() else type(exc).__name__


def _sqlite_pragmas(engine: Engine, *, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a batch is acknowledged to the broker only after its commit, so the commit must survive power loss
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


__all__ += ["SCHEMA_VERSION", "aware"]
