"""The database schema and its migrations (SQLAlchemy Core; the same tables on SQLite and PostgreSQL).

Migrations are Alembic revisions, shipped in the package (``iotcard/collector/migrations/versions``, one file per
version, ``0001`` to ``0008``) and run programmatically by :func:`migrate` inside the caller's transaction: no
``alembic.ini`` is needed where the collector is installed. The revisions call the version functions below, which
stay as they were written: version 1 builds its tables through :func:`_v1_tables`, and each later version expresses
its change as DDL of its own. When a later version changes a table, copy the builder first so version 1 keeps
creating the shape it always created: a fresh database and an upgraded one must end in the same schema (the tests
upgrade from every earlier version and compare).

Databases made before Alembic recorded their version in ``schema_migrations`` (versions 1-7): :func:`migrate` stamps
Alembic's version table with that version and upgrades from there; revision ``0008`` drops the old table.

All times are stored as naive UTC (``DateTime`` without time zone): SQLite has no time zone type and this keeps
the two backends identical; the data layer attaches UTC when reading.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    text,
)

from ._errors import StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Tables", "migrate", "schema_version"]

MIGRATION_SCRIPTS = Path(__file__).with_name("migrations")

_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite's INTEGER PRIMARY KEY is the 64-bit rowid
_DEVICE = String(64)
_ICCID = String(24)


class Tables:
    """The live tables, built once by :func:`_v3_tables` and the later versions' new tables (version 8 dropped
    ``schema_migrations``)."""

    def __init__(self, metadata: MetaData) -> None:
        built = _v3_tables(metadata)
        metadata.remove(built.pop("schema_migrations"))
        built.update({table.name: table for table in _v4_new_tables(metadata)})
        built.update({table.name: table for table in _v5_new_tables(metadata)})
        built.update({table.name: table for table in _v7_new_tables(metadata)})
        self.devices = built["devices"]
        self.cards = built["cards"]
        self.bindings = built["bindings"]
        self.alarms = built["alarms"]
        self.usage_daily = built["usage_daily"]
        self.usage_monthly = built["usage_monthly"]
        self.usage_hourly = built["usage_hourly"]
        self.usage_cycles = built["usage_cycles"]
        self.received = built["received"]
        self.events = built["events"]
        self.command_results = built["command_results"]
        self.rejects = built["rejects"]
        self.counters = built["counters"]
        self.api_tokens = built["api_tokens"]
        self.audit_log = built["audit_log"]
        self.card_actions = built["card_actions"]
        self.webhooks = built["webhooks"]
        self.alert_state = built["alert_state"]
        self.alert_outbox = built["alert_outbox"]
        self.alert_cursor = built["alert_cursor"]
        self.device_thumbnails = built["device_thumbnails"]


def _v1_tables(metadata: MetaData) -> dict[str, Table]:
    tables = [
        Table(
            "schema_migrations",
            metadata,
            Column("version", Integer, primary_key=True, autoincrement=False),
            Column("name", String(128), nullable=False),
            Column("applied_at", DateTime, nullable=False),
        ),
        Table(
            "devices",
            metadata,
            Column("device_id", _DEVICE, primary_key=True),
            Column("name", String(128)),
            Column("pn", String(64)),
            Column("type", String(64)),
            Column("company", String(128)),
            Column("imei", String(20)),
            Column("iccid", _ICCID),
            Column("iccid_since", DateTime),
            Column("manufacturer", String(64)),
            Column("model", String(64)),
            Column("revision", String(64)),
            Column("identity_ts", DateTime),
            Column("online", Boolean),
            Column("agent_version", String(64)),
            Column("status_ts", DateTime),
            Column("last_seen", DateTime),
        ),
        Table(
            "cards",
            metadata,
            Column("iccid", _ICCID, primary_key=True),
            Column("imsi", String(20)),
            Column("carrier", String(32)),
            Column("company", String(128)),
            Column("sim_state", String(32)),
            # the current binding: which device (and module) the card sits in, since when
            Column("device_id", _DEVICE),
            Column("imei", String(20)),
            Column("bound_since", DateTime),
            Column("unbound_at", DateTime),  # the device reported another card since; kept to spot a move
            Column("device_name", String(128)),
            Column("device_pn", String(64)),
            Column("device_type", String(64)),
            Column("identity_ts", DateTime),
            Column("first_seen", DateTime),
            Column("last_seen", DateTime),
            # the plan: imported (authoritative) or, until one is imported, what the device says
            Column("plan_name", String(128)),
            Column("plan_total_bytes", BigInteger),
            Column("cycle_start", Date),
            Column("cycle_end", Date),
            Column("expiry", Date),
            Column("card_type", String(64)),
            Column("plan_source", String(16)),
            # the device meter's cycle totals
            Column("used_bytes", BigInteger),
            Column("used_rx_bytes", BigInteger),
            Column("used_tx_bytes", BigInteger),
            Column("usage_cycle_start", Date),
            Column("usage_cycle_end", Date),
            Column("usage_ts", DateTime),
            # the last telemetry's radio facts
            Column("rssi_dbm", Float),
            Column("rsrp_dbm", Float),
            Column("sinr_db", Float),
            Column("bars", Float),
            Column("registration", String(32)),
            Column("technology", String(32)),
            Column("operator", String(64)),
            Column("telemetry_ts", DateTime),
            Column("diagnosis_overall", String(16)),
            Column("diagnosis_json", Text),
            Column("diagnosis_ts", DateTime),
            Column("directed_json", Text),
            Column("directed_ts", DateTime),
            Index("ix_cards_company", "company"),
            Index("ix_cards_device", "device_id"),
            Index("ix_cards_imei", "imei"),
            Index("ix_cards_expiry", "expiry"),
        ),
        Table(
            "bindings",
            metadata,
            Column("id", _ID, primary_key=True, autoincrement=True),
            Column("iccid", _ICCID, nullable=False),
            Column("device_id", _DEVICE, nullable=False),
            Column("imei", String(20)),
            Column("since", DateTime, nullable=False),
            Column("until", DateTime),
            Index("ix_bindings_iccid", "iccid"),
            Index("ix_bindings_device", "device_id"),
        ),
        Table(
            "alarms",
            metadata,
            Column("id", _ID, primary_key=True, autoincrement=True),
            Column("kind", String(32), nullable=False),
            Column("iccid", _ICCID),
            Column("device_id", _DEVICE),
            Column("previous_device_id", _DEVICE),
            Column("previous", String(128)),
            Column("current", String(128)),
            Column("ts", DateTime, nullable=False),
            Index("ix_alarms_iccid", "iccid"),
            Index("ix_alarms_device", "device_id"),
        ),
        Table(
            "usage_daily",
            metadata,
            Column("iccid", _ICCID, primary_key=True),
            Column("day", Date, primary_key=True),
            Column("rx_bytes", BigInteger, nullable=False),
            Column("tx_bytes", BigInteger, nullable=False),
        ),
        Table(
            "usage_monthly",
            metadata,
            Column("iccid", _ICCID, primary_key=True),
            Column("month", String(7), primary_key=True),
            Column("rx_bytes", BigInteger, nullable=False),
            Column("tx_bytes", BigInteger, nullable=False),
        ),
        Table(
            "received",
            metadata,
            Column("device_id", _DEVICE, primary_key=True),
            Column("seq", BigInteger, primary_key=True, autoincrement=False),
            Column("kind", String(16), nullable=False),
            Column("ts", DateTime, nullable=False),
        ),
        Table(
            "events",
            metadata,
            Column("id", _ID, primary_key=True, autoincrement=True),
            Column("device_id", _DEVICE, nullable=False),
            Column("iccid", _ICCID),
            Column("event", String(32), nullable=False),
            Column("previous", String(128)),
            Column("current", String(128)),
            Column("detail_json", Text),
            Column("ts", DateTime, nullable=False),
            Index("ix_events_iccid", "iccid"),
        ),
        Table(
            "command_results",
            metadata,
            Column("id", _ID, primary_key=True, autoincrement=True),
            Column("device_id", _DEVICE, nullable=False),
            Column("iccid", _ICCID),
            Column("request_id", String(64)),
            Column("command", String(32), nullable=False),
            Column("ok", Boolean, nullable=False),
            Column("result_json", Text),
            Column("error_code", String(32)),
            Column("error_message", Text),
            Column("ts", DateTime, nullable=False),
            Index("ix_command_results_device", "device_id"),
        ),
        Table(
            "rejects",
            metadata,
            Column("id", _ID, primary_key=True, autoincrement=True),
            Column("device_id", String(128)),
            Column("topic", String(256), nullable=False),
            Column("reason", Text, nullable=False),
            Column("received_at", DateTime, nullable=False),
        ),
        Table(
            "counters",
            metadata,
            Column("name", String(64), primary_key=True),
            Column("value", BigInteger, nullable=False),
        ),
    ]
    return {table.name: table for table in tables}


# Version 2, absolute usage accounting: every usage row holds the device meter's total for its bucket and the
# device time of the report it came from (``reported_at``); a later report replaces it, none is ever added up.
_V2_COLUMNS: dict[str, tuple[Column[Any], ...]] = {
    "usage_daily": (Column("reported_at", DateTime),),
    "usage_monthly": (Column("reported_at", DateTime),),
    "cards": (
        Column("device_category", String(16)),  # 个人设备 personal, 企业设备 enterprise, 维护设备 maintenance
        Column("carrier_used_bytes", BigInteger),  # the carrier's own figure for the cycle (plans import)
        Column("carrier_as_of", DateTime),
    ),
}


def _v2_new_tables(metadata: MetaData) -> list[Table]:
    return [
        Table(
            "usage_hourly",  # hour totals from reports without days (the first usage accounting)
            metadata,
            Column("iccid", _ICCID, primary_key=True),
            Column("hour", DateTime, primary_key=True),
            Column("rx_bytes", BigInteger, nullable=False),
            Column("tx_bytes", BigInteger, nullable=False),
            Column("reported_at", DateTime, nullable=False),
        ),
        Table(
            "usage_cycles",  # the device meter's total for each cycle it reported
            metadata,
            Column("iccid", _ICCID, primary_key=True),
            Column("cycle_start", Date, primary_key=True),
            Column("cycle_end", Date),
            Column("rx_bytes", BigInteger, nullable=False),
            Column("tx_bytes", BigInteger, nullable=False),
            Column("reported_at", DateTime, nullable=False),
        ),
    ]


def _v2_tables(metadata: MetaData) -> dict[str, Table]:
    tables = _v1_tables(metadata)
    for name, columns in _V2_COLUMNS.items():
        for column in columns:
            tables[name].append_column(column._copy())
    for table in _v2_new_tables(metadata):
        tables[table.name] = table
    return tables


def _upgrade_v2(connection: Connection) -> None:
    """Add version 2's columns and tables. Old usage rows get ``reported_at`` NULL: older than any new report."""
    _add_columns(connection, _V2_COLUMNS)
    metadata = MetaData()
    for table in _v2_new_tables(metadata):
        table.create(connection)


