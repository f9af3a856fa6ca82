"""Alembic's environment for the collector: always run by :func:`iotcard.collector._schema.migrate`, which hands in
its connection (inside the caller's transaction) through the configuration; there is no alembic.ini."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection)
with context.begin_transaction():
    context.run_migrations()
