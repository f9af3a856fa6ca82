"""The reference cloud collector: device reports over MQTT into card records, views, an HTTP API and commands.

Design note (the choices and why):

- **Data layer: SQLAlchemy Core 2.x** (with psycopg 3 as the PostgreSQL driver). One schema and one set of queries
  serve SQLite (the embedded default) and PostgreSQL (production): both dialects have the same
  ``INSERT ... ON CONFLICT`` upserts and ``RETURNING`` in SQLAlchemy, executemany batches are built by SQLAlchemy
  for either driver, and connection pooling comes with it. psycopg 3 alone would have meant a second, hand-kept
  SQL variant for SQLite. No ORM: the ingest path is batched Core statements.
- **Migrations: our own versioned table** (``schema_migrations``, :mod:`collector._schema`), about forty lines.
  Alembic would bring autogeneration, branches and a config directory for what is today one version; a numbered
  tuple of functions, each run in its own transaction under an advisory lock (PostgreSQL) or an IMMEDIATE
  transaction (SQLite), does the job.
- **HTTP: the standard library's ThreadingHTTPServer.** The API is read-only, four GET routes, JSON out; each
  request is one or two indexed queries. A framework would add an ASGI server and dependencies without making
  those queries faster; the OpenAPI document is generated from the same pydantic models that answer.
- **Ingest**: a shared subscription (``$share/{group}/{prefix}/+/#``) with a persistent MQTT 5 session and manual
  acknowledgements sent only after the batch was committed (at-least-once from the broker), made exactly-once in
  effect by the ``(device_id, seq)`` primary key of ``received``; payloads are validated with the shared contract
  (:mod:`agent.contract`, the only module of ``agent`` imported here); invalid ones are counted, stored in
  ``rejects`` and logged with the device id.

Threads: the MQTT worker owns the paho client (:mod:`collector._mqtt`, the only module that imports paho), the
writer owns the database writes (:mod:`collector._service`); they talk through queues.
"""

from __future__ import annotations

from ._commands import build_command, push_plans, send_command
from ._errors import (
    BrokerError,
    CollectorError,
    DeviceNotAnswering,
    NotFound,
    PlanImportError,
    SettingsError,
    StoreError,
)
from ._http import ApiServer, openapi_document
from ._ingest import Accepted, Rejected, decode
from ._mqtt import BrokerSettings, parse_broker_url
from ._plans import PlanProblem, parse_plans
from ._schema import MIGRATIONS, SCHEMA_VERSION
from ._service import Collector, CollectorStats, share_topic
from ._store import FILTER_FLAGS, FILTERS, CardQuery, PlanRow, Store, Thresholds, database_url
from ._views import CardDetail, CardList, CardSummary, UsageSeries, card_flags

__all__ = [
    "FILTERS",
    "FILTER_FLAGS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Accepted",
    "ApiServer",
    "BrokerError",
    "BrokerSettings",
    "CardDetail",
    "CardList",
    "CardQuery",
    "CardSummary",
    "Collector",
    "CollectorError",
    "CollectorStats",
    "DeviceNotAnswering",
    "NotFound",
    "PlanImportError",
    "PlanProblem",
    "PlanRow",
    "Rejected",
    "SettingsError",
    "Store",
    "StoreError",
    "Thresholds",
    "UsageSeries",
    "build_command",
    "card_flags",
    "database_url",
    "decode",
    "openapi_document",
    "parse_broker_url",
    "parse_plans",
    "push_plans",
    "send_command",
    "share_topic",
]