# Version 3, ingest hardening: a message the writer cannot store is dead-lettered in ``rejects`` (``kind``
# ``dead_letter``, with its payload) instead of stopping ingest; what a device claims as its company is kept beside
# the card's company (which only the collector's own records set once the card has one).
_V3_COLUMNS: dict[str, tuple[Column[Any], ...]] = {
    "rejects": (
        Column("kind", String(16)),  # invalid (the contract refused it) or dead_letter (the writer could not store it)
        Column("payload", Text),  # the message as received (up to 16 KiB, undecodable bytes replaced)
    ),
    "cards": (Column("claimed_company", String(128)),),
}


def _v3_tables(metadata: MetaData) -> dict[str, Table]:
    tables = _v2_tables(metadata)
    for name, columns in _V3_COLUMNS.items():
        for column in columns:
            tables[name].append_column(column._copy())
    return tables


def _add_columns(connection: Connection, columns: dict[str, tuple[Column[Any], ...]]) -> None:
    preparer = connection.dialect.identifier_preparer
    for name, added in columns.items():
        for column in added:
            kind = column.type.compile(dialect=connection.dialect)
            connection.execute(
                text(f"ALTER TABLE {preparer.quote(name)} ADD COLUMN {preparer.quote(column.name)} {kind}")
            )


