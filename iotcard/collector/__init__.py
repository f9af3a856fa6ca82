"""The reference cloud collector: device reports over MQTT into card records, views, an HTTP API and commands.

Design note (the choices and why):

- **Data layer: SQLAlchemy Core 2.x** (with psycopg 3 as the PostgreSQL driver). One schema and one set of queries
  serve SQLite (the embedded default) and PostgreSQL (production): both dialects have the same
  ``INSERT ... ON CONFLICT`` upserts and ``RETURNING`` in SQLAlchemy, executemany batches are built by SQLAlchemy
  for either driver, and connection pooling comes with it. psycopg 3 alone would have meant a second, hand-kept
  SQL variant for SQLite. No ORM: the ingest path is batched Core statements.
- **Migrations: Alembic** (revisions in ``iotcard/collector/migrations``, run by :mod:`iotcard.collector._schema`).
  Seven versions in, the hand-kept table of functions was a migration tool of our own; Alembic is SQLAlchemy's, its
  revision scripts ship in the package and run programmatically inside our transaction (under an advisory lock on
  PostgreSQL, an IMMEDIATE transaction on SQLite), so an installed collector needs no ``alembic.ini``. Databases of
  the hand-kept migrations (``schema_migrations``, versions 1-7) are stamped and upgraded in place.
- **HTTP: FastAPI on uvicorn** (:mod:`iotcard.collector._api`). Once the API grew tokens, tenancy, actions, CSV, ETags,
  CORS and gzip, a hand-written server meant re-implementing HTTP details (HEAD, OPTIONS, 405 with ``Allow``,
  keep-alive, validation) badly; FastAPI takes the same pydantic models for the answers and the OpenAPI document.
- **Ingest**: a shared subscription (``$share/{group}/{prefix}/+/#``) with a persistent MQTT 5 session and manual
  acknowledgements sent only after the batch was committed (at-least-once from the broker), made exactly-once in
  effect by the ``(device_id, seq)`` primary key of ``received``; payloads are validated with the shared contract
  (:mod:`iotcard.contract.messages`, the only module of ``agent`` imported here); invalid ones are counted, stored in
  ``rejects`` and logged with the device id.

Threads: the MQTT worker owns the paho client (:mod:`iotcard.collector._mqtt`, the only module that imports paho), the
writer owns the database writes (:mod:`iotcard.collector._service`); they talk through queues.
"""

from __future__ import annotations

from ._access import ROLES, Principal, TokenAdmin
from ._api import create_app
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
from ._http import ApiServer
from ._ingest import Accepted, Rejected, decode
from ._mqtt import BrokerSettings, broker_settings
from ._plans import PlanProblem, parse_plans
from ._schema import MIGRATIONS, SCHEMA_VERSION
from ._service import Collector, CollectorStats, share_topic
from ._store import FILTER_FLAGS, FILTERS, CardQuery, PlanRow, Store, Thresholds, database_url
from ._views import CardDetail, CardList, CardSummary, UsageSeries, card_flags

__all__ = [
    "FILTERS",
    "FILTER_FLAGS",
    "MIGRATIONS",
    "ROLES",
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
    "Principal",
    "Rejected",
    "SettingsError",
    "Store",
    "StoreError",
    "Thresholds",
    "TokenAdmin",
    "UsageSeries",
    "broker_settings",
    "build_command",
    "card_flags",
    "create_app",
    "database_url",
    "decode",
    "parse_plans",
    "push_plans",
    "send_command",
    "share_topic",
]