def _upgrade_v3(connection: Connection) -> None:
    _add_columns(connection, _V3_COLUMNS)


# Version 4, the HTTP API's tenancy and actions: API tokens (only a hash of the secret is kept), the audit log (who
# did what, when, and how it ended) and the actions asked for over HTTP (refresh-usage, diagnose, probe) with their
# outcome. New tables only; nothing else changes.
def _v4_new_tables(metadata: MetaData) -> list[Table]:
    return [
        Table(
            "api_tokens",
            metadata,
            Column("id", _ID, primary_key=True, autoincrement=True),
            Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 hex of the secret
            Column("name", String(128), nullable=False),
            Column("company", String(128)),  # the home company; every token has one
            Column("role", String(16), nullable=False),  # viewer, operator, admin
            Column("enterprise", Boolean, nullable=False),  # an enterprise admin may switch company (切换企业)
            Column("created_at", DateTime, nullable=False),
            Column("revoked_at", DateTime),
        ),
        Table(
            "audit_log",
            metadata,
            Column("id", _ID, primary_key=True, autoincrement=True),
            Column("ts", DateTime, nullable=False),
            Column("token_id", _ID),
            Column("actor", String(128), nullable=False),
            Column("company", String(128)),
            Column("action", String(32), nullable=False),
            Column("iccid", _ICCID),
            Column("detail", Text),
            Column("result", String(32), nullable=False),
            Index("ix_audit_log_company_ts", "company", "ts"),
        ),
        Table(
            "card_actions",
            metadata,
            Column("id", _ID, primary_key=True, autoincrement=True),
            Column("iccid", _ICCID, nullable=False),
            Column("device_id", _DEVICE, nullable=False),
            Column("company", String(128)),
            Column("action", String(32), nullable=False),
            Column("request_id", String(64), nullable=False, unique=True),
            Column("token_id", _ID),
            Column("state", String(16), nullable=False),  # pending, ok, failed, offline, timeout
            Column("targets", Text),
            Column("result_json", Text),
            Column("error_code", String(32)),
            Column("error_message", Text),
            Column("requested_at", DateTime, nullable=False),
            Column("finished_at", DateTime),
            Index("ix_card_actions_iccid", "iccid"),
        ),
    ]


# The columns the quick filters, the badge counts and the list's ICCID order read, in one narrow index: a count or a
# filtered page scans it instead of the wide card rows (diagnosis and probe JSON included).
_V4_CARD_FILTERS = (
    "iccid", "company", "plan_total_bytes", "used_bytes", "usage_cycle_start", "usage_cycle_end", "expiry", "cycle_end",
)  # fmt: skip


def _upgrade_v4(connection: Connection) -> None:
    metadata = MetaData()
    for table in _v4_new_tables(metadata):
        table.create(connection)
    connection.execute(text(f"CREATE INDEX ix_cards_filters ON cards ({', '.join(_V4_CARD_FILTERS)})"))


# Version 5, alerts (iotcard/collector/_alerts.py): the webhooks, which conditions hold for which card (so each fires
# and
# clears once), the messages to deliver with their attempts (delivered, pending, or dead: the dead-letter record),
# and how far the binding alarms were read.
def _v5_new_tables(metadata: MetaData) -> list[Table]:
    return [
        Table(
            "webhooks",
            metadata,
            Column("id", _ID, primary_key=True, autoincrement=True),
            Column("url", String(1000), nullable=False),
            Column("secret", String(256), nullable=False),  # the HMAC key: it must be kept to sign
            Column("company", String(128)),  # None: every company's cards
            Column("kinds", String(512), nullable=False),
            Column("created_at", DateTime, nullable=False),
            Column("removed_at", DateTime),
        ),
        Table(
            "alert_state",
            metadata,
            Column("iccid", _ICCID, primary_key=True),
            Column("kind", String(32), primary_key=True),
            Column("since", DateTime, nullable=False),
            Column("company", String(128)),
        ),
        Table(
            "alert_outbox",
            metadata,
            Column("id", _ID, primary_key=True, autoincrement=True),
            Column("webhook_id", _ID, nullable=False),
            Column("idempotency_key", String(64), nullable=False, unique=True),
            Column("body", Text, nullable=False),
            Column("state", String(16), nullable=False),  # pending, delivered, dead
            Column("attempts", Integer, nullable=False),
            Column("next_attempt_at", DateTime, nullable=False),
            Column("created_at", DateTime, nullable=False),
            Column("delivered_at", DateTime),
            Column("last_status", Integer),
            Column("last_error", Text),
            Index("ix_alert_outbox_due", "state", "next_attempt_at"),
        ),
        Table(
            "alert_cursor",
            metadata,
            Column("name", String(64), primary_key=True),
            Column("value", BigInteger, nullable=False),
        ),
    ]


def _upgrade_v5(connection: Connection) -> None:
    metadata = MetaData()
    for table in _v5_new_tables(metadata):
        table.create(connection)


# Version 6, search with an index. The list's search matches part of an ICCID, IMEI, device id or device name; a
# LIKE '%part%' on four columns scanned every card (0.3-0.5 s over 100,000). The four go into one searchable text
# (separated by a character no search contains) with a trigram index: pg_trgm's GIN on PostgreSQL, an FTS5
# trigram table kept by triggers on SQLite. Both answer LIKE '%part%' from the index for parts of 3 characters or
# more; shorter parts scan, as before.
SEARCH_SEPARATOR = "\x01"
_SQLITE_SEARCH_TEXT = (
    "coalesce({p}.iccid,'')||char(1)||coalesce({p}.imei,'')||char(1)||coalesce({p}.device_id,'')||char(1)"
    "||coalesce({p}.device_name,'')"
)
PG_SEARCH_TEXT = (
    "lower(coalesce({p}iccid,'')||chr(1)||coalesce({p}imei,'')||chr(1)||coalesce({p}device_id,'')||chr(1)"
    "||coalesce({p}device_name,''))"
)


def _upgrade_v6(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        searched = PG_SEARCH_TEXT.format(p="")
        connection.execute(text(f"CREATE INDEX ix_cards_search ON cards USING gin (({searched}) gin_trgm_ops)"))
        return
    new = _SQLITE_SEARCH_TEXT.format(p="new")
    # The search rows share the cards' rowids, so the triggers find theirs by rowid, not by a scan.
    for statement in (
        "CREATE VIRTUAL TABLE cards_search USING fts5(body, tokenize='trigram')",
        f"INSERT INTO cards_search (rowid, body) SELECT rowid, {_SQLITE_SEARCH_TEXT.format(p='cards')} FROM cards",
        "CREATE TRIGGER cards_search_insert AFTER INSERT ON cards BEGIN "
        f"INSERT INTO cards_search (rowid, body) VALUES (new.rowid, {new}); END",
        "CREATE TRIGGER cards_search_update AFTER UPDATE OF iccid, imei, device_id, device_name ON cards BEGIN "
        "DELETE FROM cards_search WHERE rowid = old.rowid; "
        f"INSERT INTO cards_search (rowid, body) VALUES (new.rowid, {new}); END",
        "CREATE TRIGGER cards_search_delete AFTER DELETE ON cards BEGIN "
        "DELETE FROM cards_search WHERE rowid = old.rowid; END",
    ):
        connection.execute(text(statement))


# Version 7, the HMI project pictures the console shows (``PUT /devices/{id}/thumbnail``), by device.
def _v7_new_tables(metadata: MetaData) -> list[Table]:
    return [
        Table(
            "device_thumbnails",
            metadata,
            Column("device_id", String(128), primary_key=True),
            Column("media_type", String(16), nullable=False),
            Column("data", LargeBinary, nullable=False),
            Column("etag", String(32), nullable=False),
            Column("updated_at", DateTime, nullable=False),
        )
    ]


def _upgrade_v7(connection: Connection) -> None:
    metadata = MetaData()
    for table in _v7_new_tables(metadata):
        table.create(connection, checkfirst=True)  # a console of the previous build may have made it already


def _create_v1(connection: Connection) -> None:
    metadata = MetaData()
    _v1_tables(metadata)
    metadata.create_all(connection)


Migration = tuple[int, str, Callable[[Connection], None]]

#: The versions that ``schema_migrations`` recorded before Alembic; revisions ``0001``-``0007`` run these functions.
MIGRATIONS: tuple[Migration, ...] = (
    (1, "card records, bindings, alarms, usage, idempotency", _create_v1),
    (2, "absolute usage accounting: latest report per bucket, cycles, carrier figure, device category", _upgrade_v2),
    (3, "ingest hardening: dead letters with their payload, the company a device claims", _upgrade_v3),
    (4, "HTTP API: tokens, audit log, card actions", _upgrade_v4),
    (5, "alerts: webhooks, conditions, delivery outbox", _upgrade_v5),
    (6, "search with a trigram index (pg_trgm on PostgreSQL, FTS5 trigram on SQLite)", _upgrade_v6),
    (7, "device pictures for the console", _upgrade_v7),
)
#: The newest revision: ``0008`` hands the version over to Alembic (drops ``schema_migrations``).
SCHEMA_VERSION = 8
_LEGACY_TABLE = "schema_migrations"


def _revision(version: int) -> str:
    return f"{version:04d}"


def _config(connection: Connection) -> Config:
    """Alembic's configuration without a file: the scripts in the package, our connection and transaction."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATION_SCRIPTS))
    config.attributes["connection"] = connection
    return config


def schema_version(connection: Connection) -> int:
    """The schema's version: Alembic's revision as a number, what ``schema_migrations`` recorded before Alembic,
    or 0 for an empty database."""
    found = inspect(connection)
    if found.has_table("alembic_version"):
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return int(revision) if revision is not None and str(revision).isdigit() else -1
    if found.has_table(_LEGACY_TABLE):
        return int(connection.execute(text(f"SELECT MAX(version) FROM {_LEGACY_TABLE}")).scalar() or 0)
    return 0


def migrate(connection: Connection) -> list[int]:
    """Upgrade to the newest revision in this (already begun) transaction; returns the versions applied.

    Two collectors starting together do not both migrate: PostgreSQL takes a transaction-scoped advisory lock,
    SQLite's write transaction (BEGIN IMMEDIATE) already excludes the other writer.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(8008)"))
    current = schema_version(connection)
    known = {revision.revision for revision in ScriptDirectory(str(MIGRATION_SCRIPTS)).walk_revisions()}
    if current < 0 or current > SCHEMA_VERSION or (current and _revision(current) not in known):
        shown = current if current >= 0 else "unknown"
        raise StoreError(
            f"the database's schema is version {shown}, newer than this collector knows ({SCHEMA_VERSION})",
            code="schema_too_new",
            hint="upgrade iotcard-collector on this host",
        )
    if current == SCHEMA_VERSION:
        return []
    config = _config(connection)
    if current and not inspect(connection).has_table("alembic_version"):
        command.stamp(config, _revision(current))  # a database of the hand-kept migrations: Alembic takes over
    command.upgrade(config, "head")
    return list(range(current + 1, schema_version(connection) + 1))
